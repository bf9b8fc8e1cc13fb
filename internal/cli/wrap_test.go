package cli

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFill(t *testing.T) {
	t.Parallel()
	url := "https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#github-id-token-permission"
	long := strings.Repeat("word ", 40)
	tests := []struct {
		name, first, indent, text string
		whole                     []string // each on one line
	}{
		{"prose", "Next: ", "", long, nil},
		{"a code span", "", "", long + "run `hf-oidc claims --expect repository=acme/x,branch=main` " + long, []string{"`hf-oidc claims --expect repository=acme/x,branch=main`"}},
		{"a quoted command", "  1. ", "     ", long + "stop it with 'hf-oidc refresh --stop --token-dir /tmp/x', or not " + long, []string{"'hf-oidc refresh --stop --token-dir /tmp/x',"}},
		{"a quoted value", "", "", long + `--audience "x' ; touch /tmp/p ; : '": an audience is ` + long, []string{`"x' ; touch /tmp/p ; : '":`}},
		{"an escaped quote", "", "", long + `resource "acme/m\"; touch /tmp/p; \"": contains ` + long, []string{`"acme/m\"; touch /tmp/p; \"":`}},
		{"a link", "", "", long + "do it. (see " + url + ")", []string{"(see " + url + ")"}},
		{"an apostrophe is no quote", "", "", "the token's claims " + long, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// What must stay whole, at every column the margin can cut.
			for k := 1; k < lineWidth; k++ {
				for _, w := range tt.whole {
					if got := wrapped(tt.first, tt.indent, strings.Repeat("x", k)+" "+w+" end"); !strings.Contains(got, w) {
						t.Fatalf("%q was split:\n%s", w, got)
					}
				}
			}
			got := wrapped(tt.first, tt.indent, tt.text)
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			if len(lines) < 2 {
				t.Fatalf("not wrapped:\n%s", got)
			}
			if !strings.HasPrefix(lines[0], tt.first) {
				t.Errorf("first line %q does not start with %q", lines[0], tt.first)
			}
			for i, l := range lines {
				if i > 0 && !strings.HasPrefix(l, tt.indent) {
					t.Errorf("line %d %q is not indented by %q", i+1, l, tt.indent)
				}
				if n := utf8.RuneCountInString(l); n > lineWidth && !strings.Contains(l, url) {
					t.Errorf("line %d is %d columns wide: %q", i+1, n, l)
				}
			}
			for _, w := range tt.whole {
				if !strings.Contains(got, w) {
					t.Errorf("%q was split:\n%s", w, got)
				}
			}
			if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(tt.first+tt.text), " ") {
				t.Errorf("wrapping changed the words:\n%s", got)
			}
		})
	}
}
