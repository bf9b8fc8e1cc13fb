package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// Options says what to measure. Zero fields take the defaults below.
type Options struct {
	Bin         string          // the hf-oidc binary; see Build
	Bare        string          // the bare client (see BuildBare), measured beside hf-oidc; "" for none
	N           int             // runs per case; default 10
	RecipeN     int             // runs per case of the slower recipe; default N
	StartupRuns int             // runs of `hf-oidc version`; default 50
	Latencies   []time.Duration // round-trip times; default 0, 50 ms, 100 ms
	Resources   []int           // resources per exchange; default 1, 4, 16, 64
	Recipe      bool            // also run the curl and jq recipe
	// Plain serves the sandbox over plain http. By default it serves https
	// (HTTP/2), as the Hub and every CI's ID-token endpoint do, so TLS and
	// connection reuse are measured too.
	Plain bool
	// Keeper is how long to watch a detached keeper (Linux only); zero
	// for not at all.
	Keeper time.Duration
	Log    io.Writer // progress lines; nil for none
}

func (o *Options) defaults() {
	if o.N <= 0 {
		o.N = 10
	}
	if o.RecipeN <= 0 {
		o.RecipeN = o.N
	}
	if o.StartupRuns <= 0 {
		o.StartupRuns = 50
	}
	if len(o.Latencies) == 0 {
		o.Latencies = []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond}
	}
	if len(o.Resources) == 0 {
		o.Resources = []int{1, 4, 16, 64}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Tools measured.
const (
	ToolHFOIDC = "hf-oidc"
	ToolBare   = "bare Go client" // internal/bench/bare: the protocol's requests and nothing else
	ToolRecipe = "curl+jq"
)

// A Case is one tool at one latency and number of resources.
type Case struct {
	Tool      string  `json:"tool"`
	LatencyMS float64 `json:"latency_ms"`
	Resources int     `json:"resources"`
	Wall      Summary `json:"wall"`
	// FloorMS is the old floor, two round trips: one ID-token mint and
	// one exchange round, as if connections cost nothing.
	FloorMS float64 `json:"floor_ms"`
	// TrueFloorMS is what the network allows (see trueFloor).
	TrueFloorMS float64 `json:"true_floor_ms"`
	// Ratio is the median over the true floor; zero when it is zero.
	Ratio        float64 `json:"ratio,omitempty"`
	PeakRSSBytes int64   `json:"peak_rss_bytes,omitempty"`
	// CPU is hf-oidc's own CPU time (user and system), which neither the
	// injected latency nor the sandbox's work is part of.
	CPU *Summary `json:"cpu,omitempty"`
}

// Results is everything one run measured.
type Results struct {
	Date        string  `json:"date"`
	Machine     Machine `json:"machine"`
	GoVersion   string  `json:"go_version"`
	N           int     `json:"runs_per_case"`
	RecipeN     int     `json:"recipe_runs_per_case,omitempty"`
	BinaryBytes int64   `json:"binary_bytes"`
	Startup     Summary `json:"startup"`
	// PeakRSSBytes is the largest peak RSS of an hf-oidc exchange, as GNU
	// time reports it (0: not measured, see RSSNote).
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	Cases        []Case `json:"cases"`
	RecipeNote   string `json:"recipe_note,omitempty"`
	RootsNote    string `json:"roots_note,omitempty"`
	RSSNote      string `json:"rss_note,omitempty"`
	// Keeper is what a detached keeper cost; nil: see KeeperNote.
	Keeper     *KeeperResult `json:"keeper,omitempty"`
	KeeperNote string        `json:"keeper_note,omitempty"`
}

// Find returns the case of tool at latency ms and n resources.
func (r *Results) Find(tool string, latencyMS float64, n int) (Case, bool) {
	for _, c := range r.Cases {
		if c.Tool == tool && c.LatencyMS == latencyMS && c.Resources == n {
			return c, true
		}
	}
	return Case{}, false
}

// Build compiles hf-oidc the way releases are built (static, trimmed,
// stripped) into dir, from the package pkg (such as "./cmd/hf-oidc" at the
// module root), and returns the binary's path.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	return build(ctx, filepath.Join(dir, "hf-oidc"), pkg)
}

// BuildBare compiles the bare client (internal/bench/bare) the same way;
// the working directory must be inside this module.
func BuildBare(ctx context.Context, dir string) (string, error) {
	return build(ctx, filepath.Join(dir, "bare"), "github.com/hf-oidc/hf-oidc/internal/bench/bare")
}

func build(ctx context.Context, bin, pkg string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// Run measures everything opts asks for.
func Run(ctx context.Context, opts Options) (*Results, error) {
	opts.defaults()
	fi, err := os.Stat(opts.Bin)
	if err != nil {
		return nil, fmt.Errorf("measuring the binary: %w", err)
	}
	res := &Results{
		Date:        time.Now().UTC().Format(time.RFC3339),
		Machine:     ThisMachine(),
		GoVersion:   runtime.Version(),
		N:           opts.N,
		RecipeN:     opts.RecipeN,
		BinaryBytes: fi.Size(),
		RootsNote:   rootsNote(opts.Plain),
	}
	work, err := os.MkdirTemp("", "hf-oidc-bench-")
	if err != nil {
		return nil, fmt.Errorf("making a work directory: %w", err)
	}
	defer os.RemoveAll(work)

	var recipe string
	if opts.Recipe {
		if recipe, res.RecipeNote = writeRecipe(work); recipe == "" {
			fmt.Fprintln(opts.Log, res.RecipeNote)
		}
	}
	var cases []*pending
	for _, lat := range opts.Latencies {
		stop, more, err := latencyCases(opts, work, recipe, lat)
		if err != nil {
			return nil, err
		}
		defer stop()
		cases = append(cases, more...)
	}
	// One unmeasured run of each case first: the sandbox fetches the
	// issuer's keys on its first exchange, which no real CI job pays.
	for _, p := range cases {
		if _, err := p.r.once(ctx); err != nil {
			return nil, err
		}
	}
	startups, err := runRounds(ctx, opts, cases, work)
	if err != nil {
		return nil, err
	}
	res.Startup = Summarize(startups)
	if res.RSSNote, err = measureRSS(ctx, cases); err != nil {
		return nil, err
	}
	switch {
	case opts.Keeper <= 0:
		res.KeeperNote = "detached keeper not measured"
	case runtime.GOOS != "linux":
		res.KeeperNote = "detached keeper not measured: it is read from /proc"
	default:
		fmt.Fprintf(opts.Log, "watching a detached keeper for %s\n", opts.Keeper)
		if res.Keeper, err = measureKeeper(ctx, opts.Bin, work, !opts.Plain, opts.Keeper, keeperLifetime, keeperMargin); err != nil {
			return nil, err
		}
	}
	for _, p := range cases {
		c := p.c
		c.Wall = Summarize(p.walls)
		if c.Tool == ToolHFOIDC {
			cpu := Summarize(p.cpus)
			c.CPU = &cpu
			res.PeakRSSBytes = max(res.PeakRSSBytes, c.PeakRSSBytes)
		}
		if c.TrueFloorMS > 0 {
			c.Ratio = c.Wall.Median / c.TrueFloorMS
		}
		res.Cases = append(res.Cases, c)
	}
	return res, nil
}

// runRounds runs every case its number of times, and `hf-oidc version`
// opts.StartupRuns times, and returns the start-up times. The runs go round
// robin over the cases, start-up included, each round starting one case
// further on, so that a burst of load from elsewhere on the machine falls
// on every case alike rather than on a few.
func runRounds(ctx context.Context, opts Options, cases []*pending, work string) ([]time.Duration, error) {
	rounds := opts.N
	for _, p := range cases {
		rounds = max(rounds, p.runs)
	}
	var startups []time.Duration
	for i := range rounds {
		fmt.Fprintf(opts.Log, "round %d of %d\n", i+1, rounds)
		for range (opts.StartupRuns*(i+1))/rounds - (opts.StartupRuns*i)/rounds {
			d, err := startupOnce(ctx, opts.Bin, work)
			if err != nil {
				return nil, err
			}
			startups = append(startups, d)
		}
		for j := range cases {
			p := cases[(i+j)%len(cases)]
			if len(p.walls) >= p.runs {
				continue
			}
			m, err := p.r.once(ctx)
			if err != nil {
				return nil, err
			}
			p.walls = append(p.walls, m.wall)
			p.cpus = append(p.cpus, m.cpu)
		}
	}
	return startups, nil
}

// measureRSS sets the peak RSS of each hf-oidc case from runs under GNU
// time, or says why it could not.
func measureRSS(ctx context.Context, cases []*pending) (note string, err error) {
	if _, err := os.Stat(gnuTime); err != nil {
		return "peak RSS not measured: GNU time (" + gnuTime + ") not found", nil
	}
	for _, p := range cases {
		if p.c.Tool != ToolHFOIDC {
			continue
		}
		for range rssRuns {
			m, err := p.r.run(ctx, true)
			if err != nil {
				return "", err
			}
			p.c.PeakRSSBytes = max(p.c.PeakRSSBytes, m.rss)
		}
	}
	return "", nil
}

// rssRuns is how many runs of each hf-oidc case measure its peak RSS.
const rssRuns = 3

// A pending case gathers its runs.
type pending struct {
	c           Case
	r           runner
	runs        int
	walls, cpus []time.Duration
}

// The loopback addresses of the delaying proxies, one per host a real job
// talks to, so that each has connections of its own as on a network. On
// Linux all of 127.0.0.0/8 is loopback.
const (
	issuerHost = "127.0.0.2" // the provider's ID-token service
	hubHost    = "127.0.0.3" // the Hub
)

// latencyCases starts a sandbox, behind delaying proxies when lat is not
// zero, and returns a case for each tool and number of resources, and
// what stops them.
func latencyCases(opts Options, work, recipe string, lat time.Duration) (stop func(), _ []*pending, _ error) {
	sb, err := sandbox.Start(sandbox.Config{TLS: !opts.Plain, CertHosts: []string{issuerHost, hubHost}})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the sandbox: %w", err)
	}
	stops := []func() error{sb.Close}
	stop = func() {
		for _, s := range slices.Backward(stops) {
			s()
		}
	}
	var env []string
	if pem := sb.CertPEM(); pem != nil {
		if env, err = trustSandbox(work, fmt.Sprint(lat.Microseconds()), pem); err != nil {
			stop()
			return nil, nil, err
		}
	}
	if lat > 0 {
		proxied, proxies, err := delayed(sb, lat)
		stops = append(stops, proxies...)
		if err != nil {
			stop()
			return nil, nil, err
		}
		env = append(env, proxied...)
	}
	all := make([]string, slices.Max(opts.Resources))
	for i := range all {
		all[i] = fmt.Sprintf("acme/model-%d", i)
		sb.TrustGitHub(all[i])
	}
	tools := []string{ToolHFOIDC}
	if opts.Bare != "" {
		tools = append(tools, ToolBare)
	}
	if recipe != "" {
		tools = append(tools, ToolRecipe)
	}
	ms := float64(lat) / float64(time.Millisecond)
	var cases []*pending
	for _, n := range opts.Resources {
		for _, tool := range tools {
			runs := opts.N
			if tool == ToolRecipe {
				runs = opts.RecipeN
			}
			r := runner{sb: sb, bin: opts.Bin, bare: opts.Bare, recipe: recipe, work: work, tool: tool, resources: all[:n], env: env}
			c := Case{Tool: tool, LatencyMS: ms, Resources: n, FloorMS: 2 * ms, TrueFloorMS: trueFloor(ms, !opts.Plain)}
			cases = append(cases, &pending{c: c, r: r, runs: runs})
		}
	}
	return stop, cases, nil
}

// trueFloor is the least time, in round trips of rtt, that a network
// allows from start to tokens: the mint (TCP connect, the TLS 1.3
// handshake, the request) and, meanwhile, the Hub's connection (connect and
// handshake), then one round trip for the exchanges, which HTTP/2 carries
// together on that one connection. The HTTP/2 preface costs none: a client
// sends its first request right behind it.
func trueFloor(rtt float64, tls bool) float64 {
	connect := 1.0
	if tls {
		connect++
	}
	mint := connect + 1
	return (max(mint, connect) + 1) * rtt
}

// delayed starts a delaying proxy in front of the sandbox for the
// provider's ID-token service and another for the Hub, and returns the
// variables that send the tools through them.
func delayed(sb *sandbox.Sandbox, rtt time.Duration) (env []string, stops []func() error, _ error) {
	target := strings.TrimPrefix(strings.TrimPrefix(sb.URL(), "https://"), "http://")
	for _, kv := range sb.GitHubEnv() {
		k, v, _ := strings.Cut(kv, "=")
		host := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": issuerHost, "HF_ENDPOINT": hubHost}[k]
		if host == "" {
			continue
		}
		p, err := startDelayProxy(host+":0", target, rtt)
		if err != nil {
			return nil, stops, fmt.Errorf("starting the delaying proxy for %s: %w", k, err)
		}
		stops = append(stops, p.Close)
		env = append(env, k+"="+strings.Replace(v, target, p.Addr(), 1))
	}
	return env, stops, nil
}

// systemBundle and systemDirs are where crypto/x509 finds the roots on
// Debian and Ubuntu, GitHub's runners.
const systemBundle = "/etc/ssl/certs/ca-certificates.crt"

var systemDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}

// trustSandbox returns the environment that makes the tools trust the
// sandbox's CA as a real job trusts the Hub's: besides the system's roots,
// so that reading those, the first TLS handshake's largest cost, is
// measured too. The Go clients read the system's bundle and directories
// as they would in a job, SSL_CERT_DIR adding a directory that holds the
// CA alone; curl reads a copy of the bundle with the CA appended. Where the
// system's roots are not read from those paths, the CA alone is trusted.
func trustSandbox(work, name string, pem []byte) ([]string, error) {
	dir := filepath.Join(work, "ca-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("writing the sandbox's certificate: %w", err)
	}
	ca := filepath.Join(dir, "sandbox.pem")
	if err := os.WriteFile(ca, pem, 0o644); err != nil {
		return nil, fmt.Errorf("writing the sandbox's certificate: %w", err)
	}
	bundle, err := os.ReadFile(systemBundle)
	if runtime.GOOS != "linux" || err != nil {
		return []string{"SSL_CERT_FILE=" + ca, "CURL_CA_BUNDLE=" + ca}, nil
	}
	// Outside dir, which the Go clients read every file of.
	both := filepath.Join(work, "curl-roots-"+name+".pem")
	if err := os.WriteFile(both, append(append(bundle, '\n'), pem...), 0o644); err != nil {
		return nil, fmt.Errorf("writing the sandbox's certificate: %w", err)
	}
	return []string{"SSL_CERT_DIR=" + strings.Join(append([]string{dir}, systemDirs...), ":"), "CURL_CA_BUNDLE=" + both}, nil
}

// rootsNote says which roots the tools trusted.
func rootsNote(plain bool) string {
	if plain {
		return "plain http: no TLS"
	}
	b, err := os.ReadFile(systemBundle)
	if runtime.GOOS != "linux" || err != nil {
		return "TLS roots: the sandbox's CA alone (" + systemBundle + " not found)"
	}
	return fmt.Sprintf("TLS roots: the system's (%d certificates in %s, and %s) and the sandbox's CA, read as a real job reads them",
		bytes.Count(b, []byte("-----BEGIN CERTIFICATE-----")), systemBundle, strings.Join(systemDirs, " and "))
}

// startupOnce times `hf-oidc version`, which does no network work.
func startupOnce(ctx context.Context, bin, work string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, "version")
	cmd.Env = baseEnv(work)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("running hf-oidc version: %w\n%s", err, out)
	}
	return time.Since(start), nil
}

// baseEnv keeps the machine's own variables (a real CI's GITHUB_ACTIONS,
// say) away from the binary.
func baseEnv(work string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TMPDIR=" + work}
}

type runner struct {
	sb                *sandbox.Sandbox
	bin, bare, recipe string
	work              string
	tool              string
	resources         []string
	env               []string // added to the tool's environment
}

type measure struct {
	wall, cpu time.Duration
	rss       int64 // bytes; only under GNU time (see withGNUTime)
}

// gnuTime is GNU time, which reports the peak RSS of the process it runs.
// A process this one starts reports this one's instead when it is larger:
// exec keeps the high-water mark of the memory it replaces, which after
// Go's vfork is ours.
const gnuTime = "/usr/bin/time"

// once runs the tool for one exchange round and checks that it exported a
// token per resource. With underTime it runs under GNU time for its peak
// RSS, which costs time's own start: such a run's wall time is not used.
func (r runner) once(ctx context.Context) (measure, error) { return r.run(ctx, false) }

func (r runner) run(ctx context.Context, underTime bool) (measure, error) {
	envFile := filepath.Join(r.work, "github_env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		return measure{}, fmt.Errorf("preparing GITHUB_ENV: %w", err)
	}
	var argv []string
	switch r.tool {
	case ToolHFOIDC:
		argv = []string{r.bin, "exchange", "--format", "github"}
		for _, res := range r.resources {
			argv = append(argv, "--resource", res)
		}
	case ToolBare:
		// Resource names are not secrets; argv is fine for them.
		argv = append([]string{r.bare}, r.resources...)
	default:
		argv = append([]string{"bash", r.recipe}, r.resources...)
	}
	rssFile := filepath.Join(r.work, "rss")
	if underTime {
		argv = append([]string{gnuTime, "-f", "%M", "-o", rssFile}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(append(baseEnv(r.work), r.sb.GitHubEnv()...), r.env...)
	cmd.Env = append(cmd.Env, "GITHUB_ENV="+envFile, "GITHUB_OUTPUT="+os.DevNull, "GITHUB_STEP_SUMMARY="+os.DevNull)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("running %s for %d resources: %w: %s", r.tool, len(r.resources), err, strings.TrimSpace(safetext.Redact(stderr.String(), r.sb.Minted()...)))
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		return measure{}, fmt.Errorf("reading GITHUB_ENV: %w", err)
	}
	if got := strings.Count(string(b), "=hf_") + strings.Count(string(b), "\nhf_"); got < len(r.resources) {
		return measure{}, fmt.Errorf("checking %s's exports: %d tokens for %d resources", r.tool, got, len(r.resources))
	}
	m := measure{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if underTime {
		out, err := os.ReadFile(rssFile)
		if err != nil {
			return measure{}, fmt.Errorf("reading GNU time's report: %w", err)
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			return measure{}, fmt.Errorf("reading GNU time's report %q: %w", out, err)
		}
		m.rss = kb * 1024
	}
	return m, nil
}

// WriteJSON writes res, indented.
func WriteJSON(w io.Writer, res *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	return nil
}
