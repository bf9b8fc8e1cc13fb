//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
	"github.com/hf-oidc/hf-oidc/internal/transport"
)

// loadN exchanges run at once in each load test.
const loadN = 1000

// A loadCase is one shape of the load: how many exchanges, against which
// limit, with which retry budget.
type loadCase struct {
	name       string
	n          int
	perSecond  float64
	burst      int
	retryAfter string // the 429s' Retry-After; empty: none
	tls        bool   // https with HTTP/2, as the Hub speaks it
	// The client's budget; zero: the defaults, which the CLI uses.
	maxAttempts int
	maxBackoff  time.Duration
}

func (c loadCase) limit() *sandbox.RateLimit {
	return &sandbox.RateLimit{PerSecond: c.perSecond, Burst: c.burst, RetryAfter: c.retryAfter}
}

func (c loadCase) attempts() int {
	if c.maxAttempts > 0 {
		return c.maxAttempts
	}
	return exchange.DefaultMaxAttempts
}

// floor is the least wait the client owes after a 429: the Retry-After,
// or the least backoff.
func (c loadCase) floor() time.Duration {
	if c.retryAfter != "" {
		s, _ := strconv.Atoi(c.retryAfter)
		return time.Duration(s) * time.Second
	}
	return exchange.DefaultMinBackoff
}

// bound is the time all exchanges must be done in: five times the least
// the limit allows, plus two of the client's longest waits, plus slack for
// starting processes. Generous: it catches a client that stalls or gives
// up, not a slow machine.
func (c loadCase) bound(slack time.Duration) time.Duration {
	least := time.Duration(float64(max(c.n-c.burst, 0)) / c.perSecond * float64(time.Second))
	// The longest wait: the Retry-After, which the backoff cap does not
	// shorten, else the cap, or the last backoff of the default budget.
	wait := c.floor()
	switch {
	case c.retryAfter != "":
	case c.maxBackoff > 0:
		wait = c.maxBackoff
	default:
		wait = min(exchange.DefaultMinBackoff<<(exchange.DefaultMaxAttempts-2), exchange.DefaultMaxBackoff)
	}
	return 5*least + 2*wait + slack
}

// loadResources are n resources, named from offset on, that sb trusts.
func loadResources(t *testing.T, sb *sandbox.Sandbox, offset, n int) []resource.Resource {
	t.Helper()
	rs := make([]resource.Resource, n)
	for i := range rs {
		r, err := resource.Parse(fmt.Sprintf("acme/load-%04d", offset+i))
		if err != nil {
			t.Fatal(err)
		}
		sb.TrustGitHub(r.Name)
		rs[i] = r
	}
	return rs
}

const loadWarmup = "acme/load-warmup"

// loadWarm has the sandbox fetch and cache the issuer's keys with one
// exchange before the load, from a client of its own, so that the load's
// client starts cold as a job's does. The sandbox fetches the keys again
// for every exchange that arrives before they are cached: a thousand at
// once fetch them a thousand times and time out, which is the sandbox's
// limit, not the client's.
func loadWarm(t *testing.T, sb *sandbox.Sandbox, getenv func(string) string, idToken string) {
	t.Helper()
	hc, err := transport.New(getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.CloseIdleConnections()
	r, _ := resource.Parse(loadWarmup)
	sb.TrustGitHub(r.Name)
	if _, err := (&exchange.Client{Endpoint: sb.URL(), HTTPClient: hc}).Exchange(context.Background(), idToken, r); err != nil {
		t.Fatalf("warming the sandbox's key cache: %v", err)
	}
}

// loadIDs hands out one ID token, as a job's Round gets it.
type loadIDs struct{ tok *idtoken.Token }

func (l loadIDs) Token(context.Context) (*idtoken.Token, error) { return l.tok, nil }

// loadFDs is the number of open file descriptors of pid ("self" for this
// process), or -1 once it has gone.
func loadFDs(pid string) int {
	es, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

func loadHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// loadHWM is the peak resident memory of pid since it started its
// program, in KiB; 0 once it has gone. Not the Maxrss of wait4: a child
// that the Go runtime starts with vfork is charged the parent's resident
// memory up to its exec, a whole race-detector test binary here.
func loadHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// loadSampler records the peaks of this process's descriptors, heap and
// goroutines, and of its children's descriptors and memory, until stopped.
type loadSampler struct {
	children               func() []int
	stop, done             chan struct{}
	stopOnce               sync.Once
	fds, routines, samples int
	heap                   uint64
	childFDs               int
	childHWM               int64 // KiB
	baseFDs, baseRoutines  int
	baseHeap               uint64
}

func loadSample(children func() []int) *loadSampler {
	runtime.GC()
	s := &loadSampler{children: children, stop: make(chan struct{}), done: make(chan struct{}),
		baseFDs: loadFDs("self"), baseHeap: loadHeap(), baseRoutines: runtime.NumGoroutine()}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			s.fds = max(s.fds, loadFDs("self"))
			s.heap = max(s.heap, loadHeap())
			s.routines = max(s.routines, runtime.NumGoroutine())
			if s.children != nil {
				for _, pid := range s.children() {
					s.childFDs = max(s.childFDs, loadFDs(strconv.Itoa(pid)))
					s.childHWM = max(s.childHWM, loadHWM(pid))
				}
			}
			s.samples++
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *loadSampler) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// loadSettle waits until this process is back to its descriptors and
// goroutines from before the load, give or take slack, and fails the test
// if it is not within a while: a leak.
func loadSettle(t *testing.T, s *loadSampler, slack int) (fds, routines int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		fds, routines = loadFDs("self"), runtime.NumGoroutine()
		if fds <= s.baseFDs+slack && routines <= s.baseRoutines+slack {
			return fds, routines
		}
		if time.Now().After(deadline) {
			t.Errorf("after the load %d descriptors and %d goroutines remain, against %d and %d before: a leak",
				fds, routines, s.baseFDs, s.baseRoutines)
			return fds, routines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A loadAttempt is one request as a side saw it: when it went (or
// arrived), and whether it got a 429.
type loadAttempt struct {
	resource string
	at       time.Time // sent, or arrived at the sandbox
	answered time.Time // the client's side only: when the answer came
	limited  bool
}

// loadRecorder is the client's transport, recording when each exchange
// request goes and its answer comes: the wait between the two is the
// client's own backoff, free of the server's queueing.
type loadRecorder struct {
	next     http.RoundTripper
	mu       sync.Mutex
	attempts []loadAttempt
}

func (l *loadRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	var req struct{ Resource string }
	json.Unmarshal(body, &req)
	a := loadAttempt{resource: req.Resource, at: time.Now()}
	resp, err := l.next.RoundTrip(r)
	a.answered, a.limited = time.Now(), resp != nil && resp.StatusCode == http.StatusTooManyRequests
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.mu.Unlock()
	return resp, err
}

func (l *loadRecorder) CloseIdleConnections() {
	if c, ok := l.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func loadArrivals(arr []sandbox.Arrival) []loadAttempt {
	out := make([]loadAttempt, len(arr))
	for i, a := range arr {
		out[i] = loadAttempt{resource: a.Resource, at: a.At, limited: a.Limited}
	}
	return out
}

// loadRetries is what one side saw of the attempts.
type loadRetries struct {
	limited  int               // 429s
	attempts map[string]int    // by resource
	delays   [][]time.Duration // [k]: from a resource's k+1th 429 to its next attempt
}

// loadAnalyze measures each retry from the 429 before it: from its answer
// where the client recorded one, else from its arrival.
func loadAnalyze(as []loadAttempt) loadRetries {
	lr := loadRetries{attempts: map[string]int{}}
	last := map[string]loadAttempt{}
	for _, a := range as {
		if a.resource == loadWarmup {
			continue
		}
		if a.limited {
			lr.limited++
		}
		if prev, ok := last[a.resource]; ok && prev.limited {
			k := lr.attempts[a.resource] - 1
			for len(lr.delays) <= k {
				lr.delays = append(lr.delays, nil)
			}
			from := prev.answered
			if from.IsZero() {
				from = prev.at
			}
			lr.delays[k] = append(lr.delays[k], a.at.Sub(from))
		}
		lr.attempts[a.resource]++
		last[a.resource] = a
	}
	return lr
}

func (lr loadRetries) maxMean() (int, float64) {
	most, sum := 0, 0
	for _, n := range lr.attempts {
		most, sum = max(most, n), sum+n
	}
	return most, float64(sum) / float64(max(len(lr.attempts), 1))
}

type loadSpread struct {
	n                   int
	min, max, mean, std time.Duration
}

func loadSpreadOf(ds []time.Duration) loadSpread {
	if len(ds) == 0 {
		return loadSpread{}
	}
	sp := loadSpread{n: len(ds), min: slices.Min(ds), max: slices.Max(ds)}
	var sum, sq float64
	for _, d := range ds {
		sum += float64(d)
	}
	mean := sum / float64(len(ds))
	for _, d := range ds {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	sp.mean, sp.std = time.Duration(mean), time.Duration(math.Sqrt(sq/float64(len(ds))))
	return sp
}

func (sp loadSpread) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("n=%d %v..%v mean %v sd %v", sp.n, r(sp.min), r(sp.max), r(sp.mean), r(sp.std))
}

// loadHistogram draws ds in ten bars between their least and largest.
func loadHistogram(ds []time.Duration) string {
	if len(ds) == 0 {
		return ""
	}
	lo, hi := slices.Min(ds), slices.Max(ds)
	width := max((hi-lo)/10, time.Millisecond)
	counts := make([]int, int((hi-lo)/width)+1)
	for _, d := range ds {
		counts[int((d-lo)/width)]++
	}
	most := slices.Max(counts)
	var b strings.Builder
	for i, c := range counts {
		fmt.Fprintf(&b, "  %7v | %-40s %d\n", (lo + time.Duration(i)*width).Round(time.Millisecond), strings.Repeat("#", c*40/most), c)
	}
	return b.String()
}

// loadSpreads describes the delays of each retry.
func loadSpreads(lr loadRetries) string {
	var out []string
	for k, ds := range lr.delays {
		out = append(out, fmt.Sprintf("retry %d: %v", k+1, loadSpreadOf(ds)))
	}
	return strings.Join(out, "; ")
}

// loadCheckWaits asserts that no retry came before the wait the client
// owes: the server's Retry-After, or the least backoff. A retry measured
// at the sandbox comes at least that long after the arrival of the 429'd
// request, since the 429 left after it arrived.
func loadCheckWaits(t *testing.T, c loadCase, side string, lr loadRetries) {
	t.Helper()
	for k, ds := range lr.delays {
		if m := slices.Min(ds); m < c.floor() {
			t.Errorf("%s: a retry %d came %v after its 429, before the %v the client must wait", side, k+1, m, c.floor())
		}
	}
}

// loadCheckJitter asserts that the client's waits after a 429 are spread,
// from the first retry on, as widely as the policy promises: without
// Retry-After uniform in [lo, min(hi, lo·2^(k+1))] before retry k+1; with
// one, uniform over a tenth of it (at least lo) on top. Clients turned away
// at one moment must not all come back at one moment. It returns the first
// retry's spread.
func loadCheckJitter(t *testing.T, c loadCase, lr loadRetries) loadSpread {
	t.Helper()
	lo, hi := exchange.DefaultMinBackoff, c.maxBackoff
	if hi == 0 {
		hi = exchange.DefaultMaxBackoff
	}
	for k := 0; k < len(lr.delays); k++ {
		sp := loadSpreadOf(lr.delays[k])
		if sp.n < 20 {
			break
		}
		width := min(lo<<(k+1), hi) - lo
		if c.retryAfter != "" {
			ra, _ := time.ParseDuration(c.retryAfter + "s")
			width = max(lo, ra/10)
		}
		// A uniform wait over a width w has sd w/√12.
		uniform := time.Duration(float64(width) / math.Sqrt(12))
		if sp.std < uniform/3 || sp.max-sp.min < width/2 {
			t.Errorf("the client's waits before retry %d are not jittered: %v (a uniform spread has sd %v)", k+1, sp, uniform.Round(time.Millisecond))
		}
	}
	if len(lr.delays) == 0 {
		return loadSpread{}
	}
	return loadSpreadOf(lr.delays[0])
}

// TestLoadInProcess: one Round of 1,000 resources through exchange.Client,
// the code a job runs, against a Hub that rate-limits with 429s, with and
// without Retry-After, over HTTP/1.1 and (fewer resources: each connection
// costs a TLS handshake) over HTTP/2 with TLS. Every exchange succeeds
// within a bound derived from the limit; every token is the one the
// sandbox issued for its resource; no retry comes before the wait it owes;
// the backoff is spread where the policy jitters it; the heap,
// descriptors and goroutines come back to where they were. The limit is
// below what the sandbox serves even on a slow machine, so that 429s come
// whatever the machine, and the client's budget (attempts, backoff cap) is
// sized to ride it out. Not parallel: the figures are this process's.
func TestLoadInProcess(t *testing.T) {
	for _, c := range []loadCase{
		{name: "backoff", n: loadN, perSecond: 200, burst: 50, maxAttempts: 30, maxBackoff: 2 * time.Second},
		{name: "retry-after", n: loadN, perSecond: 200, burst: 50, retryAfter: "1", maxAttempts: 30, maxBackoff: 2 * time.Second},
		{name: "backoff over TLS", n: loadN / 5, perSecond: 100, burst: 25, tls: true, maxAttempts: 30, maxBackoff: 2 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := startSandbox(t, sandbox.Config{RateLimit: c.limit(), TLS: c.tls})
			rs := loadResources(t, sb, 0, c.n)
			raw, err := sb.MintIDToken(nil)
			if err != nil {
				t.Fatal(err)
			}
			id, err := idtoken.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			getenv := func(string) string { return "" }
			if c.tls {
				ca := filepath.Join(t.TempDir(), "ca.pem")
				if err := os.WriteFile(ca, sb.CertPEM(), 0o644); err != nil {
					t.Fatal(err)
				}
				getenv = func(k string) string {
					if k == transport.CAFileVar {
						return ca
					}
					return ""
				}
			}
			hc, err := transport.New(getenv)
			if err != nil {
				t.Fatal(err)
			}
			rec := &loadRecorder{next: hc.Transport}
			hc.Transport = rec
			client := &exchange.Client{Endpoint: sb.URL(), HTTPClient: hc, MaxAttempts: c.maxAttempts, MaxBackoff: c.maxBackoff}
			loadWarm(t, sb, getenv, raw)
			conns := sb.Stats().Connections

			s := loadSample(nil)
			start := time.Now()
			results, err := client.Round(context.Background(), loadIDs{id}, rs)
			took := time.Since(start)
			s.Stop()
			if err != nil {
				t.Fatalf("after %v: %v", took, err)
			}
			if bound := c.bound(0); took > bound {
				t.Errorf("%d exchanges took %v, more than the %v the limit allows for", c.n, took, bound)
			}
			seen := map[string]bool{}
			for i, r := range results {
				info, ok := sb.Token(r.Token.AccessToken)
				switch {
				case r.Resource.Name != rs[i].Name:
					t.Fatalf("result %d is for %s, want %s", i, r.Resource.Name, rs[i].Name)
				case !ok || info.Resource != r.Resource.Name:
					t.Fatalf("the token handed out for %s was issued for %q", r.Resource.Name, info.Resource)
				case seen[r.Token.AccessToken]:
					t.Fatalf("one token handed out twice (%s)", r.Resource.Name)
				case !r.Token.ExpiresAt.After(start):
					t.Fatalf("the token for %s expires at %v, before the round", r.Resource.Name, r.Token.ExpiresAt)
				}
				seen[r.Token.AccessToken] = true
			}
			conns = sb.Stats().Connections - conns

			// Over HTTP/2 the exchanges share connections: a new one only
			// for requests that find no free stream (Go allows 100 before
			// the server's settings, the sandbox 250).
			if c.tls && conns > c.n/100+2 {
				t.Errorf("%d connections opened over HTTP/2 for %d exchanges", conns, c.n)
			}
			// Every exchange holds at most one connection at a time, whose
			// two ends are both in this process.
			if peak := s.fds - s.baseFDs; peak > 2*c.n+64 {
				t.Errorf("%d descriptors open at the peak for %d exchanges: more than one connection each", peak, c.n)
			}
			if grew := s.heap - s.baseHeap; grew > 256<<20 {
				t.Errorf("the heap grew by %d MiB for %d exchanges", grew>>20, c.n)
			}
			hc.CloseIdleConnections()
			fds, routines := loadSettle(t, s, 8)
			runtime.GC()
			heapAfter := int64(loadHeap()) - int64(s.baseHeap)

			atSandbox := loadAnalyze(loadArrivals(sb.Arrivals()))
			atClient := loadAnalyze(rec.attempts)
			if atSandbox.limited == 0 || atClient.limited != atSandbox.limited {
				t.Fatalf("the sandbox sent %d 429s, the client saw %d: the limit must bite for this test to test anything", atSandbox.limited, atClient.limited)
			}
			most, mean := atSandbox.maxMean()
			if len(atSandbox.attempts) != c.n || most > c.attempts() {
				t.Errorf("attempts seen for %d resources, at most %d each", len(atSandbox.attempts), most)
			}
			loadCheckWaits(t, c, "at the client", atClient)
			loadCheckWaits(t, c, "at the sandbox", atSandbox)
			first := loadCheckJitter(t, c, atClient)
			t.Logf("the client's wait from a 429 to its next attempt, retry 1:\n%s", loadHistogram(atClient.delays[0]))
			if len(atClient.delays) > 1 {
				t.Logf("retry 2:\n%s", loadHistogram(atClient.delays[1]))
			}
			t.Logf("load %s: %d exchanges in %v (bound %v, least %v); 429s sent %d; attempts max %d mean %.2f; "+
				"connections opened %d; heap peak +%d MiB (after %+d MiB); FDs peak +%d (after %+d); goroutines peak +%d (after %+d); %d samples; "+
				"first retry's wait sd %v; client-side waits: %s; sandbox-side delays: %s",
				c.name, c.n, took.Round(time.Millisecond), c.bound(0), c.bound(0)/5, atSandbox.limited, most, mean,
				conns, (s.heap-s.baseHeap)>>20, heapAfter>>20, s.fds-s.baseFDs, fds-s.baseFDs,
				s.routines-s.baseRoutines, routines-s.baseRoutines, s.samples,
				first.std.Round(time.Microsecond), loadSpreads(atClient), loadSpreads(atSandbox))
		})
	}
}

// TestLoadProcesses: 20 real hf-oidc exchange processes of 50 resources
// each, started at once against one rate-limited sandbox, with and
// without Retry-After, with the CLI's own retry budget (five attempts):
// all exit 0 within the bound, each token printed for a resource is the
// sandbox's for that resource, nothing leaks on stderr, no retry comes
// before the wait it owes, and each process's memory and descriptors stay
// bounded. The limit is one the CLI's budget rides out; how many 429s it
// sends depends on how fast this machine serves the sandbox.
func TestLoadProcesses(t *testing.T) {
	const procs = 20
	for _, c := range []loadCase{
		{name: "backoff", n: loadN, perSecond: 500, burst: 250},
		{name: "retry-after", n: loadN, perSecond: 500, burst: 250, retryAfter: "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := startSandbox(t, sandbox.Config{RateLimit: c.limit()})
			per := c.n / procs
			type proc struct {
				cmd            *exec.Cmd
				names          []string
				stdout, stderr strings.Builder
			}
			ps := make([]*proc, procs)
			for i := range ps {
				p := &proc{}
				for _, r := range loadResources(t, sb, i*per, per) {
					p.names = append(p.names, r.Name)
				}
				p.cmd = exec.Command(bin, "exchange", "--format", "json", "--resource", strings.Join(p.names, ","))
				p.cmd.Env = hermeticEnv(t, sb.GitHubEnv()...)
				p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
				ps[i] = p
			}
			raw, err := sb.MintIDToken(nil)
			if err != nil {
				t.Fatal(err)
			}
			loadWarm(t, sb, nil, raw)

			var mu sync.Mutex
			var live []int
			s := loadSample(func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(live) })
			start := time.Now()
			for _, p := range ps {
				if err := p.cmd.Start(); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				live = append(live, p.cmd.Process.Pid)
				mu.Unlock()
			}
			var wg sync.WaitGroup
			for _, p := range ps {
				wg.Go(func() { p.cmd.Wait() })
			}
			wg.Wait()
			took := time.Since(start)
			s.Stop()
			bound := c.bound(10 * time.Second)
			if took > bound {
				t.Errorf("%d processes took %v, more than the %v the limit allows for", procs, took, bound)
			}

			outputs := map[string]string{}
			for i, p := range ps {
				stderr, _ := stripMasks(p.stderr.String())
				outputs[fmt.Sprintf("stderr of process %d", i)] = stderr
				if code := p.cmd.ProcessState.ExitCode(); code != 0 {
					t.Errorf("process %d: exit %d\n%s", i, code, stderr)
					continue
				}
				var j jsonTokens
				if err := json.Unmarshal([]byte(p.stdout.String()), &j); err != nil || len(j.Tokens) != per {
					t.Errorf("process %d: %d tokens in its json (%v)", i, len(j.Tokens), err)
					continue
				}
				for k, tok := range j.Tokens {
					if info, ok := sb.Token(tok.Token); tok.Resource != p.names[k] || !ok || info.Resource != tok.Resource {
						t.Errorf("process %d printed a token for %s that the sandbox issued for %q", i, tok.Resource, info.Resource)
					}
				}
			}
			testkit.NoLeak(t, sb, outputs)
			// Sampled, so lower bounds of the true peaks; a process holds
			// one connection per exchange at most.
			if s.childHWM > 128<<10 {
				t.Errorf("a process of %d exchanges peaked at %d MiB resident", per, s.childHWM>>10)
			}
			if s.childFDs > per+32 {
				t.Errorf("a process of %d exchanges had %d descriptors open", per, s.childFDs)
			}
			fds, _ := loadSettle(t, s, 8)

			atSandbox := loadAnalyze(loadArrivals(sb.Arrivals()))
			loadCheckWaits(t, c, "at the sandbox", atSandbox)
			most, mean := atSandbox.maxMean()
			if len(atSandbox.attempts) != c.n || most > c.attempts() {
				t.Errorf("attempts seen for %d resources, at most %d each", len(atSandbox.attempts), most)
			}
			if len(atSandbox.delays) > 0 {
				t.Logf("delay at the sandbox from a 429'd request to its retry, retry 1:\n%s", loadHistogram(atSandbox.delays[0]))
			}
			t.Logf("load processes %s: %d×%d exchanges in %v (bound %v); 429s sent %d; attempts max %d mean %.2f; "+
				"peak resident per process %d MiB; child FDs peak %d; sandbox-side FDs peak +%d (after %+d); %d samples; sandbox-side delays: %s",
				c.name, procs, per, took.Round(time.Millisecond), bound, atSandbox.limited, most, mean,
				s.childHWM>>10, s.childFDs, s.fds-s.baseFDs, fds-s.baseFDs, s.samples, loadSpreads(atSandbox))
		})
	}
}
