package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func envOf(t *testing.T, s *Sandbox) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, kv := range s.GitHubEnv() {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("GitHubEnv entry %q has no =", kv)
		}
		env[k] = v
	}
	return env
}

// requestIDToken asks the GitHub endpoint for a token the way a client
// does: the request URL plus an audience parameter.
func requestIDToken(t *testing.T, s *Sandbox, audience string) string {
	t.Helper()
	env := envOf(t, s)
	u := env["ACTIONS_ID_TOKEN_REQUEST_URL"]
	if audience != "" {
		u += "&audience=" + url.QueryEscape(audience)
	}
	a := get(t, u, env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	if a.status != http.StatusOK {
		t.Fatalf("ID token request: %d %s", a.status, a.raw)
	}
	tok, _ := a.body["value"].(string)
	if tok == "" {
		t.Fatalf("ID token answer has no value: %s", a.raw)
	}
	return tok
}

// verifyWithJWKS checks tok against the keys the issuer publishes, found
// through its discovery document, as any relying party would.
func verifyWithJWKS(t *testing.T, s *Sandbox, tok string) jwt.MapClaims {
	t.Helper()
	disc := get(t, s.GitHubIssuer()+discoveryPath, "")
	jwksURI, _ := disc.body["jwks_uri"].(string)
	jwks := get(t, jwksURI, "")
	if jwks.status != http.StatusOK {
		t.Fatalf("JWKS: status %d", jwks.status)
	}
	keys, err := parseJWKS([]byte(jwks.raw))
	if err != nil {
		t.Fatalf("parseJWKS: %v", err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		return keys[tk.Header["kid"].(string)], nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(s.cfg.Now))
	if err != nil {
		t.Fatalf("verifying with the published keys: %v", err)
	}
	return claims
}

func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	disc := get(t, s.GitHubIssuer()+discoveryPath, "")
	if disc.status != http.StatusOK {
		t.Fatalf("discovery: status %d", disc.status)
	}
	if got := disc.body["issuer"]; got != s.GitHubIssuer() {
		t.Errorf("issuer = %v, want %s", got, s.GitHubIssuer())
	}
	if got := disc.body["jwks_uri"]; got != s.GitHubIssuer()+jwksPath {
		t.Errorf("jwks_uri = %v", got)
	}
	for _, field := range []string{"id_token_signing_alg_values_supported", "response_types_supported", "subject_types_supported", "claims_supported"} {
		if _, ok := disc.body[field].([]any); !ok {
			t.Errorf("discovery lacks %s", field)
		}
	}
	if algs := disc.body["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "RS256" {
		t.Errorf("algs = %v, want [RS256]", algs)
	}
	claims := disc.body["claims_supported"].([]any)
	for _, c := range []string{"sub", "repository", "workflow_ref", "environment"} {
		if !contains(anyStrings(claims), c) {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if disc.header.Get("x-request-id") == "" {
		t.Error("discovery answer has no x-request-id")
	}

	got := verifyWithJWKS(t, s, mint(t, s, nil))
	if got["iss"] != s.GitHubIssuer() || got["aud"] != "https://huggingface.co" {
		t.Errorf("iss, aud = %v, %v", got["iss"], got["aud"])
	}
	if a := post(t, s.GitHubIssuer()+jwksPath, "", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST JWKS: status %d, want 405", a.status)
	}
}

func anyStrings(xs []any) []string {
	var out []string
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestGitHubEndpoint(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	env := envOf(t, s)
	if env["GITHUB_ACTIONS"] != "true" || env["HF_ENDPOINT"] != s.URL() {
		t.Errorf("GitHubEnv() = %v", s.GitHubEnv())
	}
	reqURL := env["ACTIONS_ID_TOKEN_REQUEST_URL"]
	if !strings.HasPrefix(reqURL, s.URL()+PathGitHubIDToken+"?api-version=2.0") {
		t.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL = %q", reqURL)
	}
	good := env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]

	tests := []struct {
		name, url, auth string
		status          int
		aud             string
	}{
		{"with audience", reqURL + "&audience=https%3A%2F%2Fhuggingface.co", "Bearer " + good, 200, "https://huggingface.co"},
		{"without audience", reqURL, "Bearer " + good, 200, "https://github.com/acme"},
		{"empty audience", reqURL + "&audience=", "Bearer " + good, 200, "https://github.com/acme"},
		{"lowercase scheme", reqURL + "&audience=x", "bearer " + good, 200, "x"},
		{"no authorization", reqURL, "", 401, ""},
		{"wrong token", reqURL, "Bearer nope", 401, ""},
		{"wrong scheme", reqURL, "Basic " + good, 401, ""},
		{"api-version lost", s.URL() + PathGitHubIDToken + "?audience=x", "Bearer " + good, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			a := do(t, req)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.status == 401 && !strings.Contains(a.raw, "not authorized") {
				t.Errorf("401 body = %s", a.raw)
			}
			if tt.status != 200 {
				if strings.Contains(a.raw, good) {
					t.Error("answer echoes the request token")
				}
				return
			}
			claims := verifyWithJWKS(t, s, a.body["value"].(string))
			if claims["aud"] != tt.aud {
				t.Errorf("aud = %v, want %s", claims["aud"], tt.aud)
			}
			for k, v := range s.GitHubClaims() {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}
			if _, ok := claims["environment"]; ok {
				t.Error("environment present by default")
			}
			for _, k := range []string{"iss", "iat", "nbf", "exp", "jti"} {
				if _, ok := claims[k]; !ok {
					t.Errorf("claim %s missing", k)
				}
			}
		})
	}
}

func TestGitHubClaims(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c := s.GitHubClaims()
	for k, want := range map[string]string{
		"sub":          "repo:acme/training:ref:refs/heads/main",
		"repository":   "acme/training",
		"ref":          "refs/heads/main",
		"workflow_ref": "acme/training/.github/workflows/publish.yml@refs/heads/main",
	} {
		if c[k] != want {
			t.Errorf("default %s = %v, want %s", k, c[k], want)
		}
	}
	c["repository"] = "changed/by-caller"
	if s.GitHubClaims()["repository"] != "acme/training" {
		t.Error("GitHubClaims() returned the sandbox's own map")
	}

	s.SetGitHubClaims(map[string]any{"environment": "production", "actor": nil, "ref": "refs/heads/release"})
	tok := requestIDToken(t, s, "https://huggingface.co")
	claims := verifyWithJWKS(t, s, tok)
	if claims["environment"] != "production" || claims["ref"] != "refs/heads/release" {
		t.Errorf("overrides not applied: %v", claims)
	}
	if _, ok := claims["actor"]; ok {
		t.Error("actor not deleted")
	}

	// MintIDToken's own claims override the issuer's, and can delete the
	// registered ones too.
	exp := t0.Add(time.Minute)
	claims = claimsOf(t, mint(t, s, map[string]any{"ref": "refs/tags/v1", "jti": nil, "exp": exp}))
	if claims["ref"] != "refs/tags/v1" || claims["jti"] != nil || claims["exp"] != float64(exp.Unix()) {
		t.Errorf("MintIDToken overrides not applied: %v", claims)
	}
	if claims["environment"] != "production" {
		t.Errorf("MintIDToken dropped the issuer's claims: %v", claims)
	}
}

// claimsOf decodes a token without verifying it.
func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatalf("decoding token: %v", err)
	}
	return claims
}

func TestTrustGitHubFollowsClaims(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.SetGitHubClaims(map[string]any{
		"repository":   "acme/other",
		"ref":          "refs/heads/release",
		"workflow_ref": "acme/other/.github/workflows/ship.yaml@refs/heads/release",
	})
	s.TrustGitHub("acme/other")
	d := s.Describe()
	if !strings.Contains(d, "(branch=release, repository=acme/other, workflow=ship.yaml)") {
		t.Errorf("TrustGitHub did not derive from the claims:\n%s", d)
	}
	if a := exchange(t, s, mint(t, s, nil), "acme/other"); a.status != 200 {
		t.Errorf("exchange: %d %s", a.status, a.raw)
	}
}

func TestIDTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lifetime time.Duration
		want     int64
	}{
		{0, 300},
		{90 * time.Second, 90},
		{1400 * time.Millisecond, 1},
		{100 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.lifetime.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, Config{IDTokenLifetime: tt.lifetime, Now: newClock(t0).Now})
			c := claimsOf(t, mint(t, s, nil))
			if got := int64(c["exp"].(float64)) - t0.Unix(); got != tt.want {
				t.Errorf("exp - iat = %d, want %d", got, tt.want)
			}
		})
	}
}

func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer abc", "BEARER  abc", "Bearer", "Bearer ", "Basic abc", "Bearer a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if !ok {
			return
		}
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") || !strings.HasSuffix(h, tok) {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
		if again, ok := bearer("Bearer " + tok); !ok || again != tok {
			t.Fatalf("bearer does not round-trip %q", tok)
		}
	})
}
