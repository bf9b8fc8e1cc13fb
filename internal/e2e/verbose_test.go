package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// verboseLines are the debug lines of a run of one resource that works:
// why debug output is on, the settings, the ID-token request, the token's
// claims, the exchange. prefix is what starts each line.
func verboseLines(prefix, why string) []*regexp.Regexp {
	p := regexp.QuoteMeta(prefix)
	took := `HTTP 200 in [0-9.]+m?s, request ID Root=1-[0-9a-f]{8}-[0-9a-f]{24}\n`
	return []*regexp.Regexp{
		regexp.MustCompile(p + regexp.QuoteMeta("debug output on ("+why+"): requests and the ID token's claims, never a token") + "\n"),
		regexp.MustCompile(p + `provider github, endpoint http://127\.0\.0\.1:\d+, audience https://huggingface\.co, timeout 1m0s, resources acme/model\n`),
		regexp.MustCompile(p + `GET http://127\.0\.0\.1:\d+/github/_apis/idtoken \(attempt 1/4\): ` + took),
		regexp.MustCompile(p + `the github provider's ID token, GitHub Actions claims \(never the token itself\):\n`),
		regexp.MustCompile(p + `  sub +repo:acme/training:ref:refs/heads/main\n`),
		regexp.MustCompile(p + `  exp +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (4m5\ds|5m0s)\)\n`),
		regexp.MustCompile(p + `POST http://127\.0\.0\.1:\d+/oauth/token \(for acme/model, attempt 1/5\): ` + took),
	}
}

// wantInOrder fails unless text matches each pattern, each after the last.
func wantInOrder(t *testing.T, text string, patterns []*regexp.Regexp) {
	t.Helper()
	rest := text
	for _, re := range patterns {
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Errorf("stderr lacks /%s/ (in this order):\n%s", re, text)
			return
		}
		rest = rest[loc[1]:]
	}
}

// TestVerbose: --verbose, HF_OIDC_VERBOSE and each CI's own debug switch
// print each request (method, URL, attempt, status, time, request ID) and
// the ID token's claims, never a token; as ::debug:: commands when GitHub's
// debug logging is on; and nothing without one.
func TestVerbose(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
	sb.TrustGitHub("acme/model")
	sb.TrustGitLab("acme/model")
	gitlab, err := sb.Env(sandbox.GitLab)
	if err != nil {
		t.Fatal(err)
	}
	exchange := []string{"exchange", "--format", "json", "--resource", "acme/model"}
	// Outside GitHub Actions unless a case says otherwise, the GitHub
	// provider forced: its ID-token endpoint is the sandbox's.
	outside := append(sb.GitHubEnv(), "GITHUB_ACTIONS=", "HF_OIDC_PROVIDER=github")
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		prefix string // of the debug lines; "" when there must be none
		why    string
	}{
		{"--verbose", nil, []string{"--verbose"}, "hf-oidc: debug: ", "--verbose"},
		{"HF_OIDC_VERBOSE", []string{"HF_OIDC_VERBOSE=1"}, nil, "hf-oidc: debug: ", "HF_OIDC_VERBOSE"},
		{"RUNNER_DEBUG in GitHub Actions", []string{"GITHUB_ACTIONS=true", "RUNNER_DEBUG=1"}, nil, "::debug::hf-oidc: ", "RUNNER_DEBUG=1"},
		{"--verbose in GitHub Actions without its debug logging", []string{"GITHUB_ACTIONS=true"}, []string{"--verbose"}, "hf-oidc: debug: ", "--verbose"},
		{"no switch", nil, nil, "", ""},
		{"RUNNER_DEBUG outside GitHub Actions", []string{"RUNNER_DEBUG=1"}, nil, "", ""},
		{"CI_DEBUG_TRACE outside GitLab", []string{"CI_DEBUG_TRACE=true"}, nil, "", ""},
		{"--verbose=false beats HF_OIDC_VERBOSE", []string{"HF_OIDC_VERBOSE=true"}, []string{"--verbose=false"}, "", ""},
		{"HF_OIDC_VERBOSE=false", []string{"HF_OIDC_VERBOSE=false"}, nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBin(t, append(append([]string{}, outside...), tc.env...), append(append([]string{}, exchange...), tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			// In GitHub Actions the tokens are masked on stderr.
			r.stderr, _ = stripMasks(r.stderr)
			testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
			if tc.prefix == "" {
				if strings.Contains(r.stderr, "debug") {
					t.Errorf("debug output with no switch on:\n%s", r.stderr)
				}
				return
			}
			wantInOrder(t, r.stderr, verboseLines(tc.prefix, tc.why))
			if tc.prefix != "hf-oidc: debug: " && strings.Contains(r.stderr, "hf-oidc: debug: ") {
				t.Errorf("plain debug lines besides the ::debug:: commands:\n%s", r.stderr)
			}
		})
	}

	t.Run("CI_DEBUG_TRACE in GitLab CI", func(t *testing.T) {
		t.Parallel()
		r := runBin(t, append(gitlab, "CI_DEBUG_TRACE=true"), exchange...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
		wantInOrder(t, r.stderr, []*regexp.Regexp{
			regexp.MustCompile(`hf-oidc: debug: debug output on \(CI_DEBUG_TRACE\)`),
			regexp.MustCompile(`hf-oidc: debug: the gitlab provider's ID token, GitLab CI/CD claims \(never the token itself\):\n`),
			regexp.MustCompile(`hf-oidc: debug:   project_path +acme/training\n`),
			regexp.MustCompile(`hf-oidc: debug: POST http://127\.0\.0\.1:\d+/oauth/token \(for acme/model, attempt 1/5\): HTTP 200 in `),
		})
	})

	t.Run("HF_OIDC_VERBOSE not a boolean", func(t *testing.T) {
		t.Parallel()
		r := runBin(t, append(outside, "HF_OIDC_VERBOSE=loud"), exchange...)
		if r.code != 2 {
			t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
		}
		first, rest, _ := strings.Cut(r.stderr, "\n")
		if want := `hf-oidc exchange: HF_OIDC_VERBOSE="loud": expected true or false.`; first != want {
			t.Errorf("first line %q, want %q", first, want)
		}
		if !strings.HasPrefix(rest, "Next: ") || !strings.Contains(rest, "troubleshooting.md#bad-input)") {
			t.Errorf("no Next: line linking to #bad-input:\n%s", r.stderr)
		}
	})
}

// TestVerboseFailure: a failure with --verbose shows every attempt, each
// with its error and time, before the failure's paragraph, which is as
// without it: its first line, causes, Next: and annotation.
func TestVerboseFailure(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
	step := testkit.NewGitHubStep(t, sb)
	env := append(step.Env, "RUNNER_TEMP="+t.TempDir(), "HF_ENDPOINT=https://127.0.0.1:1")
	r := runBin(t, env, "exchange", "--format", "github", "--verbose", "--resource", "acme/model")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	attempt := func(n int) *regexp.Regexp {
		return regexp.MustCompile(`hf-oidc: debug: POST https://127\.0\.0\.1:1/oauth/token \(for acme/model, attempt ` + string(rune('0'+n)) +
			`/5\): failed after [0-9.]+m?s: dial tcp 127\.0\.0\.1:1: connect: connection refused\n`)
	}
	wantInOrder(t, r.stderr, []*regexp.Regexp{
		regexp.MustCompile(`hf-oidc: debug:   sub +repo:acme/training:ref:refs/heads/main\n`),
		attempt(1), attempt(2),
		regexp.MustCompile(`(?m)^hf-oidc: the exchange failed for 1 of 1 resource; nothing was exported\.\n`),
	})
	// The paragraph wraps its long lines: compared with white space as one.
	_, paragraph, _ := strings.Cut(r.stderr, "hf-oidc: the exchange failed")
	wantInOrder(t, flat(paragraph), []*regexp.Regexp{
		regexp.MustCompile(`Most likely causes of a refused connection, in order`),
		regexp.MustCompile(`Next: Check HF_ENDPOINT \(https://127\.0\.0\.1:1\): .* \(see https://github\.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting\.md#connection-refused\)$`),
	})
	if strings.Contains(paragraph, "debug") {
		t.Errorf("a debug line within the failure's paragraph:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, "attempt 3/5") {
		t.Errorf("a refused connection was tried more than twice:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "::error title=hf-oidc%3A token exchange failed::hf-oidc: the exchange failed for 1 of 1 resource") {
		t.Errorf("no annotation:\n%s", r.stdout)
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout": withoutMasks(t, sb, r.stdout), "stderr": r.stderr})
}
