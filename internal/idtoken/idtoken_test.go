package idtoken

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// jwt builds an unsigned-looking compact JWS around payload; the signature
// is never checked, so any bytes do.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature-bytes-that-nobody-checks"))
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
	tests := []struct {
		name, raw, want string
	}{
		{"empty", "  ", "the token is empty"},
		{"one part", "justsomesecretvalue", "1 dot-separated part, want 3"},
		{"two parts", "abcdefgh.ijklmnop", "2 dot-separated parts, want 3"},
		{"four parts", "a.b.c.d", "4 dot-separated parts"},
		{"JWE", "a.b.c.d.e", "encrypted JWE"},
		{"empty payload", "abc..def", "payload (second part) is empty"},
		{"bad base64", "abc.!!!!.def", "decoding JWT payload: illegal base64"},
		{"not JSON", "abc." + enc([]byte("secretstuff")) + ".def", "not valid JSON (at byte 1)"},
		{"truncated JSON", jwt(`{"exp":1,"sub":"x`), "truncated JSON"},
		{"array", jwt(`[1,2]`), "JSON array, not an object"},
		{"string", jwt(`"x"`), "JSON string, not an object"},
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
	f.Add("a.b.c")
	f.Add("a.b.c.d.e")
	f.Add("eyJ.eyJ=.x")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw)
		if err != nil {
			if tok != nil {
				t.Fatal("token and error both set")
			}
			msg := err.Error()
			// Long runs of the JWT alphabet never occur in Parse's own
			// wording, so finding one means the input was quoted.
			for _, p := range strings.Split(strings.TrimSpace(raw), ".") {
				if len(p) >= 20 && strings.Contains(msg, p) {
					t.Fatalf("error %q quotes the input part %q", msg, p)
				}
			}
			return
		}
		if tok.Raw != strings.TrimSpace(raw) {
			t.Fatal("Raw is not the trimmed input")
		}
		if _, ok := tok.Claims["exp"]; !ok {
			t.Fatal("parsed a token without exp")
		}
		if s := tok.String(); len(tok.Raw) >= 20 && strings.Contains(s, tok.Raw) {
			t.Fatal("String contains the token")
		}
	})
}
