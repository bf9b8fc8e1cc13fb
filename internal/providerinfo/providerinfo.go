package providerinfo

import (
	"net/url"
	"slices"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
)

// A Provider is what hf-oidc knows of one CI provider's ID tokens, apart from
// how to get one, which its plugin knows.
type Provider struct {
	// Name is the name of its plugin, as --provider takes it.
	Name string
	// Title names it as the Hub's publisher form and its users do.
	Title string
	// Issuer reports whether iss is one of the provider's issuers.
	Issuer func(iss string) bool
	// Marks are sets of claims that only this provider's tokens carry: a
	// token with every claim of one set comes from it, whoever issued it
	// (a self-hosted instance, or the sandbox on loopback).
	Marks [][]string
	// KeyClaims are the claims a publisher can match on, in the order they
	// are shown.
	KeyClaims []string
	// Form is what to enter on the Hub's publisher form to trust exactly
	// one job, in the form's order.
	Form []Field
	// AudienceFix tells how to get an ID token for the Hub's audience: a
	// sentence for fmt whose %[1]s is that audience.
	AudienceFix string
}

// A Field is one field of the Hub's publisher form and the claim it is
// filled from.
type Field struct {
	Name  string // the form's word: repository, branch, workflow, or the claim's own name
	Claim string // the claim the Hub compares it with
	// Value turns the claim's value into the field's, or reports that the
	// field does not apply to it; nil means the claim's value as it is.
	Value func(claim string) (string, bool)
	// Optional fields narrow the trust further (to one environment, say); a
	// publisher may leave them out.
	Optional bool
	// Custom fields are claims the provider's preset form has no field
	// for, which the publisher adds by name (GitHub's ref, for a run that
	// is not on a branch).
	Custom bool
}

// The order matters: ByIssuer and ByClaims try the providers in it.
var table = []Provider{
	{
		Name:  "github",
		Title: "GitHub Actions",
		Issuer: func(iss string) bool {
			kind, _ := GitHubIssuerKind(iss)
			return kind != NotGitHub
		},
		Marks: [][]string{{"repository", "workflow_ref"}, {"repository", "job_workflow_ref"}},
		KeyClaims: []string{"repository", "repository_owner", "ref", "ref_type", "workflow_ref", "job_workflow_ref",
			"environment", "event_name", "actor", "repository_id", "repository_owner_id", "runner_environment"},
		// The preset's fields: the workflow field compares with
		// workflow_ref's file name, the branch field with ref's branch.
		Form: []Field{
			pin("repository"),
			{Name: "branch", Claim: "ref", Value: hubmatch.Branch},
			{Name: "ref", Claim: "ref", Value: notBranch, Custom: true},
			{Name: "workflow", Claim: "workflow_ref", Value: hubmatch.WorkflowFile},
			optional("environment"),
		},
		AudienceFix: "Let hf-oidc fetch the token (the github provider asks for aud %[1]s), or request it with that audience yourself: core.getIDToken('%[1]s'), or &audience=%[1]s on $ACTIONS_ID_TOKEN_REQUEST_URL.",
	},
	{
		Name:   "gitlab",
		Title:  "GitLab CI/CD",
		Issuer: httpsIssuer("gitlab.com", "", ""),
		Marks:  [][]string{{"project_path"}, {"namespace_path"}},
		KeyClaims: []string{"project_path", "namespace_path", "ref", "ref_type", "ref_protected", "pipeline_source",
			"environment", "ci_config_ref_uri", "user_login"},
		Form:        []Field{pin("project_path"), pin("ref_type"), pin("ref"), optional("environment")},
		AudienceFix: "Declare the token with the Hub's audience in the job: `id_tokens: { HF_ID_TOKEN: { aud: %[1]s } }`.",
	},
	{
		Name:   "circleci",
		Title:  "CircleCI",
		Issuer: httpsIssuer("oidc.circleci.com", "/org/", ""),
		Marks:  [][]string{{"oidc.circleci.com/project-id"}},
		KeyClaims: []string{"oidc.circleci.com/project-id", "oidc.circleci.com/vcs-origin", "oidc.circleci.com/vcs-ref",
			"oidc.circleci.com/context-ids", "oidc.circleci.com/ssh-rerun"},
		Form:        []Field{pin("oidc.circleci.com/project-id"), pin("oidc.circleci.com/vcs-ref")},
		AudienceFix: "Mint the token with `circleci run oidc get --claims '{\"aud\":\"%[1]s\"}'`, as the circleci provider does.",
	},
	{
		Name:      "bitbucket",
		Title:     "Bitbucket Pipelines",
		Issuer:    httpsIssuer("api.bitbucket.org", "", "/pipelines-config/identity/oidc"),
		Marks:     [][]string{{"repositoryUuid", "stepUuid"}},
		KeyClaims: []string{"workspaceUuid", "repositoryUuid", "branchName", "deploymentEnvironmentUuid", "pipelineUuid", "stepUuid"},
		// The issuer names the workspace already.
		Form:        []Field{pin("repositoryUuid"), pin("branchName"), optional("deploymentEnvironmentUuid")},
		AudienceFix: "Give the step the Hub's audience: `oidc: { audiences: [%[1]s] }`.",
	},
	{
		Name:      "buildkite",
		Title:     "Buildkite",
		Issuer:    httpsIssuer("agent.buildkite.com", "", ""),
		Marks:     [][]string{{"organization_slug", "pipeline_slug"}},
		KeyClaims: []string{"organization_slug", "pipeline_slug", "build_branch", "build_tag", "build_commit", "step_key"},
		// Every Buildkite organization shares one issuer, so the
		// organization is what keeps other organizations out.
		Form:        []Field{pin("organization_slug"), pin("pipeline_slug"), pin("build_branch")},
		AudienceFix: "Mint the token with `buildkite-agent oidc request-token --audience %[1]s`, as the buildkite provider does.",
	},
}

// pin is a field named after its claim, which the publisher must set.
func pin(claim string) Field { return Field{Name: claim, Claim: claim} }

// optional is a field named after its claim, which the publisher may set.
func optional(claim string) Field { return Field{Name: claim, Claim: claim, Optional: true} }

func notBranch(ref string) (string, bool) {
	_, branch := hubmatch.Branch(ref)
	return ref, !branch
}

// httpsIssuer matches the https issuers at host whose path has prefix and
// suffix.
func httpsIssuer(host, prefix, suffix string) func(string) bool {
	return func(iss string) bool {
		u, err := url.Parse(iss)
		return err == nil && u.Scheme == "https" && u.Host == host &&
			strings.HasPrefix(u.Path, prefix) && strings.HasSuffix(u.Path, suffix)
	}
}

// All lists every provider, in the order ByIssuer and ByClaims try them.
func All() []Provider { return slices.Clone(table) }

// Lookup returns the provider named name.
func Lookup(name string) (Provider, bool) {
	for _, p := range table {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// ByIssuer returns the first provider that iss is an issuer of.
func ByIssuer(iss string) (Provider, bool) {
	for _, p := range table {
		if p.Issuer(iss) {
			return p, true
		}
	}
	return Provider{}, false
}

// ByClaims returns the first provider whose marks claims carry.
func ByClaims(claims map[string]any) (Provider, bool) {
	for _, p := range table {
		for _, mark := range p.Marks {
			if hasAll(claims, mark) {
				return p, true
			}
		}
	}
	return Provider{}, false
}

func hasAll(claims map[string]any, names []string) bool {
	for _, n := range names {
		if _, ok := claims[n]; !ok {
			return false
		}
	}
	return true
}

// GitHubIssuer is the issuer of github.com's Actions ID tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// A GitHubKind is one of the forms of GitHub's issuer URLs.
type GitHubKind int

// The forms of GitHub's issuer URLs.
const (
	NotGitHub            GitHubKind = iota
	GitHubDotCom                    // GitHubIssuer
	GitHubEnterpriseSlug            // GitHubIssuer/<slug>
	GitHubServer                    // GHES: https://HOST/_services/token
)

// GitHubIssuerKind classifies a GitHub issuer and returns the enterprise
// slug or the GHES host it names.
func GitHubIssuerKind(iss string) (GitHubKind, string) {
	if iss == GitHubIssuer {
		return GitHubDotCom, ""
	}
	if slug, ok := strings.CutPrefix(iss, GitHubIssuer+"/"); ok && slug != "" && !strings.Contains(slug, "/") {
		return GitHubEnterpriseSlug, slug
	}
	u, err := url.Parse(iss)
	// Exactly https://HOST/_services/token: an issuer has no query or
	// fragment, not even an empty one (found by diag's
	// FuzzGitHubIssuerKind).
	if err == nil && u.Host != "" && iss == "https://"+u.Host+"/_services/token" {
		return GitHubServer, u.Host
	}
	return NotGitHub, ""
}
