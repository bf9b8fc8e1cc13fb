package exchange

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// TestSnippetAndClean: an unexpected body is quoted as a redacted,
// one-line snippet, and an OAuth error's description is kept redacted and
// on one line.
func TestSnippetAndClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, snippet, clean string
	}{
		{"plain", "bad gateway", `"bad gateway"`, "bad gateway"},
		{"white space collapsed", " a\n\tb\r\n c ", `"a b c"`, "a b c"},
		{"control characters", "a\x00b\x1b[31mc", `"a\x00b\x1B[31mc"`, `a\x00b\x1B[31mc`},
		{"invalid UTF-8", "a\xffb", `"a\xFFb"`, "a\ufffdb"}, // JSON decodes the byte as U+FFFD
		{"unicode kept", "café ☕", `"café ☕"`, "café ☕"},
		{"bidi override escaped", "a\u202eb", `"a\u202Eb"`, `a\u202Eb`},
		{"long", strings.Repeat("é", 150), `"` + strings.Repeat("é", 100) + `…"`, strings.Repeat("é", 150)},
		{"exactly the limit", strings.Repeat("x", 100), `"` + strings.Repeat("x", 100) + `"`, strings.Repeat("x", 100)},
		{"one under the limit", strings.Repeat("x", 99), `"` + strings.Repeat("x", 99) + `"`, strings.Repeat("x", 99)},
		{"one over the limit", strings.Repeat("x", 101), `"` + strings.Repeat("x", 100) + `…"`, strings.Repeat("x", 101)},
		{"the limit in runes, twice in bytes", strings.Repeat("é", 100), `"` + strings.Repeat("é", 100) + `"`, strings.Repeat("é", 100)},
		{"one rune over, in two-byte runes", strings.Repeat("é", 101), `"` + strings.Repeat("é", 100) + `…"`, strings.Repeat("é", 101)},
		{"the limit in bytes, half in runes", strings.Repeat("é", 50), `"` + strings.Repeat("é", 50) + `"`, strings.Repeat("é", 50)},
		{"an escape across the limit", strings.Repeat("x", 97) + "\x01", `"` + strings.Repeat("x", 97) + `…"`, strings.Repeat("x", 97) + `\x01`},
		{"ID token", "token " + idTok + " refused", `"token [redacted] refused"`, "token [redacted] refused"},
		{"hf token", "hf_abcdefgh1234 is bad", `"[redacted] is bad"`, "[redacted] is bad"},
		{"hf token with - and .", "hf_jwt_Ab-cd.ef_gh~ij is bad", `"[redacted] is bad"`, "[redacted] is bad"},
		{"short hf_ word kept", "use hf_cli", `"use hf_cli"`, "use hf_cli"},
		{"JWT header alone", "eyJhbGciOiJSUzI1NiJ9", `"[redacted]"`, "[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, _, problem := parseFailure(502, "text/plain", []byte(tt.in), false, idTok); problem != "server error, not JSON but text/plain: "+tt.snippet {
				t.Errorf("problem = %s, want the snippet %s", problem, tt.snippet)
			}
			body, err := json.Marshal(oauthError{Code: "invalid_grant", Description: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if _, desc, _ := parseFailure(400, "application/json", body, false, idTok); desc != tt.clean {
				t.Errorf("description = %s, want %s", desc, tt.clean)
			}
		})
	}
}

// A token the fuzzer cannot easily hit by chance, to check that nothing
// from a success body reaches a message.
const fuzzToken = "hf_jwt_fuzz0123456789abcdefABCDEF"

func FuzzParseSuccess(f *testing.F) {
	f.Add("application/json", `{"access_token":"`+fuzzToken+`","token_type":"bearer","expires_in":3600}`)
	f.Add("application/json", `{"access_token":"`+fuzzToken+`","token_type":"Bearer","expires_in":86400.5}`)
	f.Add("application/json", `{"access_token":"`+fuzzToken+`","token_type":"bearer","expires_in":"3600"}`)
	f.Add("application/json", `{"access_token":"`+fuzzToken+` ","token_type":"bearer","expires_in":1}`)
	f.Add("text/html", `<html>`+fuzzToken+`</html>`)
	f.Add("", `{"access_token":"`+fuzzToken)
	f.Add("", `[`+fuzzToken+`]`)
	f.Add("", `{"access_token":"`+fuzzToken+`","token_type":"bearer","expires_in":-1e400}`)
	f.Add("", `null`)
	f.Add("application/json", `{"access_token":"`+fuzzToken+`","token_type":"bearer"}`)
	f.Add("application/json", `{"access_token":"`+fuzzToken+`","token_type":"bearer","expires_in":3600000000}`)
	f.Add("application/json", `{"access_token":"`+fuzzToken+`","token_type":"bearer","expires_in":0.999}`)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		ok, problem := parseSuccess(contentType, []byte(body))
		if problem != "" {
			if ok != (success{}) {
				t.Fatal("a problem and a result")
			}
			// The body holds a token: no run of it may show.
			if strings.Contains(problem, fuzzToken) || strings.Contains(problem, "fuzz0123") {
				t.Fatalf("problem %q quotes the body", problem)
			}
			if strings.ContainsFunc(problem, func(r rune) bool { return r == '\n' || r == '\r' }) {
				t.Fatalf("problem %q is not one line", problem)
			}
			return
		}
		if checkAccessToken(ok.accessToken) != "" || !strings.EqualFold(ok.tokenType, "bearer") {
			t.Fatalf("accepted %+v", ok)
		}
		if ok.expiresIn < minExpiresIn || ok.expiresIn > maxExpiresIn || ok.note != "" && ok.expiresIn != DocumentedLifetime {
			t.Fatalf("accepted expires_in %v (note %q)", ok.expiresIn, ok.note)
		}
		// UseNumber: a field hf-oidc ignores may hold a number beyond
		// float64 (1e700) and still be JSON.
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m["access_token"] != ok.accessToken {
			t.Fatalf("accepted a body json cannot read: %v", err)
		}
	})
}

func FuzzParseFailure(f *testing.F) {
	f.Add(400, "application/json", `{"error":"invalid_grant","error_description":"No publisher"}`, false)
	f.Add(400, "application/json", `{"error":"invalid_grant","error_description":"`+idTok+`"}`, false)
	f.Add(503, "text/html", "<html>\n<h1>503</h1>\x00\x1b[0m</html>", false)
	f.Add(429, "", "", false)
	f.Add(404, "text/plain", strings.Repeat("long ", 100), true)
	f.Add(500, "application/json", `{"error":5}`, false)
	f.Fuzz(func(t *testing.T, status int, contentType, body string, tooLarge bool) {
		code, desc, problem := parseFailure(status, contentType, []byte(body), tooLarge, idTok)
		if (code == "") == (problem == "") {
			t.Fatalf("want either a code or a problem: %q %q", code, problem)
		}
		for _, s := range []string{code, desc, problem} {
			if strings.Contains(s, idTok) || strings.Contains(s, "eyJhbGciOiJSUzI1NiIs") {
				t.Fatalf("%q holds the ID token", s)
			}
			if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) }) {
				t.Fatalf("%q holds a control character", s)
			}
			if !utf8.ValidString(s) {
				t.Fatalf("%q is not UTF-8", s)
			}
		}
		if utf8.RuneCountInString(problem) > 200 || utf8.RuneCountInString(desc) > maxDescription+1 || utf8.RuneCountInString(code) > maxSnippet+1 {
			t.Fatalf("too long: %q %q %q", code, desc, problem)
		}
	})
}

func TestParseSuccessExpiresIn(t *testing.T) {
	t.Parallel()
	const assumed = "assumed the documented 1h"
	// Both sides of each edge: under a second is refused, over a day is
	// not believed.
	for _, tt := range []struct {
		in      string // "" is a missing expires_in
		want    time.Duration
		note    string // part of the note; "" for none
		problem string // part of the problem; "" for none
	}{
		{"3600", time.Hour, "", ""},
		{"", DocumentedLifetime, "the answer has no expires_in: " + assumed, ""},
		{"86400", 24 * time.Hour, "", ""},
		{"86400.001", DocumentedLifetime, "expires_in is 86400.001 seconds, more than 24h: " + assumed + " instead", ""},
		{"3600000", DocumentedLifetime, "expires_in is 3600000 seconds, more than 24h: " + assumed, ""},
		{"1e300", DocumentedLifetime, "expires_in is 1e300 seconds", ""},
		{"123456789012345678901234567890", DocumentedLifetime, "expires_in is a long number seconds", ""},
		{"1", time.Second, "", ""},
		{"1.5", 1500 * time.Millisecond, "", ""},
		{"0.999", 0, "", "expires_in is 0.999: less than 1s"},
		{"0", 0, "", "expires_in is 0: not positive"},
		{"-0", 0, "", "expires_in is -0: not positive"},
		{"-3600", 0, "", "expires_in is -3600: not positive"},
		{`"3600"`, 0, "", "expires_in is not a number"},
		{"null", 0, "", "expires_in is not a number"},
		{"1e400", 0, "", "expires_in is not a usable number"},
	} {
		var raw json.RawMessage
		if tt.in != "" {
			raw = json.RawMessage(tt.in)
		}
		got, note, problem := expiresIn(raw)
		if got != tt.want || !strings.Contains(note, tt.note) || (tt.note == "") != (note == "") ||
			!strings.Contains(problem, tt.problem) || (tt.problem == "") != (problem == "") {
			t.Errorf("expiresIn(%s) = %v, note %q, problem %q; want %v, %q, %q", tt.in, got, note, problem, tt.want, tt.note, tt.problem)
		}
	}
}

// The note of an assumed lifetime reaches the Token, and its text, with
// the expiry it caused.
func TestTokenNote(t *testing.T) {
	t.Parallel()
	ok, problem := parseSuccess("application/json", []byte(`{"access_token":"`+fuzzToken+`","token_type":"bearer"}`))
	if problem != "" || ok.expiresIn != DocumentedLifetime || ok.note == "" {
		t.Fatalf("parseSuccess without expires_in = %+v, %q", ok, problem)
	}
	tok := Token{Resource: "acme/model", AccessToken: fuzzToken, ExpiresAt: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC), Note: ok.note}
	if got, want := tok.String(), "token for acme/model, expires 2026-03-01T13:00:00Z; the answer has no expires_in: assumed the documented 1h"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestAccessTokenAlphabet pins RFC 6750's b64token alphabet at both of its
// edges: every character it allows ("-" the first to be forgotten) makes a
// usable token, and the characters just outside each range do not.
func TestAccessTokenAlphabet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tok string
		ok        bool
	}{
		{"letters and digits at the ends of their ranges", "hf_AZaz09", true},
		{"hyphen", "hf_jwt-abc-def", true},
		{"dot", "hf_jwt.abc.def", true},
		{"underscore", "hf_jwt_abc_def", true},
		{"tilde", "hf_jwt~abc", true},
		{"plus", "hf_jwt+abc", true},
		{"slash", "hf_jwt/abc", true},
		{"equals padding", "hf_jwt_abc==", true},
		{"the whole alphabet", "hf_-._~+/=AZaz09", true},
		{"a JWT", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_", true},
		{"at before A", "hf_a@b", false},
		{"bracket after Z", "hf_a[b", false},
		{"backquote before a", "hf_a`b", false},
		{"brace after z", "hf_a{b", false},
		{"colon after 9", "hf_a:b", false},
		{"comma between + and -", "hf_a,b", false},
		{"star", "hf_a*b", false},
		{"space", "hf_a b", false},
		{"DEL", "hf_a\x7fb", false},
		{"non-ASCII", "hf_aéb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := json.Marshal(map[string]any{"access_token": tt.tok, "token_type": "bearer", "expires_in": 3600})
			if err != nil {
				t.Fatal(err)
			}
			got, problem := parseSuccess("application/json", body)
			if tt.ok {
				if problem != "" || got.accessToken != tt.tok {
					t.Errorf("parseSuccess(%s) = %q, %q; want the token", body, got.accessToken, problem)
				}
				return
			}
			if !strings.Contains(problem, "outside RFC 6750's token alphabet") {
				t.Errorf("parseSuccess(%s) = %q, %q; want a refusal of the character", body, got.accessToken, problem)
			}
		})
	}
}
