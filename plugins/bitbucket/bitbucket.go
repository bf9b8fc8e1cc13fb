package bitbucket

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"

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
	if auds, ok := audiences(tok); ok && audience != "" && !slices.Contains(auds, audience) {
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  fmt.Sprintf("%s is for audience %s, not %q", envToken, quoteList(auds), audience),
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
	return "  - step:\n      oidc:\n        audiences:\n          - " + yamlScalar(audience)
}

// plainScalar is what YAML reads back as the same string without quotes.
var plainScalar = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~/:@%+=-]*$`)

// yamlScalar writes s as a YAML scalar: plain when that reads back as s,
// else double-quoted (JSON's escapes are YAML's).
func yamlScalar(s string) string {
	if plainScalar.MatchString(s) && !strings.HasSuffix(s, ":") {
		return s
	}
	return strconv.Quote(s)
}

// audiences reads the aud claim of tok, a string or (as Bitbucket writes
// custom audiences) a list, without verifying it: the Hub does. It reports
// false when tok is no JWT with an aud, which the caller leaves for the
// Hub's own parse to report.
func audiences(tok string) ([]string, bool) {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		return nil, false
	}
	auds, err := claims.GetAudience()
	if err != nil || len(auds) == 0 {
		return nil, false
	}
	return auds, true
}

func quoteList(auds []string) string {
	q := make([]string, len(auds))
	for i, a := range auds {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, ", ")
}
