package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestExchangeFormats: each format exports one token per resource, plus
// HF_TOKEN for the first, each issued for its resource; in GitHub Actions
// every token is masked before it is written anywhere, and nothing else
// ever holds a token.
func TestExchangeFormats(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"github", "shell", "dotenv", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			sb := startSB(t, sandbox.Config{})
			sb.TrustGitHub("acme/model")
			sb.TrustGitHub("datasets/acme/data")
			step := newGitHubStep(t, sb)
			r := runMain(t, step.env, "", "exchange", "--format", format, "--resource", "acme/model", "--resource", "datasets/acme/data=HF_DATA_TOKEN")
			r.want(t, 0, nil, []string{"2 tokens from the github provider's ID token at " + sb.URL(), "acme/model", "HF_DATA_TOKEN"})

			outputs := map[string]string{"step summary": testkit.ReadText(t, step.Summary)}
			var vars map[string]string
			var masked map[string]bool
			if format == "github" {
				vars = exportedVars(t, "github", testkit.ReadText(t, step.EnvFile))
				out := exportedVars(t, "github", testkit.ReadText(t, step.Output))
				if out["token"] != vars["HF_TOKEN"] || out["expires-at"] == "" {
					t.Errorf("$GITHUB_OUTPUT: %v", out)
				}
				masked = masks(r.stdout)
				outputs["stdout"] = unmasked(t, sb, r.stdout)
				outputs["stderr"] = r.stderr
			} else {
				vars = exportedVars(t, format, r.stdout)
				if s := testkit.ReadText(t, step.EnvFile); s != "" {
					t.Errorf("--format %s wrote $GITHUB_ENV: %q", format, s)
				}
				masked = masks(r.stderr)
				outputs["stderr"] = unmasked(t, sb, r.stderr)
			}
			issuedFor(t, sb, "acme/model", vars["HF_TOKEN"])
			issuedFor(t, sb, "datasets/acme/data", vars["HF_DATA_TOKEN"])
			for _, name := range []string{"HF_TOKEN", "HF_DATA_TOKEN"} {
				if !masked[vars[name]] {
					t.Errorf("%s was not masked", name)
				}
			}
			testkit.NoLeak(t, sb, outputs)
		})
	}
}

// TestExchangeOutsideActions: providers that hand back the token the job
// was given (GitLab, a pre-minted one) work, and outside GitHub Actions
// nothing is masked, so stderr never names a token.
func TestExchangeOutsideActions(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitLab("acme/model")
	sb.TrustGitHub("acme/model")
	idToken, err := sb.MintIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "id.jwt")
	if err := os.WriteFile(tokenFile, []byte(idToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hub := baseEnv(t).with("HF_ENDPOINT=" + sb.URL())
	tests := []struct {
		name     string
		env      cliEnv
		args     []string
		provider string
	}{
		{"gitlab", providerEnv(t, sb, sandbox.GitLab), []string{"--format", "shell", "--resource", "acme/model"}, "gitlab"},
		{"a pre-minted ID token", hub.with("HF_OIDC_ID_TOKEN=" + idToken), []string{"--format", "shell", "--resource", "acme/model"}, "env"},
		{"an ID token file", hub, []string{"--format", "shell", "--resource", "acme/model", "--id-token-file", tokenFile}, "env"},
		{"resources from the variable", providerEnv(t, sb, sandbox.GitLab).with("HF_OIDC_RESOURCES=acme/model"), []string{"--format", "shell"}, "gitlab"},
		{"the shell format by default", providerEnv(t, sb, sandbox.GitLab), []string{"--resource", "acme/model"}, "gitlab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"exchange"}, tt.args...)
			r := runMain(t, tt.env, "", args...)
			r.want(t, 0, []string{"export HF_TOKEN="}, []string{"1 token from the " + tt.provider + " provider's ID token"})
			issuedFor(t, sb, "acme/model", exportedVars(t, "shell", r.stdout)["HF_TOKEN"])
			if strings.Contains(r.stderr, "::") {
				t.Errorf("workflow commands outside GitHub Actions:\n%s", r.stderr)
			}
			testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
		})
	}
}

// TestExchangeFails: a round that fails exports nothing, exits 1 and says
// in one paragraph what the Hub answered, about which ID token, and what to
// do; in GitHub Actions also as an annotation and in the step summary.
func TestExchangeFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		format  string
		setup   func(sb *sandbox.Sandbox)
		env     []string
		args    []string
		stderr  []string
		partial bool
	}{
		{"no publisher, github format", "github", nil, nil, nil,
			[]string{"the exchange failed for 1 of 1 resource; nothing was exported", "acme/model: ", "invalid_grant", "The ID token the Hub saw (github provider", "repository", "To trust this job on the Hub, enter: repository acme/training", "Most likely causes of invalid_grant", "hf-oidc claims --expect", "Next: On the Hub"}, false},
		{"no publisher, shell format", "shell", nil, nil, nil,
			[]string{"nothing was exported", "invalid_grant", "::error"}, false},
		{"another branch", "json", func(sb *sandbox.Sandbox) {
			sb.SetGitHubClaims(map[string]any{"ref": "refs/heads/dev"})
		}, nil, nil, []string{"invalid_grant", "branch dev"}, false},
		{"a malformed request", "json", func(sb *sandbox.Sandbox) {
			sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 400, Body: `{"error":"invalid_request","error_description":"resource is malformed"}`})
		}, nil, nil, []string{"invalid_request", "resource is malformed", "Most likely causes of invalid_request", "Next: Check the resource names and HF_ENDPOINT"}, false},
		{"an unreachable Hub", "json", nil, []string{"HF_ENDPOINT=http://127.0.0.1:1", "HF_OIDC_TIMEOUT=1s"}, nil,
			[]string{"connection refused (after 2 attempts)", "Most likely causes of a refused connection", "HF_ENDPOINT (http://127.0.0.1:1)", "#connection-refused"}, false},
		{"one of two, --allow-partial", "shell", nil, nil, []string{"--resource", "acme/trusted", "--allow-partial"},
			[]string{"the exchange failed for 1 of 2 resources; the others were exported (--allow-partial)", "invalid_grant",
				"\nhf-oidc: HF_TOKEN holds acme/trusted's token, as acme/model failed (--allow-partial).\n"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sb := startSB(t, sandbox.Config{})
			sb.TrustGitHub("acme/trusted")
			if tt.setup != nil {
				tt.setup(sb)
			}
			step := newGitHubStep(t, sb)
			args := append([]string{"exchange", "--format", tt.format, "--resource", "acme/model"}, tt.args...)
			r := runMain(t, step.env.with(tt.env...), "", args...)
			want := 1
			if tt.partial {
				want = 0
			}
			r.want(t, want, nil, tt.stderr)
			summary := testkit.ReadText(t, step.Summary)
			if !strings.Contains(summary, "### hf-oidc: the token exchange failed") || !strings.Contains(summary, "| acme/model |") {
				t.Errorf("the step summary does not tell the failure:\n%s", summary)
			}
			switch {
			case tt.format == "github" && !strings.Contains(r.stdout, "::error title=hf-oidc%3A token exchange failed::"):
				t.Errorf("no ::error:: annotation on stdout with the github format:\n%s", r.stdout)
			case tt.format != "github" && !strings.Contains(r.stderr, "::error title=hf-oidc%3A token exchange failed::"):
				t.Errorf("no ::error:: annotation on stderr:\n%s", r.stderr)
			}
			outputs := map[string]string{"stderr": unmasked(t, sb, r.stderr), "step summary": summary, "$GITHUB_OUTPUT": testkit.ReadText(t, step.Output)}
			if tt.partial {
				issuedFor(t, sb, "acme/trusted", exportedVars(t, "shell", r.stdout)["HF_TOKEN"])
				// The step summary says it too, after the failure.
				if !strings.Contains(summary, "\n**HF\\_TOKEN holds acme/trusted's token, as acme/model failed \\(--allow-partial\\).**\n") {
					t.Errorf("the step summary does not say whose token HF_TOKEN is:\n%s", summary)
				}
			} else {
				if strings.Contains(r.stderr, "HF_TOKEN holds ") {
					t.Errorf("stderr says whose token HF_TOKEN is, with nothing exported:\n%s", r.stderr)
				}
				outputs["stdout"] = unmasked(t, sb, r.stdout)
				outputs["$GITHUB_ENV"] = testkit.ReadText(t, step.EnvFile)
				if strings.Contains(r.stdout, "export ") || testkit.ReadText(t, step.EnvFile) != "" || testkit.ReadText(t, step.Output) != "" {
					t.Errorf("something was exported:\nstdout: %s\n$GITHUB_ENV: %s\n$GITHUB_OUTPUT: %s", r.stdout, testkit.ReadText(t, step.EnvFile), testkit.ReadText(t, step.Output))
				}
			}
			testkit.NoLeak(t, sb, outputs)
		})
	}
}

// TestExchangeIDTokenFails: when the provider hands out no ID token, or an
// expired one, nothing reaches the Hub.
func TestExchangeIDTokenFails(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	expired, err := sb.MintIDToken(map[string]any{"iat": time.Now().Add(-2 * time.Hour), "nbf": time.Now().Add(-2 * time.Hour), "exp": time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	step := newGitHubStep(t, sb)
	tests := []struct {
		name   string
		env    cliEnv
		stderr []string
	}{
		{"the endpoint refuses", step.env.with("ACTIONS_ID_TOKEN_REQUEST_TOKEN=wrong"), []string{"hf-oidc exchange: ", "The github provider did not hand out an ID token, so nothing was sent to the Hub"}},
		{"an expired pre-minted token", baseEnv(t).with("HF_ENDPOINT="+sb.URL(), "HF_OIDC_ID_TOKEN="+expired), []string{"hf-oidc exchange: the provider's ID token expired at ", "Next: This ID token was minted once for the job", "#expired)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.env, "", "exchange", "--format", "json", "--resource", "acme/model")
			r.want(t, 1, nil, tt.stderr)
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
			testkit.NoLeak(t, sb, map[string]string{"stderr": unmasked(t, sb, r.stderr)})
		})
	}
	t.Cleanup(func() {
		if n := sb.Stats().Exchanges; n != 0 {
			t.Errorf("%d exchanges without a valid ID token", n)
		}
	})
}

// TestExchangeWarnings: settings that would make huggingface_hub ignore
// the tokens are pointed out.
func TestExchangeWarnings(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitLab("acme/model")
	r := runMain(t, providerEnv(t, sb, sandbox.GitLab).with("HF_OIDC_RESOURCE=acme/model"), "", "exchange", "--format", "dotenv", "--resource", "acme/model")
	r.want(t, 0, []string{"HF_TOKEN="}, []string{"hf-oidc: warning: HF_OIDC_RESOURCE is set", "Next: Unset HF_OIDC_RESOURCE", "(see " + diag.DocsURL + "#hf-oidc-resource)\n"})
	testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})

	// In GitHub Actions, a warning annotation and the step summary too.
	sb.TrustGitHub("acme/model")
	step := newGitHubStep(t, sb)
	r = runMain(t, step.env.with("HF_OIDC_RESOURCE=acme/model"), "", "exchange", "--format", "github", "--resource", "acme/model")
	r.want(t, 0, nil, []string{"::warning title=hf-oidc%3A HF_OIDC_RESOURCE is set::hf-oidc: warning: HF_OIDC_RESOURCE is set"})
	summary := testkit.ReadText(t, step.Summary)
	if !strings.Contains(summary, "### hf-oidc: HF\\_OIDC\\_RESOURCE is set\n") || !strings.Contains(summary, "troubleshooting.md#hf-oidc-resource") {
		t.Errorf("the step summary lacks the warning:\n%s", summary)
	}
}

// TestExec: CMD runs with the token in a file that HF_TOKEN_PATH names and
// without HF_TOKEN; exec exits with CMD's status and removes the files.
// (CMD's environment is the test process's own plus the token variables:
// exec builds it from os.Environ, not from Env.)
func TestExec(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitLab("acme/model")
	sb.TrustGitHub("acme/model")
	// CMD reports what it saw in a file of its own: its stdout is ours.
	const script = `printf '%s\n%s\n%s\n' "${HF_TOKEN-unset}" "$HF_TOKEN_PATH" "$HF_TOKEN_EXPIRES_AT" > "$1"; cat "$HF_TOKEN_PATH" >> "$1"; echo child ran; exit "$2"`
	tests := []struct {
		name   string
		env    func(t *testing.T) cliEnv
		status string
		code   int
		stderr []string
	}{
		{"gitlab", func(t *testing.T) cliEnv { return providerEnv(t, sb, sandbox.GitLab) }, "0", 0, []string{"hf-oidc exec: 1 token from the gitlab provider's ID token", "kept fresh while sh runs", "HF_TOKEN_PATH"}},
		{"github, CMD fails", func(t *testing.T) cliEnv { return newGitHubStep(t, sb).env }, "3", 3, []string{"hf-oidc exec: 1 token from the github provider's ID token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			report := filepath.Join(t.TempDir(), "report")
			r := runMain(t, tt.env(t), "", "exec", "--resource", "acme/model", "--", "sh", "-c", script, "sh", report, tt.status)
			r.want(t, tt.code, []string{"child ran"}, tt.stderr)
			lines := strings.Split(testkit.ReadText(t, report), "\n")
			if len(lines) < 4 {
				t.Fatalf("CMD's report: %q", lines)
			}
			if lines[0] != "unset" {
				t.Errorf("CMD saw HF_TOKEN set")
			}
			if _, err := time.Parse(time.RFC3339, lines[2]); err != nil {
				t.Errorf("HF_TOKEN_EXPIRES_AT %q: %v", lines[2], err)
			}
			issuedFor(t, sb, "acme/model", strings.TrimSpace(lines[3]))
			if _, err := os.Stat(lines[1]); !os.IsNotExist(err) {
				t.Errorf("the token file %s outlived exec: %v", lines[1], err)
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": unmasked(t, sb, r.stderr)})
		})
	}
}

// TestExecOutcomes: the exit status of a killed CMD, a given token
// directory, --git for CMD alone, and a refusal that never starts CMD.
func TestExecOutcomes(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitLab("acme/model")
	env := providerEnv(t, sb, sandbox.GitLab)

	t.Run("killed by a signal", func(t *testing.T) {
		t.Parallel()
		r := runMain(t, env, "", "exec", "--resource", "acme/model", "--", "sh", "-c", "kill -TERM $$")
		r.want(t, 128+15, nil, nil)
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("a given token directory", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "tokens")
		r := runMain(t, env, "", "exec", "--resource", "acme/model", "--token-dir", dir, "--", "sh", "-c", `test "$(dirname "$HF_TOKEN_PATH")" = "$1" && test -s "$HF_TOKEN_PATH"`, "sh", dir)
		r.want(t, 0, nil, []string{dir})
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("exec made %s and left it: %v", dir, err)
		}
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("--git", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("git"); err != nil {
			t.Skip("no git on PATH")
		}
		r := runMain(t, env, "", "exec", "--git", "--resource", "acme/model", "--", "git", "config", "--get-regexp", `^credential\.`)
		r.want(t, 0, []string{"git-credential", "--resource=acme/model", "--token-dir=", "usehttppath true"}, nil)
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("the first resource fails, --allow-partial", func(t *testing.T) {
		t.Parallel()
		r := runMain(t, env, "", "exec", "--allow-partial", "--resource", "acme/untrusted", "--resource", "acme/model", "--", "sh", "-c", `test -s "$HF_TOKEN_PATH"`)
		r.want(t, 0, nil, []string{"the exchange failed for 1 of 2 resources", "\nhf-oidc: HF_TOKEN_PATH names acme/model's token file, as acme/untrusted failed (--allow-partial).\n"})
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("an ID token that expires before the next refresh", func(t *testing.T) {
		t.Parallel()
		short := startSB(t, sandbox.Config{IDTokenLifetime: 10 * time.Minute, TokenLifetime: time.Hour})
		short.TrustGitLab("acme/model")
		r := runMain(t, providerEnv(t, short, sandbox.GitLab), "", "exec", "--resource", "acme/model", "--", "true")
		r.want(t, 0, nil, []string{"hf-oidc exec: warning: ", "Next: Finish the job's work with the Hub by then", "#expiring)"})
		testkit.NoLeak(t, short, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		marker := filepath.Join(t.TempDir(), "ran")
		r := runMain(t, env, "", "exec", "--resource", "acme/other", "--", "touch", marker)
		r.want(t, 1, nil, []string{"nothing was exported", "invalid_grant"})
		if _, err := os.Stat(marker); !os.IsNotExist(err) {
			t.Errorf("CMD ran after a refusal")
		}
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
}

// TestRefresh: a foreground refresh exports the token file's path, keeps
// the file until its context ends, lets a second start join it and the git
// helper read its file without another exchange, and says it stopped.
// (--detach starts this binary again, which in a test is the test binary:
// internal/e2e covers it, and --stop, which would signal this process.)
func TestRefresh(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"shell", "dotenv", "json", "github"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			sb := startSB(t, sandbox.Config{})
			sb.TrustGitHub("acme/model")
			step := newGitHubStep(t, sb)
			env := step.env.with("HF_TOKEN=stale")
			args := []string{"refresh", "--format", format, "--resource", "acme/model"}
			var second cliRun
			var exchanges int
			r := runUntil(t, env, true, "until it is stopped", func(stdout string) {
				exchanges = sb.Stats().Exchanges
				second = runMain(t, env, "", args...)
				// git's helper takes the kept token: no exchange.
				cred := runMain(t, env, "protocol=http\nhost="+gitHost(t, sb)+"\npath=acme/model.git\n\n", "git-credential", "--resource", "acme/model", "get")
				cred.want(t, 0, []string{"username=acme\n", "password=hf_"}, nil)
				testkit.NoLeak(t, sb, map[string]string{"git-credential stderr": unmasked(t, sb, cred.stderr)})
				// exec may not take over the files a keeper keeps.
				if format == "shell" {
					dir := filepath.Dir(exportedVars(t, "shell", stdout)["HF_TOKEN_PATH"])
					held := runMain(t, env, "", "exec", "--resource", "acme/model", "--token-dir", dir, "--", "true")
					held.want(t, 2, nil, []string{"hf-oidc refresh --stop --token-dir " + dir})
					testkit.NoLeak(t, sb, map[string]string{"exec stdout": held.stdout, "exec stderr": held.stderr})
				}
				if n := sb.Stats().Exchanges; n != exchanges {
					t.Errorf("a second start or the helper exchanged again (%d exchanges, then %d)", exchanges, n)
				}
			}, args...)
			r.want(t, 0, nil, []string{"hf-oidc refresh: 1 token from the github provider's ID token", "kept fresh by this process", "hf-oidc refresh: stopped"})
			second.want(t, 0, nil, []string{"already; exported its token files and started no other keeper"})

			var vars map[string]string
			outputs := map[string]string{"stderr": unmasked(t, sb, r.stderr), "second stderr": unmasked(t, sb, second.stderr)}
			if format == "github" {
				vars = exportedVars(t, "github", testkit.ReadText(t, step.EnvFile))
				outputs["stdout"] = unmasked(t, sb, r.stdout)
			} else {
				// Each resource's own variable holds its token in every
				// format: stdout is the format's.
				vars = exportedVars(t, format, r.stdout)
				if format != "json" && vars["HF_TOKEN"] != "(unset)" && vars["HF_TOKEN"] != "" {
					t.Errorf("the stale HF_TOKEN is not cleared: %q", vars["HF_TOKEN"])
				}
			}
			if !strings.Contains(r.stderr, "HF_TOKEN set here") {
				t.Errorf("no word about the stale HF_TOKEN:\n%s", r.stderr)
			}
			path := vars["HF_TOKEN_PATH"]
			if path == "" {
				t.Fatalf("no HF_TOKEN_PATH exported: %v", vars)
			}
			issuedFor(t, sb, "acme/model", strings.TrimSpace(testkit.ReadText(t, path)))
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("the token file: %v, %v", fi.Mode(), err)
			}
			testkit.NoLeak(t, sb, outputs)
		})
	}
}

// TestRefreshOutcomes: --stop with no keeper, and a refusal. Each case has
// a temporary directory, and so a default token directory, of its own: a
// --stop that found a keeper of this process would signal the test.
func TestRefreshOutcomes(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	gitlab := providerEnv(t, sb, sandbox.GitLab)

	t.Run("--stop, no keeper", func(t *testing.T) {
		t.Parallel()
		env := gitlab.with("TMPDIR=" + t.TempDir())
		r := runMain(t, env, "", "refresh", "--stop")
		r.want(t, 0, nil, []string{"hf-oidc refresh: no keeper runs for "})
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("--stop, no keeper in a given directory", func(t *testing.T) {
		t.Parallel()
		env := gitlab.with("TMPDIR=" + t.TempDir())
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		r := runMain(t, env, "", "refresh", "--stop", "--token-dir", dir)
		r.want(t, 0, nil, []string{"hf-oidc refresh: no keeper runs for " + dir})
		testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	})
	t.Run("--stop, a directory that is not private", func(t *testing.T) {
		t.Parallel()
		env := gitlab.with("TMPDIR=" + t.TempDir())
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		r := runMain(t, env, "", "refresh", "--stop", "--token-dir", dir)
		r.want(t, 2, nil, []string{"--token-dir: ", "not private", "chmod 700"})
	})
	t.Run("--stop, no job", func(t *testing.T) {
		t.Parallel()
		r := runMain(t, baseEnv(t), "", "refresh", "--stop")
		r.want(t, 2, nil, []string{"cannot tell which job this is", "--token-dir"})
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		env := gitlab.with("TMPDIR=" + t.TempDir())
		r := runMain(t, env, "", "refresh", "--format", "shell", "--resource", "acme/model")
		r.want(t, 1, nil, []string{"nothing was exported", "invalid_grant"})
		if r.stdout != "" {
			t.Errorf("stdout: %q", r.stdout)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
	})
}

// TestGitCredential: the helper answers git for the Hub's host only, with
// a token of the resource the path names, caches it for the next call,
// and exchanges a new one once git erases it.
func TestGitCredential(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	sb.TrustGitHub("datasets/acme/data")
	step := newGitHubStep(t, sb)
	host := gitHost(t, sb)
	req := func(path string) string { return "protocol=http\nhost=" + host + "\npath=" + path + "\n\n" }
	args := []string{"git-credential", "--resource", "acme/model", "--resource", "datasets/acme/data"}
	cred := func(t *testing.T, stdin string, action ...string) (cliRun, map[string]string) {
		t.Helper()
		r := runMain(t, step.env, stdin, append(args, action...)...)
		fields := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				fields[k] = v
			}
		}
		if r.stdout != "" && !masks(r.stderr)[fields["password"]] {
			t.Errorf("the token handed to git was not masked first:\n%s", r.stderr)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": unmasked(t, sb, r.stderr)})
		return r, fields
	}

	r, first := cred(t, req("datasets/acme/data.git"), "get")
	r.want(t, 0, []string{"username=acme\n"}, nil)
	issuedFor(t, sb, "datasets/acme/data", first["password"])
	if first["password_expiry_utc"] == "" {
		t.Errorf("no password_expiry_utc: %v", first)
	}

	before := sb.Stats().Exchanges
	r, again := cred(t, req("datasets/acme/data.git"), "get")
	r.want(t, 0, nil, nil)
	if again["password"] != first["password"] || sb.Stats().Exchanges != before {
		t.Errorf("the second get did not answer from the cache")
	}

	r, _ = cred(t, strings.TrimSuffix(req("datasets/acme/data.git"), "\n")+"password="+first["password"]+"\n\n", "erase")
	r.want(t, 0, nil, nil)
	if r.stdout != "" {
		t.Errorf("erase answered %q", r.stdout)
	}
	r, fresh := cred(t, req("datasets/acme/data.git"), "get")
	r.want(t, 0, nil, nil)
	if fresh["password"] == first["password"] {
		t.Error("get handed out the token git erased")
	}
	issuedFor(t, sb, "datasets/acme/data", fresh["password"])

	r, model := cred(t, req("acme/model"), "get")
	r.want(t, 0, nil, nil)
	issuedFor(t, sb, "acme/model", model["password"])

	// The action may come first, as a user may configure it.
	r = runMain(t, step.env, req("acme/model.git"), append([]string{"git-credential", "get"}, args[1:]...)...)
	r.want(t, 0, []string{"password=" + model["password"]}, nil)
	testkit.NoLeak(t, sb, map[string]string{"stderr": unmasked(t, sb, r.stderr)})

	before = sb.Stats().Exchanges
	for _, tt := range []struct{ name, stdin, action string }{
		{"store", req("acme/model.git") + "username=acme\npassword=whatever\n", "store"},
		{"another host", "protocol=https\nhost=github.com\npath=acme/model.git\n\n", "get"},
		{"another scheme", "protocol=ftp\nhost=" + host + "\n\n", "get"},
	} {
		r, _ := cred(t, tt.stdin, tt.action)
		r.want(t, 0, nil, nil)
		if r.stdout != "" || r.stderr != "" {
			t.Errorf("%s: answered\nstdout: %s\nstderr: %s", tt.name, r.stdout, r.stderr)
		}
	}
	if sb.Stats().Exchanges != before {
		t.Error("store or another host's get exchanged a token")
	}

	r, _ = cred(t, req("acme/other.git"), "get")
	r.want(t, 0, nil, nil) // acme/other is no resource: the first resource's token, from the cache

	refused := runMain(t, step.env, req("acme/other.git"), "git-credential", "--resource", "acme/other", "get")
	refused.want(t, 1, nil, []string{"invalid_grant", "nothing was exported"})
	if refused.stdout != "" {
		t.Errorf("a refused get answered git: %q", refused.stdout)
	}
	testkit.NoLeak(t, sb, map[string]string{"stderr": unmasked(t, sb, refused.stderr)})
}

// TestPipe: the Bitbucket pipe writes the tokens to a private env file
// beside a .gitignore and prints the line that loads and deletes it,
// never a token.
func TestPipe(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustBitbucket("acme/model")
	sb.TrustBitbucket("datasets/acme/data")
	clone := t.TempDir()
	shared := filepath.Join(clone, ".bitbucket", "pipelines", "generated", "pipeline", "pipes")
	env := providerEnv(t, sb, sandbox.Bitbucket).with("HF_ENDPOINT=", "ENDPOINT="+sb.URL(), "RESOURCES_COUNT=2", "RESOURCES_0=acme/model", "RESOURCES_1=datasets/acme/data=HF_DATA",
		"BITBUCKET_CLONE_DIR="+clone, "BITBUCKET_PIPE_SHARED_STORAGE_DIR="+shared)

	r := runMain(t, env, "", "pipe")
	envFile := filepath.Join(shared, "hf-oidc.env")
	r.want(t, 0, []string{"hf-oidc pipe: 2 tokens from the bitbucket provider's ID token", "(mode 0600)", `. "$BITBUCKET_CLONE_DIR"/.bitbucket/pipelines/generated/pipeline/pipes/hf-oidc.env && rm -f`}, nil)
	vars := exportedVars(t, "shell", testkit.ReadText(t, envFile))
	issuedFor(t, sb, "acme/model", vars["HF_TOKEN"])
	issuedFor(t, sb, "datasets/acme/data", vars["HF_DATA"])
	if vars["HF_ENDPOINT"] != sb.URL() {
		t.Errorf("the env file's HF_ENDPOINT: %q", vars["HF_ENDPOINT"])
	}
	if fi, err := os.Stat(envFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the env file: %v, %v", fi.Mode(), err)
	}
	if !strings.Contains(testkit.ReadText(t, filepath.Join(shared, ".gitignore")), "*") {
		t.Error("no .gitignore keeps the env file out of git")
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})

	refusedDir := t.TempDir()
	refused := runMain(t, env.with("RESOURCES_COUNT=", "RESOURCES=acme/other", "BITBUCKET_PIPE_SHARED_STORAGE_DIR="+refusedDir), "", "pipe")
	refused.want(t, 1, nil, []string{"invalid_grant", "nothing was exported"})
	if _, err := os.Stat(filepath.Join(refusedDir, "hf-oidc.env")); !os.IsNotExist(err) {
		t.Errorf("a refused pipe wrote the env file: %v", err)
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": refused.stdout, "stderr": refused.stderr})
}
