package bitbucket

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hf-oidc/hf-oidc/plugins/internal/jwtutil"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	name = "bitbucket"
	// order puts Bitbucket after env, GitHub, GitLab and CircleCI (see
	// plugins/all).
	order = 50

	envBuild = "BITBUCKET_BUILD_NUMBER"
	envToken = "BITBUCKET_STEP_OIDC_TOKEN"

	defaultAudience = "https://huggingface.co"
)

func init() {
	plugins.Register(name, order, func(opts ...plugins.Option) plugins.Provider { return New(opts...) })
}

var _ plugins.Provider = (*Provider)(nil)

// Provider hands back the step's ID token from BITBUCKET_STEP_OIDC_TOKEN. It
// is safe for concurrent use.
type Provider struct {
	getenv func(string) string
}

// New returns a Bitbucket Pipelines provider. It reads the environment
// through plugins.WithGetenv (default os.Getenv).
func New(opts ...plugins.Option) *Provider {
	return &Provider{getenv: plugins.Apply(opts...).Getenv}
}

// Name returns "bitbucket".
func (*Provider) Name() string { return name }

// Detect reports whether this is a Bitbucket Pipelines step.
func (p *Provider) Detect() bool { return p.getenv(envBuild) != "" }

// CanMint returns false: Bitbucket mints one ID token per step, when the
// step starts.
func (*Provider) CanMint() bool { return false }

// Job is the step's BITBUCKET_STEP_UUID.
func (p *Provider) Job() string { return plugins.JobVar(p.getenv, "BITBUCKET_STEP_UUID") }

// IDToken returns the step's ID token. Its audience was fixed by the step's
// configuration: with `oidc: true` alone it is the workspace's
// (ari:cloud:bitbucket::workspace/…), which the Hub rejects, so a token for
// another audience than audience is refused with the YAML that mints the
// right one, as is a missing token (*plugins.SetupError).
func (p *Provider) IDToken(_ context.Context, audience string) (string, error) {
	tok := strings.TrimSpace(p.getenv(envToken))
	if tok == "" {
		problem := envToken + " is not set"
		if !p.Detect() {
			problem = "not running in Bitbucket Pipelines (" + envBuild + " is not set) and " + problem
		}
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  problem,
			Fix:      "Turn on OIDC for the step in bitbucket-pipelines.yml (`oidc: true`), with the Hub's audience:\n" + stepBlock(audience),
		}
	}
	if auds, ok := jwtutil.Audiences(tok); ok && audience != "" && !slices.Contains(auds, audience) {
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  fmt.Sprintf("%s is for audience %s, not %q", envToken, jwtutil.QuoteList(auds), audience),
			Fix:      "Add the Hub's audience to the step's OIDC settings in bitbucket-pipelines.yml (`oidc: true` alone gives the workspace's audience):\n" + stepBlock(audience),
		}
	}
	return tok, nil
}

// stepBlock is the step YAML that mints a token for audience, indented to
// stand out in a message.
func stepBlock(audience string) string {
	if audience == "" {
		audience = defaultAudience
	}
	return "  - step:\n      oidc:\n        audiences:\n          - " + jwtutil.YAMLScalar(audience)
}
