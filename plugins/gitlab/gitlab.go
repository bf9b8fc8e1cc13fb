package gitlab

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/internal/jwtutil"
)

const (
	name = "gitlab"
	// order puts GitLab after env and GitHub (see plugins/all). A job that
	// names its id_tokens variable HF_OIDC_ID_TOKEN is served by env, which
	// hands out the same token.
	order = 30

	envCI = "GITLAB_CI"
	// TokenNameVar names the variable that holds the ID token. The CLI maps
	// its --id-token-var flag onto it, so the provider reads only Getenv.
	TokenNameVar = "HF_OIDC_ID_TOKEN_VAR"
	// DefaultTokenVar is the variable read when TokenNameVar is not set.
	DefaultTokenVar = "HF_ID_TOKEN"

	defaultAudience = "https://huggingface.co"
)

func init() {
	plugins.Register(name, order, func(opts ...plugins.Option) plugins.Provider { return New(opts...) })
}

var _ plugins.Provider = (*Provider)(nil)

// Provider hands back the ID token GitLab put in the job's `id_tokens:`
// variable (HF_ID_TOKEN, or the one HF_OIDC_ID_TOKEN_VAR names). It is safe
// for concurrent use.
type Provider struct {
	getenv func(string) string
}

// New returns a GitLab CI provider. It reads the environment through
// plugins.WithGetenv (default os.Getenv).
func New(opts ...plugins.Option) *Provider {
	return &Provider{getenv: plugins.Apply(opts...).Getenv}
}

// Name returns "gitlab".
func (*Provider) Name() string { return name }

// Detect reports whether this is a GitLab CI job.
func (p *Provider) Detect() bool { return p.getenv(envCI) == "true" }

// CanMint returns false: GitLab mints the job's ID tokens once, when the job
// starts, and they last until the job's timeout.
func (*Provider) CanMint() bool { return false }

// Job is the job's CI_JOB_ID, with the instance's CI_SERVER_URL: job IDs
// are unique to an instance.
func (p *Provider) Job() string {
	id := plugins.JobVar(p.getenv, "CI_JOB_ID")
	if id == "" {
		return ""
	}
	if server := plugins.JobVar(p.getenv, "CI_SERVER_URL"); server != "" {
		return server + "\n" + id
	}
	return id
}

// IDToken returns the job's ID token. GitLab chose its audience when the job
// started, so a token minted for another audience than audience is refused
// with the `id_tokens:` block that mints the right one, rather than sent to
// be rejected by the Hub; so is a missing token (*plugins.SetupError).
func (p *Provider) IDToken(_ context.Context, audience string) (string, error) {
	varName, custom, err := p.tokenVar()
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(p.getenv(varName))
	if tok == "" {
		return "", p.missing(varName, custom, audience)
	}
	if auds, ok := jwtutil.Audiences(tok); ok && audience != "" && !slices.Contains(auds, audience) {
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  fmt.Sprintf("the ID token in %s is for audience %s, not %q", varName, jwtutil.QuoteList(auds), audience),
			Fix:      "Set its aud in the job's `id_tokens:` block in .gitlab-ci.yml:\n" + idTokensBlock(varName, audience),
		}
	}
	return tok, nil
}

// tokenVar returns the variable that holds the ID token, and whether the
// user named it.
func (p *Provider) tokenVar() (string, bool, error) {
	v := strings.TrimSpace(p.getenv(TokenNameVar))
	if v == "" {
		return DefaultTokenVar, false, nil
	}
	if !plugins.IsVarName(v) {
		// The value is never quoted: pasting the token instead of the
		// variable's name is the likeliest mistake.
		problem := TokenNameVar + " (--id-token-var) is not a variable name: it must be letters, digits and underscores, not starting with a digit"
		if strings.Count(v, ".") == 2 || strings.HasPrefix(v, "eyJ") {
			problem += "; it looks like a token"
		}
		return "", false, &plugins.SetupError{
			Provider: name,
			Problem:  problem,
			Fix:      "Give --id-token-var (HF_OIDC_ID_TOKEN_VAR) the name of the job's `id_tokens:` variable, such as " + DefaultTokenVar + ", not its value.",
		}
	}
	return v, true, nil
}

func (p *Provider) missing(varName string, custom bool, audience string) *plugins.SetupError {
	problem := varName + " is not set"
	if custom {
		problem = varName + " (named by --id-token-var or " + TokenNameVar + ") is not set"
	}
	if !p.Detect() {
		problem = "not running in GitLab CI (" + envCI + " is not \"true\") and " + problem
	}
	fix := "Declare the ID token in the job in .gitlab-ci.yml:\n" + idTokensBlock(varName, audience)
	if !custom {
		fix += "\nTo use another variable name, pass --id-token-var NAME or set " + TokenNameVar + "."
	}
	return &plugins.SetupError{Provider: name, Problem: problem, Fix: fix}
}

// idTokensBlock is the `id_tokens:` YAML that mints the token, indented to
// stand out in a message.
func idTokensBlock(varName, audience string) string {
	if audience == "" {
		audience = defaultAudience
	}
	return "  id_tokens:\n    " + varName + ":\n      aud: " + jwtutil.YAMLScalar(audience)
}
