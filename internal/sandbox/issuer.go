package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// PathGitHubIDToken is where the GitHub-style issuer hands out ID tokens,
// like the Actions runtime's ACTIONS_ID_TOKEN_REQUEST_URL.
const PathGitHubIDToken = "/github/_apis/idtoken"

const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/.well-known/jwks"
)

// An issuer is one CI provider's OIDC issuer: its own path prefix, key,
// discovery document and JWKS.
type issuer struct {
	name     string
	prefix   string // "/github": the issuer URL is the sandbox URL plus this
	jwksPath string // under prefix, where the provider serves its keys
	// lifetime is the provider's usual ID-token lifetime, used when
	// Config.IDTokenLifetime is zero.
	lifetime    time.Duration
	idTokenPath string   // where its ID tokens are requested, if served over HTTP
	claimNames  []string // claims_supported, besides the registered ones

	// The key is made on first use, by newKey: five RSA keys per sandbox
	// would slow every test that starts one and uses a single issuer.
	newKey  func(Provider) (*rsa.PrivateKey, error)
	keyOnce sync.Once
	key     *rsa.PrivateKey
	kid     string
	keyErr  error
}

// signingKey returns the issuer's key and its kid, making them on first use.
func (is *issuer) signingKey() (*rsa.PrivateKey, string, error) {
	is.keyOnce.Do(func() {
		gen := is.newKey
		if gen == nil {
			gen = func(p Provider) (*rsa.PrivateKey, error) { return generateKey(string(p)) }
		}
		is.key, is.keyErr = gen(Provider(is.name))
		if is.keyErr != nil {
			is.keyErr = fmt.Errorf("generating %s issuer key: %w", is.name, is.keyErr)
			return
		}
		is.kid = thumbprint(&is.key.PublicKey)
	})
	return is.key, is.kid, is.keyErr
}

// generateKey makes the key of the named issuer. Tests swap it to share one
// key per issuer name between their many sandboxes, which key generation
// would otherwise slow.
var generateKey = func(string) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

var sharedKeys sync.Map // Provider → func() (*rsa.PrivateKey, error)

// SharedKeys makes one key per provider for the whole process, for
// Config.Keys: a test package that starts many sandboxes then generates five
// keys in all instead of some for each sandbox (2048-bit RSA keys take a
// noticeable time to make, more so under the race detector). The issuers of
// one sandbox still have distinct keys; never use it outside tests.
func SharedKeys(p Provider) (*rsa.PrivateKey, error) {
	f, _ := sharedKeys.LoadOrStore(p, sync.OnceValues(func() (*rsa.PrivateKey, error) {
		return rsa.GenerateKey(rand.Reader, 2048)
	}))
	return f.(func() (*rsa.PrivateKey, error))()
}

func (s *Sandbox) addIssuer(is *issuer, claims map[string]any) {
	if is.jwksPath == "" {
		is.jwksPath = jwksPath
	}
	is.newKey = s.cfg.Keys
	for c := range claims {
		is.claimNames = append(is.claimNames, c)
	}
	s.issuers[is.name] = is
	s.claims[is.name] = claims
	s.mux.HandleFunc("GET "+is.prefix+discoveryPath, func(w http.ResponseWriter, r *http.Request) {
		s.serveDiscovery(w, is)
	})
	s.mux.HandleFunc("GET "+is.prefix+is.jwksPath, func(w http.ResponseWriter, r *http.Request) {
		jwk, err := publicJWK(is)
		if err != nil {
			http.Error(w, "no key", http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{jwk}})
	})
}

func (s *Sandbox) issuerURL(is *issuer) string { return s.url + is.prefix }

func (s *Sandbox) isIDTokenPath(path string) bool {
	for _, is := range s.issuers {
		if is.idTokenPath != "" && path == is.idTokenPath {
			return true
		}
	}
	return false
}

func (s *Sandbox) serveDiscovery(w http.ResponseWriter, is *issuer) {
	claims := append([]string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf"}, is.claimNames...)
	sort.Strings(claims[7:])
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuerURL(is),
		"jwks_uri":                              s.issuerURL(is) + is.jwksPath,
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      claims,
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
	})
}

func publicJWK(is *issuer) (map[string]string, error) {
	key, kid, err := is.signingKey()
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": kid,
		"n":   base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}, nil
}

// thumbprint is the key's RFC 7638 JWK thumbprint, a stable kid.
func thumbprint(k *rsa.PublicKey) string {
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	n := base64.RawURLEncoding.EncodeToString(k.N.Bytes())
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// mint signs an ID token of is: the registered claims first, then the
// issuer's default claims, then layers in order; a nil value deletes a
// claim, a time.Time becomes a NumericDate.
func (s *Sandbox) mint(is *issuer, layers ...map[string]any) (string, error) {
	key, kid, err := is.signingKey()
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	lifetime := s.cfg.IDTokenLifetime
	if lifetime <= 0 {
		lifetime = is.lifetime
	}
	claims := jwt.MapClaims{
		"iss": s.issuerURL(is),
		"aud": s.cfg.Audience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(wholeSeconds(lifetime)).Unix(),
		"jti": uuid(),
	}
	s.mu.Lock()
	layers = append([]map[string]any{s.claims[is.name]}, layers...)
	for _, layer := range layers {
		for k, v := range layer {
			switch v := v.(type) {
			case nil:
				delete(claims, k)
			case time.Time:
				claims[k] = v.Unix()
			default:
				claims[k] = v
			}
		}
	}
	s.mu.Unlock()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("signing %s ID token: %w", is.name, err)
	}
	s.remember(signed)
	return signed, nil
}

// wholeSeconds rounds d to whole seconds, at least one: JWT times and
// expires_in only say whole seconds, and what the sandbox says must be what
// it does.
func wholeSeconds(d time.Duration) time.Duration {
	d = d.Round(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return d
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// --- GitHub ---

// defaultGitHubClaims are what an Actions job on acme/training's main branch,
// running publish.yml on a push, gets. environment is absent, as for a job
// that names none.
func defaultGitHubClaims() map[string]any {
	const sha = "9f3c2b1a8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"
	const workflowRef = "acme/training/.github/workflows/publish.yml@refs/heads/main"
	return map[string]any{
		"sub":                   "repo:acme/training:ref:refs/heads/main",
		"repository":            "acme/training",
		"repository_owner":      "acme",
		"repository_owner_id":   "1234567",
		"repository_id":         "765432109",
		"repository_visibility": "private",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"ref_protected":         "true",
		"sha":                   sha,
		"workflow":              "Publish",
		"workflow_ref":          workflowRef,
		"workflow_sha":          sha,
		"job_workflow_ref":      workflowRef,
		"job_workflow_sha":      sha,
		"event_name":            "push",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"run_id":                "9876543210",
		"run_number":            "42",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"head_ref":              "",
		"base_ref":              "",
	}
}

func (s *Sandbox) serveGitHub(is *issuer) {
	is.idTokenPath = PathGitHubIDToken
	is.claimNames = append(is.claimNames, "environment")
	requestToken := randomText(32)
	s.gitHubRequestToken = requestToken
	s.remember(requestToken)
	s.mux.HandleFunc("GET "+PathGitHubIDToken, func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := bearer(r.Header.Get("Authorization")); !ok || tok != requestToken {
			// What the Actions runtime answers without its request token.
			writeJSON(w, http.StatusUnauthorized, map[string]any{
				"$id":            "1",
				"innerException": nil,
				"message":        "TF400813: The user '' is not authorized to access this resource.",
				"typeName":       "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
				"typeKey":        "UnauthorizedRequestException",
				"errorCode":      0,
				"eventId":        3000,
			})
			return
		}
		q := r.URL.Query()
		if q.Get("api-version") == "" {
			// The request URL the runner gives has it; a client that
			// rebuilt the query lost it.
			writeJSON(w, http.StatusBadRequest, map[string]any{
				"message": "No api-version was supplied for the GET request.",
				"typeKey": "MissingApiVersionException",
			})
			return
		}
		aud := q.Get("audience")
		if aud == "" {
			owner, _ := s.GitHubClaims()["repository_owner"].(string)
			aud = "https://github.com/" + owner
		}
		tok, err := s.mint(is, map[string]any{"aud": aud})
		if err != nil {
			http.Error(w, "minting failed", http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"value": tok})
	})
}

// GitHubIssuer is the issuer URL of the GitHub-shaped ID tokens.
func (s *Sandbox) GitHubIssuer() string { return s.issuerURL(s.github) }

func (s *Sandbox) gitHubRequestURL() string {
	return s.url + PathGitHubIDToken + "?api-version=2.0"
}

// GitHubEnv is the environment of a GitHub Actions job with id-token: write
// whose Hub is this sandbox.
func (s *Sandbox) GitHubEnv() []string {
	return []string{
		"GITHUB_ACTIONS=true",
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + s.gitHubRequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + s.gitHubRequestToken,
		"HF_ENDPOINT=" + s.url,
	}
}

// GitHubClaims returns the claims, besides iss, aud, iat, nbf, exp and jti,
// that the GitHub issuer puts in its tokens: Claims(GitHub).
func (s *Sandbox) GitHubClaims() map[string]any { return s.Claims(GitHub) }

// SetGitHubClaims merges overrides into GitHubClaims; a nil value deletes
// the claim: SetClaims(GitHub, overrides).
func (s *Sandbox) SetGitHubClaims(overrides map[string]any) { s.SetClaims(GitHub, overrides) }

// MintIDToken signs an RS256 token with the GitHub issuer's key: iss, aud
// (Config.Audience), iat, nbf, exp (IDTokenLifetime, default 5 minutes) and
// jti, then GitHubClaims, then claims, which override (a nil value deletes; a
// time.Time is written as seconds).
func (s *Sandbox) MintIDToken(claims map[string]any) (string, error) {
	return s.mint(s.github, claims)
}

// TrustGitHub is TrustJob(resource, GitHub).
func (s *Sandbox) TrustGitHub(resource string) { s.TrustJob(resource, GitHub) }

// bearer returns the token of an "Authorization: Bearer <token>" header. The
// scheme is case-insensitive (RFC 9110); the token is one word.
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", false
	}
	return tok, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
