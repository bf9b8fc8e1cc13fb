package testkit

import "testing"

func TestUnlinked(t *testing.T) {
	t.Parallel()
	const see = "(see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#expired)\n"
	tests := []struct {
		name   string
		out    string
		failed bool
		bad    bool
	}{
		{"a linked error", "hf-oidc exchange: the ID token expired.\nNext: rerun the job.\n" + see, true, false},
		{"an error without its link", "hf-oidc exchange: writing: permission denied.\n", true, true},
		{"an error whose Next: has no link", "hf-oidc exchange: x.\nNext: do y.\n", false, true},
		{"a link to no entry", "hf-oidc exchange: x.\nNext: do y. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#)\n", true, true},
		{"a linked warning, wrapped", "hf-oidc: warning: a\nb.\nNext: c\n" + see + "hf-oidc: 1 token from …\n", false, false},
		{"a warning without its link", "hf-oidc exec: warning: a.\nhf-oidc exec: 1 token from …\n", false, true},
		{"a warning whose link is the next message's", "hf-oidc: warning: a.\nhf-oidc exchange: b.\nNext: c " + see, false, true},
		{"a wrapped line that starts with hf-oidc", "hf-oidc exec: cannot run \"x\".\nNext: check it;\nhf-oidc exits 127, as a shell does.\n" + see, true, false},
		{"a success", "hf-oidc: 1 token from the github provider's ID token …\n", false, false},
		{"claims' findings", "  error: a.\n    Next: b " + see + "  warning: c.\n    Next: d\n", false, true},
	}
	for _, tt := range tests {
		if got := Unlinked(tt.out, tt.failed); (got != "") != tt.bad {
			t.Errorf("%s: Unlinked = %q, want a message: %v", tt.name, got, tt.bad)
		}
	}
}
