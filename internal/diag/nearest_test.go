package diag

import "testing"

func TestNearest(t *testing.T) {
	t.Parallel()
	cmds := []string{"exchange", "exec", "refresh", "git-credential", "claims", "demo", "sandbox", "providers", "version"}
	fields := []string{"repository", "repository_owner", "repository_id", "branch", "ref", "workflow", "environment", "sha"}
	for _, tc := range []struct {
		candidates []string
		in, want   string
	}{
		{cmds, "exchang", "exchange"},
		{cmds, "exhcange", "exchange"},
		{cmds, "exchanges", "exchange"},
		{cmds, "EXEC", "exec"},
		{cmds, "exc", "exec"},
		{cmds, "ex", ""},
		{cmds, "refesh", "refresh"},
		{cmds, "git", "git-credential"},
		{cmds, "claim", "claims"},
		{cmds, "execute", "exec"},
		{cmds, "upload", ""},
		{cmds, "sandbx", "sandbox"},
		{cmds, "provider", "providers"},
		{cmds, "x", ""},
		{cmds, "", ""},
		{fields, "repo", "repository"},
		{fields, "Repository", "repository"},
		{fields, "brnach", "branch"},
		{fields, "workflw", "workflow"},
		{fields, "sub", ""},
		{fields, "environment_name", "environment"},
		{nil, "repo", ""},
	} {
		if got := Nearest(tc.in, tc.candidates); got != tc.want {
			t.Errorf("Nearest(%q, %v) = %q, want %q", tc.in, tc.candidates, got, tc.want)
		}
	}
}
