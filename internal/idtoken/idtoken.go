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

// MaxLen bounds a raw ID token. Real ones are 1 to 2 KiB; 16 KiB leaves room
// for any claim set while keeping a wrong file (a log, a binary) from being
// decoded and sent.
const MaxLen = 16 << 10

// Expected says what an ID token looks like, for messages that must say what
// was expected without quoting the token.
const Expected = "a JWT: three base64url parts separated by dots (eyJ….eyJ….…), as the CI provider minted it, with nothing added, cut or re-encoded"

// Parse reads the claims of a compact JWS (header.payload.signature). It
// checks the shape (three non-empty base64url parts, a header and a payload
// that are JSON objects) and the claims hf-oidc relies on (exp, and iss, sub,
// aud, iat, nbf when present), not the signature. Surrounding white space, as
// a token read from a file may have, is dropped. No error quotes the token
// or any part of it: errors give byte offsets instead.
func Parse(raw string) (*Token, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("not a JWT: the token is empty")
	}
	if len(raw) > MaxLen {
		return nil, fmt.Errorf("not a JWT: the token is %d bytes long, more than %d KiB (a wrong file?)", len(raw), MaxLen>>10)
	}
	// The alphabet first, so that two tokens pasted together or a line
	// break inside read as what they are, not as a count of parts; and
	// with an offset, where a base64 decoder's own message would quote.
	if j := strings.IndexFunc(raw, func(r rune) bool { return !isB64URL(r) && r != '.' && r != '=' }); j >= 0 {
		return nil, fmt.Errorf("not a JWT: byte %d is not base64url but %s", j, describeByte(raw[j]))
	}
	parts := strings.Split(raw, ".")
	switch {
	case len(parts) == 5:
		return nil, errors.New("not a JWT: it has 5 dot-separated parts (an encrypted JWE?), want 3")
	case len(parts) != 3:
		return nil, fmt.Errorf("not a JWT: it has %d dot-separated part%s, want 3", len(parts), plural(len(parts)))
	}
	offset := 0
	for i, p := range parts {
		// JWTs are unpadded base64url; tolerate padding, which some
		// encoders add, and only at the end of a part.
		p = strings.TrimRight(p, "=")
		if p == "" {
			return nil, fmt.Errorf("not a JWT: the %s is empty (truncated?)", partNames[i])
		}
		if j := strings.IndexByte(p, '='); j >= 0 {
			return nil, fmt.Errorf("not a JWT: byte %d, in the %s, is not base64url but '='", offset+j, partNames[i])
		}
		offset += len(parts[i]) + 1
		parts[i] = p
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("not a JWT: the header (first part) is not valid base64url (truncated?)")
	}
	if _, err := decodeObject("header", header); err != nil {
		return nil, err
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("not a JWT: the payload (second part) is not valid base64url (truncated?)")
	}
	claims, err := decodeObject("payload", payload)
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

var partNames = [3]string{"header (first part)", "payload (second part)", "signature (third part)"}

func isB64URL(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '_'
}

// describeByte names a byte without printing it raw: the token's own
// characters stay out of messages, and a control character would garble a
// terminal.
func describeByte(c byte) string {
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		return "white space (a token is one word)"
	case c == '+' || c == '/':
		return fmt.Sprintf("%q (standard base64, which a JWT does not use)", c)
	case c < 0x20 || c == 0x7f:
		return "a control character"
	case c >= 0x80:
		return "a non-ASCII byte"
	}
	return fmt.Sprintf("%q", c)
}

func decodeObject(part string, data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// json's own messages quote the offending character; an offset
		// says enough without quoting any of the token.
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("JWT %s is not valid JSON (at byte %d)", part, se.Offset)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("JWT %s is truncated JSON", part)
		default:
			return nil, fmt.Errorf("JWT %s is not valid JSON", part)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("JWT %s has data after its JSON object", part)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("JWT %s is a JSON %s, not an object", part, jsonKind(v))
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
