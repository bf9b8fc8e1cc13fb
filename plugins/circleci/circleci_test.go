package circleci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins/internal/plugintest"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	hub = "https://huggingface.co"
	org = "8f2b6c1e-3d4a-4e5f-9a0b-1c2d3e4f5a6b"
)

var fakeJWT = plugintest.FakeJWT

type fakeCLI = plugintest.Runner

func newProvider(env map[string]string, cli *fakeCLI) *Provider {
	return New(plugins.WithGetenv(func(k string) string { return env[k] }), plugins.WithRunner(cli.Run))
}

// errNotFound is what exec returns for a command missing from PATH.
var errNotFound = fmt.Errorf("running circleci: %w", &exec.Error{Name: "circleci", Err: exec.ErrNotFound})

func TestDetect(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]bool{"true": true, "": false, "false": false, "1": false} {
		p := newProvider(map[string]string{"CIRCLECI": env}, &fakeCLI{})
		if got := p.Detect(); got != want {
			t.Errorf("Detect with CIRCLECI=%q = %v, want %v", env, got, want)
		}
	}
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	tok := fakeJWT(t, map[string]any{"aud": hub})
	tests := []struct {
		name     string
		out      string
		audience string
		args     []string
	}{
		{"audience as JSON", tok + "\n", hub, []string{"circleci", "run", "oidc", "get", "--claims", `{"aud":"https://huggingface.co"}`}},
		{"audience that needs escaping", tok, `a"b\c`, []string{"circleci", "run", "oidc", "get", "--claims", `{"aud":"a\"b\\c"}`}},
		{"no audience: the CLI's default", tok, "", []string{"circleci", "run", "oidc", "get"}},
		{"notices around the token", "A new version is available.\n" + tok + "\r\nv0.1.2 done\n", hub, []string{"circleci", "run", "oidc", "get", "--claims", `{"aud":"https://huggingface.co"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cli := &fakeCLI{Out: []byte(tt.out)}
			p := newProvider(map[string]string{"CIRCLECI": "true"}, cli)
			got, err := p.IDToken(t.Context(), tt.audience)
			if err != nil || got != tok {
				t.Fatalf("IDToken = %.20q…, %v; want the token", got, err)
			}
			if len(cli.Calls()) != 1 || !slices.Equal(cli.Calls()[0], tt.args) {
				t.Errorf("ran %q, want %q", cli.Calls(), tt.args)
			}
			if !p.CanMint() {
				t.Error("CanMint is false after a token from the CLI")
			}
			if claims := cli.Calls()[0][len(cli.Calls()[0])-1]; tt.audience != "" {
				var c map[string]string
				if err := json.Unmarshal([]byte(claims), &c); err != nil || len(c) != 1 || c["aud"] != tt.audience {
					t.Errorf("--claims %s does not read back as {aud: %q}", claims, tt.audience)
				}
			}
		})
	}
}

func TestMintsEveryCall(t *testing.T) {
	t.Parallel()
	cli := &fakeCLI{Out: []byte(fakeJWT(t, map[string]any{"aud": hub}))}
	p := newProvider(nil, cli)
	for range 3 {
		if _, err := p.IDToken(t.Context(), hub); err != nil {
			t.Fatal(err)
		}
	}
	if len(cli.Calls()) != 3 {
		t.Errorf("ran the CLI %d times for 3 tokens", len(cli.Calls()))
	}
}

// TestSetupErrors pins every missing-setup message: they are the user's
// instructions.
func TestSetupErrors(t *testing.T) {
	t.Parallel()
	tok := fakeJWT(t, map[string]any{"aud": hub})
	orgTok := fakeJWT(t, map[string]any{"aud": org})
	const note = "$CIRCLE_OIDC_TOKEN_V2 is no way around it for huggingface.co: its audience is the organization id, which the Hub rejects (HF_OIDC_CIRCLECI_FALLBACK=org-token falls back to it for a Hub that accepts that audience, with HF_OIDC_AUDIENCE set to the id)."
	failed := fmt.Errorf("running circleci: exit status 1: Error: failed to fetch OIDC token: this command can only run within a CircleCI job, token %s", tok)
	tests := []struct {
		name         string
		env          map[string]string
		cli          *fakeCLI
		problem, fix string
		ran          bool
	}{
		{
			name:    "CLI missing",
			env:     map[string]string{"CIRCLECI": "true"},
			cli:     &fakeCLI{Err: errNotFound},
			problem: "the circleci CLI is not on PATH",
			fix:     "Run this in a CircleCI job whose image has the circleci CLI (CircleCI's convenience images do), or install it in the job. " + note,
			ran:     true,
		},
		{
			name:    "CLI fails, its stderr echoing a token",
			env:     map[string]string{"CIRCLECI": "true", "HF_OIDC_CIRCLECI_FALLBACK": "none"},
			cli:     &fakeCLI{Err: failed},
			problem: "`circleci run oidc get` failed: running circleci: exit status 1: Error: failed to fetch OIDC token: this command can only run within a CircleCI job, token [redacted]",
			fix:     "It works only inside a CircleCI job, with a circleci CLI recent enough to have `run oidc get`: update the CLI in the image. " + note,
			ran:     true,
		},
		{
			name:    "CLI prints nothing",
			env:     map[string]string{"CIRCLECI": "true"},
			cli:     &fakeCLI{Out: []byte("\n")},
			problem: "`circleci run oidc get` failed: it printed nothing",
			fix:     "It works only inside a CircleCI job, with a circleci CLI recent enough to have `run oidc get`: update the CLI in the image. " + note,
			ran:     true,
		},
		{
			name:    "CLI prints no token",
			env:     map[string]string{"CIRCLECI": "true"},
			cli:     &fakeCLI{Out: []byte("Usage: circleci run [command]\n")},
			problem: "`circleci run oidc get` failed: it printed no token (30 bytes)",
			fix:     "It works only inside a CircleCI job, with a circleci CLI recent enough to have `run oidc get`: update the CLI in the image. " + note,
			ran:     true,
		},
		{
			name:    "CLI prints two tokens",
			env:     map[string]string{"CIRCLECI": "true"},
			cli:     &fakeCLI{Out: []byte(tok + "\n" + orgTok + "\n")},
			problem: "`circleci run oidc get` failed: it printed 2 tokens, want one",
			fix:     "It works only inside a CircleCI job, with a circleci CLI recent enough to have `run oidc get`: update the CLI in the image. " + note,
			ran:     true,
		},
		{
			name:    "unknown fallback",
			env:     map[string]string{"CIRCLECI": "true", "HF_OIDC_CIRCLECI_FALLBACK": orgTok},
			cli:     &fakeCLI{Out: []byte(tok)},
			problem: "HF_OIDC_CIRCLECI_FALLBACK is neither none nor org-token",
			fix:     "Unset HF_OIDC_CIRCLECI_FALLBACK (the default, none: no fallback), or set it to org-token to use $CIRCLE_OIDC_TOKEN_V2 when `circleci run oidc get` fails.",
		},
		{
			name:    "fallback without the org token",
			env:     map[string]string{"CIRCLECI": "true", "HF_OIDC_CIRCLECI_FALLBACK": "org-token"},
			cli:     &fakeCLI{Err: errNotFound},
			problem: "`circleci run oidc get` failed (running circleci: exec: \"circleci\": executable file not found in $PATH) and $CIRCLE_OIDC_TOKEN_V2, the fallback HF_OIDC_CIRCLECI_FALLBACK asks for, is not set",
			fix:     "Run this in a CircleCI job, where `circleci run oidc get` works or CircleCI sets $CIRCLE_OIDC_TOKEN_V2.",
			ran:     true,
		},
		{
			name:    "fallback to a token for the org",
			env:     map[string]string{"CIRCLECI": "true", "HF_OIDC_CIRCLECI_FALLBACK": "org-token", "CIRCLE_OIDC_TOKEN_V2": orgTok},
			cli:     &fakeCLI{Err: failed},
			problem: "`circleci run oidc get` failed (running circleci: exit status 1: Error: failed to fetch OIDC token: this command can only run within a CircleCI job, token [redacted]), and the fallback $CIRCLE_OIDC_TOKEN_V2 is for audience \"" + org + "\" (the organization id), not \"https://huggingface.co\"",
			fix:     "Only `circleci run oidc get` mints a token for the Hub's audience: fix the circleci CLI in the job. Keep HF_OIDC_CIRCLECI_FALLBACK=org-token only for a Hub that accepts the organization id as audience, and set HF_OIDC_AUDIENCE to it.",
			ran:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(tt.env, tt.cli)
			got, err := p.IDToken(t.Context(), hub)
			var se *plugins.SetupError
			if !errors.As(err, &se) {
				t.Fatalf("IDToken = %.20q…, %v; want a *plugins.SetupError", got, err)
			}
			if got != "" {
				t.Error("a token came back with the error")
			}
			if se.Provider != "circleci" || se.Problem != tt.problem || se.Fix != tt.fix {
				t.Errorf("SetupError:\n provider %s\n problem %q\n fix %q\nwant\n problem %q\n fix %q", se.Provider, se.Problem, se.Fix, tt.problem, tt.fix)
			}
			if ran := len(tt.cli.Calls()) > 0; ran != tt.ran {
				t.Errorf("ran the CLI: %v, want %v", ran, tt.ran)
			}
			for _, secret := range []string{tok, orgTok} {
				if strings.Contains(err.Error()+se.Problem+se.Fix, secret) {
					t.Errorf("the error holds a token (%.12s…)", secret)
				}
			}
			if !p.CanMint() {
				t.Error("CanMint is false after a failure")
			}
		})
	}
}

func TestFallback(t *testing.T) {
	t.Parallel()
	orgTok := fakeJWT(t, map[string]any{"aud": org})
	env := map[string]string{"CIRCLECI": "true", "HF_OIDC_CIRCLECI_FALLBACK": " org-token\n", "CIRCLE_OIDC_TOKEN_V2": orgTok + "\n"}

	// A working CLI wins, fallback or not.
	tok := fakeJWT(t, map[string]any{"aud": org})
	p := newProvider(env, &fakeCLI{Out: []byte(tok)})
	if got, err := p.IDToken(t.Context(), org); err != nil || got != tok || !p.CanMint() {
		t.Fatalf("with a working CLI: %.20q…, %v, CanMint %v; want the CLI's token", got, err, p.CanMint())
	}

	// A Hub whose audience is the org id takes the job's fixed token, which
	// cannot be re-minted.
	for _, cliErr := range []error{errNotFound, errors.New("running circleci: exit status 1")} {
		p := newProvider(env, &fakeCLI{Err: cliErr})
		if !p.CanMint() {
			t.Fatal("CanMint is false before any token")
		}
		got, err := p.IDToken(t.Context(), org)
		if err != nil || got != orgTok {
			t.Fatalf("fallback after %v: %.20q…, %v; want $CIRCLE_OIDC_TOKEN_V2", cliErr, got, err)
		}
		if p.CanMint() {
			t.Error("CanMint is still true after falling back to the fixed token")
		}
	}
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	env := map[string]string{"HF_OIDC_CIRCLECI_FALLBACK": "org-token", "CIRCLE_OIDC_TOKEN_V2": fakeJWT(t, map[string]any{"aud": hub})}
	p := newProvider(env, &fakeCLI{Err: context.Canceled})
	got, err := p.IDToken(ctx, hub)
	var se *plugins.SetupError
	if !errors.Is(err, context.Canceled) || errors.As(err, &se) || got != "" {
		t.Errorf("IDToken = %q, %v; want the cancellation, and no fallback", got, err)
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("circleci")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("plugins.New(circleci) = %T, want *Provider", p)
	}
	if p.Name() != "circleci" || !p.CanMint() {
		t.Errorf("Name, CanMint = %q, %v; want circleci, true", p.Name(), p.CanMint())
	}
}
