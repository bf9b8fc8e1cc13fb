package bitbucket

import (
	"errors"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins/internal/jwtutil"
	"github.com/hf-oidc/hf-oidc/plugins/internal/plugintest"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	hub       = "https://huggingface.co"
	workspace = "ari:cloud:bitbucket::workspace/0b5e8c2a-6f1d-4a3e-9c7b-2d4f6a8b0c1e"
)

var fakeJWT = plugintest.FakeJWT

func newProvider(env map[string]string) *Provider {
	return New(plugins.WithGetenv(func(k string) string { return env[k] }))
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"BITBUCKET_BUILD_NUMBER": "42"}, true},
		{map[string]string{"BITBUCKET_BUILD_NUMBER": "42", "CI": "true"}, true},
		{map[string]string{"CI": "true"}, false},
		{map[string]string{"BITBUCKET_STEP_OIDC_TOKEN": "a.b.c"}, false},
		{map[string]string{}, false},
	}
	for _, tt := range tests {
		if got := newProvider(tt.env).Detect(); got != tt.want {
			t.Errorf("Detect with %v = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	listed := fakeJWT(t, map[string]any{"aud": []string{hub}})
	several := fakeJWT(t, map[string]any{"aud": []string{"https://vault.example", hub}})
	single := fakeJWT(t, map[string]any{"aud": hub})
	ws := fakeJWT(t, map[string]any{"aud": workspace})
	noAud := fakeJWT(t, map[string]any{"sub": "{repo}:{step}"})
	tests := []struct {
		name     string
		tok      string
		audience string
		want     string
	}{
		{"custom audience, as a list", listed, hub, listed},
		{"among several audiences", several, hub, several},
		{"as a string", single, hub, single},
		{"trimmed", "\n" + listed + " ", hub, listed},
		{"the workspace's audience asked for", ws, workspace, ws},
		{"no audience asked for", ws, "", ws},
		// What cannot be read is left for the Hub's own parse to report.
		{"no aud", noAud, hub, noAud},
		{"not a JWT", "garbage", hub, "garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_STEP_OIDC_TOKEN": tt.tok})
			got, err := p.IDToken(t.Context(), tt.audience)
			if err != nil || got != tt.want {
				t.Fatalf("IDToken = %.20q…, %v; want the token", got, err)
			}
		})
	}
}

// TestSetupErrors pins every missing-setup message: they are the user's
// instructions.
func TestSetupErrors(t *testing.T) {
	t.Parallel()
	ws := fakeJWT(t, map[string]any{"aud": workspace})
	two := fakeJWT(t, map[string]any{"aud": []string{"https://a.example", "https://b.example"}})
	const (
		enable = "Turn on OIDC for the step in bitbucket-pipelines.yml (`oidc: true`), with the Hub's audience:\n"
		add    = "Add the Hub's audience to the step's OIDC settings in bitbucket-pipelines.yml (`oidc: true` alone gives the workspace's audience):\n"
		block  = "  - step:\n      oidc:\n        audiences:\n          - https://huggingface.co"
	)
	tests := []struct {
		name     string
		env      map[string]string
		audience string
		problem  string
		fix      string
	}{
		{
			name:     "oidc off",
			env:      map[string]string{"BITBUCKET_BUILD_NUMBER": "7"},
			audience: hub,
			problem:  "BITBUCKET_STEP_OIDC_TOKEN is not set",
			fix:      enable + block,
		},
		{
			name:     "blank token",
			env:      map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_STEP_OIDC_TOKEN": "  "},
			audience: hub,
			problem:  "BITBUCKET_STEP_OIDC_TOKEN is not set",
			fix:      enable + block,
		},
		{
			name:     "outside Bitbucket",
			env:      map[string]string{},
			audience: hub,
			problem:  "not running in Bitbucket Pipelines (BITBUCKET_BUILD_NUMBER is not set) and BITBUCKET_STEP_OIDC_TOKEN is not set",
			fix:      enable + block,
		},
		{
			name:    "no audience asked for",
			env:     map[string]string{"BITBUCKET_BUILD_NUMBER": "7"},
			problem: "BITBUCKET_STEP_OIDC_TOKEN is not set",
			fix:     enable + block,
		},
		{
			name:     "oidc true without audiences",
			env:      map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_STEP_OIDC_TOKEN": ws},
			audience: hub,
			problem:  `BITBUCKET_STEP_OIDC_TOKEN is for audience "` + workspace + `", not "https://huggingface.co"`,
			fix:      add + block,
		},
		{
			name:     "other audiences",
			env:      map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_STEP_OIDC_TOKEN": two},
			audience: "https://hub.acme.example:8443",
			problem:  `BITBUCKET_STEP_OIDC_TOKEN is for audience "https://a.example", "https://b.example", not "https://hub.acme.example:8443"`,
			fix:      add + "  - step:\n      oidc:\n        audiences:\n          - https://hub.acme.example:8443",
		},
		{
			name:     "audience that needs quoting",
			env:      map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_STEP_OIDC_TOKEN": ws},
			audience: "[hub]",
			problem:  `BITBUCKET_STEP_OIDC_TOKEN is for audience "` + workspace + `", not "[hub]"`,
			fix:      add + "  - step:\n      oidc:\n        audiences:\n          - \"[hub]\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newProvider(tt.env).IDToken(t.Context(), tt.audience)
			var se *plugins.SetupError
			if !errors.As(err, &se) {
				t.Fatalf("IDToken = %.20q…, %v; want a *plugins.SetupError", got, err)
			}
			if got != "" {
				t.Error("a token came back with the error")
			}
			if se.Provider != "bitbucket" || se.Problem != tt.problem || se.Fix != tt.fix {
				t.Errorf("SetupError:\n provider %s\n problem %q\n fix %q\nwant\n problem %q\n fix %q", se.Provider, se.Problem, se.Fix, tt.problem, tt.fix)
			}
			if tok := tt.env["BITBUCKET_STEP_OIDC_TOKEN"]; len(tok) > 8 && strings.Contains(err.Error()+se.Problem+se.Fix, tok) {
				t.Error("the error holds the token")
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("bitbucket")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("plugins.New(bitbucket) = %T, want *Provider", p)
	}
	if p.Name() != "bitbucket" || p.CanMint() {
		t.Errorf("Name, CanMint = %q, %v; want bitbucket, false", p.Name(), p.CanMint())
	}
}

// FuzzAudiences: audiences never panics, and what it reads is the aud the
// token carries.
func FuzzAudiences(f *testing.F) {
	f.Add(fakeJWT(f, map[string]any{"aud": hub}))
	f.Add(fakeJWT(f, map[string]any{"aud": []string{hub, workspace}}))
	f.Add(fakeJWT(f, map[string]any{"aud": 7}))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		auds, ok := jwtutil.Audiences(tok)
		if !ok {
			return
		}
		if len(auds) == 0 {
			t.Fatalf("Audiences(%q) = true with no audience", tok)
		}
		got, err := newProvider(map[string]string{"BITBUCKET_STEP_OIDC_TOKEN": tok}).IDToken(t.Context(), auds[0])
		if err != nil || got != strings.TrimSpace(tok) {
			t.Fatalf("a token for %q refused for that audience: %v", auds[0], err)
		}
	})
}
