package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

var requestIDShape = regexp.MustCompile(`request ID Root=1-[0-9a-f]{8}-[0-9a-f]{24}\)`)

// TestExchangeFailure checks the paragraph of a failed exchange, run by the
// real binary against the sandbox: the Hub's answer with its request ID, the
// claims the Hub saw, what to enter on the Hub, the likely causes in order
// (what the sandbox says really failed first), the next step and its link,
// and no token anywhere.
func TestExchangeFailure(t *testing.T) {
	shared := startSandbox(t, sandbox.Config{})
	shared.TrustGitHub("acme/trusted")
	shared.Trust(sandbox.Publisher{Resource: "acme/untrusted", Issuer: shared.GitHubIssuer(), Claims: map[string]string{"repository": "acme/training", "branch": "main-backup"}})
	now := time.Now()

	const grantNext = "Next: On the Hub, open Settings → Trusted Publishers of each refused repo (for a username: CI/CD Access) and make a publisher's issuer and fields equal the values above. Quote the request ID when you report a problem. (see " + docs + "#invalid-grant)\n"
	cases := []struct {
		name      string
		sb        *sandbox.Sandbox // nil: a sandbox of its own, for its fault
		fault     *sandbox.Fault
		env       func(sb *sandbox.Sandbox) []string // nil: a GitHub Actions step
		github    bool                               // run as a GitHub Actions step with the github format
		resources []string
		check     sandbox.Check // what the sandbox says failed; "" for a fault
		want      []string      // in stderr, in this order
		claims    []string      // rows of the claims block: name, value
	}{
		{
			name:      "publisher mismatch, github format",
			sb:        shared,
			github:    true,
			resources: []string{"acme/trusted", "acme/untrusted"},
			check:     sandbox.CheckClaims,
			want: []string{
				"hf-oidc: the exchange failed for 1 of 2 resources; nothing was exported.\n",
				"  acme/untrusted: invalid_grant: The provided subject token is not valid for the requested resource (HTTP 400, request ID ",
				"The ID token the Hub saw (github provider, GitHub Actions claims; never the token itself):\n",
				"To trust this job on the Hub, enter: repository acme/training, branch main, workflow publish.yml (provider GitHub Actions, issuer {iss}).\n",
				"Most likely causes of invalid_grant, in order (see " + docs + "#invalid-grant):\n",
				"  1. No Trusted Publisher of acme/untrusted has these claims exactly: every field must equal the token's value above, with no patterns (refs/heads/main does not match refs/heads/main-backup). To see which field differs, run `hf-oidc claims --expect repository=…,branch=…,workflow=…` with the publisher's values.\n",
				"  2. The publisher names another provider or issuer than {iss}.\n",
				grantNext,
			},
			claims: []string{"iss", "{iss}", "aud", "https://huggingface.co", "sub", "repo:acme/training:ref:refs/heads/main", "repository", "acme/training", "ref", "refs/heads/main", "workflow_ref", "acme/training/.github/workflows/publish.yml@refs/heads/main"},
		},
		{
			name:      "publisher mismatch, shell format in GitHub Actions",
			sb:        shared,
			resources: []string{"acme/untrusted"},
			check:     sandbox.CheckClaims,
			want:      []string{"  acme/untrusted: invalid_grant: ", grantNext, "::error title=hf-oidc%3A token exchange failed::hf-oidc: the exchange failed for 1 of 1 resource; nothing was exported.%0A"},
		},
		{
			name:      "wrong audience first",
			sb:        shared,
			resources: []string{"acme/trusted"},
			env: func(sb *sandbox.Sandbox) []string {
				return []string{"HF_OIDC_ID_TOKEN=" + mint(t, sb, map[string]any{"aud": "https://github.com/acme"}), "HF_ENDPOINT=" + sb.URL()}
			},
			check: sandbox.CheckAudience,
			want: []string{
				"The ID token the Hub saw (env provider, GitHub Actions claims; never the token itself):\n",
				"  1. The ID token's aud is https://github.com/acme, not the Hub's https://huggingface.co, so the Hub refuses it. Let hf-oidc fetch the token (the github provider asks for aud https://huggingface.co), or request it with that audience yourself: core.getIDToken('https://huggingface.co'), or &audience=https://huggingface.co on $ACTIONS_ID_TOKEN_REQUEST_URL. (see " + docs + "#audience)\n",
				"  2. No Trusted Publisher of acme/trusted has these claims exactly",
				grantNext,
			},
			claims: []string{"aud", "https://github.com/acme"},
		},
		{
			name:      "token from the future first",
			sb:        shared,
			resources: []string{"acme/trusted"},
			env: func(sb *sandbox.Sandbox) []string {
				tok := mint(t, sb, map[string]any{"iat": now.Add(5 * time.Minute), "nbf": now.Add(5 * time.Minute), "exp": now.Add(10 * time.Minute)})
				return []string{"HF_OIDC_ID_TOKEN=" + tok, "HF_ENDPOINT=" + sb.URL()}
			},
			check: sandbox.CheckNotBefore,
			want: []string{
				"  1. The ID token was issued <duration> in the future (iat <time>, this machine's clock <time>): this machine's clock or the issuer's is off by about <duration>. Sync this machine's clock (NTP, e.g. `timedatectl set-ntp true` or chrony): hf-oidc times renewals by it, and the Hub refuses a token that is not valid yet by its own clock. (see " + docs + "#clock-skew)\n",
				"  2. No Trusted Publisher",
			},
		},
		{
			name:      "GitLab-shaped token",
			sb:        shared,
			resources: []string{"acme/trusted"},
			env: func(sb *sandbox.Sandbox) []string {
				return []string{"HF_OIDC_ID_TOKEN=" + mintShaped(t, sb, gitlabClaims()), "HF_ENDPOINT=" + sb.URL()}
			},
			check: sandbox.CheckIssuer,
			want: []string{
				"The ID token the Hub saw (env provider, GitLab CI/CD claims; never the token itself):\n",
				"To trust this job on the Hub, enter: project_path acme/training, ref_type branch, ref main (provider GitLab CI/CD, issuer https://gitlab.com).\n",
				"  1. No Trusted Publisher of acme/trusted has these claims exactly: every field must equal the token's value above, with no patterns (refs/heads/main does not match refs/heads/main-backup). To see which field differs, run `hf-oidc claims --expect project_path=…,ref_type=…,ref=…` with the publisher's values.\n",
				"  2. The publisher names another provider or issuer than https://gitlab.com.\n",
			},
			claims: []string{"iss", "https://gitlab.com", "sub", "project_path:acme/training:ref_type:branch:ref:main", "project_path", "acme/training", "ref", "main"},
		},
		{
			name:      "Hub timed out",
			fault:     &sandbox.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"This operation was aborted"}`},
			resources: []string{"acme/trusted"},
			want: []string{
				"  acme/trusted: invalid_grant: This operation was aborted (HTTP 400, request ID ",
				"  1. The Hub timed out while checking the token (its description is \"This operation was aborted\"): nothing to change; run the job again.\n",
				"  2. No Trusted Publisher",
				grantNext,
			},
		},
		{
			name:      "invalid_request",
			fault:     &sandbox.Fault{Status: 400, Body: `{"error":"invalid_request","error_description":"Missing or invalid parameter: resource"}`},
			resources: []string{"acme/trusted"},
			want: []string{
				"  acme/trusted: invalid_request: Missing or invalid parameter: resource (HTTP 400, request ID ",
				"Most likely causes of invalid_request, in order (see " + docs + "#invalid-request):\n",
				"  1. A resource is not in a form the Hub takes: ns/name (a model), datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username.\n",
				"  2. HF_ENDPOINT ({endpoint}) is not the Hub itself but something in between that changes the request (a proxy or a mirror).\n",
				"Next: Check the resource names and HF_ENDPOINT; if both are right, update hf-oidc. Quote the request ID when you report a problem. (see " + docs + "#invalid-request)\n",
			},
		},
		{
			name:      "Hub failing",
			fault:     &sandbox.Fault{Status: 501, Body: "not implemented"},
			resources: []string{"acme/trusted"},
			want: []string{
				"  acme/trusted: server error, not JSON but text/plain: \"not implemented\" (HTTP 501, request ID ",
				"Most likely causes of a Hub that is rate-limiting or failing, in order (see " + docs + "#hub-unavailable):\n",
				"  1. The Hub is rate-limiting this runner (HTTP 429), or failing (HTTP 5xx; see https://status.huggingface.co).\n",
				"  2. --timeout (1m0s) left too little time for the retries to get through.\n",
				"Next: Run the job again in a few minutes, or raise --timeout. Quote the request ID when you report a problem. (see " + docs + "#hub-unavailable)\n",
			},
		},
		{
			name:      "no OAuth answer",
			fault:     &sandbox.Fault{Status: 404, Body: "<html>not found</html>", ContentType: "text/html"},
			resources: []string{"acme/trusted"},
			want: []string{
				"  acme/trusted: unexpected answer, not JSON but text/html: \"<html>not found</html>\" (HTTP 404, request ID ",
				"Most likely causes of an answer that is not the Hub's, in order (see " + docs + "#not-the-hub):\n",
				"  1. HF_ENDPOINT ({endpoint}) is not the Hub: it answered, but not as the Hub's /oauth/token does. It must be the Hub's root URL, without /oauth/token or /api; the public Hub is https://huggingface.co.\n",
				"Next: Check that HF_ENDPOINT ({endpoint}) is the Hub's root URL; the public Hub is https://huggingface.co. Quote the request ID when you report a problem. (see " + docs + "#not-the-hub)\n",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := c.sb
			if sb == nil {
				sb = startSandbox(t, sandbox.Config{})
				for _, r := range c.resources {
					sb.TrustGitHub(r)
				}
				sb.Inject(sandbox.PathToken, *c.fault)
			} else {
				t.Parallel()
			}
			step := testkit.NewGitHubStep(t, sb)
			env, inActions, format := step.Env, true, "shell"
			if c.env != nil {
				env, inActions = c.env(sb), false
			}
			if c.github {
				format = "github"
			}
			args := []string{"exchange", "--format", format}
			for _, r := range c.resources {
				args = append(args, "--resource", r)
			}
			before := len(sb.Rejections())
			r := runBin(t, env, args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}

			stderr := flat(normalize(r.stderr))
			expand := strings.NewReplacer("{iss}", sb.GitHubIssuer(), "{endpoint}", sb.URL())
			at := 0
			for _, w := range c.want {
				w = flat(normalize(expand.Replace(w)))
				i := strings.Index(stderr[at:], w)
				if i < 0 {
					t.Errorf("stderr lacks, after what came before,\n%s\nstderr:\n%s", w, r.stderr)
					continue
				}
				at += i + len(w)
			}
			for i := 0; i+1 < len(c.claims); i += 2 {
				row := regexp.MustCompile(`\n  ` + regexp.QuoteMeta(c.claims[i]) + ` +` + regexp.QuoteMeta(expand.Replace(c.claims[i+1])) + `\n`)
				if !row.MatchString(r.stderr) {
					t.Errorf("the claims block lacks %s = %s:\n%s", c.claims[i], c.claims[i+1], r.stderr)
				}
			}
			if !requestIDShape.MatchString(flat(r.stderr)) {
				t.Errorf("no request ID:\n%s", r.stderr)
			}
			// The request ID is the one of the answer that refused.
			if c.check != "" {
				var rej *sandbox.Rejection
				for _, x := range sb.Rejections()[before:] {
					if strings.Contains(flat(r.stderr), "request ID "+x.RequestID+")") {
						rej = &x
					}
				}
				if rej == nil {
					t.Fatalf("stderr quotes no request ID of this run's rejections:\n%s", r.stderr)
				}
				if rej.Check != c.check {
					t.Errorf("the sandbox refused on %s (%s), want %s", rej.Check, rej.Reason, c.check)
				}
			}
			if strings.Count(r.stderr, "\nNext: ") != 1 {
				t.Errorf("want exactly one Next: line:\n%s", r.stderr)
			}

			summary := testkit.ReadText(t, step.Summary)
			stdout := withoutMasks(t, sb, r.stdout)
			if c.github {
				if !strings.HasPrefix(stdout, "::error title=hf-oidc%3A token exchange failed::hf-oidc: the exchange failed") || !requestIDShape.MatchString(stdout) {
					t.Errorf("no ::error annotation with the request ID on stdout:\n%s", stdout)
				}
			} else if stdout != "" {
				t.Errorf("stdout after a failure: %q", stdout)
			}
			if inActions {
				// In GitHub Actions: the step summary has it all too.
				for _, w := range []string{"### hf-oidc: the token exchange failed\n", "| Resource | Hub's answer | HTTP status | Request ID |\n", "**Next:** "} {
					if !strings.Contains(summary, w) {
						t.Errorf("step summary lacks %q:\n%s", w, summary)
					}
				}
				if !regexp.MustCompile(`\| Root=1-[0-9a-f]{8}-[0-9a-f]{24} \|`).MatchString(summary) {
					t.Errorf("step summary lacks the request ID:\n%s", summary)
				}
				// The claims are part of the Hub's answer only when it
				// refused them with an OAuth error.
				claims := strings.Contains(summary, "| sub | repo:acme/training:ref:refs/heads/main |")
				if oauth := strings.Contains(r.stderr, ": invalid_"); claims != oauth {
					t.Errorf("claims in the step summary: %v, want %v:\n%s", claims, oauth, summary)
				}
				if claims != strings.Contains(r.stderr, "The ID token the Hub saw") {
					t.Errorf("the step summary and stderr disagree on showing the claims:\n%s\n%s", summary, r.stderr)
				}
			} else if summary != "" {
				t.Errorf("a step summary outside GitHub Actions: %q", summary)
			}
			if got := testkit.ReadText(t, step.EnvFile) + testkit.ReadText(t, step.Output); got != "" {
				t.Errorf("something was exported after a failure: %d bytes", len(got))
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": stdout, "stderr": withoutMasks(t, sb, r.stderr), "step summary": summary})
		})
	}
}

// Failures of two kinds in one round: the causes of each, the most specific
// kind first, and its next step.
func TestExchangeFailureKinds(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	// Neither resource has a publisher; the first exchange to arrive gets a
	// 501 instead of its invalid_grant.
	sb.Inject(sandbox.PathToken, sandbox.Fault{Status: 501, Body: "not implemented"})
	step := testkit.NewGitHubStep(t, sb)
	r := runBin(t, step.Env, "exchange", "--format", "shell", "--resource", "acme/a", "--resource", "acme/b")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	stderr := flat(r.stderr)
	grant := strings.Index(stderr, "Most likely causes of invalid_grant, in order (see "+docs+"#invalid-grant):")
	hub := strings.Index(stderr, "Most likely causes of a Hub that is rate-limiting or failing, in order (see "+docs+"#hub-unavailable):")
	next := strings.Index(stderr, "Next: On the Hub, open Settings → Trusted Publishers")
	if grant < 0 || hub < grant || next < hub {
		t.Errorf("want the causes of invalid_grant, then of the failing Hub, then invalid_grant's next step:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "the exchange failed for 2 of 2 resources; nothing was exported.\n") || strings.Count(stderr, "request ID Root=") < 2 {
		t.Errorf("want both failures with their request IDs:\n%s", r.stderr)
	}
	testkit.NoLeak(t, sb, map[string]string{"stderr": withoutMasks(t, sb, r.stderr), "step summary": testkit.ReadText(t, step.Summary)})
}
