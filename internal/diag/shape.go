package diag

import (
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
)

// A Shape is the CI provider an ID token looks like it comes from. It decides
// which claims are shown, what the Hub's form needs and which fixes apply.
type Shape string

// The shapes diag knows; Generic is any other OIDC issuer.
const (
	Generic   Shape = "generic"
	GitHub    Shape = "github"
	GitLab    Shape = "gitlab"
	CircleCI  Shape = "circleci"
	Bitbucket Shape = "bitbucket"
	Buildkite Shape = "buildkite"
)

// Title is the provider as the Hub's publisher form and its users name it.
func (s Shape) Title() string {
	switch s {
	case GitHub:
		return "GitHub Actions"
	case GitLab:
		return "GitLab CI/CD"
	case CircleCI:
		return "CircleCI"
	case Bitbucket:
		return "Bitbucket Pipelines"
	case Buildkite:
		return "Buildkite"
	}
	return "a custom OIDC provider"
}

// GitHubIssuer is the issuer of github.com's Actions ID tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// ShapeOf tells which provider t looks like it comes from: by its issuer
// first, then by the claims only that provider sets (so that the sandbox's
// GitHub-style tokens, issued on loopback, get GitHub's guidance), then by
// provider, the name of the provider in use; else Generic. t may be nil.
func ShapeOf(t *idtoken.Token, provider string) Shape {
	if t != nil {
		if s := shapeByIssuer(t.Issuer); s != "" {
			return s
		}
		if s := shapeByClaims(t.Claims); s != "" {
			return s
		}
	}
	switch s := Shape(provider); s {
	case GitHub, GitLab, CircleCI, Bitbucket, Buildkite:
		return s
	}
	return Generic
}

func shapeByIssuer(iss string) Shape {
	if kind, _ := githubIssuerKind(iss); kind != notGitHub {
		return GitHub
	}
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" {
		return ""
	}
	switch {
	case u.Host == "gitlab.com":
		return GitLab
	case u.Host == "oidc.circleci.com" && strings.HasPrefix(u.Path, "/org/"):
		return CircleCI
	case u.Host == "api.bitbucket.org" && strings.HasSuffix(u.Path, "/pipelines-config/identity/oidc"):
		return Bitbucket
	case u.Host == "agent.buildkite.com":
		return Buildkite
	}
	return ""
}

func shapeByClaims(c map[string]any) Shape {
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := c[n]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("project_path") || has("namespace_path"):
		return GitLab
	case has("repository", "workflow_ref") || has("repository", "job_workflow_ref"):
		return GitHub
	case has("oidc.circleci.com/project-id"):
		return CircleCI
	case has("repositoryUuid", "stepUuid"):
		return Bitbucket
	case has("organization_slug", "pipeline_slug"):
		return Buildkite
	}
	return ""
}

type githubKind int

const (
	notGitHub githubKind = iota
	githubDotCom
	githubEnterpriseSlug // https://token.actions.githubusercontent.com/<slug>
	githubServer         // GHES: https://HOST/_services/token
)

// githubIssuerKind classifies a GitHub issuer and returns the enterprise slug
// or the GHES host it names.
func githubIssuerKind(iss string) (githubKind, string) {
	if iss == GitHubIssuer {
		return githubDotCom, ""
	}
	if slug, ok := strings.CutPrefix(iss, GitHubIssuer+"/"); ok && slug != "" && !strings.Contains(slug, "/") {
		return githubEnterpriseSlug, slug
	}
	u, err := url.Parse(iss)
	// Exactly https://HOST/_services/token: an issuer has no query or
	// fragment, not even an empty one (found by FuzzGitHubIssuerKind).
	if err == nil && u.Host != "" && iss == "https://"+u.Host+"/_services/token" {
		return githubServer, u.Host
	}
	return notGitHub, ""
}

// keyClaims are, per shape, the claims a publisher can match on, in the
// order they are shown.
var keyClaims = map[Shape][]string{
	GitHub: {"repository", "repository_owner", "ref", "ref_type", "workflow_ref", "job_workflow_ref",
		"environment", "event_name", "actor", "repository_id", "repository_owner_id", "runner_environment"},
	GitLab: {"project_path", "namespace_path", "ref", "ref_type", "ref_protected", "pipeline_source",
		"environment", "ci_config_ref_uri", "user_login"},
	CircleCI: {"oidc.circleci.com/project-id", "oidc.circleci.com/vcs-origin", "oidc.circleci.com/vcs-ref",
		"oidc.circleci.com/context-ids", "oidc.circleci.com/ssh-rerun"},
	Bitbucket: {"workspaceUuid", "repositoryUuid", "branchName", "deploymentEnvironmentUuid", "pipelineUuid", "stepUuid"},
	Buildkite: {"organization_slug", "pipeline_slug", "build_branch", "build_tag", "build_commit", "step_key"},
}

// registered are the claims every token has and the summary shows on its own.
var registered = map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true}

// A Claim is one claim as shown to users.
type Claim struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// KeyClaims are the claims of t that publishers of its shape match on, as
// shown to users; for a Generic token, every claim but the registered ones.
func KeyClaims(t *idtoken.Token, shape Shape) []Claim {
	names, ok := keyClaims[shape]
	if !ok {
		for n := range t.Claims {
			if !registered[n] {
				names = append(names, n)
			}
		}
		sortStrings(names)
	}
	var out []Claim
	for _, n := range names {
		if v, ok := t.Claims[n]; ok {
			out = append(out, Claim{Name: n, Value: Display(v)})
		}
	}
	return out
}

// A Form is what to enter on the Hub to trust the job that got a token.
type Form struct {
	Provider string      `json:"provider"` // as the Hub's form names it
	Issuer   string      `json:"issuer"`
	Fields   []FormField `json:"fields"`
}

// A FormField is one field of the Hub's publisher form.
type FormField struct {
	Name     string `json:"name"`  // the form's word: repository, branch, workflow, or a claim name
	Value    string `json:"value"` // exactly what to enter
	Optional bool   `json:"optional,omitempty"`
}

// HubForm is what to enter on the Hub's publisher form to trust exactly the
// job that got t: for GitHub, the preset's repository, branch (or ref, for a
// run that is not on a branch) and workflow; for the others, the claims that
// identify the project and ref. Values are the claims' own, unescaped.
func HubForm(t *idtoken.Token, shape Shape) Form {
	f := Form{Provider: shape.Title(), Issuer: t.Issuer}
	add := func(name, claim string, optional bool) {
		if v, ok := scalar(t.Claims, claim); ok && v != "" {
			f.Fields = append(f.Fields, FormField{Name: name, Value: v, Optional: optional})
		}
	}
	switch shape {
	case GitHub:
		add("repository", "repository", false)
		if ref, ok := scalar(t.Claims, "ref"); ok && ref != "" {
			if b, ok := hubmatch.Branch(ref); ok {
				f.Fields = append(f.Fields, FormField{Name: "branch", Value: b})
			} else {
				f.Fields = append(f.Fields, FormField{Name: "ref", Value: ref})
			}
		}
		if wr, ok := scalar(t.Claims, "workflow_ref"); ok {
			if file, ok := hubmatch.WorkflowFile(wr); ok {
				f.Fields = append(f.Fields, FormField{Name: "workflow", Value: file})
			}
		}
		add("environment", "environment", true)
	case GitLab:
		add("project_path", "project_path", false)
		add("ref_type", "ref_type", false)
		add("ref", "ref", false)
		add("environment", "environment", true)
	case CircleCI:
		add("oidc.circleci.com/project-id", "oidc.circleci.com/project-id", false)
		add("oidc.circleci.com/vcs-ref", "oidc.circleci.com/vcs-ref", false)
	case Bitbucket:
		add("repositoryUuid", "repositoryUuid", false)
		add("branchName", "branchName", false)
		add("deploymentEnvironmentUuid", "deploymentEnvironmentUuid", true)
	case Buildkite:
		add("organization_slug", "organization_slug", false)
		add("pipeline_slug", "pipeline_slug", false)
		add("build_branch", "build_branch", false)
	default:
		add("sub", "sub", false)
	}
	return f
}

// immutableSub matches GitHub's immutable subject form,
// repo:OWNER@OWNER_ID/REPO@REPO_ID:….
var immutableSub = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^repo:[^:/@]+@[0-9]+/[^:/@]+@[0-9]+:`) })
