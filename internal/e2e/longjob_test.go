//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// Lifetimes of the long-job tests: tokens that live a few seconds, so that
// a few seconds of a test cover several refreshes.
const (
	shortLifetime = 3 * time.Second
	shortMargin   = "1s"
)

var (
	childOnce sync.Once
	childBin  string
	childErr  error
)

// childCommand is the argv of testdata/hfchild in mode, built once: the
// command exec runs, reading tokens from files only.
func childCommand(t *testing.T, mode ...string) []string {
	t.Helper()
	childOnce.Do(func() {
		childBin = filepath.Join(filepath.Dir(bin), "hfchild")
		out, err := exec.Command("go", "build", "-o", childBin, "./testdata/hfchild").CombinedOutput()
		if err != nil {
			childErr = fmt.Errorf("building testdata/hfchild: %v\n%s", err, out)
		}
	})
	if childErr != nil {
		t.Fatal(childErr)
	}
	return append([]string{childBin}, mode...)
}

// stripMasks returns out without its ::add-mask:: lines, and the values
// they mask.
func stripMasks(out string) (string, map[string]bool) {
	masked := map[string]bool{}
	var rest []string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masked[v] = true
			continue
		}
		rest = append(rest, line)
	}
	return strings.Join(rest, "\n"), masked
}

// syncBuffer collects a background process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a run of the binary in the background.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	code           int
}

// startBin starts hf-oidc with env added to a hermetic environment.
func startBin(t *testing.T, env []string, args ...string) *started {
	t.Helper()
	s := &started{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = hermeticEnv(t, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		s.code = s.cmd.ProcessState.ExitCode()
		if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.code = 128 + int(ws.Signal())
		}
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// wait waits for the run to end, at most d.
func (s *started) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(d):
		t.Fatalf("hf-oidc %v still runs after %s\nstdout: %s\nstderr: %s", s.cmd.Args[1:], d, s.stdout, s.stderr)
		return 0
	}
}

// readLoop reads path in a tight loop until stop is closed and checks
// that every read is a whole token the sandbox issued: never partial,
// never empty, never missing.
func readLoop(t *testing.T, sb *sandbox.Sandbox, path string, stop <-chan struct{}) (reads *atomic.Int64, done <-chan struct{}) {
	reads = new(atomic.Int64)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err != nil {
				select {
				case <-stop: // the file went with the command
					return
				default:
				}
				t.Errorf("read %d of %s: %v", reads.Load(), filepath.Base(path), err)
				return
			}
			if _, ok := sb.Token(string(b)); !ok {
				t.Errorf("read %d of %s saw %d bytes that are not a whole token", reads.Load(), filepath.Base(path), len(b))
				return
			}
			reads.Add(1)
		}
	}()
	return reads, ch
}

// waitForFile waits until path exists.
func waitForFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear within %s", path, d)
}

// TestExecKeepsTokensFresh: on the GitHub path, exec runs a child for
// several token lifetimes that calls whoami with every token file each
// half second, while this test reads a file in a tight loop; nothing ever
// sees a rejected, missing, partial or empty token, and every refresh
// mints a new ID token.
func TestExecKeepsTokensFresh(t *testing.T) {
	t.Parallel()
	// ID tokens that live less than the ID-token source's one-minute
	// margin: each refresh must mint anew, as on GitHub (five minutes,
	// against tokens refreshed every 55).
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime, IDTokenLifetime: 10 * time.Second})
	sb.TrustGitHub("acme/model")
	sb.TrustGitHub("datasets/acme/data")
	dir := filepath.Join(t.TempDir(), "tokens")
	stopFile := filepath.Join(t.TempDir(), "stop")
	argv := childCommand(t, "whoami")
	env := append(sb.GitHubEnv(), "HF_OIDC_E2E_STOP="+stopFile)
	run := startBin(t, env, append([]string{"exec", "--resource", "acme/model", "--resource", "datasets/acme/data=HF_DATA_TOKEN",
		"--refresh-margin", shortMargin, "--token-dir", dir, "--"}, argv...)...)

	file := filepath.Join(dir, "acme--model.token")
	waitForFile(t, file, 10*time.Second)
	stop := make(chan struct{})
	reads, readerDone := readLoop(t, sb, file, stop)
	// Three lifetimes: at least four rounds. The reader stops before the
	// child, whose end removes the files.
	time.Sleep(3 * shortLifetime)
	close(stop)
	<-readerDone
	os.WriteFile(stopFile, nil, 0o600)
	code := run.wait(t, 20*time.Second)

	if code != 0 || !strings.HasPrefix(run.stdout.String(), "ok ") {
		t.Fatalf("exit %d\nchild: %s\nstderr: %s", code, run.stdout, run.stderr)
	}
	if n, _ := strconv.Atoi(strings.Fields(run.stdout.String())[1]); n < 30 {
		t.Errorf("the child made only %d whoami calls", n)
	}
	if reads.Load() < 100 {
		t.Errorf("only %d tight-loop reads", reads.Load())
	}
	st := sb.Stats()
	rounds := st.Exchanges / 2
	if rounds < 4 {
		t.Errorf("%d exchange rounds in three lifetimes, want at least 4", rounds)
	}
	if st.IDTokenRequests != rounds {
		t.Errorf("%d ID tokens minted for %d rounds: the GitHub path must mint one per round", st.IDTokenRequests, rounds)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the token directory exec made is still there: %v", err)
	}
	for _, want := range []string{"acme--model.token", "datasets--acme--data.token", "HF_DATA_TOKEN_FILE", "HF_TOKEN_PATH"} {
		if !strings.Contains(run.stderr.String(), want) {
			t.Errorf("stderr does not name %s:\n%s", want, run.stderr)
		}
	}
	// In GitHub Actions each new token is masked on stderr, refreshed ones
	// too, before a file holds it.
	stderr, masked := stripMasks(run.stderr.String())
	for _, s := range sb.Minted() {
		if strings.HasPrefix(s, "hf_") && !masked[s] {
			t.Errorf("a token issued in this test was never masked (%.12s…)", s)
		}
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": run.stdout.String(), "stderr": stderr})
}

// TestExecReusesPreMintedIDToken: where the provider cannot mint (a
// pre-minted token), every refresh reuses it, and nothing warns while it
// outlives the next refresh.
func TestExecReusesPreMintedIDToken(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime, IDTokenLifetime: time.Minute})
	sb.TrustGitHub("acme/model")
	idToken, err := sb.MintIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	stopFile := filepath.Join(t.TempDir(), "stop")
	argv := childCommand(t, "whoami")
	run := startBin(t, []string{"HF_ENDPOINT=" + sb.URL(), "HF_OIDC_ID_TOKEN=" + idToken, "HF_OIDC_E2E_STOP=" + stopFile},
		append([]string{"exec", "--resource", "acme/model", "--refresh-margin", shortMargin, "--"}, argv...)...)
	time.Sleep(2 * shortLifetime)
	os.WriteFile(stopFile, nil, 0o600)
	if code := run.wait(t, 20*time.Second); code != 0 || !strings.HasPrefix(run.stdout.String(), "ok ") {
		t.Fatalf("exit %d\nchild: %s\nstderr: %s", code, run.stdout, run.stderr)
	}
	st := sb.Stats()
	if st.Exchanges < 3 || st.IDTokenRequests != 0 {
		t.Errorf("%d exchanges and %d ID-token requests: want several exchanges of the one pre-minted token", st.Exchanges, st.IDTokenRequests)
	}
	if strings.Contains(run.stderr.String(), "warning") {
		t.Errorf("a warning while the ID token outlives the next refresh:\n%s", run.stderr)
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": run.stdout.String(), "stderr": run.stderr.String()})
}

// TestExecWarnsBeforeIDTokenExpires: a pre-minted ID token that expires
// before the next refresh is reported at the start, naming its expiry, and
// the refresh that then fails says why; the command itself goes on.
func TestExecWarnsBeforeIDTokenExpires(t *testing.T) {
	t.Parallel()
	// Tokens refreshed 8s after the start; an ID token that expires 5 to 6
	// seconds after it is minted (JWT times are whole seconds), which
	// leaves a loaded machine seconds to start the first exchange.
	sb := startSandbox(t, sandbox.Config{TokenLifetime: 9 * time.Second})
	sb.TrustGitHub("acme/model")
	argv := childCommand(t, "sleep", "9s") // first: building it takes time
	idToken, err := sb.MintIDToken(map[string]any{"exp": time.Now().Add(6 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	r := runBin(t, []string{"HF_ENDPOINT=" + sb.URL(), "HF_OIDC_ID_TOKEN=" + idToken},
		append([]string{"exec", "--resource", "acme/model", "--refresh-margin", shortMargin, "--"}, argv...)...)
	if r.code != 0 {
		t.Fatalf("exit %d, want the command's 0\nstderr: %s", r.code, r.stderr)
	}
	warn := strings.Index(r.stderr, "warning: the ID token expires at ")
	failed := strings.Index(r.stderr, "the tokens can no longer be refreshed")
	if warn < 0 || failed < 0 || warn > failed {
		t.Fatalf("want the warning first, then the failure:\n%s", r.stderr)
	}
	for _, want := range []string{"only once per job", "stop working at", "cannot be re-minted"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
}

// TestExecSignals: SIGTERM to exec reaches the command; exec exits with
// its status, or 128+15 when the signal killed it, and removes the files.
func TestExecSignals(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	for _, tt := range []struct {
		mode   string
		want   int
		output string
	}{
		{"trap", 42, "got SIGTERM"},
		{"die", 128 + int(syscall.SIGTERM), ""},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "tokens")
			argv := childCommand(t, tt.mode)
			run := startBin(t, sb.GitHubEnv(), append([]string{"exec", "--resource", "acme/model", "--token-dir", dir, "--"}, argv...)...)
			for deadline := time.Now().Add(20 * time.Second); !strings.Contains(run.stdout.String(), "ready"); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the command never started\nstderr: %s", run.stderr)
				}
			}
			run.cmd.Process.Signal(syscall.SIGTERM)
			if code := run.wait(t, 20*time.Second); code != tt.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, run.stdout, run.stderr)
			}
			if !strings.Contains(run.stdout.String(), tt.output) {
				t.Errorf("the command did not get the signal: %s", run.stdout)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the token directory is still there: %v", err)
			}
		})
	}
}

func TestExecStatusAndUsage(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	for _, code := range []int{0, 1, 3, 77} {
		argv := childCommand(t, "exit", strconv.Itoa(code))
		r := runBin(t, sb.GitHubEnv(), append([]string{"exec", "--resource", "acme/model", "--"}, argv...)...)
		if r.code != code {
			t.Errorf("command exit %d: exec exit %d\nstderr: %s", code, r.code, r.stderr)
		}
	}
	before := sb.Stats().Exchanges
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--resource", "acme/model"}, "no command given"},
		{[]string{"--resource", "acme/model", "--format", "shell", "--", "true"}, "--format does not apply here: exec hands the tokens to CMD"},
		{[]string{"--resource", "acme/model", "--refresh-margin", "5", "--", "true"}, `--refresh-margin "5": a duration needs a unit, e.g. 5s`},
		{[]string{"--", "true"}, "no resource given"},
	} {
		r := runBin(t, sb.GitHubEnv(), append([]string{"exec"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("exec %v: exit %d, want 2 and %q\nstderr: %s", c.args, r.code, c.want, r.stderr)
		}
	}
	// A command that cannot run exits as in a shell, before any exchange.
	notExec := filepath.Join(t.TempDir(), "train.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cmd   string
		code  int
		first string
	}{
		{"no-such-command-hf-oidc", 127, `hf-oidc exec: cannot run "no-such-command-hf-oidc": executable file not found in $PATH.`},
		{notExec, 126, `hf-oidc exec: cannot run "` + notExec + `": permission denied.`},
	} {
		r := runBin(t, sb.GitHubEnv(), "exec", "--resource", "acme/model", "--", c.cmd)
		first, next, _ := strings.Cut(r.stderr, "\n")
		if r.code != c.code || first != c.first || !strings.HasPrefix(next, "Next: ") || !strings.Contains(next, diag.AnchorExecCommand.See()) {
			t.Errorf("exec -- %s: exit %d, want %d and\n  %s\nand a Next: line linking #%s; stderr:\n%s", c.cmd, r.code, c.code, c.first, diag.AnchorExecCommand, r.stderr)
		}
	}
	if sb.Stats().Exchanges != before {
		t.Error("bad input reached the Hub")
	}
}

// keeperStatus is what the tests read of status.json.
type keeperStatus struct {
	PID         int       `json:"pid"`
	State       string    `json:"state"`
	LastRefresh time.Time `json:"last_refresh"`
	NextRefresh time.Time `json:"next_refresh"`
	LastError   string    `json:"last_error"`
	Tokens      []struct {
		Resource  string    `json:"resource"`
		File      string    `json:"file"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"tokens"`
}

func readStatus(t *testing.T, dir string) (keeperStatus, string) {
	t.Helper()
	raw := testkit.ReadText(t, filepath.Join(dir, "status.json"))
	var st keeperStatus
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	return st, raw
}

// processGone reports whether pid has ended (a zombie counts: nobody may
// reap an orphan here).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) != nil
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if processGone(pid) {
			return
		}
	}
	t.Fatalf("the keeper (pid %d) still runs after %s", pid, d)
}

// startKeeper runs refresh --detach for acme/model in dir and returns the
// keeper's pid, killing it when the test ends.
func startKeeper(t *testing.T, sb *sandbox.Sandbox, dir string, extra ...string) (int, run) {
	t.Helper()
	r := runBin(t, sb.GitHubEnv(), append([]string{"refresh", "--detach", "--format", "shell", "--resource", "acme/model",
		"--refresh-margin", shortMargin, "--token-dir", dir}, extra...)...)
	if r.code != 0 {
		t.Fatalf("refresh --detach: exit %d\nstderr: %s", r.code, r.stderr)
	}
	st, _ := readStatus(t, dir)
	if st.PID == 0 || processGone(st.PID) {
		t.Fatalf("no keeper runs: %+v\nstderr: %s", st, r.stderr)
	}
	t.Cleanup(func() { syscall.Kill(st.PID, syscall.SIGKILL) })
	return st.PID, r
}

// TestRefreshDetached: the background keeper keeps the file valid across
// several lifetimes, a second start runs no second keeper, and removing
// the directory stops it.
func TestRefreshDetached(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime, IDTokenLifetime: 10 * time.Second})
	sb.TrustGitHub("acme/model")
	dir := filepath.Join(t.TempDir(), "tokens")
	pid, r := startKeeper(t, sb, dir)

	vars := evalShell(t, r.stdout)
	file := filepath.Join(dir, "acme--model.token")
	if vars["HF_TOKEN_PATH"] != file || vars["HF_TOKEN_ACME_MODEL_FILE"] != file {
		t.Errorf("HF_TOKEN_PATH=%q, HF_TOKEN_ACME_MODEL_FILE=%q; want both %s", vars["HF_TOKEN_PATH"], vars["HF_TOKEN_ACME_MODEL_FILE"], file)
	}
	if _, ok := vars["HF_TOKEN"]; ok {
		t.Error("HF_TOKEN is exported in file mode")
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, %v", fi, err)
	}

	seen := map[string]bool{}
	for start := time.Now(); time.Since(start) < 3*shortLifetime; time.Sleep(500 * time.Millisecond) {
		tok := testkit.ReadText(t, file)
		if code, _ := whoami(t, sb, tok); code != http.StatusOK {
			t.Fatalf("after %s the file's token is rejected (%d)\nkeeper.log: %s", time.Since(start), code, testkit.ReadText(t, filepath.Join(dir, "keeper.log")))
		}
		seen[tok] = true
	}
	if len(seen) < 4 {
		t.Errorf("the file held %d tokens over three lifetimes, want at least 4", len(seen))
	}
	st, raw := readStatus(t, dir)
	if st.PID != pid || st.State != "running" || st.LastError != "" || !st.NextRefresh.After(st.LastRefresh) || len(st.Tokens) != 1 || st.Tokens[0].File != file {
		t.Errorf("status: %s", raw)
	}

	// A second start exports the same file and starts nothing.
	again := runBin(t, sb.GitHubEnv(), "refresh", "--detach", "--format", "shell", "--resource", "acme/model", "--refresh-margin", shortMargin, "--token-dir", dir)
	if again.code != 0 || !strings.Contains(again.stderr, fmt.Sprintf("(pid %d)", pid)) || !strings.Contains(again.stderr, "started no other keeper") {
		t.Errorf("second start: exit %d\n%s", again.code, again.stderr)
	}
	if v := evalShell(t, again.stdout); v["HF_TOKEN_PATH"] != file {
		t.Errorf("second start exports HF_TOKEN_PATH=%q", v["HF_TOKEN_PATH"])
	}
	if st, _ := readStatus(t, dir); st.PID != pid {
		t.Errorf("the status names pid %d after a second start, want %d", st.PID, pid)
	}
	other := runBin(t, sb.GitHubEnv(), "refresh", "--detach", "--format", "shell", "--resource", "acme/other", "--token-dir", dir)
	if other.code != 2 || !strings.Contains(other.stderr, "for other resources") {
		t.Errorf("start for other resources: exit %d\n%s", other.code, other.stderr)
	}

	log := testkit.ReadText(t, filepath.Join(dir, "keeper.log"))
	if !strings.Contains(log, "refreshed 1 token") {
		t.Errorf("keeper.log: %s", log)
	}
	stderr, _ := stripMasks(r.stderr)
	stderr2, _ := stripMasks(again.stderr)
	testkit.NoLeak(t, sb, map[string]string{"stderr": stderr, "second stderr": stderr2, "status.json": raw, "keeper.log": log})

	// The keeper may write a file while the directory is being removed,
	// as it may under rm -rf: remove again, as a user would.
	for i := 0; ; i++ {
		err := os.RemoveAll(dir)
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitGone(t, pid, 10*time.Second)
}

// TestRefreshStop: --stop stops the keeper and says so; a second --stop
// finds none.
func TestRefreshStop(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	dir := filepath.Join(t.TempDir(), "tokens")
	pid, _ := startKeeper(t, sb, dir)
	r := runBin(t, sb.GitHubEnv(), "refresh", "--stop", "--token-dir", dir)
	if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("stopped the keeper (pid %d)", pid)) {
		t.Fatalf("--stop: exit %d\n%s", r.code, r.stderr)
	}
	waitGone(t, pid, 10*time.Second)
	if st, raw := readStatus(t, dir); st.State != "stopped" {
		t.Errorf("status after --stop: %s", raw)
	}
	r = runBin(t, sb.GitHubEnv(), "refresh", "--stop", "--token-dir", dir)
	if r.code != 0 || !strings.Contains(r.stderr, "no keeper runs") {
		t.Errorf("second --stop: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRefreshGitHub: in GitHub Actions, --detach exports HF_TOKEN_PATH and
// the file variables to later steps, never HF_TOKEN, and the token-file
// output.
func TestRefreshGitHub(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	sb.TrustGitHub("datasets/acme/data")
	step := testkit.NewGitHubStep(t, sb)
	runner := filepath.Join(t.TempDir(), "runner-temp")
	os.Mkdir(runner, 0o700)
	r := runBin(t, append(step.Env, "RUNNER_TEMP="+runner), "refresh", "--detach", "--resource", "acme/model,datasets/acme/data=HF_DATA_TOKEN")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	dirs, _ := filepath.Glob(filepath.Join(runner, fmt.Sprintf("hf-oidc-%d-*", os.Getuid())))
	if len(dirs) != 1 {
		t.Fatalf("token directories in RUNNER_TEMP: %q, want one, the job's", dirs)
	}
	dir := dirs[0]
	st, raw := readStatus(t, dir)
	t.Cleanup(func() { syscall.Kill(st.PID, syscall.SIGKILL) })
	vars := testkit.CommandFile(t, testkit.ReadText(t, step.EnvFile))
	want := map[string]string{
		"HF_TOKEN_PATH":            filepath.Join(dir, "acme--model.token"),
		"HF_TOKEN_ACME_MODEL_FILE": filepath.Join(dir, "acme--model.token"),
		"HF_DATA_TOKEN_FILE":       filepath.Join(dir, "datasets--acme--data.token"),
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	if _, ok := vars["HF_TOKEN"]; ok {
		t.Error("HF_TOKEN exported in file mode")
	}
	if out := testkit.CommandFile(t, testkit.ReadText(t, step.Output)); out["token-file"] != want["HF_TOKEN_PATH"] {
		t.Errorf("token-file output = %q", out["token-file"])
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": withoutMasks(t, sb, r.stdout), "stderr": r.stderr, "status.json": raw})
	if r := runBin(t, append(step.Env, "RUNNER_TEMP="+runner), "refresh", "--stop"); r.code != 0 {
		t.Errorf("--stop with the default directory: exit %d\n%s", r.code, r.stderr)
	}
	waitGone(t, st.PID, 10*time.Second)
}

// TestRefreshForeground: without --detach, refresh keeps the files in the
// foreground and stops on SIGTERM.
func TestRefreshForeground(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime})
	sb.TrustGitHub("acme/model")
	dir := filepath.Join(t.TempDir(), "tokens")
	run := startBin(t, sb.GitHubEnv(), "refresh", "--format", "json", "--resource", "acme/model", "--refresh-margin", shortMargin, "--token-dir", dir)
	waitForFile(t, filepath.Join(dir, "acme--model.token"), 10*time.Second)
	time.Sleep(shortLifetime)
	run.cmd.Process.Signal(syscall.SIGTERM)
	if code := run.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, run.stderr)
	}
	if st, raw := readStatus(t, dir); st.State != "stopped" || st.LastRefresh.IsZero() {
		t.Errorf("status: %s", raw)
	}
	if sb.Stats().Exchanges < 2 {
		t.Errorf("no refresh in a lifetime")
	}
	var j jsonTokens
	if err := json.NewDecoder(strings.NewReader(run.stdout.String())).Decode(&j); err != nil || len(j.Tokens) != 1 {
		t.Errorf("json export: %v", err)
	}
}

func TestLongJobHelp(t *testing.T) {
	t.Parallel()
	for cmd, want := range map[string]string{
		"exec":           "cannot change once CMD has", // the limit users must know
		"refresh":        "--detach",
		"git-credential": "useHttpPath",
	} {
		r := runBin(t, nil, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: hf-oidc "+cmd) || !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), want) {
			t.Errorf("%s --help: exit %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
	}
	r := runBin(t, nil, "git-credential", "fetch")
	if r.code != 2 || !strings.Contains(r.stderr, "expected the action get, store or erase") {
		t.Errorf("git-credential fetch: exit %d\n%s", r.code, r.stderr)
	}
}

// TestRefreshClearsStaleToken: a job migrating from a stored secret, or
// after an earlier exchange, has HF_TOKEN set; huggingface_hub would prefer
// it to the fresh file and fail once it expires. File mode clears it (and
// HUGGING_FACE_HUB_TOKEN) for what follows, as each format can, and says
// so in one line; without it set, nothing is said or cleared.
func TestRefreshClearsStaleToken(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	stale := []string{"HF_TOKEN=hf_stale_secret_from_before", "HUGGING_FACE_HUB_TOKEN=hf_stale_secret_from_before"}
	stop := func(r run, dir string) {
		if st, _ := readStatus(t, dir); st.PID > 0 {
			t.Cleanup(func() { syscall.Kill(st.PID, syscall.SIGKILL) })
		}
	}

	t.Run("shell", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "tokens")
		r := runBin(t, append(sb.GitHubEnv(), append(stale, "GITHUB_ACTIONS=")...), "refresh", "--detach", "--provider", "github", "--format", "shell", "--resource", "acme/model", "--token-dir", dir)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		stop(r, dir)
		if n := strings.Count(r.stderr, "HF_TOKEN and HUGGING_FACE_HUB_TOKEN set here; cleared"); n != 1 {
			t.Errorf("stderr says %d times that it cleared them, want once:\n%s", n, r.stderr)
		}
		// The job's shell, where the stale values are exported.
		cmd := exec.Command("sh", "-c", `eval "$(cat)" && echo "HF_TOKEN=${HF_TOKEN-unset} HUGGING_FACE_HUB_TOKEN=${HUGGING_FACE_HUB_TOKEN-unset}" && cat "$HF_TOKEN_PATH"`)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, stale...)
		cmd.Stdin = strings.NewReader(r.stdout)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		line, tok, _ := strings.Cut(string(out), "\n")
		if line != "HF_TOKEN=unset HUGGING_FACE_HUB_TOKEN=unset" {
			t.Errorf("after eval: %s", line)
		}
		assertWorks(t, sb, "acme/model", tok)
	})
	t.Run("github", func(t *testing.T) {
		step := testkit.NewGitHubStep(t, sb)
		runner := t.TempDir()
		r := runBin(t, append(append(step.Env, stale...), "RUNNER_TEMP="+runner), "refresh", "--detach", "--resource", "acme/model")
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		vars := testkit.CommandFile(t, testkit.ReadText(t, step.EnvFile))
		stop(r, filepath.Dir(vars["HF_TOKEN_PATH"]))
		for _, name := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
			if v, ok := vars[name]; !ok || v != "" {
				t.Errorf("$GITHUB_ENV: %s = %q (set: %v), want it emptied", name, v, ok)
			}
		}
		if !strings.Contains(r.stderr, "emptied for later steps") {
			t.Errorf("stderr does not say so:\n%s", r.stderr)
		}
		assertWorks(t, sb, "acme/model", testkit.ReadText(t, vars["HF_TOKEN_PATH"]))
	})
	t.Run("nothing stale", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "tokens")
		r := runBin(t, sb.GitHubEnv(), "refresh", "--detach", "--format", "shell", "--resource", "acme/model", "--token-dir", dir)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		stop(r, dir)
		if strings.Contains(r.stdout, "unset") || strings.Contains(r.stderr, "cleared") {
			t.Errorf("cleared what was not set:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	})
}
