package sandbox

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// verifyAt checks tok against the keys the issuer at iss publishes, found
// through its discovery document, as any relying party would.
func verifyAt(t *testing.T, s *Sandbox, iss, tok string) jwt.MapClaims {
	t.Helper()
	disc := get(t, iss+discoveryPath, "")
	if disc.status != http.StatusOK || disc.body["issuer"] != iss {
		t.Fatalf("discovery of %s: %d %s", iss, disc.status, disc.raw)
	}
	jwksURI, _ := disc.body["jwks_uri"].(string)
	jwks := get(t, jwksURI, "")
	if jwks.status != http.StatusOK {
		t.Fatalf("JWKS of %s: status %d", iss, jwks.status)
	}
	keys, err := parseJWKS([]byte(jwks.raw))
	if err != nil {
		t.Fatalf("parseJWKS: %v", err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		return keys[tk.Header["kid"].(string)], nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.cfg.Now), jwt.WithIssuer(iss))
	if err != nil {
		t.Fatalf("verifying with the keys %s publishes: %v", iss, err)
	}
	return claims
}

func mintFor(t *testing.T, s *Sandbox, p Provider, claims map[string]any) string {
	t.Helper()
	mint := map[Provider]func(map[string]any) (string, error){
		GitHub:    s.MintIDToken,
		GitLab:    s.MintGitLabIDToken,
		CircleCI:  s.MintCircleCIIDToken,
		Bitbucket: s.MintBitbucketIDToken,
		Buildkite: s.MintBuildkiteIDToken,
	}[p]
	tok, err := mint(claims)
	if err != nil {
		t.Fatalf("minting a %s token: %v", p, err)
	}
	return tok
}

func trustFor(s *Sandbox, p Provider, resource string) {
	map[Provider]func(string){
		GitHub:    s.TrustGitHub,
		GitLab:    s.TrustGitLab,
		CircleCI:  s.TrustCircleCI,
		Bitbucket: s.TrustBitbucket,
		Buildkite: s.TrustBuildkite,
	}[p](resource)
}

func TestProviderIssuers(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	tests := []struct {
		p        Provider
		path     string // issuer URL after the sandbox URL
		jwks     string // jwks_uri after the issuer URL
		aud      any
		claims   map[string]any
		lifetime int64
	}{
		{GitHub, "/github", "/.well-known/jwks", "https://huggingface.co", map[string]any{"repository": "acme/training"}, 300},
		{GitLab, "/gitlab", "/oauth/discovery/keys", "https://huggingface.co", map[string]any{
			"sub":               "project_path:acme/training:ref_type:branch:ref:main",
			"project_path":      "acme/training",
			"namespace_path":    "acme",
			"ref":               "main",
			"ref_type":          "branch",
			"ref_protected":     "true",
			"pipeline_source":   "push",
			"ci_config_ref_uri": strings.TrimPrefix(s.URL(), "http://") + "/gitlab/acme/training//.gitlab-ci.yml@refs/heads/main",
		}, 3600},
		{CircleCI, "/circleci/org/" + CircleCIOrgID, "/.well-known/jwks-pub.json", "https://huggingface.co", map[string]any{
			"sub":                           "org/" + CircleCIOrgID + "/project/" + circleCIProjectID + "/user/" + circleCIUserID,
			"oidc.circleci.com/project-id":  circleCIProjectID,
			"oidc.circleci.com/vcs-origin":  "github.com/acme/training",
			"oidc.circleci.com/vcs-ref":     "refs/heads/main",
			"oidc.circleci.com/context-ids": []any{"c0ffee00-1234-4abc-8def-0123456789ab"},
			"oidc.circleci.com/ssh-rerun":   false,
		}, 3600},
		{Bitbucket, "/bitbucket/2.0/workspaces/acme/pipelines-config/identity/oidc", "/keys.json", []any{"https://huggingface.co"}, map[string]any{
			"sub":            bitbucketRepoUUID + ":" + bitbucketStepUUID,
			"workspaceUuid":  "{" + bitbucketWorkspaceUUID + "}",
			"repositoryUuid": bitbucketRepoUUID,
			"stepUuid":       bitbucketStepUUID,
			"branchName":     "main",
		}, 3600},
		{Buildkite, "/buildkite", "/.well-known/jwks", "https://huggingface.co", map[string]any{
			"sub":               "organization:acme:pipeline:training:ref:refs/heads/main:commit:" + commitSHA + ":step:publish",
			"organization_slug": "acme",
			"pipeline_slug":     "training",
			"build_branch":      "main",
			"build_number":      float64(42),
		}, 300},
	}
	kids := map[string]Provider{}
	for _, tt := range tests {
		iss := s.IssuerURL(tt.p)
		if iss != s.URL()+tt.path {
			t.Errorf("%s: IssuerURL = %s, want %s", tt.p, iss, s.URL()+tt.path)
			continue
		}
		disc := get(t, iss+discoveryPath, "")
		if got := disc.body["jwks_uri"]; got != iss+tt.jwks {
			t.Errorf("%s: jwks_uri = %v, want %s", tt.p, got, iss+tt.jwks)
		}
		tok := mintFor(t, s, tt.p, nil)
		claims := verifyAt(t, s, iss, tok)
		if !reflect.DeepEqual(claims["aud"], tt.aud) {
			t.Errorf("%s: aud = %#v, want %#v", tt.p, claims["aud"], tt.aud)
		}
		for k, want := range tt.claims {
			if !reflect.DeepEqual(claims[k], want) {
				t.Errorf("%s: claim %s = %#v, want %#v", tt.p, k, claims[k], want)
			}
		}
		if got := int64(claims["exp"].(float64) - claims["iat"].(float64)); got != tt.lifetime {
			t.Errorf("%s: lifetime %ds, want %ds", tt.p, got, tt.lifetime)
		}
		supported := anyStrings(disc.body["claims_supported"].([]any))
		for k := range tt.claims {
			if !contains(supported, k) {
				t.Errorf("%s: claims_supported lacks %s", tt.p, k)
			}
		}
		_, kid, _ := s.issuerOf(tt.p).signingKey()
		if other, dup := kids[kid]; dup {
			t.Errorf("%s and %s share a key", tt.p, other)
		}
		kids[kid] = tt.p
	}
}

func TestProviderLifetimeOverride(t *testing.T) {
	t.Parallel()
	s := start(t, Config{IDTokenLifetime: 90 * time.Second, Now: newClock(t0).Now})
	for _, p := range Providers() {
		c := claimsOf(t, mintFor(t, s, p, nil))
		if got := int64(c["exp"].(float64)) - t0.Unix(); got != 90 {
			t.Errorf("%s: lifetime %ds, want Config.IDTokenLifetime", p, got)
		}
	}
}

// TestProviderExchange: each provider's tokens pass the Hub's checks for a
// publisher made by its Trust helper, and only for it.
func TestProviderExchange(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	for _, p := range Providers() {
		trustFor(s, p, "acme/"+string(p))
	}
	for _, p := range Providers() {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			tok := mintFor(t, s, p, nil)
			if a := exchange(t, s, tok, "acme/"+string(p)); a.status != http.StatusOK {
				t.Fatalf("exchange: %d %s", a.status, a.raw)
			}
			for _, other := range Providers() {
				if other == p {
					continue
				}
				a := exchange(t, s, tok, "acme/"+string(other))
				rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
				if a.status != http.StatusBadRequest || rej.Check != CheckIssuer {
					t.Errorf("a %s token for %s's publisher: %d, check %q; want 400 %q", p, other, a.status, rej.Check, CheckIssuer)
				}
			}
		})
	}
}

// TestProviderForgedIssuer: a token signed by one issuer's key that claims
// another issuer fails the signature check.
func TestProviderForgedIssuer(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustBitbucket("acme/training")
	forged := mintFor(t, s, GitLab, map[string]any{"iss": s.IssuerURL(Bitbucket), "aud": []string{"https://huggingface.co"}})
	withClaims := mintFor(t, s, GitLab, mergeClaims(s.Claims(Bitbucket), map[string]any{"iss": s.IssuerURL(Bitbucket)}))
	for _, tok := range []string{forged, withClaims} {
		a := exchange(t, s, tok, "acme/training")
		rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
		if rej.Check != CheckSignature {
			t.Errorf("forged token: %d, check %q (%s); want %q", a.status, rej.Check, rej.Reason, CheckSignature)
		}
	}
}

func mergeClaims(layers ...map[string]any) map[string]any {
	m := map[string]any{}
	for _, l := range layers {
		for k, v := range l {
			m[k] = v
		}
	}
	return m
}

// TestProviderClaimMatching: the publisher each Trust helper makes compares
// its claims exactly, like the Hub.
func TestProviderClaimMatching(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	for _, p := range Providers() {
		trustFor(s, p, "acme/"+string(p))
	}
	tests := []struct {
		p      Provider
		change map[string]any
		reason string // in the rejection; "" for success
	}{
		{GitLab, map[string]any{"environment": "production"}, ""},
		{GitLab, map[string]any{"ref": "main-backup"}, `ref: want "main", got "main-backup"`},
		{GitLab, map[string]any{"project_path": "acme/training-fork"}, `project_path: want "acme/training"`},
		{GitLab, map[string]any{"ref_type": "tag"}, `ref_type: want "branch", got "tag"`},
		{CircleCI, map[string]any{"oidc.circleci.com/vcs-ref": "refs/heads/main-backup"}, `oidc.circleci.com/vcs-ref: want "refs/heads/main"`},
		{CircleCI, map[string]any{"oidc.circleci.com/project-id": nil}, `oidc.circleci.com/project-id missing`},
		{Bitbucket, map[string]any{"deploymentEnvironmentUuid": "{e}"}, ""},
		{Bitbucket, map[string]any{"repositoryUuid": "{00000000-0000-4000-8000-000000000000}"}, `repositoryUuid: want "` + bitbucketRepoUUID + `"`},
		{Bitbucket, map[string]any{"branchName": "Main"}, `branchName: want "main", got "Main"`},
		{Buildkite, map[string]any{"organization_slug": "evil"}, `organization_slug: want "acme", got "evil"`},
		{Buildkite, map[string]any{"build_branch": "main-backup"}, `build_branch: want "main"`},
		{Buildkite, map[string]any{"pipeline_slug": "other"}, `pipeline_slug: want "training"`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.p, tt.change), func(t *testing.T) {
			t.Parallel()
			a := exchange(t, s, mintFor(t, s, tt.p, tt.change), "acme/"+string(tt.p))
			if tt.reason == "" {
				if a.status != http.StatusOK {
					t.Errorf("status %d, want 200: %s", a.status, a.raw)
				}
				return
			}
			rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
			if rej.Check != CheckClaims || !strings.Contains(rej.Reason, tt.reason) {
				t.Errorf("rejection %s: %s; want %s with %q", rej.Check, rej.Reason, CheckClaims, tt.reason)
			}
		})
	}
}

func TestTrustHelpersFollowClaims(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.SetClaims(GitLab, map[string]any{"project_path": "acme/other", "ref": "release"})
	s.TrustGitLab("acme/other")
	if d := s.Describe(); !strings.Contains(d, "acme/other <- "+s.IssuerURL(GitLab)+" (project_path=acme/other, ref=release, ref_type=branch)") {
		t.Errorf("TrustGitLab did not follow the claims:\n%s", d)
	}
	if a := exchange(t, s, mintFor(t, s, GitLab, nil), "acme/other"); a.status != http.StatusOK {
		t.Errorf("exchange: %d %s", a.status, a.raw)
	}
	c := s.Claims(GitLab)
	c["ref"] = "changed/by-caller"
	if s.Claims(GitLab)["ref"] != "release" {
		t.Error("Claims() returned the sandbox's own map")
	}
	s.SetClaims(GitLab, map[string]any{"user_email": nil})
	if _, ok := claimsOf(t, mintFor(t, s, GitLab, nil))["user_email"]; ok {
		t.Error("SetClaims did not delete user_email")
	}
}

func TestUnknownProvider(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	if _, err := s.Env("jenkins"); err == nil || !strings.Contains(err.Error(), "jenkins") {
		t.Errorf("Env(jenkins) = %v, want an error naming it", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "jenkins") {
			t.Errorf("IssuerURL(jenkins) panicked with %v, want a message naming it", r)
		}
	}()
	s.IssuerURL("jenkins")
}

// mintRequest asks a mint endpoint for a token.
func mintRequest(t *testing.T, s *Sandbox, method, path, query, body, secret string) answer {
	t.Helper()
	u := s.URL() + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	return do(t, req)
}

func TestMintEndpoints(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	s := start(t, Config{Now: clk.Now})
	good := s.MintSecret()
	hub := url.Values{"aud": {"https://huggingface.co"}}.Encode()
	tests := []struct {
		name                string
		method, path, query string
		body, secret        string
		status              int
		aud                 any   // for 200
		lifetime            int64 // for 200; 0: the provider's default
		err                 string
	}{
		{"gitlab", "GET", PathGitLabMint, hub, "", good, 200, "https://huggingface.co", 3600, ""},
		{"gitlab POST", "POST", PathGitLabMint, hub, "", good, 200, "https://huggingface.co", 3600, ""},
		{"gitlab two auds", "GET", PathGitLabMint, "aud=a&aud=b", "", good, 200, []any{"a", "b"}, 3600, ""},
		{"gitlab without aud", "GET", PathGitLabMint, "", "", good, 400, nil, 0, "aud is required"},
		{"gitlab empty aud", "GET", PathGitLabMint, "aud=", "", good, 400, nil, 0, "aud is empty"},
		{"gitlab with body", "POST", PathGitLabMint, hub, `{"aud":"x"}`, good, 400, nil, 0, "only the CircleCI endpoint"},
		{"circleci claims body", "POST", PathCircleCIMint, "", `{"aud":"https://huggingface.co"}`, good, 200, "https://huggingface.co", 3600, ""},
		{"circleci query", "GET", PathCircleCIMint, hub, "", good, 200, "https://huggingface.co", 3600, ""},
		{"circleci default is the org", "GET", PathCircleCIMint, "", "", good, 200, CircleCIOrgID, 3600, ""},
		{"circleci empty claims", "POST", PathCircleCIMint, "", `{}`, good, 200, CircleCIOrgID, 3600, ""},
		{"circleci other claim", "POST", PathCircleCIMint, "", `{"aud":"x","sub":"me"}`, good, 400, nil, 0, `claim "sub" cannot be customized`},
		{"circleci aud not a string", "POST", PathCircleCIMint, "", `{"aud":["x"]}`, good, 400, nil, 0, "aud must be a non-empty string"},
		{"circleci claims not JSON", "POST", PathCircleCIMint, "", `{aud:x}`, good, 400, nil, 0, "not a JSON object"},
		{"circleci both", "POST", PathCircleCIMint, hub, `{"aud":"x"}`, good, 400, nil, 0, "not both"},
		{"bitbucket audiences", "GET", PathBitbucketMint, hub, "", good, 200, []any{"https://huggingface.co"}, 3600, ""},
		{"bitbucket oidc true", "GET", PathBitbucketMint, "", "", good, 200, BitbucketDefaultAudience, 3600, ""},
		{"bitbucket eleven audiences", "GET", PathBitbucketMint, strings.Repeat("aud=x&", 10) + "aud=y", "", good, 400, nil, 0, "10 audiences"},
		{"buildkite", "GET", PathBuildkiteMint, hub, "", good, 200, "https://huggingface.co", 300, ""},
		{"buildkite default audience", "GET", PathBuildkiteMint, "", "", good, 200, "https://buildkite.com/acme", 300, ""},
		{"buildkite lifetime", "GET", PathBuildkiteMint, hub + "&lifetime=600", "", good, 200, "https://huggingface.co", 600, ""},
		{"buildkite lifetime 0", "GET", PathBuildkiteMint, hub + "&lifetime=0", "", good, 200, "https://huggingface.co", 300, ""},
		{"buildkite bad lifetime", "GET", PathBuildkiteMint, hub + "&lifetime=10m", "", good, 400, nil, 0, "whole number of seconds"},
		{"buildkite two auds", "GET", PathBuildkiteMint, "aud=a&aud=b", "", good, 400, nil, 0, "one aud at most"},
		{"no secret", "GET", PathBuildkiteMint, hub, "", "", 401, nil, 0, MintSecretVar},
		{"wrong secret", "GET", PathGitLabMint, hub, "", "nope", 401, nil, 0, MintSecretVar},
		{"the GitHub request token", "GET", PathCircleCIMint, hub, "", s.gitHubRequestToken, 401, nil, 0, MintSecretVar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := mintRequest(t, s, tt.method, tt.path, tt.query, tt.body, tt.secret)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if strings.Contains(a.raw, good) {
				t.Error("the answer holds the mint secret")
			}
			if tt.status != http.StatusOK {
				if !strings.Contains(a.body["error"].(string), tt.err) {
					t.Errorf("error %q, want %q in it", a.body["error"], tt.err)
				}
				return
			}
			if ct := a.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || !strings.HasSuffix(a.raw, "\n") {
				t.Errorf("answer %q (%s), want the token and a newline as text", a.raw, ct)
			}
			tok := strings.TrimSuffix(a.raw, "\n")
			p := Provider(strings.Split(tt.path, "/")[1])
			claims := verifyAt(t, s, s.IssuerURL(p), tok)
			if !reflect.DeepEqual(claims["aud"], tt.aud) {
				t.Errorf("aud = %#v, want %#v", claims["aud"], tt.aud)
			}
			if got := int64(claims["exp"].(float64) - claims["iat"].(float64)); got != tt.lifetime {
				t.Errorf("lifetime %ds, want %ds", got, tt.lifetime)
			}
			if !contains(s.Minted(), tok) {
				t.Error("Minted() lacks the token")
			}
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if st := s.Stats(); st.IDTokenRequests != len(tests) {
			t.Errorf("IDTokenRequests = %d, want every mint request (%d)", st.IDTokenRequests, len(tests))
		}
	})
}

func TestEnv(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	tests := []struct {
		p     Provider
		want  map[string]string // exact values
		token string            // the variable holding an ID token
		aud   any
	}{
		{GitLab, map[string]string{"GITLAB_CI": "true", "CI_SERVER_URL": s.IssuerURL(GitLab)}, "HF_ID_TOKEN", "https://huggingface.co"},
		{CircleCI, map[string]string{"CIRCLECI": "true", MintURLVar: s.URL() + PathCircleCIMint, MintSecretVar: s.MintSecret()}, "CIRCLE_OIDC_TOKEN_V2", CircleCIOrgID},
		{Bitbucket, map[string]string{"BITBUCKET_BUILD_NUMBER": "42", "BITBUCKET_WORKSPACE": "acme"}, "BITBUCKET_STEP_OIDC_TOKEN", []any{"https://huggingface.co"}},
		{Buildkite, map[string]string{"BUILDKITE": "true", MintURLVar: s.URL() + PathBuildkiteMint, MintSecretVar: s.MintSecret()}, "", nil},
		{GitHub, map[string]string{"GITHUB_ACTIONS": "true"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.p), func(t *testing.T) {
			t.Parallel()
			list, err := s.Env(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			env := map[string]string{}
			for _, kv := range list {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("entry %q has no =", kv)
				}
				env[k] = v
			}
			if tt.p != GitHub {
				tt.want["CI"] = "true"
			}
			tt.want["HF_ENDPOINT"] = s.URL()
			for k, v := range tt.want {
				if env[k] != v {
					t.Errorf("%s = %q, want %q", k, env[k], v)
				}
			}
			if tt.token == "" {
				return
			}
			claims := verifyAt(t, s, s.IssuerURL(tt.p), env[tt.token])
			if !reflect.DeepEqual(claims["aud"], tt.aud) {
				t.Errorf("aud of %s = %#v, want %#v", tt.token, claims["aud"], tt.aud)
			}
		})
	}
}

func TestDescribeProviders(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	d := s.Describe()
	for _, p := range Providers() {
		if !strings.Contains(d, string(p)+" issuer  "+s.IssuerURL(p)+"\n") {
			t.Errorf("Describe() lacks the %s issuer:\n%s", p, d)
		}
	}
	if want := "GET " + s.URL() + PathBuildkiteMint + "?aud=… (Authorization: Bearer $" + MintSecretVar + ")"; !strings.Contains(d, want) {
		t.Errorf("Describe() lacks %q:\n%s", want, d)
	}
	if strings.Contains(d, s.MintSecret()) {
		t.Error("Describe() shows the mint secret")
	}
	if !contains(s.Minted(), s.MintSecret()) {
		t.Error("Minted() lacks the mint secret")
	}
}

func FuzzCircleCIClaims(f *testing.F) {
	for _, s := range []string{`{"aud":"https://huggingface.co"}`, `{}`, `{"aud":""}`, `{"aud":["x"]}`, `{"sub":"x"}`, `null`, `[]`, `{"aud":"a","aud":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		aud, err := circleCIClaims(body)
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || len(m) > 1 {
			t.Fatalf("accepted %q, which is no object of aud alone", body)
		}
		for _, a := range aud {
			if a == "" || m["aud"] != a {
				t.Fatalf("circleCIClaims(%q) = %q", body, aud)
			}
		}
	})
}

func TestConfigKeys(t *testing.T) {
	t.Parallel()
	a := start(t, Config{Keys: SharedKeys})
	b := start(t, Config{Keys: SharedKeys})
	kids := map[string]Provider{}
	for _, p := range Providers() {
		_, ka, err := a.issuerOf(p).signingKey()
		if err != nil {
			t.Fatal(err)
		}
		_, kb, _ := b.issuerOf(p).signingKey()
		if ka != kb {
			t.Errorf("%s: SharedKeys gave two sandboxes different keys", p)
		}
		if other, dup := kids[ka]; dup {
			t.Errorf("SharedKeys gave %s and %s one key", p, other)
		}
		kids[ka] = p
	}
	// A token of one sandbox still names its own issuer, which the other
	// does not trust.
	b.TrustGitLab("acme/training")
	if a := exchange(t, b, mintFor(t, a, GitLab, nil), "acme/training"); a.status != http.StatusBadRequest {
		t.Errorf("another sandbox's token: status %d, want 400", a.status)
	}

	var asked []Provider
	var mu sync.Mutex
	c := start(t, Config{Keys: func(p Provider) (*rsa.PrivateKey, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, p)
		return SharedKeys(p)
	}})
	mintFor(t, c, Buildkite, nil)
	mintFor(t, c, Buildkite, nil)
	if !reflect.DeepEqual(asked, []Provider{Buildkite}) {
		t.Errorf("Keys was asked for %v, want only Buildkite, once", asked)
	}
}
