package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestExchangeSuccess(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	tests := []struct {
		resource, prefix, entityType, entityName, perm string
		gated                                          bool
	}{
		{"acme/training", "hf_jwt_", "model", "acme/training", "repo.write", false},
		{"datasets/acme/data", "hf_jwt_", "dataset", "acme/data", "repo.write", false},
		{"spaces/acme/demo", "hf_jwt_", "space", "acme/demo", "repo.write", false},
		{"kernels/acme/fast-attn", "hf_jwt_", "kernel", "acme/fast-attn", "repo.write", false},
		{"octocat", "hf_oauth_", "user", "octocat", "repo.content.read", true},
	}
	for _, tt := range tests {
		s.TrustGitHub(tt.resource)
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			t.Parallel()
			a := exchange(t, s, requestIDToken(t, s, "https://huggingface.co"), tt.resource)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
			tok, _ := a.body["access_token"].(string)
			if !strings.HasPrefix(tok, tt.prefix) {
				t.Errorf("access_token has no %s prefix", tt.prefix)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, tt.prefix)); err != nil || len(raw) != 32 {
				t.Errorf("access_token is not the prefix and 32 random bytes")
			}
			if a.body["token_type"] != "bearer" || a.body["expires_in"] != float64(3600) ||
				a.body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
				t.Errorf("answer = %v", redact(a.body))
			}
			if a.header.Get("x-request-id") == "" {
				t.Error("no x-request-id")
			}

			if info, ok := s.Token(tok); !ok || info.Resource != tt.resource || info.ExpiresAt.Sub(info.IssuedAt) != time.Hour {
				t.Errorf("Token() = %+v, %v", info, ok)
			}

			who := get(t, s.URL()+PathWhoami, tok)
			if who.status != http.StatusOK {
				t.Fatalf("whoami: %d %s", who.status, who.raw)
			}
			if who.body["name"] != "[OIDC] "+tt.resource {
				t.Errorf("whoami name = %v", who.body["name"])
			}
			at := who.body["auth"].(map[string]any)["accessToken"].(map[string]any)
			if at["role"] != "fineGrained" {
				t.Errorf("role = %v", at["role"])
			}
			fg := at["fineGrained"].(map[string]any)
			if fg["canReadGatedRepos"] != tt.gated {
				t.Errorf("canReadGatedRepos = %v, want %v", fg["canReadGatedRepos"], tt.gated)
			}
			scope := fg["scoped"].([]any)[0].(map[string]any)
			entity := scope["entity"].(map[string]any)
			if entity["type"] != tt.entityType || entity["name"] != tt.entityName {
				t.Errorf("entity = %v, want %s %s", entity, tt.entityType, tt.entityName)
			}
			perms := anyStrings(scope["permissions"].([]any))
			if !contains(perms, tt.perm) || (tt.gated && contains(perms, "repo.write")) {
				t.Errorf("permissions = %v", perms)
			}
		})
	}
}

func redact(body map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range body {
		if k == "access_token" {
			v = "…"
		}
		c[k] = v
	}
	return c
}

// TestExchangeIDTokenReuse: the Hub is assumed to accept one ID token more
// than once while it is valid (GitLab and Bitbucket depend on it).
func TestExchangeIDTokenReuse(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	s.TrustGitHub("datasets/acme/data")
	tok := mint(t, s, nil)
	for _, r := range []string{"acme/training", "datasets/acme/data", "acme/training"} {
		if a := exchange(t, s, tok, r); a.status != 200 {
			t.Errorf("exchange %s: %d %s", r, a.status, a.raw)
		}
	}
}

// TestExchangeAnyPublisher: one matching publisher of several is enough.
func TestExchangeAnyPublisher(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.Trust(Publisher{Resource: "acme/training", Issuer: s.GitHubIssuer(), Claims: map[string]string{"environment": "production"}})
	s.TrustGitHub("acme/training")
	if a := exchange(t, s, mint(t, s, nil), "acme/training"); a.status != 200 {
		t.Errorf("exchange: %d %s", a.status, a.raw)
	}
}

func TestExchangeRejections(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Now: newClock(t0).Now})
	s.TrustGitHub("acme/training")
	s.Trust(Publisher{Resource: "acme/training", Issuer: s.GitHubIssuer(), Claims: map[string]string{"ref": "refs/heads/main", "environment": "production"}})
	s.TrustGitHub("octocat")
	good := mint(t, s, nil)

	signed := func(method jwt.SigningMethod, key any, header map[string]any, claims map[string]any) string {
		c := jwt.MapClaims{"iss": s.GitHubIssuer(), "aud": "https://huggingface.co", "iat": t0.Unix(), "exp": t0.Add(time.Minute).Unix()}
		for k, v := range s.GitHubClaims() {
			c[k] = v
		}
		for k, v := range claims {
			c[k] = v
		}
		tok := jwt.NewWithClaims(method, c)
		for k, v := range header {
			tok.Header[k] = v
		}
		str, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	key, kid, err := s.github.signingKey()
	if err != nil {
		t.Fatal(err)
	}
	body := func(change map[string]any) []byte {
		f := exchangeFields(good, "acme/training")
		for k, v := range change {
			if v == nil {
				delete(f, k)
			} else {
				f[k] = v
			}
		}
		b, _ := json.Marshal(f)
		return b
	}
	withToken := func(tok string) []byte { return body(map[string]any{"subject_token": tok}) }
	withClaims := func(c map[string]any) []byte { return withToken(mint(t, s, c)) }

	tests := []struct {
		name        string
		contentType string
		body        []byte
		code        string
		check       Check
	}{
		{"missing grant_type", "application/json", body(map[string]any{"grant_type": nil}), "invalid_request", CheckParameter},
		{"missing subject_token_type", "application/json", body(map[string]any{"subject_token_type": nil}), "invalid_request", CheckParameter},
		{"missing subject_token", "application/json", body(map[string]any{"subject_token": nil}), "invalid_request", CheckParameter},
		{"missing resource", "application/json", body(map[string]any{"resource": nil}), "invalid_request", CheckParameter},
		{"resource not a string", "application/json", body(map[string]any{"resource": 7}), "invalid_request", CheckParameter},
		{"subject_token null", "application/json", []byte(`{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","subject_token":null,"resource":"acme/training"}`), "invalid_request", CheckParameter},
		{"wrong grant_type", "application/json", body(map[string]any{"grant_type": "client_credentials"}), "invalid_request", CheckGrantType},
		{"token sent as grant_type", "application/json", body(map[string]any{"grant_type": good}), "invalid_request", CheckGrantType},
		{"wrong subject_token_type", "application/json", body(map[string]any{"subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}), "invalid_request", CheckSubjectTokenType},
		{"form encoded", "application/x-www-form-urlencoded", []byte("grant_type=x"), "invalid_request", CheckContentType},
		{"no content type", "", body(nil), "invalid_request", CheckContentType},
		{"json with charset", "application/json; charset=utf-8", []byte("[1]"), "invalid_request", CheckBody},
		{"not json", "application/json", []byte("{"), "invalid_request", CheckBody},
		{"json null", "application/json", []byte("null"), "invalid_request", CheckBody},
		{"data after the object", "application/json", append(body(nil), " {}"...), "invalid_request", CheckBody},
		{"name in another case", "application/json", bytes.Replace(body(nil), []byte(`"resource"`), []byte(`"Resource"`), 1), "invalid_request", CheckParameter},
		{"resource a number beyond float64", "application/json", bytes.Replace(body(nil), []byte(`"acme/training"`), []byte(`1e400`), 1), "invalid_request", CheckParameter},
		{"too large", "application/json", []byte(`{"pad":"` + strings.Repeat("x", maxBody) + `"}`), "invalid_request", CheckBody},
		{"resource empty", "application/json", body(map[string]any{"resource": ""}), "invalid_request", CheckResource},
		{"resource models prefix", "application/json", body(map[string]any{"resource": "models/acme/training"}), "invalid_request", CheckResource},
		{"resource type without name", "application/json", body(map[string]any{"resource": "datasets/acme"}), "invalid_request", CheckResource},
		{"resource four parts", "application/json", body(map[string]any{"resource": "datasets/acme/x/y"}), "invalid_request", CheckResource},
		{"resource trailing slash", "application/json", body(map[string]any{"resource": "acme/"}), "invalid_request", CheckResource},
		{"resource space", "application/json", body(map[string]any{"resource": "acme/x y"}), "invalid_request", CheckResource},
		{"resource url", "application/json", body(map[string]any{"resource": "https://huggingface.co/acme/x"}), "invalid_request", CheckResource},
		{"not a jwt", "application/json", withToken("garbage"), "invalid_grant", CheckMalformed},
		{"alg none", "application/json", withToken(signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, nil)), "invalid_grant", CheckAlgorithm},
		{"alg HS256", "application/json", withToken(signed(jwt.SigningMethodHS256, []byte("secret"), map[string]any{"kid": kid}, nil)), "invalid_grant", CheckAlgorithm},
		{"alg RS512", "application/json", withToken(signed(jwt.SigningMethodRS512, key, map[string]any{"kid": kid}, nil)), "invalid_grant", CheckAlgorithm},
		{"no publisher for resource", "application/json", body(map[string]any{"resource": "acme/unconfigured"}), "invalid_grant", CheckPublisher},
		{"untrusted issuer", "application/json", withClaims(map[string]any{"iss": "https://token.actions.githubusercontent.com"}), "invalid_grant", CheckIssuer},
		{"no issuer", "application/json", withClaims(map[string]any{"iss": nil}), "invalid_grant", CheckIssuer},
		{"another key, same kid", "application/json", withToken(signed(jwt.SigningMethodRS256, otherKey(), map[string]any{"kid": kid}, nil)), "invalid_grant", CheckSignature},
		{"another key, no kid", "application/json", withToken(signed(jwt.SigningMethodRS256, otherKey(), nil, nil)), "invalid_grant", CheckSignature},
		{"tampered payload", "application/json", withToken(tamper(t, good)), "invalid_grant", CheckSignature},
		{"wrong aud", "application/json", withClaims(map[string]any{"aud": "https://github.com/acme"}), "invalid_grant", CheckAudience},
		{"aud missing", "application/json", withClaims(map[string]any{"aud": nil}), "invalid_grant", CheckAudience},
		{"expired", "application/json", withClaims(map[string]any{"iat": t0.Add(-time.Hour), "nbf": t0.Add(-time.Hour), "exp": t0.Add(-time.Minute)}), "invalid_grant", CheckExpiry},
		{"exp missing", "application/json", withClaims(map[string]any{"exp": nil}), "invalid_grant", CheckExpiry},
		{"not yet valid", "application/json", withClaims(map[string]any{"nbf": t0.Add(time.Minute)}), "invalid_grant", CheckNotBefore},
		{"issued in the future", "application/json", withClaims(map[string]any{"iat": t0.Add(time.Minute)}), "invalid_grant", CheckIssuedAt},
		{"branch is not a prefix", "application/json", withClaims(map[string]any{"ref": "refs/heads/main-backup"}), "invalid_grant", CheckClaims},
		{"other repository", "application/json", withClaims(map[string]any{"repository": "acme/other"}), "invalid_grant", CheckClaims},
		{"other workflow", "application/json", withClaims(map[string]any{"workflow_ref": "acme/training/.github/workflows/evil.yml@refs/heads/main"}), "invalid_grant", CheckClaims},
		{"tag ref", "application/json", withClaims(map[string]any{"ref": "refs/tags/v1"}), "invalid_grant", CheckClaims},
		{"user publisher mismatch", "application/json", body(map[string]any{"resource": "octocat", "subject_token": mint(t, s, map[string]any{"repository": "evil/fork"})}), "invalid_grant", CheckClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := post(t, s.URL()+PathToken, tt.contentType, tt.body)
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", a.status, a.raw)
			}
			if a.body["error"] != tt.code {
				t.Errorf("error = %v, want %s", a.body["error"], tt.code)
			}
			desc, _ := a.body["error_description"].(string)
			if tt.code == "invalid_grant" && desc != invalidGrantDescription {
				t.Errorf("invalid_grant description %q says more than the Hub's", desc)
			}
			if desc == "" {
				t.Error("no error_description")
			}
			id := a.header.Get("x-request-id")
			rej, ok := rejectionByID(s, id)
			if !ok {
				t.Fatalf("no rejection recorded for request %s", id)
			}
			if rej.Check != tt.check || rej.Error != tt.code {
				t.Errorf("rejection = %s/%s (%s), want %s/%s", rej.Error, rej.Check, rej.Reason, tt.code, tt.check)
			}
			if rej.Reason == "" {
				t.Error("rejection has no reason")
			}
			for _, secret := range s.Minted() {
				if strings.Contains(rej.Reason, secret) || strings.Contains(a.raw, secret) {
					t.Error("a token appears in the rejection")
				}
			}
		})
	}
}

func rejectionByID(s *Sandbox, id string) (Rejection, bool) {
	for _, r := range s.Rejections() {
		if r.RequestID == id {
			return r, true
		}
	}
	return Rejection{}, false
}

// tamper changes the payload of a signed token without re-signing it.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(payload, &c)
	c["repository"] = "acme/training"
	c["run_id"] = "1"
	b, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestRejectionReasonsName(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	a := exchange(t, s, mint(t, s, map[string]any{"ref": "refs/heads/main-backup"}), "acme/training")
	rej, ok := rejectionByID(s, a.header.Get("x-request-id"))
	if !ok {
		t.Fatal("no rejection recorded")
	}
	if want := `branch: want "main", got "main-backup" (from ref)`; !strings.Contains(rej.Reason, want) || rej.Resource != "acme/training" {
		t.Errorf("rejection = %+v, want reason with %s", rej, want)
	}
}

func TestClockEdges(t *testing.T) {
	t.Parallel()
	for _, leeway := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprintf("leeway %s", leeway), func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			s := start(t, Config{Now: clk.Now, Leeway: leeway})
			s.TrustGitHub("acme/training")
			// exp at t0: valid while now < t0+leeway.
			expiring := mint(t, s, map[string]any{"iat": t0.Add(-time.Hour), "nbf": t0.Add(-time.Hour), "exp": t0})
			// nbf and iat at t0: valid once now >= t0-leeway.
			starting := mint(t, s, map[string]any{"iat": t0, "nbf": t0, "exp": t0.Add(time.Hour)})
			// nbf long past, iat at t0: the iat check alone.
			issued := mint(t, s, map[string]any{"iat": t0, "nbf": t0.Add(-time.Hour), "exp": t0.Add(time.Hour)})
			tests := []struct {
				name  string
				tok   string
				now   time.Time
				check Check // "" for success
			}{
				{"exp: just before", expiring, t0.Add(leeway - time.Millisecond), ""},
				{"exp: at the edge", expiring, t0.Add(leeway), CheckExpiry},
				{"nbf: at the edge", starting, t0.Add(-leeway), ""},
				{"nbf: just before", starting, t0.Add(-leeway - time.Millisecond), CheckNotBefore},
				{"iat: at the edge", issued, t0.Add(-leeway), ""},
				{"iat: just before", issued, t0.Add(-leeway - time.Millisecond), CheckIssuedAt},
			}
			for _, tt := range tests {
				clk.Set(tt.now)
				a := exchange(t, s, tt.tok, "acme/training")
				if tt.check == "" {
					if a.status != http.StatusOK {
						t.Errorf("%s: status %d, want 200", tt.name, a.status)
					}
					continue
				}
				rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
				if a.status != http.StatusBadRequest || rej.Check != tt.check {
					t.Errorf("%s: status %d, check %q, want 400 %q", tt.name, a.status, rej.Check, tt.check)
				}
			}
		})
	}
}

func TestKeyFetching(t *testing.T) {
	t.Parallel()

	t.Run("cached, refetched on an unknown kid", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{})
		s.TrustGitHub("acme/training")
		for range 2 {
			exchange(t, s, mint(t, s, nil), "acme/training")
		}
		if n := s.Stats().KeyFetches; n != 1 {
			t.Errorf("KeyFetches after two exchanges = %d, want 1", n)
		}
		rotated := jwt.NewWithClaims(jwt.SigningMethodRS256, claimsOf(t, mint(t, s, nil)))
		rotated.Header["kid"] = "rotated"
		tok, _ := rotated.SignedString(otherKey())
		exchange(t, s, tok, "acme/training")
		if n := s.Stats().KeyFetches; n != 2 {
			t.Errorf("KeyFetches after an unknown kid = %d, want 2", n)
		}
	})

	t.Run("never an issuer no publisher names", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{})
		attacker := start(t, Config{})
		s.TrustGitHub("acme/training")
		a := exchange(t, s, mint(t, attacker, nil), "acme/training")
		rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
		if rej.Check != CheckIssuer {
			t.Errorf("check = %q, want %q", rej.Check, CheckIssuer)
		}
		if n := attacker.Stats().Requests["/github"+discoveryPath]; n != 0 {
			t.Errorf("the token's own issuer was fetched %d times", n)
		}
	})

	t.Run("never beyond loopback", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{})
		const real = "https://token.actions.githubusercontent.com"
		s.Trust(Publisher{Resource: "acme/training", Issuer: real})
		a := exchange(t, s, mint(t, s, map[string]any{"iss": real}), "acme/training")
		rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
		if rej.Check != CheckKeys || !strings.Contains(rej.Reason, "not a loopback") {
			t.Errorf("rejection = %+v, want a refused fetch", rej)
		}
	})

	t.Run("issuer down", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{})
		s.TrustGitHub("acme/training")
		s.Inject("/github"+jwksPath, Fault{Status: 503})
		tok := mint(t, s, nil)
		a := exchange(t, s, tok, "acme/training")
		rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
		if a.body["error"] != "invalid_grant" || rej.Check != CheckKeys {
			t.Errorf("%s, rejection %+v; want invalid_grant for the key fetch", a.raw, rej)
		}
		if a := exchange(t, s, tok, "acme/training"); a.status != 200 {
			t.Errorf("after the fault: %d %s", a.status, a.raw)
		}
	})

	t.Run("discovery names another issuer", func(t *testing.T) {
		t.Parallel()
		s := start(t, Config{})
		s.TrustGitHub("acme/training")
		s.Inject("/github"+discoveryPath, Fault{Body: `{"issuer":"https://evil.example","jwks_uri":"` + s.GitHubIssuer() + jwksPath + `"}`})
		a := exchange(t, s, mint(t, s, nil), "acme/training")
		rej, _ := rejectionByID(s, a.header.Get("x-request-id"))
		if rej.Check != CheckKeys {
			t.Errorf("rejection %+v, want %s", rej, CheckKeys)
		}
	})
}

func TestWhoamiExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lifetime  time.Duration
		expiresIn int64
	}{
		{0, 3600},
		{3 * time.Second, 3},
		{1500 * time.Millisecond, 2},
		{200 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.lifetime.String(), func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			s := start(t, Config{Now: clk.Now, TokenLifetime: tt.lifetime})
			s.TrustGitHub("acme/training")
			a := exchange(t, s, mint(t, s, nil), "acme/training")
			if got := a.body["expires_in"]; got != float64(tt.expiresIn) {
				t.Fatalf("expires_in = %v, want %d", got, tt.expiresIn)
			}
			tok := a.body["access_token"].(string)
			expiry := t0.Add(time.Duration(tt.expiresIn) * time.Second)

			clk.Set(expiry.Add(-time.Millisecond))
			if w := get(t, s.URL()+PathWhoami, tok); w.status != http.StatusOK {
				t.Errorf("just before expires_in: status %d", w.status)
			}
			clk.Set(expiry)
			w := get(t, s.URL()+PathWhoami, tok)
			if w.status != http.StatusUnauthorized || w.body["error"] != "Invalid credentials in Authorization header" {
				t.Errorf("at expires_in: %d %s", w.status, w.raw)
			}
		})
	}
}

func TestWhoamiRefuses(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	idTok := mint(t, s, nil)
	if _, ok := s.Token(idTok); ok {
		t.Error("Token() knows an ID token as an HF token")
	}
	tests := map[string]string{
		"no header":       "",
		"unknown token":   "hf_jwt_" + strings.Repeat("A", 43),
		"an ID token":     "Bearer " + idTok,
		"the request one": "Bearer " + s.gitHubRequestToken,
		"basic":           "Basic dXNlcjpwYXNz",
	}
	for name, auth := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, s.URL()+PathWhoami, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			a := do(t, req)
			if a.status != http.StatusUnauthorized || a.body["error"] != "Invalid credentials in Authorization header" {
				t.Errorf("%d %s", a.status, a.raw)
			}
		})
	}
}

var resources = []struct {
	in   string
	kind kind
	ok   bool
}{
	{"acme/training", kindModel, true},
	{"datasets/acme/data", kindDataset, true},
	{"spaces/acme/demo", kindSpace, true},
	{"kernels/acme/k", kindKernel, true},
	{"octocat", kindUser, true},
	{"a", kindUser, true},
	{"Acme-Org/model_v1.2", kindModel, true},
	{"", "", false},
	{"datasets", kindUser, true}, // a user may be called that; the Hub decides
	{"datasets/acme", "", false},
	{"models/acme/x", "", false},
	{"acme/x/y", "", false},
	{"datasets/acme/x/y", "", false},
	{"/acme", "", false},
	{"acme/", "", false},
	{"acme//x", "", false},
	{"acme/-x", "", false},
	{"acme/x.", "", false},
	{"acme/x..y", "", false},
	{"acme/x--y", "", false},
	{"acme/x y", "", false},
	{"acme/" + strings.Repeat("x", 97), "", false},
}

func TestParseResource(t *testing.T) {
	t.Parallel()
	for _, tt := range resources {
		k, ok := parseResource(tt.in)
		if ok != tt.ok || (ok && k != tt.kind) {
			t.Errorf("parseResource(%q) = %q, %v; want %q, %v", tt.in, k, ok, tt.kind, tt.ok)
		}
	}
}

func FuzzParseResource(f *testing.F) {
	for _, tt := range resources {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, r string) {
		k, ok := parseResource(r)
		if !ok {
			return
		}
		n := strings.Count(r, "/")
		want := map[int][]kind{0: {kindUser}, 1: {kindModel}, 2: {kindDataset, kindSpace, kindKernel}}[n]
		if !containsKind(want, k) {
			t.Fatalf("parseResource(%q) = %q with %d slashes", r, k, n)
		}
		if strings.ContainsAny(r, " \t\n?#%:@\\") {
			t.Fatalf("parseResource(%q) accepted a character no name has", r)
		}
	})
}

func containsKind(ks []kind, k kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func TestParseJWKS(t *testing.T) {
	t.Parallel()
	k := otherKey()
	n := base64.RawURLEncoding.EncodeToString(k.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	good := fmt.Sprintf(`{"kty":"RSA","kid":"a","n":%q,"e":%q}`, n, e)
	tests := []struct {
		name, in string
		kids     []string
	}{
		{"one key", `{"keys":[` + good + `]}`, []string{"a"}},
		{"skips others", `{"keys":[{"kty":"EC","kid":"ec"},{"kty":"RSA","use":"enc","kid":"enc","n":"AQ","e":"AQAB"},` + good + `]}`, []string{"a"}},
		{"no keys", `{"keys":[]}`, nil},
		{"not json", `{`, nil},
		{"bad modulus", `{"keys":[{"kty":"RSA","kid":"a","n":"!!","e":"AQAB"}]}`, nil},
		{"even exponent", `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"Ag"}]}`, nil},
		{"huge exponent", `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAAAAAB"}]}`, nil},
	}
	for _, tt := range tests {
		ks, err := parseJWKS([]byte(tt.in))
		if tt.kids == nil {
			if err == nil {
				t.Errorf("%s: parseJWKS succeeded, want an error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		for _, kid := range tt.kids {
			if got := ks[kid]; got == nil || !got.Equal(&k.PublicKey) {
				t.Errorf("%s: key %q = %v", tt.name, kid, got)
			}
		}
		if len(ks) != len(tt.kids) {
			t.Errorf("%s: %d keys, want %d", tt.name, len(ks), len(tt.kids))
		}
	}
}

func FuzzParseJWKS(f *testing.F) {
	f.Add(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`)
	f.Add(`{"keys":[{"kty":"RSA","use":"sig","kid":"","n":"","e":""}]}`)
	f.Add(`{"keys":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		ks, err := parseJWKS([]byte(in))
		if err != nil {
			return
		}
		if len(ks) == 0 {
			t.Fatal("parseJWKS returned no keys and no error")
		}
		for kid, k := range ks {
			if k == nil || k.N.BitLen() < 2048 || k.E < 3 || k.E%2 == 0 {
				t.Fatalf("key %q = %v: unusable", kid, k)
			}
		}
	})
}
