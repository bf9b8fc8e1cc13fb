package buildkite

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins/internal/plugintest"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const hub = "https://huggingface.co"

var fakeJWT = plugintest.FakeJWT

type fakeAgent = plugintest.Runner

func newProvider(env map[string]string, a *fakeAgent) *Provider {
	return New(plugins.WithGetenv(func(k string) string { return env[k] }), plugins.WithRunner(a.Run))
}

func TestDetect(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]bool{"true": true, "": false, "false": false, "1": false} {
		if got := newProvider(map[string]string{"BUILDKITE": env}, &fakeAgent{}).Detect(); got != want {
			t.Errorf("Detect with BUILDKITE=%q = %v, want %v", env, got, want)
		}
	}
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	tok := fakeJWT(t, map[string]any{"aud": hub})
	base := []string{"buildkite-agent", "oidc", "request-token"}
	tests := []struct {
		name     string
		lifetime string
		out      string
		audience string
		args     []string
	}{
		{"audience", "", tok + "\n", hub, append(base, "--audience", hub)},
		{"no audience: the agent's default", "", tok, "", base},
		{"an audience like a flag stays one argument", "", tok, "-x y", append(base, "--audience", "-x y")},
		{"lifetime", "10m", tok, hub, append(base, "--audience", hub, "--lifetime", "600")},
		{"lifetime rounded up to a second", "1500ms", tok, hub, append(base, "--audience", hub, "--lifetime", "2")},
		{"lifetime trimmed", " 90s\n", tok, hub, append(base, "--audience", hub, "--lifetime", "90")},
		{"notices around the token", "", "~~~ Requesting token\n" + tok + "\n", hub, append(base, "--audience", hub)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &fakeAgent{Out: []byte(tt.out)}
			got, err := newProvider(map[string]string{"BUILDKITE": "true", "HF_OIDC_BUILDKITE_LIFETIME": tt.lifetime}, a).IDToken(t.Context(), tt.audience)
			if err != nil || got != tok {
				t.Fatalf("IDToken = %.20q…, %v; want the token", got, err)
			}
			if len(a.Calls()) != 1 || !slices.Equal(a.Calls()[0], tt.args) {
				t.Errorf("ran %q, want %q", a.Calls(), tt.args)
			}
		})
	}
}

func TestMintsEveryCall(t *testing.T) {
	t.Parallel()
	a := &fakeAgent{Out: []byte(fakeJWT(t, map[string]any{"aud": hub}))}
	p := newProvider(nil, a)
	for range 3 {
		if _, err := p.IDToken(t.Context(), hub); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.Calls()) != 3 || !p.CanMint() {
		t.Errorf("ran the agent %d times for 3 tokens; CanMint %v", len(a.Calls()), p.CanMint())
	}
}

// TestSetupErrors pins every missing-setup message: they are the user's
// instructions.
func TestSetupErrors(t *testing.T) {
	t.Parallel()
	tok := fakeJWT(t, map[string]any{"aud": hub})
	notFound := fmt.Errorf("running buildkite-agent: %w", &exec.Error{Name: "buildkite-agent", Err: exec.ErrNotFound})
	tests := []struct {
		name         string
		lifetime     string
		err          error
		problem, fix string
		ran          bool
	}{
		{
			name:    "agent missing",
			err:     notFound,
			problem: "buildkite-agent is not on PATH",
			fix:     "Run this in a Buildkite job, where the agent puts buildkite-agent on PATH; in a container, make the agent available to it (the docker plugin's `mount-buildkite-agent: true`).",
			ran:     true,
		},
		{
			name:    "agent without oidc",
			err:     errors.New("running buildkite-agent: exit status 3: No help topic for 'oidc'"),
			problem: "this buildkite-agent cannot run `oidc request-token`: running buildkite-agent: exit status 3: No help topic for 'oidc'",
			fix:     "Upgrade the Buildkite agent to one with OIDC support (v3.41 or later).",
			ran:     true,
		},
		{
			name:     "agent without --lifetime",
			lifetime: "10m",
			err:      errors.New("running buildkite-agent: exit status 1: Incorrect Usage: flag provided but not defined: -lifetime"),
			problem:  "this buildkite-agent cannot run `oidc request-token`: running buildkite-agent: exit status 1: Incorrect Usage: flag provided but not defined: -lifetime",
			fix:      "Upgrade the Buildkite agent to one with OIDC support (v3.41 or later). If only --lifetime is unknown to it, unset HF_OIDC_BUILDKITE_LIFETIME.",
			ran:      true,
		},
		{
			name:     "lifetime without a unit",
			lifetime: "600",
			problem:  `HF_OIDC_BUILDKITE_LIFETIME "600" is not a lifetime: a duration needs a unit, e.g. 600s`,
			fix:      "Set HF_OIDC_BUILDKITE_LIFETIME to how long the ID token should live, such as 10m, or unset it for the agent's default.",
		},
		{
			name:     "lifetime under a second",
			lifetime: "500ms",
			problem:  `HF_OIDC_BUILDKITE_LIFETIME "500ms" is not a lifetime: a duration of at least 1s, such as 10m`,
			fix:      "Set HF_OIDC_BUILDKITE_LIFETIME to how long the ID token should live, such as 10m, or unset it for the agent's default.",
		},
		{
			name:     "lifetime negative",
			lifetime: "-5m",
			problem:  `HF_OIDC_BUILDKITE_LIFETIME "-5m" is not a lifetime: a duration of at least 1s, such as 10m`,
			fix:      "Set HF_OIDC_BUILDKITE_LIFETIME to how long the ID token should live, such as 10m, or unset it for the agent's default.",
		},
		{
			name:     "a token as the lifetime",
			lifetime: tok,
			problem:  "HF_OIDC_BUILDKITE_LIFETIME is not a lifetime: a duration of at least 1s, such as 10m",
			fix:      "Set HF_OIDC_BUILDKITE_LIFETIME to how long the ID token should live, such as 10m, or unset it for the agent's default.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &fakeAgent{Out: []byte(tok), Err: tt.err}
			if tt.err != nil {
				a.Out = nil
			}
			got, err := newProvider(map[string]string{"BUILDKITE": "true", "HF_OIDC_BUILDKITE_LIFETIME": tt.lifetime}, a).IDToken(t.Context(), hub)
			var se *plugins.SetupError
			if !errors.As(err, &se) {
				t.Fatalf("IDToken = %.20q…, %v; want a *plugins.SetupError", got, err)
			}
			if got != "" {
				t.Error("a token came back with the error")
			}
			if se.Provider != "buildkite" || se.Problem != tt.problem || se.Fix != tt.fix {
				t.Errorf("SetupError:\n provider %s\n problem %q\n fix %q\nwant\n problem %q\n fix %q", se.Provider, se.Problem, se.Fix, tt.problem, tt.fix)
			}
			if ran := len(a.Calls()) > 0; ran != tt.ran {
				t.Errorf("ran the agent: %v, want %v", ran, tt.ran)
			}
			if strings.Contains(err.Error()+se.Problem+se.Fix, tok) {
				t.Error("the error holds the token")
			}
		})
	}
}

// TestOtherFailures: what is not the job's setup is an ordinary error, with
// anything token-like taken out of the agent's words.
func TestOtherFailures(t *testing.T) {
	t.Parallel()
	tok := fakeJWT(t, map[string]any{"aud": hub})
	cause := errors.New("running buildkite-agent: exit status 1: fatal: POST /v3/jobs/oidc/tokens: 500 (token " + tok + ")")
	tests := []struct {
		name string
		a    *fakeAgent
		want string
		is   error
	}{
		{"agent fails", &fakeAgent{Err: cause}, "running buildkite-agent oidc request-token: running buildkite-agent: exit status 1: fatal: POST /v3/jobs/oidc/tokens: 500 (token [redacted])", cause},
		{"prints nothing", &fakeAgent{Out: []byte(" \n")}, "reading the output of buildkite-agent oidc request-token: it printed nothing", nil},
		{"prints no token", &fakeAgent{Out: []byte("3.41.0\n")}, "reading the output of buildkite-agent oidc request-token: it printed no token (7 bytes)", nil},
		{"prints two tokens", &fakeAgent{Out: []byte(tok + " " + tok)}, "reading the output of buildkite-agent oidc request-token: it printed 2 tokens, want one", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newProvider(map[string]string{"BUILDKITE": "true"}, tt.a).IDToken(t.Context(), hub)
			var se *plugins.SetupError
			if err == nil || errors.As(err, &se) || err.Error() != tt.want {
				t.Fatalf("IDToken error = %v, want %q and no SetupError", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap the agent's", err)
			}
		})
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newProvider(nil, &fakeAgent{Err: errors.New("signal: killed")}).IDToken(ctx, hub)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v, want context.Canceled", err)
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("buildkite")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("plugins.New(buildkite) = %T, want *Provider", p)
	}
	if p.Name() != "buildkite" || !p.CanMint() {
		t.Errorf("Name, CanMint = %q, %v; want buildkite, true", p.Name(), p.CanMint())
	}
}

// FuzzLifetime: any HF_OIDC_BUILDKITE_LIFETIME gives whole seconds of at
// least one, or a SetupError that quotes nothing long or dotted.
func FuzzLifetime(f *testing.F) {
	for _, s := range []string{"10m", "600", "1s", "999ms", "-1s", "1h30m", "a.b.c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := newProvider(map[string]string{"HF_OIDC_BUILDKITE_LIFETIME": v}, nil).lifetime()
		if err != nil {
			var se *plugins.SetupError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is no SetupError", err)
			}
			if tv := strings.TrimSpace(v); (len(tv) > 16 || strings.Contains(tv, ".")) && strings.Contains(se.Problem, tv) {
				t.Fatalf("problem %q quotes a value that may be a token", se.Problem)
			}
			return
		}
		if strings.TrimSpace(v) == "" {
			if got != "" {
				t.Fatalf("lifetime() = %q for an unset variable", got)
			}
			return
		}
		if n, err := fmt.Sscan(got, new(uint64)); n != 1 || err != nil || got == "0" || strings.HasPrefix(got, "0") {
			t.Fatalf("lifetime() = %q, want whole seconds of at least one", got)
		}
	})
}
