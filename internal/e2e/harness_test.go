package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// bin is the hf-oidc binary built once for the whole package.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hf-oidc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "hf-oidc")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/hf-oidc")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hf-oidc:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startSandbox starts a sandbox for one test and closes it after.
func startSandbox(t testing.TB, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("starting sandbox: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// run is one run of the binary.
type run struct {
	code           int
	stdout, stderr string
}

// hermeticEnv is a minimal environment: no variable of the machine the
// tests run on (a real CI's GITHUB_ACTIONS, say) may reach the binary.
func hermeticEnv(t testing.TB, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"TMPDIR=" + t.TempDir(),
	}
	return append(env, extra...)
}

// runBin runs hf-oidc with args and env (added to a hermetic environment).
func runBin(t testing.TB, env []string, args ...string) run {
	t.Helper()
	return runBinIn(t, env, "", args...)
}

// runBinIn is runBin with stdin.
func runBinIn(t testing.TB, env []string, stdin string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = hermeticEnv(t, env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hf-oidc %v: %v", args, err)
	}
	testkit.CheckLinked(t, args, r.code, r.stdout, r.stderr)
	return r
}

// whoami returns the HTTP status and body of the sandbox's whoami for tok,
// called the way the hf CLI calls it.
func whoami(t testing.TB, sb *sandbox.Sandbox, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sb.URL()+"/api/whoami-v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("calling whoami: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// assertWorks fails unless tok is live on the sandbox's whoami and was
// issued for res.
func assertWorks(t testing.TB, sb *sandbox.Sandbox, res, tok string) {
	t.Helper()
	if code, _ := whoami(t, sb, tok); code != http.StatusOK {
		t.Errorf("token for %s: whoami answered %d", res, code)
	}
	if info, ok := sb.Token(tok); !ok || info.Resource != res {
		t.Errorf("token for %s: the sandbox issued it for %q", res, info.Resource)
	}
}

// holds is testkit.Holds: prose is wrapped.
func holds(out, s string) bool { return testkit.Holds(out, s) }

// flat is testkit.Flat.
func flat(s string) string { return testkit.Flat(s) }

// withoutCommands is out without the lines of workflow commands (an
// annotation repeats the message it follows).
func withoutCommands(out string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(out, "\n") {
		if !strings.HasPrefix(l, "::") {
			b.WriteString(l)
		}
	}
	return b.String()
}
