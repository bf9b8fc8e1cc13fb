package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestSandboxInstructions: what `hf-oidc sandbox` prints works exactly as
// printed in a real shell: its one export line and its next command
// exchange against it, with no CI pretended (no workflow commands, no
// GITHUB_ENV) and no token on the screen; over http and TLS. After it,
// refresh --detach says what stops its keeper outside GitHub Actions, and
// the stop command it prints stops it.
func TestSandboxInstructions(t *testing.T) {
	t.Parallel()
	bash := testkit.RequireTool(t, "bash")
	// The printed commands say "hf-oidc": the binary must be what PATH finds.
	path := "PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, tls := range []bool{false, true} {
		name := "http"
		args := []string{"sandbox"}
		if tls {
			name, args = "tls", append(args, "--tls")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := startSandboxCommand(t, append(hermeticEnv(t), path), args...)
			exportLine := onlyLine(t, out, "export ")
			evalLine := onlyLine(t, out, "eval ")
			if want := `eval "$(hf-oidc exchange --resource acme/awesome-model)"`; evalLine != want {
				t.Errorf("the next command is\n  %s\nwant\n  %s", evalLine, want)
			}
			shell := func(script string) run {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bash, "-euc", exportLine+"\n"+script)
				cmd.Env = append(hermeticEnv(t), path)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				r := run{stdout: stdout.String(), stderr: stderr.String()}
				if ee, ok := err.(*exec.ExitError); ok {
					r.code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				testkit.NoLeak(t, nil, map[string]string{"the shell's stdout": r.stdout, "the shell's stderr": r.stderr})
				if strings.Contains(r.stdout+r.stderr, "::add-mask::") || strings.Contains(r.stderr, "GITHUB_ENV") {
					t.Errorf("the shell acts as a GitHub Actions step:\n%s%s", r.stdout, r.stderr)
				}
				return r
			}

			r := shell(evalLine + "\n" + `echo "HF_TOKEN of ${#HF_TOKEN} characters until $HF_TOKEN_EXPIRES_AT"`)
			first, _, _ := strings.Cut(r.stderr, "\n")
			if r.code != 0 || !regexp.MustCompile(`^HF_TOKEN of \d\d+ characters until 20\d\d-`).MatchString(r.stdout) ||
				!strings.HasPrefix(first, "hf-oidc: 1 token from the env provider's ID token at http") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if tls {
				return
			}

			r = shell(`eval "$(hf-oidc refresh --detach --resource acme/awesome-model)"` + "\n" + `test -s "$HF_TOKEN_PATH"`)
			lines := strings.Split(r.stderr, "\n")
			if r.code != 0 || len(lines) < 4 || !strings.Contains(lines[0], "kept fresh by a background keeper (pid ") || strings.Contains(r.stderr, "until the job ends") {
				t.Fatalf("refresh --detach: exit %d\n%s", r.code, r.stderr)
			}
			// Prose is wrapped at 100 columns; the command is never split.
			m := regexp.MustCompile(`(?:^| )hf-oidc refresh: outside GitHub Actions nothing stops the keeper when the job ends, unless the CI discards the job's container\. Next: run '([^']+)' as the job's last step\. (\(see \S+\))`).FindStringSubmatch(flat(r.stderr))
			if m != nil && !strings.Contains(r.stderr, "'"+m[1]+"'") {
				t.Errorf("the command to run is split across lines:\n%s", r.stderr)
			}
			if m == nil || m[2] != diag.AnchorStopKeeper.See() {
				t.Fatalf("refresh --detach does not say what stops its keeper, with a Next: line linking %s:\n%s", diag.AnchorStopKeeper, r.stderr)
			}
			r = shell(m[1])
			if r.code != 0 || !strings.HasPrefix(r.stderr, "hf-oidc refresh: stopped the keeper (pid ") {
				t.Errorf("%s: exit %d\n%s", m[1], r.code, r.stderr)
			}
		})
	}
}

// startSandboxCommand runs hf-oidc sandbox until the test ends, and
// returns what it printed up to its last instruction.
func startSandboxCommand(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Errorf("the sandbox's stderr: %s", stderr.String())
		}
	})
	var b strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "# Undo: ") {
			go func() {
				for sc.Scan() {
				}
			}()
			testkit.NoLeak(t, nil, map[string]string{"the sandbox's instructions": b.String()})
			return b.String()
		}
	}
	t.Fatalf("hf-oidc sandbox ended without its instructions:\n%s\n%s", b.String(), stderr.String())
	return ""
}

// onlyLine is the one line of out that starts with prefix.
func onlyLine(t *testing.T, out, prefix string) string {
	t.Helper()
	var found []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			found = append(found, line)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines start with %q, want 1:\n%s", len(found), prefix, out)
	}
	return found[0]
}
