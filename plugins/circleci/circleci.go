package circleci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/hf-oidc/hf-oidc/plugins/internal/jwtutil"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	name = "circleci"
	// order puts CircleCI after env, GitHub and GitLab (see plugins/all).
	order = 40

	envCI       = "CIRCLECI"
	envOrgToken = "CIRCLE_OIDC_TOKEN_V2"
	cli         = "circleci"

	// FallbackVar says what to do when `circleci run oidc get` fails:
	// nothing (the default, also "none"), or FallbackOrgToken.
	FallbackVar = "HF_OIDC_CIRCLECI_FALLBACK"
	// FallbackOrgToken makes the provider fall back to the job's
	// $CIRCLE_OIDC_TOKEN_V2. CircleCI mints that token for the organization
	// id as audience, so it is used only when that is the audience asked for:
	// a Hub configured to accept it. huggingface.co accepts only its own.
	FallbackOrgToken = "org-token"
)

func init() {
	plugins.Register(name, order, func(opts ...plugins.Option) plugins.Provider { return New(opts...) })
}

var _ plugins.Provider = (*Provider)(nil)

// Provider mints ID tokens with the circleci CLI. It is safe for concurrent
// use.
type Provider struct {
	getenv func(string) string
	run    plugins.Runner
	// fellBack is set once the job's fixed token stood in for the CLI: from
	// then on the provider cannot promise fresh tokens.
	fellBack atomic.Bool
}

// New returns a CircleCI provider. It reads the environment through
// plugins.WithGetenv and runs the CLI through plugins.WithRunner (default
// os.Getenv and the PATH's circleci).
func New(opts ...plugins.Option) *Provider {
	o := plugins.Apply(opts...)
	return &Provider{getenv: o.Getenv, run: o.Runner}
}

// Name returns "circleci".
func (*Provider) Name() string { return name }

// Detect reports whether this is a CircleCI job.
func (p *Provider) Detect() bool { return p.getenv(envCI) == "true" }

// CanMint returns true: every call runs the CLI again for a fresh token.
// After a fallback to $CIRCLE_OIDC_TOKEN_V2 it returns false.
func (p *Provider) CanMint() bool { return !p.fellBack.Load() }

// Job is the job's CIRCLE_WORKFLOW_JOB_ID.
func (p *Provider) Job() string { return plugins.JobVar(p.getenv, "CIRCLE_WORKFLOW_JOB_ID") }

// IDToken runs `circleci run oidc get --claims '{"aud":"<audience>"}'` and
// returns the token it prints. The token is never passed on a command line,
// logged, or quoted in an error. When the CLI is missing or fails, it
// returns a *plugins.SetupError, or falls back to $CIRCLE_OIDC_TOKEN_V2 if
// HF_OIDC_CIRCLECI_FALLBACK is org-token (see FallbackOrgToken).
func (p *Provider) IDToken(ctx context.Context, audience string) (string, error) {
	fallback, err := p.fallback()
	if err != nil {
		return "", err
	}
	args := []string{"run", "oidc", "get"}
	if audience != "" {
		claims, err := json.Marshal(map[string]string{"aud": audience})
		if err != nil {
			return "", fmt.Errorf("encoding the claims for %s: %w", cli, err)
		}
		args = append(args, "--claims", string(claims))
	}
	out, err := p.run(ctx, cli, args...)
	if err == nil {
		tok, perr := jwtutil.Pick(out)
		if perr == nil {
			return tok, nil
		}
		err = perr
	} else if ctx.Err() != nil {
		return "", fmt.Errorf("running %s run oidc get: %w", cli, ctx.Err())
	}
	cause := safetext.Redact(err.Error())
	if fallback {
		return p.orgToken(audience, cause)
	}
	if errors.Is(err, exec.ErrNotFound) {
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  "the circleci CLI is not on PATH",
			Fix:      "Run this in a CircleCI job whose image has the circleci CLI (CircleCI's convenience images do), or install it in the job. " + fallbackNote,
		}
	}
	return "", &plugins.SetupError{
		Provider: name,
		Problem:  "`circleci run oidc get` failed: " + cause,
		Fix:      "It works only inside a CircleCI job, with a circleci CLI recent enough to have `run oidc get`: update the CLI in the image. " + fallbackNote,
	}
}

const fallbackNote = "$" + envOrgToken + " is no way around it for huggingface.co: its audience is the organization id, which the Hub rejects (" +
	FallbackVar + "=" + FallbackOrgToken + " falls back to it for a Hub that accepts that audience, with HF_OIDC_AUDIENCE set to the id)."

func (p *Provider) fallback() (bool, error) {
	switch strings.TrimSpace(p.getenv(FallbackVar)) {
	case "", "none":
		return false, nil
	case FallbackOrgToken:
		return true, nil
	}
	// The value is not quoted: it is a setting, but a pasted token would
	// land here too.
	return false, &plugins.SetupError{
		Provider: name,
		Problem:  FallbackVar + " is neither none nor " + FallbackOrgToken,
		Fix:      "Unset " + FallbackVar + " (the default, none: no fallback), or set it to " + FallbackOrgToken + " to use $" + envOrgToken + " when `circleci run oidc get` fails.",
	}
}

// orgToken returns the job's $CIRCLE_OIDC_TOKEN_V2 in place of the CLI's,
// provided it is for audience.
func (p *Provider) orgToken(audience, cause string) (string, error) {
	tok := strings.TrimSpace(p.getenv(envOrgToken))
	if tok == "" {
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  "`circleci run oidc get` failed (" + cause + ") and $" + envOrgToken + ", the fallback " + FallbackVar + " asks for, is not set",
			Fix:      "Run this in a CircleCI job, where `circleci run oidc get` works or CircleCI sets $" + envOrgToken + ".",
		}
	}
	if auds, ok := jwtutil.Audiences(tok); ok && audience != "" && !slices.Contains(auds, audience) {
		return "", &plugins.SetupError{
			Provider: name,
			Problem: fmt.Sprintf("`circleci run oidc get` failed (%s), and the fallback $%s is for audience %s (the organization id), not %q",
				cause, envOrgToken, jwtutil.QuoteList(auds), audience),
			Fix: "Only `circleci run oidc get` mints a token for the Hub's audience: fix the circleci CLI in the job. Keep " + FallbackVar + "=" + FallbackOrgToken +
				" only for a Hub that accepts the organization id as audience, and set HF_OIDC_AUDIENCE to it.",
		}
	}
	p.fellBack.Store(true)
	return tok, nil
}
