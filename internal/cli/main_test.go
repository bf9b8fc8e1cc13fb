package cli

// The tests in this file and in commands_test.go run every command
// in-process through Main, with an injected Env, against a real sandbox
// (internal/sandbox: an OIDC issuer and a Hub on loopback). They check what
// a user sees: the exit status, stdout, stderr and the files written. The
// end-to-end tests in internal/e2e run the built binary; these cover the
// same code where it is cheap to, and fast enough for every `go test`.

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"

	// The providers, registered as cmd/hf-oidc registers them.
	_ "github.com/hf-oidc/hf-oidc/plugins/all"
)

// A cliRun is what one call of Main left behind.
type cliRun struct {
	code           int
	stdout, stderr string
}

// syncBuffer is a buffer safe for the concurrent writes of a command and a
// child process, which can call back once it holds a string.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	watch   string
	onWatch func()
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.onWatch != nil && strings.Contains(s.b.String(), s.watch) {
		f := s.onWatch
		s.onWatch = nil
		go f()
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cliEnv is the whole environment a command sees: nothing of the test
// process's own reaches it through Getenv.
type cliEnv map[string]string

// baseEnv is a private temporary directory and home, and nothing else.
func baseEnv(t testing.TB) cliEnv {
	return cliEnv{"TMPDIR": t.TempDir(), "HOME": t.TempDir()}
}

// with returns a copy of e with the NAME=VALUE pairs set.
func (e cliEnv) with(kvs ...string) cliEnv {
	out := make(cliEnv, len(e)+len(kvs))
	for k, v := range e {
		out[k] = v
	}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// runMain runs Main with args, env and stdin, bounded by a minute.
func runMain(t testing.TB, env cliEnv, stdin string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return runMainCtx(ctx, t, env, stdin, args...)
}

func runMainCtx(ctx context.Context, t testing.TB, env cliEnv, stdin string, args ...string) cliRun {
	t.Helper()
	var stdout, stderr syncBuffer
	return runMainTo(ctx, t, env, stdin, &stdout, &stderr, args...)
}

func runMainTo(ctx context.Context, t testing.TB, env cliEnv, stdin string, stdout, stderr *syncBuffer, args ...string) cliRun {
	t.Helper()
	vars := env.with() // a copy: the command may run on after a caller changes env
	code := Main(ctx, Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: stdout,
		Stderr: stderr,
		Getenv: func(k string) string { return vars[k] },
	}, args)
	r := cliRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
	testkit.CheckLinked(t, args, r.code, r.stdout, r.stderr)
	return r
}

// runUntil runs Main until stdout (or stderr, when onStderr) holds watch,
// then calls during, if given, with what stdout holds by then, and cancels
// Main's context: for the commands that run until stopped (refresh,
// sandbox).
func runUntil(t testing.TB, env cliEnv, onStderr bool, watch string, during func(stdout string), args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	then := func() {
		defer cancel()
		if during != nil {
			during(stdout.String())
		}
	}
	if onStderr {
		stderr.watch, stderr.onWatch = watch, then
	} else {
		stdout.watch, stdout.onWatch = watch, then
	}
	r := runMainTo(ctx, t, env, "", &stdout, &stderr, args...)
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("hf-oidc %s ran for a minute without saying %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), watch, r.stdout, r.stderr)
	}
	return r
}

// want checks the exit status and that stdout and stderr hold the given
// substrings; on failure it shows everything.
func (r cliRun) want(t testing.TB, code int, stdout, stderr []string) {
	t.Helper()
	bad := r.code != code
	for _, s := range stdout {
		bad = bad || !holds(r.stdout, s)
	}
	for _, s := range stderr {
		bad = bad || !holds(r.stderr, s)
	}
	if bad {
		t.Fatalf("exit %d, want %d; stdout should hold %q, stderr %q\nstdout:\n%s\nstderr:\n%s", r.code, code, stdout, stderr, r.stdout, r.stderr)
	}
}

// holds is testkit.Holds: prose is wrapped.
func holds(out, s string) bool { return testkit.Holds(out, s) }

// flat is testkit.Flat.
func flat(s string) string { return testkit.Flat(s) }

// startSB starts a sandbox for one test, with the test process's shared
// issuer keys, and closes it after.
func startSB(t testing.TB, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = sandbox.SharedKeys
	}
	sb, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// githubStep is a GitHub Actions step whose ID-token endpoint and Hub are
// the sandbox (testkit.GitHubStep), with env, its variables as Main sees
// them: on a base environment, with a RUNNER_TEMP of its own.
type githubStep struct {
	testkit.GitHubStep
	env cliEnv
}

func newGitHubStep(t testing.TB, sb *sandbox.Sandbox) githubStep {
	t.Helper()
	s := testkit.NewGitHubStep(t, sb)
	return githubStep{GitHubStep: s, env: baseEnv(t).with(s.Env...).with("RUNNER_TEMP=" + t.TempDir())}
}

// providerEnv is a job of provider p, outside GitHub Actions, whose Hub is
// the sandbox.
func providerEnv(t testing.TB, sb *sandbox.Sandbox, p sandbox.Provider) cliEnv {
	t.Helper()
	vars, err := sb.Env(p)
	if err != nil {
		t.Fatal(err)
	}
	return baseEnv(t).with(vars...)
}

// unmasked is out without its ::add-mask:: commands, whose job is to name
// a secret; it fails if one masks anything sb did not mint (when sb is
// known).
func unmasked(t testing.TB, sb *sandbox.Sandbox, out string) string {
	t.Helper()
	minted := map[string]bool{}
	if sb != nil {
		for _, s := range sb.Minted() {
			minted[s] = true
		}
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "::add-mask::"); ok {
			if sb != nil && !minted[v] {
				t.Errorf("masks %.12q…, which the sandbox did not mint", v)
			}
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// masks are the values out's ::add-mask:: commands hide.
func masks(out string) map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			m[v] = true
		}
	}
	return m
}

// exportedVars parses what a format printed back into variables, the way
// their reader does for the simple values tokens and paths are.
func exportedVars(t testing.TB, format, out string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	switch format {
	case "shell":
		re := regexp.MustCompile(`^export ([A-Z_]+)=(?:'([^']*)'|([^'\s]*))$`)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.HasPrefix(line, "unset ") {
				for _, n := range strings.Fields(line)[1:] {
					vars[n] = "(unset)"
				}
				continue
			}
			m := re.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("not an export line: %q", line)
			}
			vars[m[1]] = m[2] + m[3]
		}
	case "dotenv":
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("not a dotenv line: %q", line)
			}
			vars[k] = strings.Trim(v, "'")
		}
	case "json":
		var doc struct {
			Tokens []struct {
				Resource, Env, Token, File string
				ExpiresAt                  string `json:"expires_at"`
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		for i, tok := range doc.Tokens {
			if tok.ExpiresAt == "" {
				t.Errorf("json: %s has no expires_at", tok.Resource)
			}
			vars[tok.Env] = tok.Token
			if tok.File != "" {
				vars[tok.Env+"_FILE"] = tok.File
			}
			if i == 0 && tok.Env != "HF_TOKEN" {
				vars["HF_TOKEN"] = tok.Token
			}
			if i == 0 && tok.File != "" {
				vars["HF_TOKEN_PATH"] = tok.File
			}
		}
	case "github": // a command file: NAME<<DELIM, value lines, DELIM
		vars = testkit.CommandFile(t, out)
	default:
		t.Fatalf("unknown format %s", format)
	}
	return vars
}

// issuedFor fails unless tok is a live token the sandbox issued for res.
func issuedFor(t testing.TB, sb *sandbox.Sandbox, res, tok string) {
	t.Helper()
	if info, ok := sb.Token(tok); !ok || info.Resource != res {
		t.Errorf("token for %s: the sandbox issued %.12q… for %q (known: %v)", res, tok, info.Resource, ok)
	}
}
