package providerinfo

import (
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
	_ "github.com/hf-oidc/hf-oidc/plugins/all"
)

// Adding a provider means its plugin and its entry here: each needs the other.
func TestEveryPluginHasAnEntry(t *testing.T) {
	t.Parallel()
	var names []string
	for _, p := range All() {
		names = append(names, p.Name)
	}
	for _, name := range plugins.Names() {
		// The env provider hands over a token from any issuer.
		if _, ok := Lookup(name); !ok && name != "env" {
			t.Errorf("plugin %s has no entry", name)
		}
	}
	for _, name := range names {
		if !slices.Contains(plugins.Names(), name) {
			t.Errorf("entry %s has no plugin", name)
		}
	}
}

func TestEntries(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, p := range All() {
		if p.Name == "" || seen[p.Name] || p.Title == "" || p.Issuer == nil || len(p.Marks) == 0 || len(p.Form) == 0 {
			t.Errorf("%q: incomplete or repeated entry", p.Name)
		}
		seen[p.Name] = true
		if !strings.Contains(p.AudienceFix, "%[1]s") {
			t.Errorf("%s: AudienceFix does not name the audience as %%[1]s", p.Name)
		}
		// What identifies a job and what the form pins are shown too.
		for _, mark := range p.Marks {
			for _, c := range mark {
				if !slices.Contains(p.KeyClaims, c) {
					t.Errorf("%s: mark %s is not a key claim", p.Name, c)
				}
			}
		}
		for _, f := range p.Form {
			if !slices.Contains(p.KeyClaims, f.Claim) {
				t.Errorf("%s: form field %s reads %s, not a key claim", p.Name, f.Name, f.Claim)
			}
		}
	}
}

func TestByIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct{ iss, want string }{
		{GitHubIssuer, "github"},
		{GitHubIssuer + "/acme", "github"},
		{"https://ghe.acme.example/_services/token", "github"},
		{"https://gitlab.com", "gitlab"},
		{"https://oidc.circleci.com/org/o", "circleci"},
		{"https://oidc.circleci.com/o", ""},
		{"https://api.bitbucket.org/2.0/workspaces/a/pipelines-config/identity/oidc", "bitbucket"},
		{"https://agent.buildkite.com", "buildkite"},
		{"http://agent.buildkite.com", ""},
		{"https://idp.example", ""},
		{"", ""},
	}
	for _, tt := range tests {
		p, _ := ByIssuer(tt.iss)
		if p.Name != tt.want {
			t.Errorf("ByIssuer(%q) = %q, want %q", tt.iss, p.Name, tt.want)
		}
	}
}

func TestByClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		claims []string
		want   string
	}{
		{[]string{"repository", "job_workflow_ref"}, "github"},
		{[]string{"repository"}, ""},
		{[]string{"namespace_path"}, "gitlab"},
		{[]string{"oidc.circleci.com/project-id"}, "circleci"},
		{[]string{"repositoryUuid", "stepUuid"}, "bitbucket"},
		{[]string{"organization_slug"}, ""},
		{[]string{"organization_slug", "pipeline_slug"}, "buildkite"},
		// Tried in the table's order.
		{[]string{"project_path", "repository", "workflow_ref"}, "github"},
	}
	for _, tt := range tests {
		c := map[string]any{}
		for _, n := range tt.claims {
			c[n] = "x"
		}
		p, _ := ByClaims(c)
		if p.Name != tt.want {
			t.Errorf("ByClaims(%v) = %q, want %q", tt.claims, p.Name, tt.want)
		}
	}
}
