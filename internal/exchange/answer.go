package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const (
	maxBody     = 64 << 10 // a real answer is a few hundred bytes
	maxTokenLen = 8 << 10  // a Hub JWT is about 1 KiB
	// DocumentedLifetime is how long the Hub documents its tokens to live:
	// the lifetime assumed when an answer has no expires_in, or one too
	// large to be true.
	DocumentedLifetime = time.Hour
	// An expires_in above maxExpiresIn is a bug (milliseconds sent as
	// seconds, say): trusting it would keep a dead token for days.
	maxExpiresIn = 24 * time.Hour
	// An expires_in below minExpiresIn would export a token that is dead
	// before anyone uses it, and make a refresher exchange in a loop.
	minExpiresIn   = time.Second
	maxSnippet     = 100 // runes of an unexpected body quoted in an error
	maxDescription = 500 // runes of an OAuth error_description kept
)

// A Token is a Hugging Face token the Hub issued for one resource.
type Token struct {
	Resource    string
	AccessToken string // secret
	TokenType   string // "bearer", as the Hub spelled it
	// ExpiresAt is the start of the successful attempt plus expires_in: a
	// little early, never late.
	ExpiresAt time.Time
	RequestID string
	// Note says, when it is not empty, that ExpiresAt is not the Hub's own
	// word: its answer had no expires_in, or one too large to be true, and
	// DocumentedLifetime was assumed instead. Worth a warning.
	Note string
}

// String describes the token without the token itself.
func (t Token) String() string {
	s := fmt.Sprintf("token for %s, expires %s", t.Resource, t.ExpiresAt.UTC().Format(time.RFC3339))
	if t.RequestID != "" {
		s += " (request ID " + t.RequestID + ")"
	}
	if t.Note != "" {
		s += "; " + t.Note
	}
	return s
}

// GoString keeps %#v from printing AccessToken.
func (t Token) GoString() string { return t.String() }

// An Error is a failed exchange. Its text quotes at most a short, redacted
// snippet of the Hub's answer, and never a token.
type Error struct {
	Resource    string
	Status      int    // HTTP status of the last answer; 0 when there was none
	Code        string // OAuth error, e.g. invalid_grant
	Description string // OAuth error_description
	RequestID   string // x-request-id of the last answer
	Attempts    int
	// Problem says what was wrong when there is no OAuth error: an answer
	// that is not a valid OAuth answer, a timeout, a refused wait.
	Problem string
	Err     error // the underlying network or context error, if any
}

func (e *Error) Error() string {
	return "exchanging token for " + e.Resource + ": " + e.Summary()
}

// Summary is Error without the resource, for callers that already name it.
func (e *Error) Summary() string {
	var b strings.Builder
	switch {
	case e.Code != "":
		b.WriteString(e.Code)
		if e.Description != "" {
			b.WriteString(": " + e.Description)
		}
	case e.Problem != "":
		b.WriteString(e.Problem)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("unexpected answer")
	}
	var last []string
	if e.Status != 0 {
		last = append(last, "HTTP "+strconv.Itoa(e.Status))
	}
	if e.RequestID != "" {
		last = append(last, "request ID "+e.RequestID)
	}
	switch {
	case e.Attempts > 1 && len(last) > 0:
		fmt.Fprintf(&b, " (%d attempts; last answer: %s)", e.Attempts, strings.Join(last, ", "))
	case e.Attempts > 1:
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	case len(last) > 0:
		fmt.Fprintf(&b, " (%s)", strings.Join(last, ", "))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// success is a valid 200 answer.
type success struct {
	accessToken string
	tokenType   string
	expiresIn   time.Duration
	note        string // why expiresIn is an assumption; "" when it is the Hub's
}

// parseSuccess reads the body of a 200. The body holds a token, so its
// problem never quotes it, only says what is wrong.
func parseSuccess(contentType string, body []byte) (success, string) {
	var fields map[string]json.RawMessage
	if p := decodeProblem(body, &fields); p != "" {
		if mt := mediaType(contentType); mt != "" && !strings.Contains(mt, "json") {
			p += " (Content-Type " + mt + ")"
		}
		return success{}, p
	}
	var s success
	var p string
	if s.accessToken, p = stringField(fields, "access_token"); p != "" {
		return success{}, p
	}
	if p := checkAccessToken(s.accessToken); p != "" {
		return success{}, p
	}
	if s.tokenType, p = stringField(fields, "token_type"); p != "" {
		return success{}, p
	}
	if !strings.EqualFold(s.tokenType, "bearer") {
		return success{}, `token_type is not "bearer"`
	}
	if s.expiresIn, s.note, p = expiresIn(fields["expires_in"]); p != "" {
		return success{}, p
	}
	return s, ""
}

// decodeProblem decodes a JSON object into v, describing a failure in its
// own words: json's messages quote the body.
func decodeProblem(body []byte, v *map[string]json.RawMessage) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return "the body is empty"
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	err := dec.Decode(v)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is truncated JSON"
	case errors.As(err, &se):
		return fmt.Sprintf("the body is not JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return "the body is JSON " + te.Value + ", not an object"
	case err != nil:
		return "the body is not JSON"
	case *v == nil:
		return "the body is JSON null, not an object"
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "the body has data after its JSON object"
	}
	return ""
}

func stringField(fields map[string]json.RawMessage, name string) (string, string) {
	raw, ok := fields[name]
	if !ok {
		return "", name + " is missing"
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", name + " is not a string"
	}
	return s, ""
}

// checkAccessToken checks the b64token syntax of RFC 6750, the only form a
// bearer token can take in an Authorization header.
func checkAccessToken(tok string) string {
	if tok == "" {
		return "access_token is empty"
	}
	if len(tok) > maxTokenLen {
		return fmt.Sprintf("access_token is %d bytes long, more than %d", len(tok), maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if !isTokenChar(tok[i]) {
			return fmt.Sprintf("access_token has a character outside RFC 6750's token alphabet (at byte %d)", i)
		}
	}
	return ""
}

func isTokenChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0
}

// expiresIn reads the lifetime of a token, strictly where a wrong value
// would export a token that is already dead or make a refresher spin (zero,
// negative, under a second, not a number), and falling back on the
// documented lifetime, with a note, where the value is missing (RFC 6749
// only recommends it) or beyond any real lifetime.
func expiresIn(raw json.RawMessage) (d time.Duration, note, problem string) {
	raw = bytes.TrimSpace(raw)
	switch {
	case raw == nil:
		return DocumentedLifetime, "the answer has no expires_in: assumed the documented " + lifetime(DocumentedLifetime), ""
	case len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9'):
		return 0, "", "expires_in is not a number"
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return 0, "", "expires_in is not a usable number"
	}
	shown := string(raw)
	if len(shown) > 20 {
		shown = "a long number"
	}
	switch {
	case f <= 0:
		return 0, "", fmt.Sprintf("expires_in is %s: not positive", shown)
	case f < minExpiresIn.Seconds():
		return 0, "", fmt.Sprintf("expires_in is %s: less than %s, the token would be dead before use", shown, lifetime(minExpiresIn))
	case f > maxExpiresIn.Seconds():
		return DocumentedLifetime, fmt.Sprintf("expires_in is %s seconds, more than %s: assumed the documented %s instead", shown, lifetime(maxExpiresIn), lifetime(DocumentedLifetime)), ""
	}
	return time.Duration(f * float64(time.Second)), "", ""
}

// lifetime writes d without its zero units: "1h", "1m30s", "10s".
func lifetime(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// oauthError is the body of a failed OAuth request (RFC 6749 §5.2).
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// parseFailure reads the body of an answer other than 2xx: the OAuth error
// if there is one, else a problem with a short, redacted snippet.
func parseFailure(status int, contentType string, body []byte, tooLarge bool, secrets ...string) (code, desc, problem string) {
	var oe oauthError
	if !tooLarge && json.Unmarshal(body, &oe) == nil && oe.Code != "" {
		return safetext.Snippet(oe.Code, maxSnippet, secrets...), safetext.Snippet(oe.Description, maxDescription, secrets...), ""
	}
	switch {
	case status == http.StatusTooManyRequests:
		problem = "rate limited"
	case status >= 500:
		problem = "server error"
	default:
		problem = "unexpected answer"
	}
	text := strings.TrimSpace(string(body))
	switch {
	case text == "":
		return "", "", problem
	case tooLarge:
		problem += fmt.Sprintf(", larger than %d KiB", maxBody>>10)
	case !json.Valid(body):
		problem += ", not JSON"
		if mt := mediaType(contentType); mt != "" {
			problem += " but " + mt
		}
	}
	// Quoted, so that where the server's words end is plain.
	return "", "", problem + ": " + safetext.Quote(strings.Join(strings.Fields(safetext.Redact(text, secrets...)), " "), maxSnippet)
}

// mediaType is the Content-Type's media type, or "" when it is absent or
// odd enough to be worth nothing in a message.
func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || len(mt) > 50 {
		return ""
	}
	return mt
}
