package idtoken

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// A Token is an ID token and its claims, read without verifying the
// signature: the Hub verifies it, hf-oidc only reads it to decide when to
// re-mint and to show the claims the Hub will see.
type Token struct {
	Raw string // the JWT as sent to the Hub: secret
	// Claims are all the payload's claims. Numbers are json.Number, so that
	// large ids keep every digit.
	Claims    map[string]any
	Issuer    string
	Subject   string
	Audience  []string
	IssuedAt  time.Time // zero when the token has no iat
	NotBefore time.Time // zero when the token has no nbf
	Expiry    time.Time
}

// String describes the token without the token itself, so that printing one
// by mistake leaks nothing.
func (t *Token) String() string {
	if t == nil {
		return "no ID token"
	}
	return fmt.Sprintf("ID token from %s for %s, expires %s",
		t.Issuer, t.Subject, t.Expiry.UTC().Format(time.RFC3339))
}

// GoString keeps %#v from printing Raw.
func (t *Token) GoString() string { return t.String() }

// Parse reads the claims of a compact JWS (header.payload.signature). It
// checks the shape and the claims hf-oidc relies on (exp, and iss, sub, aud,
// iat, nbf when present), not the signature. Surrounding white space, as a
// token read from a file may have, is dropped. No error quotes the token or
// any part of it.
func Parse(raw string) (*Token, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("not a JWT: the token is empty")
	}
	parts := strings.Split(raw, ".")
	switch {
	case len(parts) == 5:
		return nil, errors.New("not a JWT: it has 5 dot-separated parts (an encrypted JWE?), want 3")
	case len(parts) != 3:
		return nil, fmt.Errorf("not a JWT: it has %d dot-separated part%s, want 3", len(parts), plural(len(parts)))
	}
	if parts[1] == "" {
		return nil, errors.New("not a JWT: the payload (second part) is empty")
	}
	// JWTs are unpadded base64url; tolerate padding, which some encoders add.
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("decoding JWT payload: %w", err)
	}
	claims, err := decodeObject(payload)
	if err != nil {
		return nil, err
	}

	t := &Token{Raw: raw, Claims: claims}
	if t.Issuer, err = stringClaim(claims, "iss"); err != nil {
		return nil, err
	}
	if t.Subject, err = stringClaim(claims, "sub"); err != nil {
		return nil, err
	}
	if t.Audience, err = audience(claims); err != nil {
		return nil, err
	}
	if _, ok := claims["exp"]; !ok {
		return nil, errors.New("JWT has no exp claim: cannot tell when it expires")
	}
	if t.Expiry, err = timeClaim(claims, "exp"); err != nil {
		return nil, err
	}
	if t.IssuedAt, err = timeClaim(claims, "iat"); err != nil {
		return nil, err
	}
	if t.NotBefore, err = timeClaim(claims, "nbf"); err != nil {
		return nil, err
	}
	return t, nil
}

func decodeObject(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// json's own messages quote the offending character; an offset
		// says enough without quoting any of the token.
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("JWT payload is not valid JSON (at byte %d)", se.Offset)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("JWT payload is truncated JSON")
		default:
			return nil, errors.New("JWT payload is not valid JSON")
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("JWT payload has data after its JSON object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("JWT payload is a JSON %s, not an object", jsonKind(v))
	}
	return m, nil
}

func stringClaim(claims map[string]any, name string) (string, error) {
	v, ok := claims[name]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("JWT claim %s is a JSON %s, not a string", name, jsonKind(v))
	}
	return s, nil
}

// audience reads aud, which RFC 7519 allows to be one string or an array.
func audience(claims map[string]any) ([]string, error) {
	switch v := claims["aud"].(type) {
	case nil:
		if _, ok := claims["aud"]; ok {
			return nil, errors.New("JWT claim aud is null, not a string or an array of strings")
		}
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		aud := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("JWT claim aud[%d] is a JSON %s, not a string", i, jsonKind(e))
			}
			aud = append(aud, s)
		}
		return aud, nil
	default:
		return nil, fmt.Errorf("JWT claim aud is a JSON %s, not a string or an array of strings", jsonKind(v))
	}
}

// maxSeconds keeps a NumericDate within what time.Time represents exactly
// and far beyond any real token (year 9999 is 253402300799).
const maxSeconds = 1 << 40

// timeClaim reads a NumericDate: seconds since the epoch, possibly
// fractional. An absent claim is the zero time.
func timeClaim(claims map[string]any, name string) (time.Time, error) {
	v, ok := claims[name]
	if !ok {
		return time.Time{}, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fmt.Errorf("JWT claim %s is a JSON %s, not a number", name, jsonKind(v))
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.Abs(f) > maxSeconds {
		return time.Time{}, fmt.Errorf("JWT claim %s is not a usable number of seconds since 1970", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
