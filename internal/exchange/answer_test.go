package exchange

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestSnippetAndClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, snippet, clean string
	}{
		{"plain", "bad gateway", `"bad gateway"`, "bad gateway"},
		{"white space collapsed", " a\n\tb\r\n c ", `"a b c"`, "a b c"},
		{"control characters", "a\x00b\x1b[31mc", `"a\x00b\x1b[31mc"`, `a\x00b\x1b[31mc`},
		{"invalid UTF-8", "a\xffb", `"a\xffb"`, "a\ufffdb"},
		{"unicode kept", "café ☕", `"café ☕"`, "café ☕"},
		{"bidi override escaped", "a\u202eb", `"a\u202eb"`, `a\u202eb`},
		{"long", strings.Repeat("é", 150), `"` + strings.Repeat("é", 100) + `…"`, strings.Repeat("é", 100) + "…"},
		{"exactly the limit", strings.Repeat("x", 100), `"` + strings.Repeat("x", 100) + `"`, strings.Repeat("x", 100)},
		{"ID token", "token " + idTok + " refused", `"token [redacted] refused"`, "token [redacted] refused"},
		{"hf token", "hf_abcdefgh1234 is bad", `"[redacted] is bad"`, "[redacted] is bad"},
		{"short hf_ word kept", "use hf_cli", `"use hf_cli"`, "use hf_cli"},
		{"JWT header alone", "eyJhbGciOiJSUzI1NiJ9", `"[redacted]"`, "[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := snippet(tt.in, []string{idTok}); got != tt.snippet {
				t.Errorf("snippet = %s, want %s", got, tt.snippet)
			}
			if got := clean(redact(tt.in, []string{idTok}), maxSnippet); got != tt.clean {
				t.Errorf("clean = %s, want %s", got, tt.clean)
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
		if ok.expiresIn <= 0 || ok.expiresIn > maxExpiresIn {
			t.Fatalf("accepted expires_in %v", ok.expiresIn)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil || m["access_token"] != ok.accessToken {
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
	// Both sides of the 24h edge, to the millisecond.
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"86400", 24 * time.Hour, true},
		{"86400.001", 0, false},
		{"0.001", time.Millisecond, true},
		{"0", 0, false},
	} {
		got, problem := expiresIn(json.RawMessage(tt.in))
		if (problem == "") != tt.ok || got != tt.want {
			t.Errorf("expiresIn(%s) = %v, %q", tt.in, got, problem)
		}
	}
}
