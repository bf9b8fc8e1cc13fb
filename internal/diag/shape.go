package diag

import (
	"regexp"
	"sync"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/providerinfo"
)

// A Shape is the CI provider an ID token looks like it comes from: the name
// of one of providerinfo's providers, or Generic. It decides which claims are
// shown, what the Hub's form needs and which fixes apply.
type Shape string

// Generic is any other OIDC issuer; the others are the shapes diag's checks
// name.
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
	if p, ok := providerinfo.Lookup(string(s)); ok {
		return p.Title
	}
	return "a custom OIDC provider"
}

// GitHubIssuer is the issuer of github.com's Actions ID tokens.
const GitHubIssuer = providerinfo.GitHubIssuer

// ShapeOf tells which provider t looks like it comes from: by its issuer
// first, then by the claims only that provider sets (so that the sandbox's
// GitHub-style tokens, issued on loopback, get GitHub's guidance), then by
// provider, the name of the provider in use; else Generic. t may be nil.
func ShapeOf(t *idtoken.Token, provider string) Shape {
	if t != nil {
		if p, ok := providerinfo.ByIssuer(t.Issuer); ok {
			return Shape(p.Name)
		}
		if p, ok := providerinfo.ByClaims(t.Claims); ok {
			return Shape(p.Name)
		}
	}
	if p, ok := providerinfo.Lookup(provider); ok {
		return Shape(p.Name)
	}
	return Generic
}

// The forms of GitHub's issuer URLs, under the names diag's checks use.
type githubKind = providerinfo.GitHubKind

const (
	notGitHub            = providerinfo.NotGitHub
	githubEnterpriseSlug = providerinfo.GitHubEnterpriseSlug
	githubDotCom         = providerinfo.GitHubDotCom
	githubServer         = providerinfo.GitHubServer
)

// githubIssuerKind classifies a GitHub issuer and returns the enterprise slug
// or the GHES host it names.
func githubIssuerKind(iss string) (githubKind, string) { return providerinfo.GitHubIssuerKind(iss) }

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
	var names []string
	if p, ok := providerinfo.Lookup(string(shape)); ok {
		names = p.KeyClaims
	} else {
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

// customForm is what to enter for a Generic token.
var customForm = []providerinfo.Field{{Name: "sub", Claim: "sub"}}

// HubForm is what to enter on the Hub's publisher form to trust exactly the
// job that got t: the fields of its provider's form (providerinfo) that t's
// claims fill, or sub for a Generic token. Values are the claims' own,
// unescaped.
func HubForm(t *idtoken.Token, shape Shape) Form {
	f := Form{Provider: shape.Title(), Issuer: t.Issuer}
	fields := customForm
	if p, ok := providerinfo.Lookup(string(shape)); ok {
		fields = p.Form
	}
	for _, field := range fields {
		v, ok := scalar(t.Claims, field.Claim)
		if !ok || v == "" {
			continue
		}
		if field.Value != nil {
			if v, ok = field.Value(v); !ok {
				continue
			}
		}
		f.Fields = append(f.Fields, FormField{Name: field.Name, Value: v, Optional: field.Optional})
	}
	return f
}

// immutableSub matches GitHub's immutable subject form,
// repo:OWNER@OWNER_ID/REPO@REPO_ID:….
var immutableSub = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^repo:[^:/@]+@[0-9]+/[^:/@]+@[0-9]+:`) })
