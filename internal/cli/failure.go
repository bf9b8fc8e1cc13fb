package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
)

// printFailure prints the paragraph of a failed round: each failed
// resource with the Hub's answer, the claims the Hub saw, and what to do.
func printFailure(env Env, github bool, s *session, results []exchange.Result, partial bool) {
	var failed []exchange.Result
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	var b strings.Builder
	outcome := "nothing was exported"
	if partial {
		outcome = "the others were exported (--allow-partial)"
	}
	fmt.Fprintf(&b, "hf-oidc exchange: the exchange failed for %d of %d resource%s; %s.\n", len(failed), len(results), plural(len(results)), outcome)
	var codes []string
	var requestIDs, hubAnswered bool
	for _, r := range failed {
		fmt.Fprintf(&b, "  %s: %s\n", r.Resource.Name, failureLine(r.Err))
		var xe *exchange.Error
		if errors.As(r.Err, &xe) {
			codes = append(codes, failureKind(xe))
			requestIDs = requestIDs || xe.RequestID != ""
			hubAnswered = hubAnswered || xe.Code != ""
		} else {
			codes = append(codes, "other")
		}
	}
	// The claims matter only where the Hub judged the token.
	if t := s.ids.Last(); t != nil && hubAnswered {
		fmt.Fprintf(&b, "  The ID token the Hub saw (%s provider): %s\n", s.provider.Name(), claimsLine(t))
	}
	fmt.Fprintf(&b, "Next: %s", nextStep(codes))
	if requestIDs {
		b.WriteString(" Quote the request ID when you report a problem.")
	}
	b.WriteString("\n")
	fmt.Fprint(env.Stderr, b.String())
	if github {
		export.Annotate(env.Stdout, "error", "hf-oidc: token exchange failed", b.String())
	}
}

// failureLine is one failure without the "exchanging token for R" context
// that the paragraph already gives.
func failureLine(err error) string {
	var xe *exchange.Error
	if errors.As(err, &xe) {
		return xe.Summary()
	}
	return err.Error()
}

func failureKind(xe *exchange.Error) string {
	switch {
	case xe.Code != "":
		return xe.Code
	case xe.Status == 429 || xe.Status >= 500:
		return "unavailable"
	default:
		return "other"
	}
}

// nextSteps for each kind of failure, most specific first.
var nextSteps = []struct{ kind, text string }{
	{"invalid_grant", "On the Hub, open each refused repo's Settings → Trusted Publishers (for a username: CI/CD Access) and check that a publisher names this issuer and that each of its claims equals the ID token's exactly (no patterns: refs/heads/main does not match refs/heads/main-backup); the repo or user must exist."},
	{"invalid_request", "The Hub rejected the request's form: check the resource names (ns/name, datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username) and HF_ENDPOINT."},
	{"unavailable", "The Hub is rate-limiting or unavailable; hf-oidc retried until --timeout. Run the job again later, or raise --timeout."},
	{"other", "Check that HF_ENDPOINT points at the Hub and that it is reachable from this runner (proxies come from HTTPS_PROXY and NO_PROXY)."},
}

func nextStep(kinds []string) string {
	for _, n := range nextSteps {
		for _, k := range kinds {
			if k == n.kind {
				return n.text
			}
		}
	}
	return nextSteps[len(nextSteps)-1].text
}

// identifyingClaims are shown, when present, to say which job the Hub saw.
// The list spans providers so that no code switches on provider names.
var identifyingClaims = []string{
	"repository", "ref", "workflow_ref", "job_workflow_ref", "environment", "event_name",
	"project_path", "ref_type", "pipeline_source",
}

func claimsLine(t *idtoken.Token) string {
	parts := []string{"iss=" + t.Issuer, "sub=" + t.Subject, "aud=" + strings.Join(t.Audience, ",")}
	for _, c := range identifyingClaims {
		if v, ok := t.Claims[c]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", c, v))
		}
	}
	return strings.Join(parts, " ")
}

