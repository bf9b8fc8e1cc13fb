package sandbox

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// A Publisher is a Trusted Publisher configured on a repo or user: an issuer
// and the claims its tokens must carry, in the words of the Hub's form (see
// hubmatch).
type Publisher struct {
	Resource string // as the exchange names it: "acme/model", "datasets/acme/data", "user"
	Issuer   string
	Claims   map[string]string
}

// Trust configures p on its resource, next to any publisher already there.
func (s *Sandbox) Trust(p Publisher) {
	c := make(map[string]string, len(p.Claims))
	for k, v := range p.Claims {
		c[k] = v
	}
	p.Claims = c
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishers[p.Resource] = append(s.publishers[p.Resource], p)
}

// A Check names one check of the exchange, so that tests can assert which
// one refused a request.
type Check string

// The checks of the exchange, in the order they run.
const (
	CheckContentType      Check = "content-type"
	CheckBody             Check = "body"      // too large, or not a JSON object
	CheckParameter        Check = "parameter" // a field missing or not a string
	CheckGrantType        Check = "grant_type"
	CheckSubjectTokenType Check = "subject_token_type"
	CheckResource         Check = "resource" // bad format
	CheckMalformed        Check = "malformed"
	CheckAlgorithm        Check = "alg"
	CheckPublisher        Check = "publisher" // no publisher for the resource
	CheckIssuer           Check = "iss"       // no publisher of the resource trusts the issuer
	CheckKeys             Check = "keys"      // the issuer's keys could not be fetched
	CheckSignature        Check = "signature"
	CheckAudience         Check = "aud"
	CheckExpiry           Check = "exp"
	CheckNotBefore        Check = "nbf"
	CheckIssuedAt         Check = "iat"
	CheckClaims           Check = "claims"
)

// A Rejection is one 400 answer of the exchange with the reason the answer
// itself hides.
type Rejection struct {
	RequestID string
	Error     string // the OAuth error the client saw: invalid_request or invalid_grant
	Check     Check
	Reason    string // exactly what failed; never holds a token
	Resource  string // as requested, if it got that far
}

// Rejections returns every 400 answer of the exchange so far.
func (s *Sandbox) Rejections() []Rejection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Rejection(nil), s.rejections...)
}

// The one invalid_grant description: like the Hub, it does not say which
// check failed.
const invalidGrantDescription = "The provided subject token is not valid for the requested resource"

const (
	grantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	maxBody                = 64 << 10
)

type rejectError struct {
	code   string // invalid_request or invalid_grant
	check  Check
	reason string
	// param is named in invalid_request descriptions; invalid_grant ones
	// name nothing.
	param string
}

func badRequest(check Check, param, format string, args ...any) *rejectError {
	return &rejectError{code: "invalid_request", check: check, param: param, reason: fmt.Sprintf(format, args...)}
}

func badGrant(check Check, format string, args ...any) *rejectError {
	return &rejectError{code: "invalid_grant", check: check, reason: fmt.Sprintf(format, args...)}
}

// An exchangeRequest is the body of POST /oauth/token.
type exchangeRequest struct {
	grantType, subjectTokenType, subjectToken, resource string
}

func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	req, rej := readExchange(w, r)
	if rej == nil {
		rej = s.verify(r.Context(), req)
	}
	if rej != nil {
		s.reject(w, req.resource, rej)
		return
	}
	kind, _ := parseResource(req.resource)
	tok, lifetime := s.issue(req.resource, kind)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"token_type":        "bearer",
		"expires_in":        int64(lifetime / time.Second),
		"issued_token_type": tokenTypeAccessToken,
	})
}

func readExchange(w http.ResponseWriter, r *http.Request) (exchangeRequest, *rejectError) {
	var req exchangeRequest
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return req, badRequest(CheckContentType, "Content-Type", "content type %s is not application/json", snippet(r.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return req, badRequest(CheckBody, "body", "reading body: %v", err)
	}
	// Decoded in one pass, the ID token included: names match exactly, as
	// in the Hub's own JSON parser, and numbers of any size are kept.
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return req, badRequest(CheckBody, "body", "body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, badRequest(CheckBody, "body", "body is not a JSON object")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"grant_type", &req.grantType},
		{"subject_token_type", &req.subjectTokenType},
		{"subject_token", &req.subjectToken},
		{"resource", &req.resource},
	} {
		v, ok := fields[f.name]
		if !ok {
			return req, badRequest(CheckParameter, f.name, "%s is missing", f.name)
		}
		if *f.dst, ok = v.(string); !ok {
			return req, badRequest(CheckParameter, f.name, "%s is not a string", f.name)
		}
	}
	if req.grantType != grantTypeTokenExchange {
		return req, badRequest(CheckGrantType, "grant_type", "grant_type %s is not %s", snippet(req.grantType), grantTypeTokenExchange)
	}
	if req.subjectTokenType != tokenTypeIDToken {
		return req, badRequest(CheckSubjectTokenType, "subject_token_type", "subject_token_type %s is not %s", snippet(req.subjectTokenType), tokenTypeIDToken)
	}
	if _, ok := parseResource(req.resource); !ok {
		return req, badRequest(CheckResource, "resource", "resource %s is not ns/name, datasets/ns/name, spaces/ns/name, kernels/ns/name or a username", snippet(req.resource))
	}
	return req, nil
}

// verify runs the Hub's checks on the ID token and the publishers of the
// resource, in the order the Hub is assumed to run them.
func (s *Sandbox) verify(ctx context.Context, req exchangeRequest) *rejectError {
	unverified, _, err := jwt.NewParser(jwt.WithJSONNumber()).ParseUnverified(req.subjectToken, jwt.MapClaims{})
	if err != nil {
		return badGrant(CheckMalformed, "subject_token is not a JWT: %v", err)
	}
	if alg := unverified.Method.Alg(); alg != "RS256" {
		return badGrant(CheckAlgorithm, "alg %q is not RS256", alg)
	}
	uclaims := unverified.Claims.(jwt.MapClaims)
	kid, _ := unverified.Header["kid"].(string)
	iss, _ := uclaims["iss"].(string)
	if iss == "" {
		return badGrant(CheckIssuer, "token has no iss")
	}

	s.mu.Lock()
	pubs := append([]Publisher(nil), s.publishers[req.resource]...)
	s.mu.Unlock()
	if len(pubs) == 0 {
		return badGrant(CheckPublisher, "no publisher is configured on %s", req.resource)
	}
	var trusting []Publisher
	for _, p := range pubs {
		if p.Issuer == iss {
			trusting = append(trusting, p)
		}
	}
	if len(trusting) == 0 {
		return badGrant(CheckIssuer, "no publisher of %s trusts issuer %q", req.resource, iss)
	}

	// Only now, with an issuer some publisher names, is anything fetched.
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithTimeFunc(s.cfg.Now),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithJSONNumber(),
	)
	tok, err := parser.Parse(req.subjectToken, func(*jwt.Token) (any, error) {
		return s.issuerKey(ctx, iss, kid)
	})
	switch {
	case err == nil:
	case errors.Is(err, errKeyFetch):
		return badGrant(CheckKeys, "%v", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return badGrant(CheckSignature, "%v", err)
	case errors.Is(err, jwt.ErrTokenInvalidAudience), uclaims["aud"] == nil && errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return badGrant(CheckAudience, "aud %v is not %q", uclaims["aud"], s.cfg.Audience)
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return badGrant(CheckExpiry, "%v (now %s, leeway %s)", err, s.cfg.Now().UTC().Format(time.RFC3339Nano), s.cfg.Leeway)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return badGrant(CheckNotBefore, "%v (now %s, leeway %s)", err, s.cfg.Now().UTC().Format(time.RFC3339Nano), s.cfg.Leeway)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return badGrant(CheckIssuedAt, "%v (now %s, leeway %s)", err, s.cfg.Now().UTC().Format(time.RFC3339Nano), s.cfg.Leeway)
	default:
		return badGrant(CheckMalformed, "%v", err)
	}

	claims := tok.Claims.(jwt.MapClaims)
	var mismatches []string
	for _, p := range trusting {
		if hubmatch.Matches(claims, p.Claims) {
			return nil
		}
		for _, f := range hubmatch.Match(claims, p.Claims) {
			if !f.OK {
				mismatches = append(mismatches, describeMismatch(f))
			}
		}
	}
	return badGrant(CheckClaims, "no publisher of %s matches: %s", req.resource, strings.Join(mismatches, "; "))
}

// snippet quotes at most the start of a client's value: a confused client
// may send a token in any field, and reasons must never hold one.
func snippet(v string) string { return safetext.Quote(v, 40) }

func describeMismatch(f hubmatch.Field) string {
	if !f.Present {
		return fmt.Sprintf("%s: want %q, claim %s missing", f.Name, f.Want, f.Claim)
	}
	return fmt.Sprintf("%s: want %q, got %q (from %s)", f.Name, f.Want, f.Got, f.Claim)
}

func (s *Sandbox) reject(w http.ResponseWriter, resource string, rej *rejectError) {
	desc := invalidGrantDescription
	if rej.code == "invalid_request" {
		desc = "Missing or invalid parameter: " + rej.param
	}
	s.mu.Lock()
	s.stats.Rejected++
	s.rejections = append(s.rejections, Rejection{
		RequestID: w.Header().Get("X-Request-Id"),
		Error:     rej.code,
		Check:     rej.check,
		Reason:    rej.reason,
		Resource:  resource,
	})
	s.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": rej.code, "error_description": desc})
}

// --- resources ---

type kind string

const (
	kindModel   kind = "model"
	kindDataset kind = "dataset"
	kindSpace   kind = "space"
	kindKernel  kind = "kernel"
	kindUser    kind = "user"
)

var repoTypes = map[string]kind{"datasets": kindDataset, "spaces": kindSpace, "kernels": kindKernel}

// A name segment as the Hub allows it: letters, digits, "-", "_", ".",
// starting and ending with a letter or digit, 96 at most. The length is
// checked apart: a bounded repeat in the pattern compiles into a large
// program at every start of the binary.
var segment = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`) })

// parseResource tells what a resource names, and whether it is well formed.
func parseResource(r string) (kind, bool) {
	parts := strings.Split(r, "/")
	for _, p := range parts {
		if len(p) > 96 || !segment().MatchString(p) || strings.Contains(p, "..") || strings.Contains(p, "--") {
			return "", false
		}
	}
	switch len(parts) {
	case 1:
		return kindUser, true
	case 2:
		// "datasets/x" is no model: the type prefixes are reserved names.
		if _, reserved := repoTypes[parts[0]]; reserved {
			return "", false
		}
		return kindModel, true
	case 3:
		k, ok := repoTypes[parts[0]]
		return k, ok
	}
	return "", false
}

// --- issued tokens ---

type issued struct {
	resource  string
	kind      kind
	issuedAt  time.Time
	expiresAt time.Time
}

func (s *Sandbox) issue(resource string, k kind) (string, time.Duration) {
	prefix := "hf_jwt_"
	if k == kindUser {
		prefix = "hf_oauth_"
	}
	tok := prefix + randomText(32)
	lifetime := wholeSeconds(s.cfg.TokenLifetime)
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = issued{resource: resource, kind: k, issuedAt: now, expiresAt: now.Add(lifetime)}
	s.minted = append(s.minted, tok)
	s.stats.Issued++
	return tok, lifetime
}

// TokenInfo is what the sandbox remembers of an HF token it issued.
type TokenInfo struct {
	Resource  string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Token tells what tok was issued for, if the sandbox issued it, live or
// not. Tests use it, or whoami over HTTP, to check which token went where.
func (s *Sandbox) Token(tok string) (TokenInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return TokenInfo{Resource: t.resource, IssuedAt: t.issuedAt, ExpiresAt: t.expiresAt}, ok
}

func (s *Sandbox) handleWhoami(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r.Header.Get("Authorization"))
	s.mu.Lock()
	t, known := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !known || !s.cfg.Now().Before(t.expiresAt) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Invalid credentials in Authorization header"})
		return
	}
	perms := []string{"repo.content.read", "repo.write"}
	if t.kind == kindUser {
		perms = []string{"repo.content.read"}
	}
	name := t.resource
	if t.kind != kindModel && t.kind != kindUser {
		_, name, _ = strings.Cut(name, "/") // "datasets/acme/x" → "acme/x"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"type":     "user",
		"name":     "[OIDC] " + t.resource,
		"fullname": "[OIDC] " + t.resource,
		"isPro":    false,
		"orgs":     []any{},
		"auth": map[string]any{
			"type": "access_token",
			"accessToken": map[string]any{
				"displayName": "OIDC " + t.resource,
				"role":        "fineGrained",
				"createdAt":   t.issuedAt.UTC().Format(time.RFC3339),
				"expiresAt":   t.expiresAt.UTC().Format(time.RFC3339),
				"fineGrained": map[string]any{
					"canReadGatedRepos": t.kind == kindUser,
					"global":            []string{},
					"scoped": []any{map[string]any{
						"entity":      map[string]string{"type": string(t.kind), "name": name},
						"permissions": perms,
					}},
				},
			},
		},
	})
}

// --- issuer keys, as the Hub fetches them ---

type keySet map[string]*rsa.PublicKey // by kid

var (
	errKeyFetch   = errors.New("fetching issuer keys")
	errUnknownKid = errors.New("unknown kid")
)

// issuerKey returns the key of iss named kid, fetching the issuer's keys
// when it has none cached or the kid is new (the issuer rotated).
func (s *Sandbox) issuerKey(ctx context.Context, iss, kid string) (*rsa.PublicKey, error) {
	s.mu.Lock()
	k := s.keys[iss][kid]
	s.mu.Unlock()
	if k != nil {
		return k, nil
	}
	// One fetch at a time, and a waiter uses what it fetched: a burst of
	// exchanges on a cold cache fetches the keys once, as a Hub would.
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	s.mu.Lock()
	k = s.keys[iss][kid]
	s.mu.Unlock()
	if k != nil {
		return k, nil
	}
	ks, err := s.fetchKeys(ctx, iss)
	if err != nil {
		return nil, fmt.Errorf("%w of %s: %w", errKeyFetch, iss, err)
	}
	s.mu.Lock()
	s.keys[iss] = ks
	s.stats.KeyFetches++
	s.mu.Unlock()
	if k := ks[kid]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w %q: issuer %s has no such key", errUnknownKid, kid, iss)
}

func (s *Sandbox) fetchKeys(ctx context.Context, iss string) (keySet, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.fetchJSON(ctx, strings.TrimSuffix(iss, "/")+discoveryPath, &disc); err != nil {
		return nil, err
	}
	if disc.Issuer != iss {
		return nil, fmt.Errorf("discovery names issuer %q", disc.Issuer)
	}
	var raw json.RawMessage
	if err := s.fetchJSON(ctx, disc.JWKSURI, &raw); err != nil {
		return nil, err
	}
	return parseJWKS(raw)
}

// fetchJSON gets a document of an issuer. The sandbox fetches only from
// loopback: it must never reach the network, whatever a test configures.
func (s *Sandbox) fetchJSON(ctx context.Context, rawURL string, v any) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !isLoopback(u.Hostname()) {
		return fmt.Errorf("refusing to fetch %q: not a loopback http(s) URL", rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", u.Path, err)
	}
	req.Header.Set(internalHeader, s.internalKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", u.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: status %d", u.Path, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", u.Path, err)
	}
	return nil
}

// parseJWKS reads the RSA signing keys of a JWK set; other keys are skipped.
func parseJWKS(data []byte) (keySet, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Use string `json:"use"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("decoding JWKS: %w", err)
	}
	ks := keySet{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil || len(n) == 0 {
			return nil, fmt.Errorf("decoding JWKS key %q: bad modulus", k.Kid)
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("decoding JWKS key %q: bad exponent", k.Kid)
		}
		exp := new(big.Int).SetBytes(e).Int64()
		if exp < 3 || exp > 1<<31-1 || exp%2 == 0 {
			return nil, fmt.Errorf("decoding JWKS key %q: bad exponent", k.Kid)
		}
		mod := new(big.Int).SetBytes(n)
		// GitHub's and the sandbox's keys are 2048 bits; the Hub would
		// not trust a weaker one.
		if mod.BitLen() < 2048 {
			return nil, fmt.Errorf("decoding JWKS key %q: modulus of %d bits", k.Kid, mod.BitLen())
		}
		ks[k.Kid] = &rsa.PublicKey{N: mod, E: int(exp)}
	}
	if len(ks) == 0 {
		return nil, errors.New("decoding JWKS: no RSA signing key")
	}
	return ks, nil
}
