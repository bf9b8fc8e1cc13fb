package gitlab

import (
	"errors"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/internal/plugintest"
)

const hub = "https://huggingface.co"

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
		{map[string]string{"GITLAB_CI": "true"}, true},
		{map[string]string{"GITLAB_CI": "true", "HF_ID_TOKEN": ""}, true},
		{map[string]string{"GITLAB_CI": "false"}, false},
		{map[string]string{"GITLAB_CI": "1"}, false},
		{map[string]string{"CI": "true", "HF_ID_TOKEN": "x.y.z"}, false},
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
	good := fakeJWT(t, map[string]any{"iss": "https://gitlab.com", "aud": hub})
	listed := fakeJWT(t, map[string]any{"aud": []string{"https://vault.example", hub}})
	other := fakeJWT(t, map[string]any{"aud": "https://gitlab.com"})
	noAud := fakeJWT(t, map[string]any{"sub": "x"})
	tests := []struct {
		name     string
		env      map[string]string
		audience string
		want     string
	}{
		{"default variable", map[string]string{"GITLAB_CI": "true", "HF_ID_TOKEN": good}, hub, good},
		{"trimmed", map[string]string{"GITLAB_CI": "true", "HF_ID_TOKEN": "\n " + good + " \n"}, hub, good},
		{"custom variable", map[string]string{"GITLAB_CI": "true", "HF_OIDC_ID_TOKEN_VAR": "MY_TOKEN", "MY_TOKEN": good, "HF_ID_TOKEN": other}, hub, good},
		{"custom variable trimmed", map[string]string{"HF_OIDC_ID_TOKEN_VAR": " MY_TOKEN\n", "MY_TOKEN": good}, hub, good},
		{"one of several audiences", map[string]string{"HF_ID_TOKEN": listed}, hub, listed},
		{"another audience asked for", map[string]string{"HF_ID_TOKEN": other}, "https://gitlab.com", other},
		// What cannot be read is left for the Hub's own parse to report.
		{"no aud", map[string]string{"HF_ID_TOKEN": noAud}, hub, noAud},
		{"not a JWT", map[string]string{"HF_ID_TOKEN": "garbage"}, hub, "garbage"},
		{"no audience asked for", map[string]string{"HF_ID_TOKEN": other}, "", other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newProvider(tt.env).IDToken(t.Context(), tt.audience)
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
	other := fakeJWT(t, map[string]any{"aud": "https://gitlab.com"})
	two := fakeJWT(t, map[string]any{"aud": []string{"https://a.example", "https://b.example"}})
	tests := []struct {
		name           string
		env            map[string]string
		audience       string
		problem, fix   string
		mustNotContain string
	}{
		{
			name:    "default variable missing",
			env:     map[string]string{"GITLAB_CI": "true"},
			problem: "HF_ID_TOKEN is not set",
			fix: "Declare the ID token in the job in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    HF_ID_TOKEN:\n      aud: https://huggingface.co\n" +
				"To use another variable name, pass --id-token-var NAME or set HF_OIDC_ID_TOKEN_VAR.",
		},
		{
			name:    "default variable blank",
			env:     map[string]string{"GITLAB_CI": "true", "HF_ID_TOKEN": " \n"},
			problem: "HF_ID_TOKEN is not set",
			fix: "Declare the ID token in the job in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    HF_ID_TOKEN:\n      aud: https://huggingface.co\n" +
				"To use another variable name, pass --id-token-var NAME or set HF_OIDC_ID_TOKEN_VAR.",
		},
		{
			name:     "custom variable and audience",
			env:      map[string]string{"GITLAB_CI": "true", "HF_OIDC_ID_TOKEN_VAR": "PUBLISH_TOKEN", "HF_ID_TOKEN": other},
			audience: "https://hub.acme.example",
			problem:  "PUBLISH_TOKEN (named by --id-token-var or HF_OIDC_ID_TOKEN_VAR) is not set",
			fix: "Declare the ID token in the job in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    PUBLISH_TOKEN:\n      aud: https://hub.acme.example",
		},
		{
			name:    "outside GitLab",
			env:     map[string]string{},
			problem: `not running in GitLab CI (GITLAB_CI is not "true") and HF_ID_TOKEN is not set`,
			fix: "Declare the ID token in the job in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    HF_ID_TOKEN:\n      aud: https://huggingface.co\n" +
				"To use another variable name, pass --id-token-var NAME or set HF_OIDC_ID_TOKEN_VAR.",
		},
		{
			name:     "audience that needs quoting",
			env:      map[string]string{"GITLAB_CI": "true"},
			audience: "*hub",
			problem:  "HF_ID_TOKEN is not set",
			fix: "Declare the ID token in the job in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    HF_ID_TOKEN:\n      aud: \"*hub\"\n" +
				"To use another variable name, pass --id-token-var NAME or set HF_OIDC_ID_TOKEN_VAR.",
		},
		{
			name:     "wrong audience",
			env:      map[string]string{"GITLAB_CI": "true", "HF_ID_TOKEN": other},
			audience: hub,
			problem:  `the ID token in HF_ID_TOKEN is for audience "https://gitlab.com", not "https://huggingface.co"`,
			fix: "Set its aud in the job's `id_tokens:` block in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    HF_ID_TOKEN:\n      aud: https://huggingface.co",
		},
		{
			name:     "none of several audiences",
			env:      map[string]string{"HF_OIDC_ID_TOKEN_VAR": "T", "T": two},
			audience: hub,
			problem:  `the ID token in T is for audience "https://a.example", "https://b.example", not "https://huggingface.co"`,
			fix: "Set its aud in the job's `id_tokens:` block in .gitlab-ci.yml:\n" +
				"  id_tokens:\n    T:\n      aud: https://huggingface.co",
		},
		{
			name:    "variable name with a space",
			env:     map[string]string{"GITLAB_CI": "true", "HF_OIDC_ID_TOKEN_VAR": "MY TOKEN"},
			problem: "HF_OIDC_ID_TOKEN_VAR (--id-token-var) is not a variable name: it must be letters, digits and underscores, not starting with a digit",
			fix:     "Give --id-token-var (HF_OIDC_ID_TOKEN_VAR) the name of the job's `id_tokens:` variable, such as HF_ID_TOKEN, not its value.",
		},
		{
			name:    "variable name starting with a digit",
			env:     map[string]string{"HF_OIDC_ID_TOKEN_VAR": "1TOKEN"},
			problem: "HF_OIDC_ID_TOKEN_VAR (--id-token-var) is not a variable name: it must be letters, digits and underscores, not starting with a digit",
			fix:     "Give --id-token-var (HF_OIDC_ID_TOKEN_VAR) the name of the job's `id_tokens:` variable, such as HF_ID_TOKEN, not its value.",
		},
		{
			name:           "the token given as the variable name",
			env:            map[string]string{"GITLAB_CI": "true", "HF_OIDC_ID_TOKEN_VAR": other},
			problem:        "HF_OIDC_ID_TOKEN_VAR (--id-token-var) is not a variable name: it must be letters, digits and underscores, not starting with a digit; it looks like a token",
			fix:            "Give --id-token-var (HF_OIDC_ID_TOKEN_VAR) the name of the job's `id_tokens:` variable, such as HF_ID_TOKEN, not its value.",
			mustNotContain: other,
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
			if se.Provider != "gitlab" || se.Problem != tt.problem || se.Fix != tt.fix {
				t.Errorf("SetupError:\n provider %s\n problem %q\n fix %q\nwant\n problem %q\n fix %q", se.Provider, se.Problem, se.Fix, tt.problem, tt.fix)
			}
			text := err.Error() + se.Problem + se.Fix
			for _, secret := range append([]string{tt.mustNotContain}, values(tt.env)...) {
				if len(secret) > 20 && strings.Contains(text, secret) {
					t.Errorf("the error holds a token (%.12s…)", secret)
				}
			}
		})
	}
}

func values(m map[string]string) []string {
	var vs []string
	for k, v := range m {
		if k != "HF_OIDC_ID_TOKEN_VAR" || strings.Contains(v, ".") {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("gitlab")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("plugins.New(gitlab) = %T, want *Provider", p)
	}
	if p.Name() != "gitlab" || p.CanMint() {
		t.Errorf("Name, CanMint = %q, %v; want gitlab, false", p.Name(), p.CanMint())
	}
}

// FuzzIDToken: whatever the variables hold, IDToken returns the trimmed
// token or an error that quotes neither the token nor the variable's name
// when that could be a token.
func FuzzIDToken(f *testing.F) {
	f.Add("", "a.b.c", hub)
	f.Add("MY_TOKEN", fakeJWT(f, map[string]any{"aud": "x"}), hub)
	f.Add(fakeJWT(f, map[string]any{"aud": hub}), "", hub)
	f.Add("1X", " ", "")
	f.Fuzz(func(t *testing.T, varValue, tok, audience string) {
		env := map[string]string{"GITLAB_CI": "true", "HF_OIDC_ID_TOKEN_VAR": varValue}
		name := strings.TrimSpace(varValue)
		if name == "" {
			name = DefaultTokenVar
		}
		env[name] = tok
		got, err := newProvider(env).IDToken(t.Context(), audience)
		if err == nil {
			if got != strings.TrimSpace(tok) || got == "" {
				t.Fatalf("IDToken = %q, want the trimmed token", got)
			}
			return
		}
		var se *plugins.SetupError
		if !errors.As(err, &se) {
			t.Fatalf("error %v is no SetupError", err)
		}
		text := se.Problem + se.Fix
		if trimmed := strings.TrimSpace(tok); len(trimmed) > 8 && strings.Contains(text, trimmed) && !strings.Contains(audience+name, trimmed) {
			t.Fatalf("error quotes the token: %q", text)
		}
		if !plugins.IsVarName(name) && len(name) > 8 && strings.Contains(text, name) {
			t.Fatalf("error quotes a variable name that is no name: %q", text)
		}
	})
}
