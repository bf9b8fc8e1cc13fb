package idtoken

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// jwt builds an unsigned-looking compact JWS around payload; the signature
// is never checked, so any bytes do.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature-bytes-that-nobody-checks"))
}

// parts3 splits a JWT into its header, payload and signature.
func parts3(raw string) (h, p, sig string) {
	parts := strings.SplitN(raw, ".", 3)
	return parts[0], parts[1], parts[2]
}

func claimsJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return jwt(string(b))
}

func TestParse(t *testing.T) {
	t.Parallel()
	raw := jwt(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:acme/model:ref:refs/heads/main",` +
		`"aud":"https://huggingface.co","iat":1700000000,"nbf":1699999990,"exp":1700000300.5,"repository_id":"123","run_id":12345678901234567890}`)
	tok, err := Parse("  " + raw + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Raw != raw {
		t.Errorf("Raw is not the trimmed input")
	}
	if tok.Issuer != "https://token.actions.githubusercontent.com" || tok.Subject != "repo:acme/model:ref:refs/heads/main" {
		t.Errorf("iss, sub = %q, %q", tok.Issuer, tok.Subject)
	}
	if len(tok.Audience) != 1 || tok.Audience[0] != "https://huggingface.co" {
		t.Errorf("aud = %q", tok.Audience)
	}
	if want := time.Unix(1700000000, 0); !tok.IssuedAt.Equal(want) {
		t.Errorf("iat = %v, want %v", tok.IssuedAt, want)
	}
	if want := time.Unix(1699999990, 0); !tok.NotBefore.Equal(want) {
		t.Errorf("nbf = %v, want %v", tok.NotBefore, want)
	}
	if want := time.Unix(1700000300, 5e8); !tok.Expiry.Equal(want) {
		t.Errorf("exp = %v, want %v", tok.Expiry, want)
	}
	// Large ids keep every digit.
	if got := tok.Claims["run_id"]; got != json.Number("12345678901234567890") {
		t.Errorf("run_id = %#v", got)
	}
}

func TestParseAudienceArray(t *testing.T) {
	t.Parallel()
	tok, err := Parse(jwt(`{"aud":["https://huggingface.co","other"],"exp":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tok.Audience, ",") != "https://huggingface.co,other" {
		t.Errorf("aud = %q", tok.Audience)
	}
	if !tok.IssuedAt.IsZero() || !tok.NotBefore.IsZero() || tok.Issuer != "" {
		t.Errorf("absent claims should be zero: %+v", tok)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString
	good := jwt(`{"sub":"repo:acme/training","exp":1700000000}`)
	h, p, sig := parts3(good)
	tests := []struct {
		name, raw, want string
	}{
		{"empty", "  ", "the token is empty"},
		{"one part", "justsomesecretvalue", "1 dot-separated part, want 3"},
		{"two parts", "abcdefgh.ijklmnop", "2 dot-separated parts, want 3"},
		{"four parts", "a.b.c.d", "4 dot-separated parts"},
		{"JWE", "a.b.c.d.e", "encrypted JWE"},
		{"empty header", "." + p + "." + sig, "the header (first part) is empty (truncated?)"},
		{"empty payload", h + ".." + sig, "the payload (second part) is empty (truncated?)"},
		{"empty signature (unsigned)", h + "." + p + ".", "the signature (third part) is empty (truncated?)"},
		{"only padding", h + ".==." + sig, "the payload (second part) is empty"},
		{"truncated in the payload", good[:len(h)+1+len(p)/2], "2 dot-separated parts, want 3"},
		{"truncated payload", h + "." + p[:len(p)-5] + "." + sig, "JWT payload is truncated JSON"},
		{"payload cut to a bad length", h + "." + p[:len(p)-len(p)%4-3] + "." + sig, "payload (second part) is not valid base64url (truncated?)"},
		{"bad base64", h + ".!!!!." + sig, "byte " + fmt.Sprint(len(h)+1) + " is not base64url but '!'"},
		{"standard base64", h + "." + p + "+/." + sig, "is not base64url but '+' (standard base64"},
		{"space inside", h + "." + p + " ." + sig, "but white space (a token is one word)"},
		{"line break inside", h + ".\n" + p + "." + sig, "byte " + fmt.Sprint(len(h)+1) + " is not base64url but white space"},
		{"two tokens", good + " " + good, "byte " + fmt.Sprint(len(good)) + " is not base64url but white space (a token is one word)"},
		{"control character", h + "." + p + "." + sig + "\x1b", "is not base64url but a control character"},
		{"non-ASCII", h + "." + p + "é." + sig, "but a non-ASCII byte"},
		{"padding inside", h + "." + p[:4] + "=" + p[4:] + "." + sig, "is not base64url but '='"},
		{"huge", h + "." + p + "." + strings.Repeat("A", MaxLen), "more than 16 KiB"},
		{"header not JSON", enc([]byte("secretstuff")) + "." + p + "." + sig, "JWT header is not valid JSON (at byte 1)"},
		{"header an array", enc([]byte("[]")) + "." + p + "." + sig, "JWT header is a JSON array, not an object"},
		{"not JSON", h + "." + enc([]byte("secretstuff")) + "." + sig, "JWT payload is not valid JSON (at byte 1)"},
		{"truncated JSON", jwt(`{"exp":1,"sub":"x`), "JWT payload is truncated JSON"},
		{"array", jwt(`[1,2]`), "JSON array, not an object"},
		{"string", jwt(`"x"`), "JSON string, not an object"},
		{"null", jwt(`null`), "JSON null, not an object"},
		{"trailing data", jwt(`{"exp":1} {}`), "data after its JSON object"},
		{"exp missing", jwt(`{"sub":"x"}`), "no exp claim"},
		{"exp string", jwt(`{"exp":"1700000000"}`), "exp is a JSON string, not a number"},
		{"exp null", jwt(`{"exp":null}`), "exp is a JSON null, not a number"},
		{"exp huge", jwt(`{"exp":1e300}`), "exp is not a usable number"},
		{"iat bool", jwt(`{"exp":1,"iat":true}`), "iat is a JSON boolean"},
		{"nbf object", jwt(`{"exp":1,"nbf":{}}`), "nbf is a JSON object"},
		{"iss number", jwt(`{"exp":1,"iss":5}`), "iss is a JSON number, not a string"},
		{"sub array", jwt(`{"exp":1,"sub":[]}`), "sub is a JSON array"},
		{"aud number", jwt(`{"exp":1,"aud":5}`), "aud is a JSON number, not a string or an array"},
		{"aud null", jwt(`{"exp":1,"aud":null}`), "aud is null"},
		{"aud element", jwt(`{"exp":1,"aud":["a",5]}`), "aud[1] is a JSON number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok, err := Parse(tt.raw)
			if err == nil {
				t.Fatalf("Parse succeeded: %v", tok)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			assertNoLeak(t, err.Error(), tt.raw)
		})
	}
}

// Padding is not JWT, but some encoders add it and the Hub's libraries
// tolerate it: so does Parse, at the end of a part only.
func TestParseToleratesPadding(t *testing.T) {
	t.Parallel()
	raw := jwt(`{"exp":1700000000,"sub":"x"}`)
	h, p, sig := parts3(raw)
	for _, in := range []string{h + "==." + p + "=." + sig + "=", " \n" + raw + "\r\n\t"} {
		tok, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if tok.Subject != "x" || tok.Raw != strings.TrimSpace(in) {
			t.Errorf("Parse(%q) = %+v", in, tok)
		}
	}
}

// assertNoLeak fails if msg quotes raw or any long part of it.
func assertNoLeak(t testing.TB, msg, raw string) {
	t.Helper()
	raw = strings.TrimSpace(raw)
	if len(raw) >= 8 && strings.Contains(msg, raw) {
		t.Fatalf("message %q contains the token", msg)
	}
	for _, p := range strings.Split(raw, ".") {
		if len(p) >= 8 && strings.Contains(msg, p) {
			t.Fatalf("message %q contains the token part %q", msg, p)
		}
	}
}

func TestTokenString(t *testing.T) {
	t.Parallel()
	raw := claimsJWT(t, map[string]any{"iss": "https://issuer.example", "sub": "job-1", "exp": 1700000000})
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := "ID token from https://issuer.example for job-1, expires 2023-11-14T22:13:20Z"
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		got := fmt.Sprintf(format, tok)
		if got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", format, got, want)
		}
		assertNoLeak(t, got, raw)
	}
	// Inside another value, too.
	assertNoLeak(t, fmt.Sprintf("%+v %#v", struct{ T *Token }{tok}, []*Token{tok}), raw)
	if got := (*Token)(nil).String(); got != "no ID token" {
		t.Errorf("nil String = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(jwt(`{"iss":"https://gitlab.com","sub":"project_path:acme/x","aud":"https://huggingface.co","exp":1700000000,"iat":1699999000}`))
	f.Add(jwt(`{"aud":["a","b"],"exp":1.5,"nbf":-1}`))
	f.Add(jwt(`{"exp":"soon"}`))
	f.Add(jwt(`[]`))
	f.Add(jwt(`{"exp":1e999}`))
	f.Add(jwt(`{"exp":1}`) + "=")
	f.Add("a.b.c")
	f.Add("a.b.c.d.e")
	f.Add("eyJ.eyJ=.x")
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln\x00")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw)
		if err != nil {
			if tok != nil {
				t.Fatal("token and error both set")
			}
			msg := err.Error()
			// No run of the input this long occurs in Parse's own
			// wording, so finding one means the input was quoted.
			for _, p := range strings.Split(strings.TrimSpace(raw), ".") {
				if len(p) >= 16 && strings.Contains(msg, p) {
					t.Fatalf("error %q quotes the input part %q", msg, p)
				}
			}
			if strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f || r == utf8.RuneError }) {
				t.Fatalf("error %q holds a control character or invalid UTF-8", msg)
			}
			if len(msg) > 200 {
				t.Fatalf("error of %d bytes: %q", len(msg), msg)
			}
			return
		}
		if tok.Raw != strings.TrimSpace(raw) || len(tok.Raw) > MaxLen {
			t.Fatal("Raw is not the trimmed input, or too long")
		}
		if strings.Count(tok.Raw, ".") != 2 || strings.ContainsFunc(tok.Raw, func(r rune) bool { return !isB64URL(r) && r != '.' && r != '=' }) {
			t.Fatalf("accepted a token outside the JWT alphabet: %q", tok.Raw)
		}
		if _, ok := tok.Claims["exp"]; !ok {
			t.Fatal("parsed a token without exp")
		}
		again, err := Parse(tok.Raw)
		if err != nil || !again.Expiry.Equal(tok.Expiry) || again.Subject != tok.Subject {
			t.Fatalf("Parse(Raw) = %v, %v; want the same token", again, err)
		}
		if s := fmt.Sprintf("%v %+v %#v", tok, tok, tok); len(tok.Raw) >= 16 && strings.Contains(s, tok.Raw) {
			t.Fatal("formatting the token prints it")
		}
	})
}

// FuzzParsePayload fuzzes what is inside a well-formed JWT: Parse accepts
// no payload that is not a JSON object, and reads an accepted one's claims
// exactly as encoding/json does.
func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{
		`{"exp":1700000000,"sub":"x","aud":["a"]}`, `{"exp":1,"run_id":12345678901234567890}`, `{"exp":-1e-9}`,
		`{"exp":1,"iat":1e10,"nbf":0}`, `[]`, `null`, `{"exp":1}{}`, `{"exp":1`, "\xff", `{"exp":1,"exp":"x"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		tok, err := Parse(jwt(payload))
		dec := json.NewDecoder(strings.NewReader(payload))
		dec.UseNumber()
		var want map[string]any
		decErr := dec.Decode(&want)
		if decErr == nil && dec.More() {
			decErr = errors.New("trailing data")
		}
		if decErr != nil || want == nil {
			if err == nil {
				t.Fatalf("Parse accepted the payload %q, which is no JSON object", payload)
			}
			return
		}
		if err != nil {
			return // a claim of the wrong type: TestParseErrors pins each
		}
		if !reflect.DeepEqual(tok.Claims, want) {
			t.Fatalf("claims = %v, want %v", tok.Claims, want)
		}
		if tok.Expiry.IsZero() && want["exp"] != json.Number("-62135596800") {
			// exp is required; only the zero time's own second maps to it.
			t.Fatalf("accepted exp %v as the zero time", want["exp"])
		}
	})
}
