package buildkite

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/internal/jwtutil"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	name = "buildkite"
	// order puts Buildkite last of the CI providers (see plugins/all).
	order = 60

	envCI = "BUILDKITE"
	agent = "buildkite-agent"

	// LifetimeVar asks the agent for ID tokens that live this long (a
	// duration such as 10m; passed as --lifetime in whole seconds). Unset,
	// the agent's default applies (5 minutes).
	LifetimeVar = "HF_OIDC_BUILDKITE_LIFETIME"
)

func init() {
	plugins.Register(name, order, func(opts ...plugins.Option) plugins.Provider { return New(opts...) })
}

var _ plugins.Provider = (*Provider)(nil)

// Provider mints ID tokens with the Buildkite agent. It is safe for
// concurrent use.
type Provider struct {
	getenv func(string) string
	run    plugins.Runner
}

// New returns a Buildkite provider. It reads the environment through
// plugins.WithGetenv and runs the agent through plugins.WithRunner (default
// os.Getenv and the PATH's buildkite-agent).
func New(opts ...plugins.Option) *Provider {
	o := plugins.Apply(opts...)
	return &Provider{getenv: o.Getenv, run: o.Runner}
}

// Name returns "buildkite".
func (*Provider) Name() string { return name }

// Detect reports whether this is a Buildkite job.
func (p *Provider) Detect() bool { return p.getenv(envCI) == "true" }

// CanMint returns true: every call asks the agent for a fresh token.
func (*Provider) CanMint() bool { return true }

// Job is the job's BUILDKITE_JOB_ID.
func (p *Provider) Job() string { return plugins.JobVar(p.getenv, "BUILDKITE_JOB_ID") }

// IDToken runs `buildkite-agent oidc request-token --audience <audience>`
// (with --lifetime when HF_OIDC_BUILDKITE_LIFETIME is set) and returns the
// token it prints. The token is never passed on a command line, logged, or
// quoted in an error. A missing agent, or one without OIDC support, gets a
// *plugins.SetupError.
func (p *Provider) IDToken(ctx context.Context, audience string) (string, error) {
	lifetime, err := p.lifetime()
	if err != nil {
		return "", err
	}
	args := []string{"oidc", "request-token"}
	if audience != "" {
		args = append(args, "--audience", audience)
	}
	if lifetime != "" {
		args = append(args, "--lifetime", lifetime)
	}
	out, err := p.run(ctx, agent, args...)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("running %s oidc request-token: %w", agent, ctx.Err())
		}
		return "", p.runFailed(err, lifetime != "")
	}
	tok, err := jwtutil.Pick(out)
	if err != nil {
		return "", fmt.Errorf("reading the output of %s oidc request-token: %w", agent, err)
	}
	return tok, nil
}

// lifetime is LifetimeVar as the agent's --lifetime takes it, whole
// seconds, rounded up; "" when unset.
func (p *Provider) lifetime() (string, error) {
	v := strings.TrimSpace(p.getenv(LifetimeVar))
	if v == "" {
		return "", nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		// A short value is safe to quote; a long one is not, as a pasted
		// token would land here too.
		shown, hint := "", "a duration of at least 1s, such as 10m"
		if len(v) <= 16 && !strings.Contains(v, ".") {
			shown = " " + strconv.Quote(v)
			if n, nerr := strconv.Atoi(v); nerr == nil && n > 0 {
				hint = fmt.Sprintf("a duration needs a unit, e.g. %ds", n)
			}
		}
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  LifetimeVar + shown + " is not a lifetime: " + hint,
			Fix:      "Set " + LifetimeVar + " to how long the ID token should live, such as 10m, or unset it for the agent's default.",
		}
	}
	secs := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(secs), 10), nil
}

// tooOld matches what an agent without `oidc request-token` (or without
// --lifetime) says: urfave/cli's answers to an unknown command or flag.
var tooOld = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)no help topic for|flag provided but not defined|unknown (command|flag)`)
})

func (p *Provider) runFailed(err error, withLifetime bool) error {
	cause := safetext.Redact(err.Error())
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return &plugins.SetupError{
			Provider: name,
			Problem:  "buildkite-agent is not on PATH",
			Fix:      "Run this in a Buildkite job, where the agent puts buildkite-agent on PATH; in a container, make the agent available to it (the docker plugin's `mount-buildkite-agent: true`).",
		}
	case tooOld().MatchString(cause):
		fix := "Upgrade the Buildkite agent to one with OIDC support (v3.41 or later)."
		if withLifetime {
			fix += " If only --lifetime is unknown to it, unset " + LifetimeVar + "."
		}
		return &plugins.SetupError{
			Provider: name,
			Problem:  "this buildkite-agent cannot run `oidc request-token`: " + cause,
			Fix:      fix,
		}
	}
	return fmt.Errorf("running %s oidc request-token: %w", agent, &redactedError{msg: cause, err: err})
}

// A redactedError is a failure of the agent with anything token-like taken
// out of its text; errors.Is still sees the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
