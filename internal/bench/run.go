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
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

// Options says what to measure. Zero fields take the defaults below.
type Options struct {
	Bin         string          // the hf-oidc binary; see Build
	N           int             // runs per case; default 10
	RecipeN     int             // runs per case of the slower recipe; default N
	StartupRuns int             // runs of `hf-oidc version`; default 50
	Latencies   []time.Duration // injected round-trip times; default 0, 20 ms, 100 ms
	Resources   []int           // resources per exchange; default 1, 4, 16, 64
	Recipe      bool            // also run the curl and jq recipe
	// Plain serves the sandbox over plain http. By default it serves https
	// (HTTP/2), as the Hub and every CI's ID-token endpoint do, so TLS and
	// connection reuse are measured too.
	Plain bool
	Log   io.Writer // progress lines; nil for none
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
		o.Latencies = []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond}
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
	ToolRecipe = "curl+jq"
)

// A Case is one tool at one latency and number of resources.
type Case struct {
	Tool      string  `json:"tool"`
	LatencyMS float64 `json:"latency_ms"`
	Resources int     `json:"resources"`
	Wall      Summary `json:"wall"`
	// FloorMS is two round trips: one ID-token mint and one exchange
	// round, whatever the number of resources.
	FloorMS float64 `json:"floor_ms"`
	// Ratio is the median over the floor; zero when the floor is zero.
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
	// PeakRSSBytes is the largest max RSS of any exchange process.
	PeakRSSBytes int64  `json:"peak_rss_bytes"`
	Cases        []Case `json:"cases"`
	RecipeNote   string `json:"recipe_note,omitempty"`
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
	bin := filepath.Join(dir, "hf-oidc")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hf-oidc: %w\n%s", err, out)
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
	}
	work, err := os.MkdirTemp("", "hf-oidc-bench-")
	if err != nil {
		return nil, fmt.Errorf("making a work directory: %w", err)
	}
	defer os.RemoveAll(work)

	fmt.Fprintf(opts.Log, "start-up: %d runs of hf-oidc version\n", opts.StartupRuns)
	if res.Startup, err = startup(ctx, opts.Bin, work, opts.StartupRuns); err != nil {
		return nil, err
	}

	var recipe string
	if opts.Recipe {
		if recipe, res.RecipeNote = writeRecipe(work); recipe == "" {
			fmt.Fprintln(opts.Log, res.RecipeNote)
		}
	}
	for _, lat := range opts.Latencies {
		if err := runLatency(ctx, opts, res, work, recipe, lat); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runLatency runs every number of resources against one sandbox with lat
// added before each answer.
func runLatency(ctx context.Context, opts Options, res *Results, work, recipe string, lat time.Duration) error {
	sb, err := sandbox.Start(sandbox.Config{Latency: lat, TLS: !opts.Plain})
	if err != nil {
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	defer sb.Close()
	var caEnv []string
	if pem := sb.CertPEM(); pem != nil {
		ca := filepath.Join(work, "sandbox-ca.pem")
		if err := os.WriteFile(ca, pem, 0o644); err != nil {
			return fmt.Errorf("writing the sandbox's certificate: %w", err)
		}
		caEnv = []string{"SSL_CERT_FILE=" + ca, "CURL_CA_BUNDLE=" + ca}
	}
	maxN := 0
	for _, n := range opts.Resources {
		maxN = max(maxN, n)
	}
	all := make([]string, maxN)
	for i := range all {
		all[i] = fmt.Sprintf("acme/model-%d", i)
		sb.TrustGitHub(all[i])
	}
	ms := float64(lat) / float64(time.Millisecond)
	for _, n := range opts.Resources {
		tools := []string{ToolHFOIDC}
		if recipe != "" {
			tools = append(tools, ToolRecipe)
		}
		for _, tool := range tools {
			runs := opts.N
			if tool == ToolRecipe {
				runs = opts.RecipeN
			}
			fmt.Fprintf(opts.Log, "%s: %g ms, %d resources, %d runs\n", tool, ms, n, runs)
			r := runner{sb: sb, bin: opts.Bin, recipe: recipe, work: work, tool: tool, resources: all[:n], env: caEnv}
			// One unmeasured run first: the sandbox fetches the issuer's
			// keys on its first exchange, which no real CI job pays.
			if _, err := r.once(ctx); err != nil {
				return err
			}
			walls := make([]time.Duration, 0, runs)
			cpus := make([]time.Duration, 0, runs)
			c := Case{Tool: tool, LatencyMS: ms, Resources: n, FloorMS: 2 * ms}
			for range runs {
				m, err := r.once(ctx)
				if err != nil {
					return err
				}
				walls = append(walls, m.wall)
				cpus = append(cpus, m.cpu)
				c.PeakRSSBytes = max(c.PeakRSSBytes, m.rss)
			}
			c.Wall = Summarize(walls)
			if tool == ToolHFOIDC {
				cpu := Summarize(cpus)
				c.CPU = &cpu
			}
			if c.FloorMS > 0 {
				c.Ratio = c.Wall.Median / c.FloorMS
			}
			if tool == ToolHFOIDC {
				res.PeakRSSBytes = max(res.PeakRSSBytes, c.PeakRSSBytes)
			} else {
				c.PeakRSSBytes = 0 // a shell's children are not counted
			}
			res.Cases = append(res.Cases, c)
		}
	}
	return nil
}

// startup times `hf-oidc version`, which does no network work.
func startup(ctx context.Context, bin, work string, runs int) (Summary, error) {
	walls := make([]time.Duration, 0, runs)
	for range runs {
		cmd := exec.CommandContext(ctx, bin, "version")
		cmd.Env = baseEnv(work)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return Summary{}, fmt.Errorf("running hf-oidc version: %w\n%s", err, out)
		}
		walls = append(walls, time.Since(start))
	}
	return Summarize(walls), nil
}

// baseEnv keeps the machine's own variables (a real CI's GITHUB_ACTIONS,
// say) away from the binary.
func baseEnv(work string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TMPDIR=" + work}
}

type runner struct {
	sb                *sandbox.Sandbox
	bin, recipe, work string
	tool              string
	resources         []string
	env               []string // added to the tool's environment
}

type measure struct {
	wall, cpu time.Duration
	rss       int64
}

// once runs the tool for one exchange round and checks that it exported a
// token per resource.
func (r runner) once(ctx context.Context) (measure, error) {
	envFile := filepath.Join(r.work, "github_env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		return measure{}, fmt.Errorf("preparing GITHUB_ENV: %w", err)
	}
	var cmd *exec.Cmd
	if r.tool == ToolHFOIDC {
		args := []string{"exchange", "--format", "github"}
		for _, res := range r.resources {
			args = append(args, "--resource", res)
		}
		cmd = exec.CommandContext(ctx, r.bin, args...)
	} else {
		// Resource names are not secrets; argv is fine for them.
		cmd = exec.CommandContext(ctx, "bash", append([]string{r.recipe}, r.resources...)...)
	}
	cmd.Env = append(append(baseEnv(r.work), r.sb.GitHubEnv()...), r.env...)
	cmd.Env = append(cmd.Env, "GITHUB_ENV="+envFile, "GITHUB_OUTPUT="+os.DevNull, "GITHUB_STEP_SUMMARY="+os.DevNull)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("running %s for %d resources: %w: %s", r.tool, len(r.resources), err, redact(stderr.String(), r.sb.Minted()))
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		return measure{}, fmt.Errorf("reading GITHUB_ENV: %w", err)
	}
	if got := strings.Count(string(b), "=hf_") + strings.Count(string(b), "\nhf_"); got < len(r.resources) {
		return measure{}, fmt.Errorf("checking %s's exports: %d tokens for %d resources", r.tool, got, len(r.resources))
	}
	ps := cmd.ProcessState
	return measure{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), rss: peakRSS(ps)}, nil
}

// redact blanks every secret the sandbox minted, so that a failure's
// stderr can be shown.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return strings.TrimSpace(s)
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
