//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The leak harness runs every command in every format, and every kind of
// failure, and scans everything each run leaves for every secret minted in
// it: stdout and stderr, the GitHub command files, every file written under
// the run's HOME, TMPDIR, RUNNER_TEMP and work directory, and the argv and
// environment of every process hf-oidc starts. Tokens may be only where they
// are meant to be: the token files, $GITHUB_ENV, the `token` output, the
// pipe's env file, the stdout of the formats and of `git-credential get`
// that hand them out, and the environment of exec's command.

// leakChunk is the length of the pieces of a secret the scan looks for: any
// run of 2*leakChunk-1 characters of a secret's secret part holds a whole
// piece, so a leak of that length or more is found wherever it starts.
const leakChunk = 12

// A leakNeedle is a string that must not appear outside the places meant
// for tokens, and what it is a piece of.
type leakNeedle struct{ kind, s string }

// leakNeedles are the secrets whole, their secret parts (an HF token without
// its prefix, an ID token's payload and signature) and every aligned piece
// of those.
func leakNeedles(secrets []string) []leakNeedle {
	var out []leakNeedle
	seen := map[string]bool{}
	add := func(kind, s string) {
		if len(s) >= 8 && !seen[s] {
			seen[s] = true
			out = append(out, leakNeedle{kind, s})
		}
	}
	for _, sec := range secrets {
		kind, parts := leakParts(sec)
		add(kind, sec)
		for _, p := range parts {
			add(kind+" part", p)
			if len(p) < 2*leakChunk-1 {
				continue
			}
			for i := 0; i+leakChunk <= len(p); i += leakChunk {
				add(kind+" piece", p[i:i+leakChunk])
			}
			add(kind+" piece", p[len(p)-leakChunk:])
		}
	}
	return out
}

// leakParts names a secret and returns its secret parts. A JWT's header is
// left out: it is the same for every token of an issuer, and not secret.
func leakParts(s string) (string, []string) {
	for _, p := range []string{"hf_jwt_", "hf_oauth_", "hf_"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return "HF token", []string{rest}
		}
	}
	if parts := strings.Split(s, "."); len(parts) == 3 && strings.HasPrefix(s, "eyJ") {
		return "ID token", parts[1:]
	}
	return "secret", []string{s}
}

// leakFind says which outputs hold a needle, or anything shaped like a
// token, never quoting more than the start of a needle.
func leakFind(needles []leakNeedle, outputs map[string]string) []string {
	var found []string
	for _, name := range slices.Sorted(maps.Keys(outputs)) {
		out := outputs[name]
		for _, n := range needles {
			if strings.Contains(out, n.s) {
				found = append(found, fmt.Sprintf("%s holds a %s (%.6s…)", name, n.kind, n.s))
				break
			}
		}
		if m := testkit.TokenShaped(out); m != "" {
			found = append(found, fmt.Sprintf("%s holds something shaped like a token (%.10s…)", name, m))
		}
	}
	return found
}

// A leakScenario is a list of commands run in one environment, against one
// sandbox, whose every trace is then scanned.
type leakScenario struct {
	name string
	// github runs the steps as a GitHub Actions step: the GitHub
	// environment and command files, and ::add-mask:: lines allowed.
	github bool
	git    bool // needs git (a wrapper on PATH records every git hf-oidc runs)
	cfg    sandbox.Config
	// steps configures the sandbox and the run, and returns the steps.
	steps func(r *leakRun) []leakStep
	// childVars are the variables that may hold a token in the
	// environment of the processes hf-oidc starts: exec's command's.
	childVars []string
}

// A leakStep runs hf-oidc (or another program, such as git) once, or calls
// do.
type leakStep struct {
	prog  string // "" is hf-oidc
	args  []string
	env   []string // over the run's environment
	stdin func(r *leakRun) string
	// meant says that stdout is where this command hands out tokens.
	meant bool
	code  int      // the exit status it must have
	want  []string // in stdout or stderr: the proof it did what it is for
	do    func(t *testing.T, r *leakRun)
}

// A leakRun is one scenario's run: its directories, environment, secrets
// and everything captured.
type leakRun struct {
	t                                     *testing.T
	sb                                    *sandbox.Sandbox
	home, tmp, work, runner, capt, binDir string
	gh                                    map[string]string // GITHUB_ENV, … → file
	env                                   []string
	extra                                 []string        // secrets the test made itself
	meant                                 map[string]bool // files meant to hold tokens
	outputs                               map[string]string
	allowed                               map[string]bool // NAME=value pairs given to hf-oidc, which its children inherit
	childVars                             map[string]bool
	last                                  run
	procs                                 int // processes seen
}

// secret makes a random secret of the test's own, remembered for the scan.
func (r *leakRun) secret(prefix string) string {
	b := make([]byte, 24)
	rand.Read(b)
	s := prefix + base64.RawURLEncoding.EncodeToString(b)
	r.extra = append(r.extra, s)
	return s
}

// mint is a GitHub-shaped ID token of the sandbox with overrides.
func (r *leakRun) mint(overrides map[string]any) string {
	tok, err := r.sb.MintIDToken(overrides)
	if err != nil {
		r.t.Fatal(err)
	}
	return tok
}

// getenv returns the value of name in the run's environment.
func (r *leakRun) getenv(name string) string {
	for _, kv := range slices.Backward(r.env) {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// leakClosedPort is a loopback address nothing listens on.
func leakClosedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newLeakRun(t *testing.T, sc leakScenario) *leakRun {
	cfg := sc.cfg
	cfg.Keys = sandbox.SharedKeys
	root := t.TempDir()
	r := &leakRun{
		t:         t,
		sb:        startSandbox(t, cfg),
		home:      filepath.Join(root, "home"),
		tmp:       filepath.Join(root, "tmp"),
		work:      filepath.Join(root, "work"),
		runner:    filepath.Join(root, "runner-temp"),
		capt:      filepath.Join(root, "capture"),
		gh:        map[string]string{},
		meant:     map[string]bool{},
		outputs:   map[string]string{},
		allowed:   map[string]bool{},
		childVars: map[string]bool{},
	}
	for _, v := range sc.childVars {
		r.childVars[v] = true
	}
	binDir := filepath.Join(root, "bin")
	r.binDir = binDir
	for _, d := range []string{r.home, r.tmp, r.work, r.runner, r.capt, binDir, filepath.Join(root, "github")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if sc.git {
		requireGit(t)
		realGit, _ := exec.LookPath("git")
		leakScript(t, filepath.Join(binDir, "git"), fmt.Sprintf(leakGitWrapper, r.capt, r.capt, realGit))
	}
	leakScript(t, filepath.Join(binDir, "leak-child"), leakChild)
	r.env = []string{
		"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + r.home,
		"TMPDIR=" + r.tmp,
		"HF_LEAK_CAPTURE=" + r.capt,
		"GIT_CONFIG_GLOBAL=" + filepath.Join(r.home, "gitconfig"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
	}
	if sc.github {
		for _, name := range []string{"GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE", "GITHUB_PATH"} {
			f := filepath.Join(root, "github", strings.ToLower(name))
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			r.gh[name] = f
			r.env = append(r.env, name+"="+f)
		}
		r.env = append(append(r.env, "RUNNER_TEMP="+r.runner), r.sb.GitHubEnv()...)
	} else {
		r.env = append(r.env, "HF_ENDPOINT="+r.sb.URL())
	}
	return r
}

func leakScript(t *testing.T, path, text string) {
	if err := os.WriteFile(path, []byte(text), 0o700); err != nil {
		t.Fatal(err)
	}
}

// leakGitWrapper records the argv and environment of every git run, then
// runs the real one (capture dir twice, then git's path).
const leakGitWrapper = `#!/bin/sh
cat /proc/$$/cmdline >"%s/git-$$.cmdline"
cat /proc/$$/environ >"%s/git-$$.environ"
exec %s "$@"
`

// leakChild is the command exec runs: it records its own argv and
// environment and its parent's argv, checks that its token file holds the
// token its variable does (test and [ are shell builtins: no token reaches
// an argv), and with "git" gets a credential through the helper exec
// configured.
const leakChild = `#!/bin/sh
cat /proc/$$/cmdline >"$HF_LEAK_CAPTURE/exec-child-$$.cmdline"
cat /proc/$$/environ >"$HF_LEAK_CAPTURE/exec-child-$$.environ"
cat /proc/$PPID/cmdline >"$HF_LEAK_CAPTURE/exec-parent-$$.cmdline"
[ -s "$HF_TOKEN_PATH" ] || { echo "no token file"; exit 3; }
[ "$(cat "$HF_TOKEN_PATH")" = "$HF_TOKEN_ACME_MODEL" ] || { echo "the token file and the variable differ"; exit 4; }
if [ "$1" = git ]; then
	host=${HF_ENDPOINT#http://}
	printf 'protocol=http\nhost=%s\npath=acme/model.git\n\n' "$host" | git credential fill >/dev/null || { echo "git credential fill failed"; exit 5; }
fi
echo "the child read its token file"
`

// leakProc is what the scan keeps of a process: its argv and environment.
type leakProc struct {
	pid     int
	argv    []string
	environ []string
}

// A leakWatcher records every process below one: it walks the process
// tree every few milliseconds and reads each process's argv again each time
// (a fork shows its parent's until it execs).
type leakWatcher struct {
	done  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	procs []leakProc
}

func leakWatch(pid int) *leakWatcher {
	w := &leakWatcher{done: make(chan struct{})}
	seen := map[string]bool{}
	w.wg.Go(func() {
		for {
			for _, p := range leakDescendants(pid) {
				argv, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
				if err != nil || len(argv) == 0 {
					continue
				}
				key := strconv.Itoa(p) + "\x00" + string(argv)
				if seen[key] {
					continue
				}
				seen[key] = true
				environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p))
				// A process that exits while its environ is read gives
				// a torn read, its last variable cut short of the NUL
				// that ends each: that piece of an inherited variable
				// is none the process made.
				if i := bytes.LastIndexByte(environ, 0); i < len(environ)-1 {
					environ = environ[:i+1]
				}
				w.mu.Lock()
				w.procs = append(w.procs, leakProc{pid: p, argv: leakSplit0(argv), environ: leakSplit0(environ)})
				w.mu.Unlock()
			}
			select {
			case <-w.done:
				return
			case <-time.After(3 * time.Millisecond):
			}
		}
	})
	return w
}

// seen returns the processes recorded so far.
func (w *leakWatcher) seen() []leakProc {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.procs)
}

// stop ends the watch and returns every process recorded.
func (w *leakWatcher) stop() []leakProc {
	close(w.done)
	w.wg.Wait()
	return w.procs
}

// leakDescendants lists the processes below pid, from the children files
// of each of its threads.
func leakDescendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, task := range tasks {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, task.Name()))
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil && !slices.Contains(out, c) {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}

func leakSplit0(b []byte) []string {
	var out []string
	for _, s := range strings.Split(string(b), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// addProc adds a process's argv to the outputs, and the variables of its
// environment that it did not inherit from what the test gave hf-oidc,
// except those meant for exec's command.
func (r *leakRun) addProc(origin string, p leakProc) {
	r.procs++
	exe := "?"
	if len(p.argv) > 0 {
		exe = filepath.Base(p.argv[0])
	}
	name := fmt.Sprintf("%s: pid %d (%s)", origin, p.pid, exe)
	r.outputs[name+" argv"] = strings.Join(p.argv, " ")
	var env []string
	for _, kv := range p.environ {
		n, _, _ := strings.Cut(kv, "=")
		if !r.allowed[kv] && !r.childVars[n] {
			env = append(env, kv)
		}
	}
	r.outputs[name+" environment"] = strings.Join(env, "\n")
}

// exec runs step i and adds what it printed, and every process it started,
// to the outputs.
func (r *leakRun) exec(i int, s leakStep) {
	t := r.t
	if s.do != nil {
		s.do(t, r)
		return
	}
	prog := bin
	if s.prog != "" {
		prog = filepath.Join(r.binDir, s.prog)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, s.args...)
	cmd.Env = withEnv(r.env, s.env...)
	cmd.Dir = r.work
	for _, kv := range cmd.Env {
		r.allowed[kv] = true
	}
	if s.stdin != nil {
		cmd.Stdin = strings.NewReader(s.stdin(r))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", prog, err)
	}
	watch := leakWatch(cmd.Process.Pid)
	err := cmd.Wait()
	procs := watch.stop()
	res := run{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil && res.code < 0 {
		t.Fatalf("running %s %v: %v", filepath.Base(prog), s.args, err)
	}
	r.last = res

	label := fmt.Sprintf("step %d (%s %s)", i+1, filepath.Base(prog), strings.Join(leakShort(s.args), " "))
	if res.code != s.code {
		t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", label, res.code, s.code, res.stdout, res.stderr)
	}
	for _, w := range s.want {
		if !strings.Contains(res.stdout+res.stderr, w) {
			t.Errorf("%s: the output lacks %q\nstdout: %s\nstderr: %s", label, w, res.stdout, res.stderr)
		}
	}
	if s.meant && res.code == 0 && !r.holdsMinted(res.stdout) {
		t.Errorf("%s: stdout holds no token the sandbox minted, though handing one out is its job", label)
	}
	stdoutText, stderrText := res.stdout, res.stderr
	if len(r.gh) > 0 {
		// In GitHub Actions, a mask is how a secret is kept out of the log.
		stdoutText, _ = stripMasks(stdoutText)
		stderrText, _ = stripMasks(stderrText)
	}
	if !s.meant {
		r.outputs[label+" stdout"] = stdoutText
	}
	r.outputs[label+" stderr"] = stderrText
	for _, p := range procs {
		r.addProc(label, p)
	}
	r.captureKeepers(label)
}

// leakShort keeps a step's label readable: long arguments are cut.
func leakShort(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = leakTruncated(a, 40)
	}
	return out
}

func leakTruncated(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (r *leakRun) holdsMinted(s string) bool {
	for _, m := range r.sb.Minted() {
		if strings.HasPrefix(m, "hf_") && strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// captureKeepers adds the argv and environment of every keeper that a
// status file in a token directory names and that still runs; the test
// stops them when it ends.
func (r *leakRun) captureKeepers(label string) {
	for _, dir := range r.tokenDirs() {
		raw, err := os.ReadFile(filepath.Join(dir, "status.json"))
		if err != nil {
			continue
		}
		var st struct{ PID int }
		if json.Unmarshal(raw, &st) != nil || st.PID == 0 || processGone(st.PID) {
			continue
		}
		pid := st.PID
		r.t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
		argv, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		environ, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err1 == nil && err2 == nil && len(argv) > 0 {
			r.addProc(label+" keeper", leakProc{pid: pid, argv: leakSplit0(argv), environ: leakSplit0(environ)})
		}
	}
}

// collect adds the GitHub command files (but $GITHUB_ENV and the token
// output), every file under the run's directories but the meant ones, and
// what the wrappers and exec's command recorded.
func (r *leakRun) collect() {
	t := r.t
	for name, f := range r.gh {
		content := testkit.ReadText(t, f)
		switch name {
		case "GITHUB_ENV":
			continue
		case "GITHUB_OUTPUT":
			content = withoutOutput(t, content, "token")
		}
		r.outputs["$"+name] = content
	}
	for _, dir := range []string{r.home, r.tmp, r.work, r.runner} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || r.isMeant(path) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil // a keeper's file replaced under the walk
			}
			rel, _ := filepath.Rel(filepath.Dir(r.home), path)
			r.outputs["file "+rel] = string(b)
			return nil
		})
	}
	entries, _ := os.ReadDir(r.capt)
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".cmdline")
		if !ok {
			continue
		}
		argv, _ := os.ReadFile(filepath.Join(r.capt, e.Name()))
		environ, _ := os.ReadFile(filepath.Join(r.capt, base+".environ"))
		pid, _ := strconv.Atoi(base[strings.LastIndexByte(base, '-')+1:])
		if len(argv) > 0 {
			r.addProc("recorded by "+base, leakProc{pid: pid, argv: leakSplit0(argv), environ: leakSplit0(environ)})
		}
	}
}

// tokenDirs are where *.token files are meant to be: the default token
// directories, one per job, under RUNNER_TEMP or TMPDIR.
func (r *leakRun) tokenDirs() []string {
	var dirs []string
	for _, base := range []string{r.runner, r.tmp} {
		found, _ := filepath.Glob(filepath.Join(base, fmt.Sprintf("hf-oidc-%d-*", os.Getuid())))
		dirs = append(dirs, found...)
	}
	return dirs
}

// isMeant: a token file in a token directory, or a file a scenario names.
func (r *leakRun) isMeant(path string) bool {
	return r.meant[path] || strings.HasSuffix(path, ".token") && slices.Contains(r.tokenDirs(), filepath.Dir(path))
}

// recorded reports whether the git wrapper or exec's command recorded a
// process in a file whose name starts with prefix.
func (r *leakRun) recorded(prefix string) bool {
	entries, _ := os.ReadDir(r.capt)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			return true
		}
	}
	return false
}

// The resources of every scenario: a repo and a dataset under a name of
// its own, so that the variables of both kinds are exported.
var leakResources = []string{"--resource", "acme/model", "--resource", "datasets/acme/data=HF_DATA_TOKEN"}

func leakTrust(r *leakRun) {
	r.sb.TrustGitHub("acme/model")
	r.sb.TrustGitHub("datasets/acme/data")
}

func leakArgs(args ...string) []string { return append(args, leakResources...) }

// leakCredential is git's request for the Hub's credential of acme/model.
func leakCredential(r *leakRun) string {
	return "protocol=http\nhost=" + strings.TrimPrefix(r.sb.URL(), "http://") + "\npath=acme/model.git\n\n"
}

// leakGit runs git with hf-oidc as the only credential helper.
func leakGit(action string) leakStep {
	return leakStep{prog: "git", args: []string{"-c", "credential.helper=", "-c", "credential.helper=!" + bin + " git-credential --resource acme/model",
		"-c", "credential.useHttpPath=true", "credential", action}}
}

func leakScenarios() []leakScenario {
	return []leakScenario{
		// --- every command and format ---
		{name: "exchange github", github: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{{args: leakArgs("exchange", "--format", "github"), want: []string{"exported to later steps"}}, leakHolds("GITHUB_ENV")}
		}},
		{name: "exchange shell", github: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{{args: leakArgs("exchange", "--format", "shell"), meant: true}}
		}},
		{name: "exchange dotenv", github: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{{args: leakArgs("exchange", "--format", "dotenv"), meant: true}}
		}},
		{name: "exchange json", github: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{{args: leakArgs("exchange", "--format", "json"), meant: true}}
		}},
		{name: "exchange --git", github: true, git: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{
				{args: leakArgs("exchange", "--format", "github", "--git")},
				{do: func(t *testing.T, r *leakRun) {
					if !r.recorded("git-") {
						t.Error("exchange --git ran no git that the wrapper saw")
					}
				}},
			}
		}},
		{name: "exchange with a pre-minted ID token", steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			tok := r.mint(nil)
			file := filepath.Join(r.work, "id-token")
			r.meant[file] = true // the user's own file, given to hf-oidc
			if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
				r.t.Fatal(err)
			}
			return []leakStep{
				{args: leakArgs("exchange", "--format", "shell"), env: []string{"HF_OIDC_ID_TOKEN=" + tok}, meant: true},
				{args: leakArgs("exchange", "--format", "json", "--id-token-file", file), meant: true},
			}
		}},
		{name: "exec", github: true, childVars: []string{"HF_TOKEN_ACME_MODEL", "HF_DATA_TOKEN"}, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{
				{args: append(leakArgs("exec"), "--", "leak-child"), want: []string{"the child read its token file"}},
				{do: func(t *testing.T, r *leakRun) {
					if !r.recorded("exec-child-") {
						t.Error("exec's command recorded nothing")
					}
				}},
			}
		}},
		{name: "exec --git", git: true, childVars: []string{"HF_TOKEN_ACME_MODEL"}, steps: func(r *leakRun) []leakStep {
			r.sb.TrustGitHub("acme/model")
			return []leakStep{{args: []string{"exec", "--git", "--resource", "acme/model", "--", "leak-child", "git"},
				env: []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil)}, want: []string{"the child read its token file"}}}
		}},
		{name: "refresh --detach, then --stop", cfg: sandbox.Config{TokenLifetime: 3 * time.Second}, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			env := []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil)}
			return []leakStep{
				{args: leakArgs("refresh", "--detach", "--format", "shell", "--refresh-margin", "1s"), env: env, meant: true, want: []string{"background keeper"}},
				{do: leakWaitRefresh},
				{args: []string{"refresh", "--stop"}, env: env, want: []string{"stopped the keeper"}},
			}
		}},
		{name: "refresh --detach in GitHub Actions, then --stop", github: true, cfg: sandbox.Config{TokenLifetime: 3 * time.Second}, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{
				{args: leakArgs("refresh", "--detach", "--refresh-margin", "1s"), want: []string{"background keeper"}},
				leakHolds("GITHUB_OUTPUT"),
				{do: leakWaitRefresh},
				{args: []string{"refresh", "--stop"}, want: []string{"stopped the keeper"}},
			}
		}},
		{name: "git-credential", github: true, git: true, steps: func(r *leakRun) []leakStep {
			r.sb.TrustGitHub("acme/model")
			fill, approve, reject := leakGit("fill"), leakGit("approve"), leakGit("reject")
			fill.stdin, fill.meant = leakCredential, true
			// git hands the credential it filled back to approve or reject.
			var filled string
			fromFill := func(r *leakRun) string { filled = r.last.stdout; return filled }
			approve.stdin = fromFill
			reject.stdin = func(r *leakRun) string { return filled }
			refill := fill
			return []leakStep{
				fill, approve, reject, refill,
				{do: func(t *testing.T, r *leakRun) {
					if r.last.stdout == filled {
						t.Error("after reject, git got the rejected token again")
					}
				}},
				{args: []string{"git-credential", "--resource", "acme/model", "get"}, stdin: leakCredential, meant: true},
				{args: []string{"git-credential", "--resource", "acme/model", "store"}, stdin: func(r *leakRun) string { return filled }},
				{args: []string{"git-credential", "--resource", "acme/model", "erase"}, stdin: func(r *leakRun) string { return filled }},
			}
		}},
		{name: "claims", github: true, steps: func(r *leakRun) []leakStep {
			return []leakStep{
				{args: []string{"claims"}, want: []string{"repo:acme/training:ref:refs/heads/main"}},
				{args: []string{"claims", "--json"}, want: []string{`"subject": "repo:acme/training:ref:refs/heads/main"`}},
				{args: []string{"claims", "--expect", "repository=acme/other,branch=main"}, code: 1, want: []string{"MISMATCH"}},
				{args: []string{"claims", "--json", "--expect", "repository=acme/other"}, env: []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil)}, code: 1, want: []string{`"match": false`}},
			}
		}},
		{name: "demo", steps: func(r *leakRun) []leakStep {
			return []leakStep{{args: []string{"demo"}, want: []string{"exchanged concurrently with one ID token"}}}
		}},
		{name: "pipe", steps: func(r *leakRun) []leakStep {
			r.sb.TrustBitbucket("acme/model")
			env, err := r.sb.Env(sandbox.Bitbucket)
			if err != nil {
				r.t.Fatal(err)
			}
			storage := filepath.Join(r.work, ".bitbucket", "pipelines", "generated", "pipeline", "pipes")
			r.meant[filepath.Join(storage, "hf-oidc.env")] = true
			env = append(env, "RESOURCES=acme/model", "BITBUCKET_PIPE_SHARED_STORAGE_DIR="+storage, "BITBUCKET_CLONE_DIR="+r.work)
			return []leakStep{
				{args: []string{"pipe"}, env: env, want: []string{"hf-oidc.env"}},
				leakHolds(filepath.Join(storage, "hf-oidc.env")),
				{args: []string{"pipe"}, env: append(env, "RESOURCES=acme/untrusted"), code: 1, want: []string{"invalid_grant"}},
			}
		}},
		{name: "providers and version", github: true, steps: func(r *leakRun) []leakStep {
			return []leakStep{{args: []string{"providers"}, want: []string{"github"}}, {args: []string{"version"}, want: []string{"hf-oidc"}}}
		}},

		// --- debug output: requests and claims, never a token ---
		{name: "exchange --verbose", github: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{
				{args: leakArgs("exchange", "--format", "github", "--verbose"), want: []string{"hf-oidc: debug: POST ", "hf-oidc: debug:   sub "}},
				{args: leakArgs("exchange", "--format", "json", "--verbose"), meant: true, want: []string{"hf-oidc: debug: GET "}},
			}
		}},
		{name: "RUNNER_DEBUG=1", github: true, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			return []leakStep{{args: leakArgs("exchange", "--format", "github"), env: []string{"RUNNER_DEBUG=1"}, want: []string{"::debug::hf-oidc: POST "}}}
		}},
		{name: "exec, git-credential and claims with HF_OIDC_VERBOSE", github: true, git: true, childVars: []string{"HF_TOKEN_ACME_MODEL", "HF_DATA_TOKEN"}, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			env := []string{"HF_OIDC_VERBOSE=true"}
			fill := leakGit("fill")
			fill.stdin, fill.meant, fill.env = leakCredential, true, env
			return []leakStep{
				{args: append(leakArgs("exec"), "--", "leak-child"), env: env, want: []string{"the child read its token file", "hf-oidc: debug: POST "}},
				fill,
				{args: []string{"git-credential", "--resource", "acme/model", "get"}, env: env, stdin: leakCredential, meant: true, want: []string{"hf-oidc: debug: "}},
				{args: []string{"claims"}, env: env, want: []string{"hf-oidc: debug: GET "}},
			}
		}},
		{name: "refresh --detach --verbose, then --stop", cfg: sandbox.Config{TokenLifetime: 3 * time.Second}, steps: func(r *leakRun) []leakStep {
			leakTrust(r)
			env := []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil)}
			return []leakStep{
				{args: leakArgs("refresh", "--detach", "--verbose", "--format", "shell", "--refresh-margin", "1s"), env: env, meant: true, want: []string{"hf-oidc: debug: POST "}},
				{do: leakWaitRefresh},
				{args: []string{"refresh", "--stop"}, env: env, want: []string{"stopped the keeper"}},
			}
		}},
		{name: "the pipe with DEBUG=true, GitLab with CI_DEBUG_TRACE", steps: func(r *leakRun) []leakStep {
			r.sb.TrustBitbucket("acme/model")
			r.sb.TrustGitLab("acme/model")
			bb, err := r.sb.Env(sandbox.Bitbucket)
			if err != nil {
				r.t.Fatal(err)
			}
			gl, err := r.sb.Env(sandbox.GitLab)
			if err != nil {
				r.t.Fatal(err)
			}
			storage := filepath.Join(r.work, "pipes")
			r.meant[filepath.Join(storage, "hf-oidc.env")] = true
			bb = append(bb, "RESOURCES=acme/model", "BITBUCKET_PIPE_SHARED_STORAGE_DIR="+storage, "BITBUCKET_CLONE_DIR="+r.work, "DEBUG=true")
			return []leakStep{
				{args: []string{"pipe"}, env: bb, want: []string{"hf-oidc: debug: debug output on (DEBUG=true)", "hf-oidc: debug: POST "}},
				{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: append(gl, "CI_DEBUG_TRACE=true"), meant: true,
					want: []string{"hf-oidc: debug: debug output on (CI_DEBUG_TRACE)", "hf-oidc: debug: POST "}},
			}
		}},
		{name: "verbose failures", github: true, steps: func(r *leakRun) []leakStep {
			r.sb.TrustGitHub("acme/model")
			tok := r.mint(nil)
			body := fmt.Sprintf(`{"error":"invalid_request","error_description":"bad subject_token %s; %s"}`, tok, r.secret("hf_jwt_Ab-"))
			r.sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 400, Body: body})
			proxy := "http://user:" + r.secret("proxy-pass-") + "@" + leakClosedPort(r.t)
			return []leakStep{
				{args: []string{"exchange", "--format", "github", "--verbose", "--resource", "acme/model"}, env: []string{"HF_OIDC_ID_TOKEN=" + tok},
					code: 1, want: []string{"hf-oidc: debug: POST ", ": HTTP 400 in "}},
				{args: []string{"exchange", "--format", "github", "--verbose", "--resource", "acme/untrusted"}, code: 1, want: []string{"invalid_grant", "hf-oidc: debug:   sub "}},
				{args: []string{"exchange", "--format", "github", "--verbose", "--resource", "acme/model"}, env: []string{"HF_ENDPOINT=http://" + leakClosedPort(r.t)},
					code: 1, want: []string{"connection refused", ": failed after "}},
				{args: []string{"exchange", "--format", "json", "--verbose", "--resource", "acme/model", "--timeout", "2s"},
					env: []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil), "HF_ENDPOINT=https://hub.example.invalid", "HTTPS_PROXY=" + proxy}, code: 1, want: []string{"proxyconnect"}},
			}
		}},

		// --- the Hub says no, or does not answer ---
		{name: "invalid_grant", github: true, steps: func(r *leakRun) []leakStep {
			r.sb.TrustGitHub("acme/model")
			args := []string{"--resource", "acme/model", "--resource", "acme/untrusted"}
			return []leakStep{
				{args: append([]string{"exchange", "--format", "github"}, args...), code: 1, want: []string{"acme/untrusted: invalid_grant"}},
				{args: append([]string{"exchange", "--format", "shell"}, args...), code: 1, want: []string{"acme/untrusted: invalid_grant"}},
				{args: append([]string{"exec"}, append(args, "--", "leak-child")...), code: 1, want: []string{"invalid_grant"}},
			}
		}},
		{name: "invalid_request echoing the tokens", github: true, steps: func(r *leakRun) []leakStep {
			tok := r.mint(nil)
			body := fmt.Sprintf(`{"error":"invalid_request","error_description":"bad subject_token %s; %s"}`, tok, r.secret("hf_jwt_Ab-"))
			r.sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 400, Body: body})
			return []leakStep{{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: []string{"HF_OIDC_ID_TOKEN=" + tok},
				code: 1, want: []string{"invalid_request: bad subject_token"}}}
		}},
		{name: "429 until the attempts run out", steps: func(r *leakRun) []leakStep {
			tok := r.mint(nil)
			for range 5 {
				r.sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 429, RetryAfter: "0", Body: `{"error":"slow_down","error_description":"` + tok + `"}`})
			}
			return []leakStep{{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: []string{"HF_OIDC_ID_TOKEN=" + tok},
				code: 1, want: []string{"5 attempts", "HTTP 429"}}}
		}},
		{name: "500 until the attempts run out", steps: func(r *leakRun) []leakStep {
			tok := r.mint(nil)
			page := "<html><body>Internal error for " + r.secret("hf_jwt_Cd-") + " and " + tok + "</body></html>"
			for range 5 {
				r.sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 500, Body: page})
			}
			return []leakStep{{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: []string{"HF_OIDC_ID_TOKEN=" + tok},
				code: 1, want: []string{"5 attempts", "HTTP 500"}}}
		}},
		{name: "a stall hits --timeout", github: true, steps: func(r *leakRun) []leakStep {
			r.sb.TrustGitHub("acme/model")
			r.sb.Inject(sandbox.PathToken, sandbox.Fault{Delay: time.Minute})
			return []leakStep{{args: []string{"exchange", "--format", "github", "--resource", "acme/model", "--timeout", "1s"}, code: 1, want: []string{"--timeout of 1s ran out"}}}
		}},
		{name: "connection refused", github: true, steps: func(r *leakRun) []leakStep {
			return []leakStep{{args: []string{"exchange", "--format", "github", "--resource", "acme/model", "--timeout", "3s"},
				env: []string{"HF_ENDPOINT=http://" + leakClosedPort(r.t)}, code: 1, want: []string{"Most likely causes of a refused connection"}}}
		}},
		{name: "an unusable answer holding a token", steps: func(r *leakRun) []leakStep {
			body := `{"access_token":"` + r.secret("hf_jwt_Ef-") + `","token_type":"mac","expires_in":3600}`
			r.sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 200, Body: body})
			return []leakStep{{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil)},
				code: 1, want: []string{`token_type is not "bearer"`}}}
		}},
		{name: "a proxy with user info", steps: func(r *leakRun) []leakStep {
			proxy := "http://user:" + r.secret("proxy-pass-") + "@" + leakClosedPort(r.t)
			return []leakStep{{args: []string{"exchange", "--format", "json", "--resource", "acme/model", "--timeout", "2s"},
				env: []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil), "HF_ENDPOINT=https://hub.example.invalid", "HTTPS_PROXY=" + proxy}, code: 1, want: []string{"Most likely causes of a failing proxy"}}}
		}},

		// --- no usable ID token ---
		{name: "ID-token endpoint 401", github: true, steps: func(r *leakRun) []leakStep {
			sig := r.secret("sig-")
			u := r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") + "&sig=" + sig
			// A server that echoes what it was sent: the URL's query and the request token.
			body := fmt.Sprintf(`{"message":"sig=%s: not valid with %s"}`, sig, r.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
			r.sb.Inject(sandbox.PathGitHubIDToken, sandbox.Fault{Status: 401, Body: body})
			return []leakStep{{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u},
				code: 1, want: []string{"status 401"}}}
		}},
		{name: "ID-token endpoint 500", github: true, steps: func(r *leakRun) []leakStep {
			body := "upstream failed for bearer " + r.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
			for range 8 { // four attempts each for exchange and claims
				r.sb.Inject(sandbox.PathGitHubIDToken, sandbox.Fault{Status: 500, Body: body})
			}
			return []leakStep{
				{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, code: 1, want: []string{"status 500"}},
				{args: []string{"claims"}, code: 1, want: []string{"status 500"}},
			}
		}},
		{name: "an expired ID token", steps: func(r *leakRun) []leakStep {
			past := time.Now().Add(-time.Hour)
			tok := r.mint(map[string]any{"iat": past.Add(-5 * time.Minute), "nbf": past.Add(-5 * time.Minute), "exp": past})
			env := []string{"HF_OIDC_ID_TOKEN=" + tok}
			return []leakStep{
				{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: env, code: 1, want: []string{"expired"}},
				{args: []string{"claims"}, env: env, code: 1, want: []string{"repo:acme/training"}},
			}
		}},
		{name: "a malformed ID token", steps: func(r *leakRun) []leakStep {
			garbage := base64.RawURLEncoding.EncodeToString([]byte("not JSON, and never was: " + hex.EncodeToString(make([]byte, 16))))
			tok := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + garbage + "." + strings.TrimPrefix(r.secret("sig"), "sig")
			r.extra = append(r.extra, tok)
			env := []string{"HF_OIDC_ID_TOKEN=" + tok}
			return []leakStep{
				{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: env, code: 2, want: []string{"no usable ID token"}},
				{args: []string{"claims"}, env: env, code: 1},
			}
		}},
		{name: "an ID token for another audience", steps: func(r *leakRun) []leakStep {
			r.sb.TrustGitHub("acme/model")
			env := []string{"HF_OIDC_ID_TOKEN=" + r.mint(map[string]any{"aud": "https://example.com"})}
			return []leakStep{
				{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: env, code: 1, want: []string{"https://example.com"}},
				{args: []string{"claims"}, env: env, code: 1, want: []string{"https://example.com"}},
			}
		}},
		{name: "a pre-minted ID token the Hub rejects", steps: func(r *leakRun) []leakStep {
			return []leakStep{{args: []string{"exchange", "--format", "json", "--resource", "acme/untrusted"}, env: []string{"HF_OIDC_ID_TOKEN=" + r.mint(nil)},
				code: 1, want: []string{"invalid_grant", "repo:acme/training:ref:refs/heads/main"}}}
		}},

		// --- URLs that carry secrets, echoed by the HTTP stack ---
		{name: "an ID-token URL with a secret query, failing", github: true, steps: func(r *leakRun) []leakStep {
			for range 8 { // four attempts for each step
				r.sb.Inject(sandbox.PathGitHubIDToken, sandbox.Fault{Status: 503, Body: "busy"})
			}
			u := r.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") + "&sig=" + r.secret("sig-")
			return []leakStep{
				{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u},
					code: 1, want: []string{"status 503"}},
				// The debug lines name each request's URL, and must drop its query.
				{args: []string{"exchange", "--format", "github", "--verbose", "--resource", "acme/model"}, env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u},
					code: 1, want: []string{"(attempt 4/4): HTTP 503 in "}},
			}
		}},
		{name: "an ID-token URL with a secret query, unreachable", github: true, steps: func(r *leakRun) []leakStep {
			u := "http://" + leakClosedPort(r.t) + sandbox.PathGitHubIDToken + "?api-version=2.0&sig=" + r.secret("sig-")
			return []leakStep{{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u},
				code: 1, want: []string{"connection refused"}}}
		}},
		{name: "an ID-token URL with user info, unreachable", github: true, steps: func(r *leakRun) []leakStep {
			u := "http://user:" + r.secret("pass-") + "@" + leakClosedPort(r.t) + sandbox.PathGitHubIDToken + "?api-version=2.0"
			return []leakStep{
				{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u},
					code: 1, want: []string{"connection refused"}},
				{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + u, "RUNNER_DEBUG=1"},
					code: 1, want: []string{"::debug::hf-oidc: GET http://127.0.0.1:"}},
			}
		}},
		{name: "an endpoint with user info", github: true, steps: func(r *leakRun) []leakStep {
			endpoint := strings.Replace(r.sb.URL(), "://", "://user:"+r.secret("pass-")+"@", 1)
			env := []string{"HF_ENDPOINT=" + endpoint}
			schemeless := "user:" + r.secret("pass-") + "@" + strings.TrimPrefix(r.sb.URL(), "http://")
			const want = "must not hold a user name or password"
			return []leakStep{
				{args: []string{"exchange", "--format", "github", "--resource", "acme/model"}, env: env, code: 2, want: []string{want}},
				{args: []string{"exchange", "--format", "json", "--resource", "acme/model", "--endpoint", endpoint}, code: 2, want: []string{want}},
				{args: []string{"exec", "--resource", "acme/model", "--", "leak-child"}, env: env, code: 2, want: []string{want}},
				{args: []string{"refresh", "--detach", "--resource", "acme/model"}, env: env, code: 2, want: []string{want}},
				{args: []string{"git-credential", "--resource", "acme/model", "get"}, env: env, stdin: leakCredential, code: 2, want: []string{want}},
				{args: []string{"pipe"}, env: append(env, "BITBUCKET_BUILD_NUMBER=1", "RESOURCES=acme/model", "ENDPOINT="+endpoint,
					"BITBUCKET_PIPE_SHARED_STORAGE_DIR="+filepath.Join(r.work, "pipes")), code: 2, want: []string{want}},
				{args: []string{"exchange", "--format", "json", "--resource", "acme/model"}, env: []string{"HF_ENDPOINT=" + schemeless}, code: 2, want: []string{"HF_ENDPOINT"}},
			}
		}},
	}
}

// leakHolds checks that a place meant for tokens holds one: a GitHub
// command file by its variable's name, or a file.
func leakHolds(place string) leakStep {
	return leakStep{do: func(t *testing.T, r *leakRun) {
		path := place
		if f, ok := r.gh[place]; ok {
			path = f
		}
		if !r.holdsMinted(testkit.ReadText(t, path)) {
			t.Errorf("%s holds no token, though it is where they go", place)
		}
	}}
}

// leakWaitRefresh waits until the background keeper has refreshed once, so
// that its log and status hold a refresh too.
func leakWaitRefresh(t *testing.T, r *leakRun) {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, dir := range r.tokenDirs() {
			if b, err := os.ReadFile(filepath.Join(dir, "keeper.log")); err == nil && strings.Contains(string(b), "refreshed") {
				return
			}
		}
	}
	t.Error("the keeper did not refresh within 15s")
}

// TestLeakNever runs every command, format and failure, and finds no secret
// minted in the run anywhere but where it is meant to be.
func TestLeakNever(t *testing.T) {
	t.Parallel()
	// The scenarios mostly wait (on retries, timeouts, a keeper's refresh),
	// so they run side by side, more of them than -parallel (GOMAXPROCS,
	// two on CI) would let subtests marked parallel run: t.Run may be
	// called from several goroutines at once.
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, sc := range leakScenarios() {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(sc.name, func(t *testing.T) { leakScenarioRun(t, sc) })
		})
	}
	wg.Wait()
}

func leakScenarioRun(t *testing.T, sc leakScenario) {
	r := newLeakRun(t, sc)
	for i, s := range sc.steps(r) {
		r.exec(i, s)
	}
	r.collect()
	needles := leakNeedles(append(r.sb.Minted(), r.extra...))
	for _, f := range leakFind(needles, r.outputs) {
		t.Error(f)
	}
	t.Logf("scanned %d outputs, files and processes (%d processes) for %d secrets", len(r.outputs), r.procs, len(r.sb.Minted())+len(r.extra))
}

// TestLeakFind: the scan finds a secret whole, an HF token without its
// prefix, an ID token's signature or payload alone, and any long enough run
// of any of them, also escaped as Markdown; it finds nothing in clean text.
func TestLeakFind(t *testing.T) {
	t.Parallel()
	const (
		hf  = "hf_jwt_q2X-fJ0_aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0k"
		sig = "Lq8mN3pR7sT1vW5xY9zA2bC6dE0fG4hJ8kM2nP6qR0sT4vW8xY2zA6bC0dE4fG8hJ"
		jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvdHJhaW5pbmciLCJqdGkiOiI1ZjNhIn0." + sig
	)
	needles := leakNeedles([]string{hf, jwt})
	tests := []struct {
		name, out string
		found     bool
	}{
		{"clean", "hf-oidc: 2 tokens from the github provider's ID token", false},
		{"the demo's masked token", "acme/model  HF_TOKEN  hf_jwt_****", false},
		{"the JWT header alone, common to every token", "eyJhbGciOiJSUzI1NiJ9", false},
		{"a run shorter than a piece", hf[10:21], false},
		{"an HF token", "token=" + hf, true},
		{"an HF token without its prefix", "jwt_" + hf[7:], true},
		{"an HF token escaped as Markdown", strings.ReplaceAll(hf, "_", `\_`), true},
		{"23 characters of an HF token", "…" + hf[20:43] + "…", true},
		{"an ID token", jwt, true},
		{"an ID token's signature alone", "sig " + sig, true},
		{"an ID token's payload alone", strings.Split(jwt, ".")[1], true},
		{"23 characters of a signature", sig[30:53], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			found := leakFind(needles, map[string]string{"out": tt.out})
			if (len(found) > 0) != tt.found {
				t.Errorf("found %q, want found %v", found, tt.found)
			}
		})
	}
}

// FuzzLeakNeedles: whatever the secret, any run of 2*leakChunk-1 of its
// secret characters is found, wherever it sits in the output.
func FuzzLeakNeedles(f *testing.F) {
	f.Add("hf_jwt_q2X-fJ0_aZ9bY8cX7dW6eV5fU4gT3hS2iR1jQ0k", uint(3), "before ", " after")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUifQ.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu", uint(40), "", "")
	f.Add("a-request-token-of-forty-three-characters-", uint(0), "x", "y")
	f.Fuzz(func(t *testing.T, secret string, at uint, before, after string) {
		_, parts := leakParts(secret)
		needles := leakNeedles([]string{secret})
		for _, p := range parts {
			run := 2*leakChunk - 1
			if len(p) < run {
				continue
			}
			i := int(at % uint(len(p)-run+1))
			if found := leakFind(needles, map[string]string{"out": before + p[i:i+run] + after}); len(found) == 0 {
				t.Errorf("%q: the run at %d of its part %q was not found", secret, i, p)
			}
		}
	})
}

// TestLeakWatch: the watcher sees the argv and environment of a process
// below the one it watches.
func TestLeakWatch(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sh", "-c", "cat >/dev/null; true", "sh")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LEAK_MARKER=watched"}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watch := leakWatch(cmd.Process.Pid)
	defer watch.stop()
	defer cmd.Wait()
	defer in.Close() // cat, and the shell, end once their input does
	cat := func(p leakProc) bool {
		return len(p.argv) == 1 && p.argv[0] == "cat" && slices.Contains(p.environ, "LEAK_MARKER=watched")
	}
	for deadline := time.Now().Add(10 * time.Second); !slices.ContainsFunc(watch.seen(), cat); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not see cat, its argv and its environment: %+v", watch.seen())
		}
	}
}
