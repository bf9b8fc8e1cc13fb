package jwtutil

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins/internal/plugintest"
)

var fakeJWT = plugintest.FakeJWT

func TestPick(t *testing.T) {
	t.Parallel()
	tok := fakeJWT(t, map[string]any{"aud": "https://huggingface.co"})
	cases := []struct {
		name, out, want, err string
	}{
		{"alone", tok, tok, ""},
		{"with a newline", tok + "\n", tok, ""},
		{"after a notice", "notice: agent 3.41.0\n" + tok + "\n", tok, ""},
		{"nothing", " \n", "", "it printed nothing"},
		{"no token", "3.41.0", "", "it printed no token (6 bytes)"},
		{"two", tok + " " + tok, "", "it printed 2 tokens, want one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Pick([]byte(c.out))
			if got != c.want || (err == nil) != (c.err == "") || (err != nil && err.Error() != c.err) {
				t.Errorf("Pick = %.12q, %v; want %.12q, %q", got, err, c.want, c.err)
			}
		})
	}
}

func TestAudiences(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		tok  string
		want []string
	}{
		{"string", fakeJWT(t, map[string]any{"aud": "a"}), []string{"a"}},
		{"list", fakeJWT(t, map[string]any{"aud": []string{"a", "b"}}), []string{"a", "b"}},
		{"none", fakeJWT(t, map[string]any{"sub": "x"}), nil},
		{"not a JWT", "a.b.c", nil},
	} {
		got, ok := Audiences(c.tok)
		if !slices.Equal(got, c.want) || ok != (c.want != nil) {
			t.Errorf("%s: Audiences = %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
}

func TestYAMLScalar(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://huggingface.co":       "https://huggingface.co",
		"https://hub.example:8443/x?y": `"https://hub.example:8443/x?y"`,
		"api://hub":                    "api://hub",
		"hub:":                         `"hub:"`,
		"-hub":                         `"-hub"`,
		"!hub":                         `"!hub"`,
		"true":                         "true", // a string to an aud either way
		`a"b`:                          `"a\"b"`,
	} {
		if got := YAMLScalar(in); got != want {
			t.Errorf("YAMLScalar(%q) = %s, want %s", in, got, want)
		}
	}
}

// fixedErrors are Pick's errors: fixed text but for counts, so that nothing
// of the output gets in.
var fixedErrors = regexp.MustCompile(`^(it printed nothing|it printed no token \([0-9]+ bytes\)|it printed [0-9]+ tokens, want one)$`)

// FuzzPick: whatever a CLI prints, Pick returns one JWT-shaped word of it, or
// an error that quotes none of it.
func FuzzPick(f *testing.F) {
	tok := fakeJWT(f, map[string]any{"aud": "https://huggingface.co"})
	for _, s := range []string{tok, tok + "\n", "notice\n" + tok, tok + " " + tok, "", "3.41.0", "eyJ.x.", "eyJa.b.c d"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		got, err := Pick(out)
		if err != nil {
			if !fixedErrors.MatchString(err.Error()) {
				t.Fatalf("error %q is not one of the fixed texts", err)
			}
			return
		}
		if !LooksLikeJWT(got) || !slices.Contains(strings.Fields(string(out)), got) {
			t.Fatalf("Pick(%q) = %q", out, got)
		}
	})
}
