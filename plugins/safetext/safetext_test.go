package safetext

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const (
	hfTok = "hf_jwt_Ab-cd.ef_gh~ij+kl/mn="
	jwt   = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2h1Z2dpbmdmYWNlLmNvIn0.c2lnbmF0dXJl"
	// plainSecret is shaped like no token: only redaction by value can
	// keep it out of a message.
	plainSecret = "REQTOKEN-1b6f0e52-secret-request-token"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"plain", "bad gateway", nil, "bad gateway"},
		{"hf token", "hf_abcdefgh1234 is bad", nil, "[redacted] is bad"},
		{"hf token over the whole bearer alphabet", "got " + hfTok + " back", nil, "got [redacted] back"},
		{"short hf_ word kept", "use hf_cli", nil, "use hf_cli"},
		{"JWT", `{"value":"` + jwt + `"}`, nil, `{"value":"[redacted]"}`},
		{"JWT header alone", "eyJhbGciOiJSUzI1NiJ9", nil, "[redacted]"},
		{"secret by value", "token " + plainSecret + " is invalid", []string{plainSecret}, "token [redacted] is invalid"},
		{"secret twice", plainSecret + plainSecret, []string{plainSecret}, "[redacted][redacted]"},
		{"short secret ignored", "a b c", []string{"a"}, "a b c"},
		{"empty secret ignored", "abc", []string{""}, "abc"},
		{"secret inside another", "x SECRETSECRET-LONGER y", []string{"SECRETSE", "SECRETSECRET-LONGER"}, "x [redacted] y"},
		{"secret and token", plainSecret + " " + jwt, []string{plainSecret}, "[redacted] [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Redact(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactByValue fails if redaction by value is dropped: the secret is
// shaped like no token, so the pattern cannot hide the loss.
func TestRedactByValue(t *testing.T) {
	t.Parallel()
	if TokenLike(plainSecret) {
		t.Fatalf("%q looks like a token; the test needs one that does not", plainSecret)
	}
	for _, in := range []string{plainSecret, "bad " + plainSecret, "a\n" + plainSecret + "\tb"} {
		if got := Redact(in, plainSecret); strings.Contains(got, plainSecret) || !strings.Contains(got, Marker) {
			t.Errorf("Redact(%q, secret) = %q", in, got)
		}
		if got := Snippet(in, 100, plainSecret); strings.Contains(got, plainSecret) || !strings.Contains(got, Marker) {
			t.Errorf("Snippet(%q, secret) = %q", in, got)
		}
	}
}

func TestClipAndQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		n           int
		clip, quote string
	}{
		{"plain", "bad gateway", 100, "bad gateway", `"bad gateway"`},
		{"spaces kept", " a  b ", 100, " a  b ", `" a  b "`},
		{"control characters", "a\x00b\x1b[31mc\n\t\r", 100, `a\x00b\x1B[31mc\n\t\r`, `"a\x00b\x1B[31mc\n\t\r"`},
		{"DEL", "a\x7fb", 100, `a\x7Fb`, `"a\x7Fb"`},
		{"invalid UTF-8", "a\xffb", 100, `a\xFFb`, `"a\xFFb"`},
		{"bidi override", "a\u202eb", 100, `a\u202Eb`, `"a\u202Eb"`},
		{"line separator", "a\u2028b", 100, `a\u2028b`, `"a\u2028b"`},
		{"astral control", "a\U000E0001b", 100, `a\U000E0001b`, `"a\U000E0001b"`},
		{"unicode kept", "café ☕ é", 100, "café ☕ é", `"café ☕ é"`},
		{"quotes and backslashes", `{"a":"b\c"}`, 100, `{"a":"b\c"}`, `"{\"a\":\"b\\c\"}"`},
		{"exactly the limit", "xxxxx", 5, "xxxxx", `"xxxxx"`},
		{"one over", "xxxxxx", 5, "xxxxx…", `"xxxxx…"`},
		{"one under", "xxxx", 5, "xxxx", `"xxxx"`},
		{"runes at exactly the limit", strings.Repeat("é", 5), 5, "ééééé", `"ééééé"`},
		{"runes one under", strings.Repeat("é", 4), 5, "éééé", `"éééé"`},
		{"more bytes than the limit, fewer runes", "aé☕", 5, "aé☕", `"aé☕"`},
		{"escape one over", "ab\x1b", 5, "ab…", `"ab…"`},
		{"quote escape at exactly the limit", `abc"`, 5, `abc"`, `"abc\""`},
		{"n of one", "xy", 1, "x…", `"x…"`},
		{"runes, not bytes", strings.Repeat("é", 6), 5, "ééééé…", `"ééééé…"`},
		{"escape not cut", "abc\x1b", 5, "abc…", `"abc…"`},
		{"quote escape not cut", `abcd"`, 5, `abcd"`, `"abcd…"`},
		{"escape fits", "a\x1b", 5, `a\x1B`, `"a\x1B"`},
		{"zero", "abc", 0, "…", `"…"`},
		{"empty", "", 0, "", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Clip(tt.in, tt.n); got != tt.clip {
				t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.clip)
			}
			if got := Quote(tt.in, tt.n); got != tt.quote {
				t.Errorf("Quote(%q, %d) = %s, want %s", tt.in, tt.n, got, tt.quote)
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"white space collapsed", " a\n\tb\r\n c ", 100, "a b c"},
		{"control characters", "a\x1b[31mb\x00", 100, `a\x1B[31mb\x00`},
		{"secret", "bad " + plainSecret, 100, "bad [redacted]"},
		{"secret across the cut", strings.Repeat("a", 95) + " " + plainSecret, 100, strings.Repeat("a", 95) + " [red…"},
		{"token", "got " + jwt + " back", 100, "got [redacted] back"},
		{"token across the cut", "got " + hfTok, 8, "got [red…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Snippet(tt.in, tt.n, plainSecret); got != tt.want {
				t.Errorf("Snippet(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

// tricky are words a shell would split, expand or end early.
var tricky = []string{"", "plain", "a b", "it's", "''", `"$HOME"`, "$(id)", "`id`", "a\nb", "\\", "*", "-n", "!x", "é ☕"}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "''"},
		{"plain", "'plain'"},
		{"it's", `'it'\''s'`},
		{"$(id) `id` *", "'$(id) `id` *'"},
	}
	for _, tt := range tests {
		if got := ShellQuote(tt.in); got != tt.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	for _, quote := range []func(string) string{ShellQuote, ShellWord} {
		for _, v := range append(tricky, "/a/b.env", "x=1,y:2@h%") {
			out, err := exec.Command("sh", "-c", "printf %s "+quote(v)).Output()
			if err != nil {
				t.Fatalf("sh with %s: %v", quote(v), err)
			}
			if string(out) != v {
				t.Errorf("sh read %q back as %q", v, out)
			}
		}
	}
	for in, want := range map[string]string{"/a/b.env": "/a/b.env", "": "''", "a b": "'a b'", "~x": "'~x'"} {
		if got := ShellWord(in); got != want {
			t.Errorf("ShellWord(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzSnippet: whatever the text and the secret, a snippet is one line of
// valid, printable UTF-8 of at most n runes and "…", holds neither the
// secret nor anything shaped like a token, and is left alone by Clip.
func FuzzSnippet(f *testing.F) {
	f.Add("plain error", plainSecret, 100)
	f.Add("token "+plainSecret+" echoed", plainSecret, 100)
	f.Add(strings.Repeat("é", 200), "abcdefghijklmnop", 50)
	f.Add("\x1b[2J\r\n\u202e\xff", "abcdefghijklmnop", 10)
	f.Add("eyJ"+strings.Repeat("A", 300), "abcdefghijklmnop", 100)
	f.Add("\x1eyJabcdefghijk", "abcdefghijklmnop", 100)
	f.Add("hf_abc"+plainSecret+"defghij", plainSecret, 30)
	f.Fuzz(func(t *testing.T, s, secret string, n int) {
		n = n % 300
		if n < 0 {
			n = -n
		}
		got := Snippet(s, n, secret)
		if !utf8.ValidString(got) {
			t.Fatalf("Snippet = %q: not valid UTF-8", got)
		}
		for _, r := range got {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("Snippet = %q: holds %U", got, r)
			}
		}
		body, _ := strings.CutSuffix(got, "…")
		if l := utf8.RuneCountInString(body); l > n {
			t.Fatalf("Snippet = %q: %d runes, more than %d", got, l, n)
		}
		if TokenLike(got) {
			t.Fatalf("Snippet = %q: holds a token", got)
		}
		// Collapsing white space, escaping and the marker could spell a
		// secret made of them; a credential has none of them.
		if isCredential(secret) && strings.Contains(got, secret) {
			t.Fatalf("Snippet(%q, %d, %q) = %q: holds the secret", s, n, secret, got)
		}
		if again := Clip(got, n); again != got {
			t.Fatalf("Clip(%q, %d) = %q: not the same", got, n, again)
		}
	})
}

// FuzzQuote: Quote is a Go string literal that reads back as the text, or
// as its start when clipped.
func FuzzQuote(f *testing.F) {
	f.Add(`{"a":"b\c"}`, 100)
	f.Add("a\x00\xff\u202e\U000E0001", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n % 300
		if n < 0 {
			n = -n
		}
		got := Quote(s, n)
		back, err := strconv.Unquote(got)
		if err != nil {
			t.Fatalf("Quote(%q) = %s: %v", s, got, err)
		}
		if prefix, cut := strings.CutSuffix(back, "…"); back != s && (!cut || !strings.HasPrefix(s, prefix)) {
			t.Fatalf("Quote(%q, %d) = %s reads back as %q", s, n, got, back)
		}
		if strings.ContainsAny(got, "\n\r") {
			t.Fatalf("Quote(%q) = %s: not one line", s, got)
		}
	})
}

// isCredential reports whether s could be a credential Redact is given: long
// enough, printable, without white space, backslashes, brackets or "…".
func isCredential(s string) bool {
	if len(s) < MinSecret || !utf8.ValidString(s) || strings.ContainsAny(s, `[]\…`) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// TestShellWordEdgesOfTheAlphabet: the first and last letters and the
// first digit are plain word characters, so a word made of them, or
// starting or ending with them, is printed unquoted; the characters just
// outside each range are not.
func TestShellWordEdgesOfTheAlphabet(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"a", "a"},
		{"z", "z"},
		{"A", "A"},
		{"Z", "Z"},
		{"0", "0"},
		{"9", "9"},
		{"azAZ09", "azAZ09"},
		{"`", "'`'"},
		{"{", "'{'"},
		{"[", "'['"},
		{"/", "/"},
		{";", "';'"},
	}
	for _, tt := range tests {
		if got := ShellWord(tt.in); got != tt.want {
			t.Errorf("ShellWord(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestRedactSecretOfMinimumLength: a secret of exactly MinSecret bytes is a
// credential, and is redacted; one byte shorter is left alone.
func TestRedactSecretOfMinimumLength(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("k", MinSecret)
	short := exact[1:]
	tests := []struct {
		name, in, secret, want string
	}{
		{"exactly MinSecret bytes", "key=" + exact + ";", exact, "key=" + Marker + ";"},
		{"one byte short", "key=" + short + ";", short, "key=" + short + ";"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, tt.secret); got != tt.want {
			t.Errorf("%s: Redact(%q, %q) = %q, want %q", tt.name, tt.in, tt.secret, got, tt.want)
		}
	}
}

// TestClipNamedEscapes: each control character with a short Go escape is
// shown by it, the first of the list (\a) included, not as a hex escape.
func TestClipNamedEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"\a", `\a`},
		{"\b", `\b`},
		{"\f", `\f`},
		{"\n", `\n`},
		{"\r", `\r`},
		{"\t", `\t`},
		{"\v", `\v`},
		{"x\ay", `x\ay`},
	}
	for _, tt := range tests {
		if got := Clip(tt.in, 10); got != tt.want {
			t.Errorf("Clip(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
