package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/internal/providerinfo"
)

// A Provider names a CI provider whose OIDC issuer the sandbox runs. Each
// issuer has its own path (shaped like the provider's real issuer URL), RSA
// key, discovery document, JWKS and claims.
type Provider string

// The providers the sandbox issues ID tokens for.
const (
	GitHub    Provider = "github"
	GitLab    Provider = "gitlab"
	CircleCI  Provider = "circleci"
	Bitbucket Provider = "bitbucket"
	Buildkite Provider = "buildkite"
)

// Providers lists every provider the sandbox issues ID tokens for.
func Providers() []Provider { return []Provider{GitHub, GitLab, CircleCI, Bitbucket, Buildkite} }

// Where the issuers other than GitHub's hand out ID tokens to stand-ins for
// their CLIs (see MintURL), for Inject.
const (
	PathGitLabMint    = "/gitlab/mint"
	PathCircleCIMint  = "/circleci/mint"
	PathBitbucketMint = "/bitbucket/mint"
	PathBuildkiteMint = "/buildkite/mint"
)

// The variables through which Env hands a stand-in CLI (a fake `circleci` or
// `buildkite-agent`) its mint endpoint and the secret that guards it: in the
// environment, never on a command line.
const (
	MintURLVar    = "SANDBOX_MINT_URL"
	MintSecretVar = "SANDBOX_MINT_SECRET"
)

// The fixed identities of the sandbox's jobs, where tests need to name them.
const (
	// CircleCIOrgID is the organization of the CircleCI job: its issuer is
	// <sandbox>/circleci/org/<CircleCIOrgID>, and a token minted without
	// an audience (like $CIRCLE_OIDC_TOKEN_V2) is for this id.
	CircleCIOrgID = "8f2b6c1e-3d4a-4e5f-9a0b-1c2d3e4f5a6b"
	// BitbucketWorkspace is the workspace in the Bitbucket issuer's path.
	BitbucketWorkspace = "acme"
	// BitbucketDefaultAudience is the aud of a Bitbucket step with
	// `oidc: true` and no `audiences:`.
	BitbucketDefaultAudience = "ari:cloud:bitbucket::workspace/" + bitbucketWorkspaceUUID

	circleCIProjectID      = "5e7a9c1b-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
	circleCIUserID         = "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b1d"
	bitbucketWorkspaceUUID = "0b5e8c2a-6f1d-4a3e-9c7b-2d4f6a8b0c1e"
	bitbucketRepoUUID      = "{7c9e1a3b-5d2f-4e6a-8b0c-1d3f5a7b9c2e}"
	bitbucketStepUUID      = "{3f1a5c7e-9b2d-4e6f-8a0c-4b6d8f0a2c4e}"
	buildkiteOrgSlug       = "acme"
	commitSHA              = "9f3c2b1a8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"
)

// addProviders adds the issuers of the CI providers other than GitHub, each
// at the path and with the JWKS location of the real one.
func (s *Sandbox) addProviders() {
	gitlab := &issuer{name: string(GitLab), prefix: "/gitlab", jwksPath: "/oauth/discovery/keys", lifetime: time.Hour,
		idTokenPath: PathGitLabMint, claimNames: []string{"environment", "environment_protected", "deployment_tier"}}
	s.addIssuer(gitlab, defaultGitLabClaims(strings.TrimPrefix(s.issuerURL(gitlab), "http://")))

	circleci := &issuer{name: string(CircleCI), prefix: "/circleci/org/" + CircleCIOrgID, jwksPath: "/.well-known/jwks-pub.json",
		lifetime: time.Hour, idTokenPath: PathCircleCIMint}
	s.addIssuer(circleci, defaultCircleCIClaims())

	bitbucket := &issuer{name: string(Bitbucket), prefix: "/bitbucket/2.0/workspaces/" + BitbucketWorkspace + "/pipelines-config/identity/oidc",
		jwksPath: "/keys.json", lifetime: time.Hour, idTokenPath: PathBitbucketMint, claimNames: []string{"deploymentEnvironmentUuid"}}
	s.addIssuer(bitbucket, defaultBitbucketClaims())

	buildkite := &issuer{name: string(Buildkite), prefix: "/buildkite", lifetime: 5 * time.Minute,
		idTokenPath: PathBuildkiteMint, claimNames: []string{"build_tag"}}
	s.addIssuer(buildkite, defaultBuildkiteClaims())

	for _, is := range []*issuer{gitlab, circleci, bitbucket, buildkite} {
		handler := func(w http.ResponseWriter, r *http.Request) { s.handleMint(w, r, is) }
		s.mux.HandleFunc("GET "+is.idTokenPath, handler)
		s.mux.HandleFunc("POST "+is.idTokenPath, handler)
	}
}

// defaultGitLabClaims are what a job of acme/training's pipeline on its
// protected main branch gets on a GitLab instance at host (with any path).
// environment is absent, as for a job that names none.
func defaultGitLabClaims(host string) map[string]any {
	return map[string]any{
		"sub":                "project_path:acme/training:ref_type:branch:ref:main",
		"namespace_id":       "4127",
		"namespace_path":     "acme",
		"project_id":         "52311",
		"project_path":       "acme/training",
		"project_visibility": "private",
		"user_id":            "1337",
		"user_login":         "octocat",
		"user_email":         "octocat@acme.example",
		"user_access_level":  "maintainer",
		"pipeline_id":        "1234567890",
		"pipeline_source":    "push",
		"job_id":             "9876543210",
		"ref":                "main",
		"ref_type":           "branch",
		"ref_path":           "refs/heads/main",
		"ref_protected":      "true",
		"runner_id":          12270837,
		"runner_environment": "gitlab-hosted",
		"sha":                commitSHA,
		"ci_config_ref_uri":  host + "/acme/training//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha":      commitSHA,
	}
}

// defaultCircleCIClaims are what a job of the training project, triggered by
// a push to main of github.com/acme/training, gets.
func defaultCircleCIClaims() map[string]any {
	return map[string]any{
		"sub":                           "org/" + CircleCIOrgID + "/project/" + circleCIProjectID + "/user/" + circleCIUserID,
		"oidc.circleci.com/project-id":  circleCIProjectID,
		"oidc.circleci.com/context-ids": []string{"c0ffee00-1234-4abc-8def-0123456789ab"},
		"oidc.circleci.com/vcs-origin":  "github.com/acme/training",
		"oidc.circleci.com/vcs-ref":     "refs/heads/main",
		"oidc.circleci.com/ssh-rerun":   false,
	}
}

// defaultBitbucketClaims are what a step of the training repository's
// pipeline on main gets; deploymentEnvironmentUuid is absent, as for a step
// without `deployment:`.
func defaultBitbucketClaims() map[string]any {
	return map[string]any{
		"sub":            bitbucketRepoUUID + ":" + bitbucketStepUUID,
		"workspaceUuid":  "{" + bitbucketWorkspaceUUID + "}",
		"repositoryUuid": bitbucketRepoUUID,
		"pipelineUuid":   "{5a7c9e1b-3d5f-4a6b-8c0d-2e4f6a8b0c1d}",
		"stepUuid":       bitbucketStepUUID,
		"branchName":     "main",
	}
}

// defaultBuildkiteClaims are what the publish step of acme's training
// pipeline gets in a build of main.
func defaultBuildkiteClaims() map[string]any {
	return map[string]any{
		"sub":               "organization:" + buildkiteOrgSlug + ":pipeline:training:ref:refs/heads/main:commit:" + commitSHA + ":step:publish",
		"organization_slug": buildkiteOrgSlug,
		"organization_id":   "0184f3a2-7c1e-4b5d-9e6f-1a2b3c4d5e6f",
		"pipeline_slug":     "training",
		"pipeline_id":       "0184f3a2-8d2f-4c6e-8f70-2b3c4d5e6f70",
		"build_number":      42,
		"build_branch":      "main",
		"build_commit":      commitSHA,
		"build_source":      "webhook",
		"step_key":          "publish",
		"job_id":            "018485f6-1f53-4f18-9b53-72428db4d239",
		"agent_id":          "018485f6-eec2-4b61-a7be-0e35ef563df0",
	}
}

// issuerOf returns p's issuer. An unknown provider is a programming error.
func (s *Sandbox) issuerOf(p Provider) *issuer {
	is, ok := s.issuers[string(p)]
	if !ok {
		panic(fmt.Sprintf("sandbox: unknown provider %q", p))
	}
	return is
}

// IssuerURL is the iss of p's ID tokens: the sandbox URL and a path shaped
// like the real issuer's (<sandbox>/circleci/org/<org-id>, …).
func (s *Sandbox) IssuerURL(p Provider) string { return s.issuerURL(s.issuerOf(p)) }

// Claims returns the claims, besides iss, aud, iat, nbf, exp and jti, that
// p's issuer puts in its tokens. The map is a copy.
func (s *Sandbox) Claims(p Provider) map[string]any {
	is := s.issuerOf(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(map[string]any, len(s.claims[is.name]))
	for k, v := range s.claims[is.name] {
		c[k] = v
	}
	return c
}

// SetClaims merges overrides into p's Claims; a nil value deletes the claim.
func (s *Sandbox) SetClaims(p Provider, overrides map[string]any) {
	is := s.issuerOf(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.claims[is.name]
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
}

// MintGitLabIDToken signs a token of the GitLab issuer, as a job's
// `id_tokens:` entry with `aud:` Config.Audience gets it: iss, aud, iat,
// nbf, exp (an hour unless Config.IDTokenLifetime), jti, then
// Claims(GitLab), then claims, which override (a nil value deletes; a
// time.Time is written as seconds).
func (s *Sandbox) MintGitLabIDToken(claims map[string]any) (string, error) {
	return s.mint(s.issuerOf(GitLab), claims)
}

// MintCircleCIIDToken signs a token of the CircleCI issuer, as `circleci run
// oidc get --claims '{"aud":"<Config.Audience>"}'` prints it (an hour
// unless Config.IDTokenLifetime); claims override as in MintGitLabIDToken.
// The token of $CIRCLE_OIDC_TOKEN_V2 has {"aud": CircleCIOrgID}.
func (s *Sandbox) MintCircleCIIDToken(claims map[string]any) (string, error) {
	return s.mint(s.issuerOf(CircleCI), claims)
}

// MintBitbucketIDToken signs a token of the Bitbucket issuer, as a step with
// `oidc: audiences: [<Config.Audience>]` gets it in BITBUCKET_STEP_OIDC_TOKEN:
// like Bitbucket, it writes custom audiences as a list, even a list of one.
// A step with only `oidc: true` has {"aud": BitbucketDefaultAudience}.
// claims override as in MintGitLabIDToken.
func (s *Sandbox) MintBitbucketIDToken(claims map[string]any) (string, error) {
	return s.mint(s.issuerOf(Bitbucket), map[string]any{"aud": []string{s.cfg.Audience}}, claims)
}

// MintBuildkiteIDToken signs a token of the Buildkite issuer, as
// `buildkite-agent oidc request-token --audience <Config.Audience>` prints
// it (5 minutes unless Config.IDTokenLifetime); claims override as in
// MintGitLabIDToken.
func (s *Sandbox) MintBuildkiteIDToken(claims map[string]any) (string, error) {
	return s.mint(s.issuerOf(Buildkite), claims)
}

// TrustGitLab is TrustJob(resource, GitLab).
func (s *Sandbox) TrustGitLab(resource string) { s.TrustJob(resource, GitLab) }

// TrustCircleCI is TrustJob(resource, CircleCI).
func (s *Sandbox) TrustCircleCI(resource string) { s.TrustJob(resource, CircleCI) }

// TrustBitbucket is TrustJob(resource, Bitbucket).
func (s *Sandbox) TrustBitbucket(resource string) { s.TrustJob(resource, Bitbucket) }

// TrustBuildkite is TrustJob(resource, Buildkite).
func (s *Sandbox) TrustBuildkite(resource string) { s.TrustJob(resource, Buildkite) }

// TrustJob adds a publisher of resource that trusts p's issuer and p's
// claims as they are now, in the fields of the Hub's form that hf-oidc tells
// users to fill: providerinfo's Form without its optional and custom fields
// (for GitHub: repository, branch and workflow; for GitLab: project_path,
// ref_type and ref). A field whose claim is absent, no scalar, or of no use
// to it (a ref that is not a branch) is left out; an empty claim is pinned
// empty. An unknown provider is a programming error.
func (s *Sandbox) TrustJob(resource string, p Provider) {
	info, ok := providerinfo.Lookup(string(p))
	if !ok {
		panic(fmt.Sprintf("sandbox: no providerinfo for %q", p))
	}
	c := s.Claims(p)
	pub := Publisher{Resource: resource, Issuer: s.IssuerURL(p), Claims: map[string]string{}}
	for _, f := range info.Form {
		if f.Optional || f.Custom {
			continue
		}
		v, ok := hubmatch.Stringify(c[f.Claim])
		if ok && f.Value != nil {
			v, ok = f.Value(v)
		}
		if ok {
			pub.Claims[f.Name] = v
		}
	}
	s.Trust(pub)
}

// MintURL is where a stand-in for p's CLI asks for an ID token:
// GET or POST with `Authorization: Bearer <MintSecret>`, and
//   - GitLab: aud=… (required, repeatable: an `id_tokens:` entry's aud);
//   - CircleCI: aud=…, or a POST body holding the JSON of `circleci run
//     oidc get --claims` (only aud may be set); without one, the org id;
//   - Bitbucket: aud=… (repeatable: `oidc: audiences:`, always a list);
//     without one, BitbucketDefaultAudience;
//   - Buildkite: aud=… (one; without it https://buildkite.com/<org>) and
//     lifetime=<seconds> (0 is the default), like --audience and --lifetime.
//
// The answer is the token and a newline, as text. GitHub's endpoint is
// GitHubEnv's ACTIONS_ID_TOKEN_REQUEST_URL instead.
func (s *Sandbox) MintURL(p Provider) string {
	is := s.issuerOf(p)
	if p == GitHub {
		return s.gitHubRequestURL()
	}
	return s.url + is.idTokenPath
}

// MintSecret is the bearer token of the mint endpoints: pass it to
// stand-ins in the environment (MintSecretVar), never on a command line.
func (s *Sandbox) MintSecret() string { return s.mintSecret }

// handleMint hands out an ID token of is to a stand-in for its CLI.
func (s *Sandbox) handleMint(w http.ResponseWriter, r *http.Request, is *issuer) {
	tok, ok := bearer(r.Header.Get("Authorization"))
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.mintSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "send Authorization: Bearer $" + MintSecretVar})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading body: " + err.Error()})
		return
	}
	layer, err := s.mintLayer(Provider(is.name), r.URL.Query(), body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	signed, err := s.mint(is, layer)
	if err != nil {
		http.Error(w, "minting failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, signed)
}

// mintLayer turns a mint request into the claims it sets, the way p's CLI
// or configuration sets them.
func (s *Sandbox) mintLayer(p Provider, q url.Values, body []byte) (map[string]any, error) {
	auds := q["aud"]
	for _, a := range auds {
		if a == "" {
			return nil, fmt.Errorf("aud is empty")
		}
	}
	if len(body) > 0 && p != CircleCI {
		return nil, fmt.Errorf("only the CircleCI endpoint takes a body")
	}
	switch p {
	case GitLab:
		switch len(auds) {
		case 0:
			return nil, fmt.Errorf("aud is required: an id_tokens entry names its aud")
		case 1:
			return map[string]any{"aud": auds[0]}, nil
		}
		return map[string]any{"aud": auds}, nil
	case CircleCI:
		if len(body) > 0 {
			if len(auds) > 0 {
				return nil, fmt.Errorf("give aud in the query or the body, not both")
			}
			aud, err := circleCIClaims(body)
			if err != nil {
				return nil, err
			}
			auds = aud
		}
		switch len(auds) {
		case 0:
			return map[string]any{"aud": CircleCIOrgID}, nil
		case 1:
			return map[string]any{"aud": auds[0]}, nil
		}
		return nil, fmt.Errorf("one aud at most")
	case Bitbucket:
		if len(auds) == 0 {
			return map[string]any{"aud": BitbucketDefaultAudience}, nil
		}
		if len(auds) > 10 {
			return nil, fmt.Errorf("bitbucket allows 10 audiences at most")
		}
		return map[string]any{"aud": auds}, nil
	case Buildkite:
		layer := map[string]any{"aud": "https://buildkite.com/" + buildkiteOrgSlug}
		switch len(auds) {
		case 0:
		case 1:
			layer["aud"] = auds[0]
		default:
			return nil, fmt.Errorf("one aud at most")
		}
		if l := q.Get("lifetime"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("lifetime must be a whole number of seconds, 0 for the default")
			}
			if n > 0 {
				layer["exp"] = s.cfg.Now().Add(time.Duration(n) * time.Second)
			}
		}
		return layer, nil
	}
	return nil, fmt.Errorf("no mint endpoint for %s", p)
}

// circleCIClaims reads the JSON that `circleci run oidc get --claims` takes:
// an object whose only customizable claim is aud, a string.
func circleCIClaims(body []byte) ([]string, error) {
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("--claims is not a JSON object")
	}
	var aud []string
	for k, raw := range claims {
		if k != "aud" {
			return nil, fmt.Errorf("claim %q cannot be customized: only aud can", k)
		}
		var a string
		if err := json.Unmarshal(raw, &a); err != nil || a == "" {
			return nil, fmt.Errorf("aud must be a non-empty string")
		}
		aud = append(aud, a)
	}
	return aud, nil
}

// Env is the environment of a job of p whose Hub is this sandbox, set up to
// get ID tokens for the Hub's audience:
//   - GitHub: GitHubEnv;
//   - GitLab: GITLAB_CI and a freshly minted HF_ID_TOKEN, as an `id_tokens:`
//     entry of that name gives it;
//   - CircleCI: CIRCLECI, $CIRCLE_OIDC_TOKEN_V2 (for the org id, as
//     CircleCI sets it) and the stand-in variables (MintURLVar,
//     MintSecretVar) for a fake `circleci` CLI;
//   - Bitbucket: BITBUCKET_BUILD_NUMBER and BITBUCKET_STEP_OIDC_TOKEN, as a
//     step with `oidc: audiences: [<Config.Audience>]` gets them;
//   - Buildkite: BUILDKITE and the stand-in variables for a fake
//     `buildkite-agent`.
//
// Each has CI=true, HF_ENDPOINT and the provider's job identifier (one job
// per sandbox). The values hold secrets. Env makes the
// issuer's key now, so that a stand-in's first request does not wait for it.
func (s *Sandbox) Env(p Provider) ([]string, error) {
	if _, ok := s.issuers[string(p)]; ok {
		if _, _, err := s.issuerOf(p).signingKey(); err != nil {
			return nil, err
		}
	}
	standIn := func() []string {
		return []string{MintURLVar + "=" + s.MintURL(p), MintSecretVar + "=" + s.mintSecret}
	}
	var env []string
	switch p {
	case GitHub:
		return s.GitHubEnv(), nil
	case GitLab:
		tok, err := s.MintGitLabIDToken(nil)
		if err != nil {
			return nil, err
		}
		env = []string{"GITLAB_CI=true", "CI_SERVER_URL=" + s.IssuerURL(GitLab), "CI_PROJECT_PATH=acme/training", "CI_JOB_ID=" + strconv.FormatInt(s.jobID, 10), "HF_ID_TOKEN=" + tok}
	case CircleCI:
		tok, err := s.MintCircleCIIDToken(map[string]any{"aud": CircleCIOrgID})
		if err != nil {
			return nil, err
		}
		env = append([]string{"CIRCLECI=true", "CIRCLE_PROJECT_REPONAME=training", "CIRCLE_WORKFLOW_JOB_ID=" + s.jobUUID(), "CIRCLE_OIDC_TOKEN_V2=" + tok}, standIn()...)
	case Bitbucket:
		tok, err := s.MintBitbucketIDToken(nil)
		if err != nil {
			return nil, err
		}
		env = []string{"BITBUCKET_BUILD_NUMBER=42", "BITBUCKET_WORKSPACE=" + BitbucketWorkspace,
			"BITBUCKET_REPO_UUID=" + bitbucketRepoUUID, "BITBUCKET_STEP_UUID=" + bitbucketStepUUID, "BITBUCKET_STEP_OIDC_TOKEN=" + tok}
	case Buildkite:
		env = append([]string{"BUILDKITE=true", "BUILDKITE_ORGANIZATION_SLUG=" + buildkiteOrgSlug, "BUILDKITE_PIPELINE_SLUG=training", "BUILDKITE_BRANCH=main", "BUILDKITE_JOB_ID=" + s.jobUUID()}, standIn()...)
	default:
		return nil, fmt.Errorf("sandbox: unknown provider %q", p)
	}
	return append(append([]string{"CI=true"}, env...), "HF_ENDPOINT="+s.url), nil
}

// jobUUID is the sandbox's job as CircleCI and Buildkite name jobs.
func (s *Sandbox) jobUUID() string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", s.jobID)
}
