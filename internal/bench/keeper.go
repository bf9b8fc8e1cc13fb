package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

// KeeperResult is what a detached keeper (`hf-oidc refresh --detach`)
// cost while it kept one token fresh, read from /proc once a second.
type KeeperResult struct {
	Seconds   float64 `json:"seconds"`   // observed
	Refreshes int     `json:"refreshes"` // in that time
	// RSSBytes is the largest VmRSS; AnonBytes the largest RssAnon, the
	// memory the keeper has to itself (the rest is the binary's pages,
	// shared through the page cache).
	RSSBytes  int64   `json:"rss_bytes"`
	AnonBytes int64   `json:"anon_bytes"`
	CPUMS     float64 `json:"cpu_ms"` // user and system, the whole time
	// IdlePerMinute is the context switches (each a wake-up of one of
	// its threads) per minute between refreshes, that is outside the
	// seconds around each and its first seconds; PerRefresh those around
	// a refresh.
	IdlePerMinute float64 `json:"idle_switches_per_minute"`
	PerRefresh    float64 `json:"switches_per_refresh"`
}

// The tokens' lifetime in the keeper measurement, and the refresh margin:
// a refresh every 30 seconds.
const (
	keeperLifetime = time.Minute
	keeperMargin   = 30 * time.Second
)

// measureKeeper starts a detached keeper against a sandbox of its own,
// whose tokens live lifetime and are refreshed margin before they expire,
// and watches it for d.
func measureKeeper(ctx context.Context, bin, work string, tls bool, d, lifetime, margin time.Duration) (*KeeperResult, error) {
	sb, err := sandbox.Start(sandbox.Config{TLS: tls, TokenLifetime: lifetime})
	if err != nil {
		return nil, fmt.Errorf("starting the keeper's sandbox: %w", err)
	}
	defer sb.Close()
	sb.TrustGitHub("acme/keeper")
	dir := filepath.Join(work, "keeper")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("measuring the keeper: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "github_env"), nil, 0o600); err != nil {
		return nil, fmt.Errorf("measuring the keeper: %w", err)
	}
	env := append(baseEnv(work), sb.GitHubEnv()...)
	if pem := sb.CertPEM(); pem != nil {
		ca, err := trustSandbox(work, "keeper", pem)
		if err != nil {
			return nil, err
		}
		env = append(env, ca...)
	}
	env = append(env, "RUNNER_TEMP="+dir, "GITHUB_ENV="+filepath.Join(dir, "github_env"), "GITHUB_OUTPUT="+os.DevNull, "GITHUB_STEP_SUMMARY="+os.DevNull)
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		return stderr.String(), err
	}
	out, err := run("refresh", "--detach", "--resource", "acme/keeper", "--refresh-margin", margin.String(), "--format", "github")
	if err != nil {
		return nil, fmt.Errorf("starting the keeper: %w: %s", err, out)
	}
	defer run("refresh", "--stop") //nolint:errcheck // the sandbox's end stops it too
	m := regexp.MustCompile(`keeper \(pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("starting the keeper: no pid in %q", out)
	}
	pid, _ := strconv.Atoi(m[1])

	type sample struct {
		at        time.Time
		switches  int64
		ticks     int64
		rss, anon int64
	}
	var samples []sample
	start := time.Now()
	for time.Since(start) < d {
		s := sample{at: time.Now()}
		var err error
		if s.switches, err = switches(pid); err == nil {
			s.ticks, err = cpuTicks(pid)
		}
		if err == nil {
			s.rss, s.anon, err = memory(pid)
		}
		if err != nil {
			return nil, fmt.Errorf("watching the keeper (pid %d): %w", pid, err)
		}
		samples = append(samples, s)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	refreshes, started, err := logTimes(dir)
	if err != nil {
		return nil, err
	}
	res := &KeeperResult{Seconds: samples[len(samples)-1].at.Sub(samples[0].at).Seconds()}
	var idle, busy int64
	var idleTime time.Duration
	for i, s := range samples {
		res.RSSBytes, res.AnonBytes = max(res.RSSBytes, s.rss), max(res.AnonBytes, s.anon)
		if i == 0 {
			continue
		}
		prev := samples[i-1]
		// Log times are whole seconds, written when the work is done.
		near := func(t time.Time) bool {
			return !t.Before(prev.at.Add(-2*time.Second)) && !t.After(s.at.Add(2*time.Second))
		}
		switch {
		case near(started) || prev.at.Before(started.Add(3*time.Second)):
			// Starting: it read its files and the roots.
		case slices.ContainsFunc(refreshes, near):
			busy += s.switches - prev.switches
		default:
			idle += s.switches - prev.switches
			idleTime += s.at.Sub(prev.at)
		}
	}
	for _, r := range refreshes {
		if !r.Before(samples[0].at.Truncate(time.Second)) && !r.After(samples[len(samples)-1].at) {
			res.Refreshes++
		}
	}
	res.CPUMS = float64(samples[len(samples)-1].ticks-samples[0].ticks) * 10 // USER_HZ is 100 on Linux
	if idleTime > 0 {
		res.IdlePerMinute = float64(idle) / idleTime.Minutes()
	}
	if res.Refreshes > 0 {
		res.PerRefresh = float64(busy) / float64(res.Refreshes)
	}
	return res, nil
}

// switches is the context switches of every thread of pid.
func switches(pid int) (int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return 0, fmt.Errorf("no threads of pid %d in /proc", pid)
	}
	var n int64
	for _, t := range tasks {
		fields, err := statusFields(t)
		if err != nil {
			continue // the thread ended
		}
		n += fields["voluntary_ctxt_switches"] + fields["nonvoluntary_ctxt_switches"]
	}
	return n, nil
}

// memory is VmRSS and RssAnon, in bytes.
func memory(pid int) (rss, anon int64, err error) {
	fields, err := statusFields(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return fields["VmRSS"] * 1024, fields["RssAnon"] * 1024, nil
}

// statusFields reads the numeric fields of a /proc status file.
func statusFields(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.Fields(v + " x")[0], 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}

// cpuTicks is utime + stime of pid, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// After the command's name, which may hold spaces, in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("reading /proc/%d/stat: unexpected %q", pid, b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("reading /proc/%d/stat: unexpected %q", pid, b)
	}
	return utime + stime, nil
}

// logTimes reads from the keeper's log when it refreshed, and when it
// had started.
func logTimes(dir string) (refreshes []time.Time, started time.Time, _ error) {
	logs, err := filepath.Glob(filepath.Join(dir, "*", "keeper.log"))
	if err != nil || len(logs) != 1 {
		return nil, started, fmt.Errorf("finding keeper.log under %s: %d found", dir, len(logs))
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		return nil, started, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		stamp, msg, _ := strings.Cut(line, " ")
		t, err := time.Parse(time.RFC3339, stamp)
		switch {
		case err != nil:
		case strings.Contains(msg, "refreshed"):
			refreshes = append(refreshes, t)
		case strings.Contains(msg, "keeping"):
			started = t
		}
	}
	if started.IsZero() {
		return nil, started, fmt.Errorf("reading %s: the keeper never said it started", logs[0])
	}
	return refreshes, started, nil
}
