package safetext

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Marker is what Redact puts in place of a secret or a token.
const Marker = "[redacted]"

// MinSecret is the length, in bytes, below which Redact leaves a secret
// value alone: a short value would blank ordinary words, and no real
// credential is that short.
const MinSecret = 8

// tokenLike matches what looks like a Hugging Face token or a JWT. An HF
// token is matched over the whole bearer-token alphabet of RFC 6750:
// stopping at the first "-" or "." would redact its start and print the
// rest.
var tokenLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`hf_[A-Za-z0-9._~+/=-]{8,}|eyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*){0,2}`)
})

// TokenLike reports whether s holds anything Redact would take for a token.
func TokenLike(s string) bool { return tokenLike().MatchString(s) }

// Redact replaces with Marker every occurrence of each secret of at least
// MinSecret bytes, and then anything shaped like an HF token or a JWT. The
// secrets are the values the caller knows (the ID token it sent, a request
// token, a URL's query values): the pattern catches tokens the caller never
// saw, but must not be the only defence.
func Redact(s string, secrets ...string) string {
	if len(secrets) > 1 {
		// Longest first: a secret inside another must not break the
		// longer one into pieces that are no longer found.
		secrets = slices.Clone(secrets)
		slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	}
	for _, sec := range secrets {
		if len(sec) >= MinSecret {
			s = strings.ReplaceAll(s, sec, Marker)
		}
	}
	// Every match starts with one of these; most text (a request ID on
	// every answer) has neither, and skips the regexp.
	if !strings.Contains(s, "hf_") && !strings.Contains(s, "eyJ") {
		return s
	}
	return tokenLike().ReplaceAllLiteralString(s, Marker)
}

// Snippet is untrusted text (a server's answer, a command's stderr) fit to
// quote in a message: secrets and tokens redacted, white space collapsed to
// single spaces, then clipped as Clip does. Redaction comes first, so that
// the cut cannot leave part of a token behind.
func Snippet(s string, n int, secrets ...string) string {
	return Clip(strings.Join(strings.Fields(Redact(s, secrets...)), " "), n)
}

// Clip renders s on one line of at most n runes, then "…" if s was longer.
// Characters that could move a terminal's cursor, forge a log line or hide
// text (control characters, line and paragraph separators, bidirectional
// overrides) and invalid UTF-8 are escaped as in a Go string literal, and
// an escape is never cut in two. Clip keeps every printable character,
// spaces and backslashes included, so that a value shown is the value
// compared and Clip of its own output changes nothing; Quote is the
// unambiguous form.
func Clip(s string, n int) string { return clip(s, n, false) }

// Quote is Clip in double quotes, with quotes and backslashes escaped too:
// a Go string literal, which strconv.Unquote reads back as s when s was not
// clipped.
func Quote(s string, n int) string { return `"` + clip(s, n, true) + `"` }

func clip(s string, n int, quoted bool) string {
	var b strings.Builder
	used := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		piece := escape(s[i:i+size], r, quoted)
		l := utf8.RuneCountInString(piece)
		if used+l > n {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		used += l
		i += size
	}
	return b.String()
}

// escape renders the rune r, read from raw, as Clip shows it. Hex digits are
// upper case, so that an escape next to text cannot spell the start of a
// token: "\x1e" before "yJ…" would otherwise read as "eyJ…".
func escape(raw string, r rune, quoted bool) string {
	switch {
	case r == utf8.RuneError && len(raw) == 1:
		// Invalid UTF-8: the byte itself, not a guess at what was meant.
		return fmt.Sprintf(`\x%02X`, raw[0])
	case quoted && (r == '"' || r == '\\'):
		return `\` + raw
	case r == ' ' || unicode.IsPrint(r):
		return raw
	}
	if i := strings.IndexRune("\a\b\f\n\r\t\v", r); i >= 0 {
		return `\` + "abfnrtv"[i:i+1]
	}
	switch {
	case r < 0x80:
		return fmt.Sprintf(`\x%02X`, r)
	case r <= 0xFFFF:
		return fmt.Sprintf(`\u%04X`, r)
	default:
		return fmt.Sprintf(`\U%08X`, r)
	}
}

// ShellQuote quotes s as one POSIX shell word. Inside single quotes every
// byte is literal; a single quote itself is closed, escaped and reopened.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellWord is s as one POSIX shell word, quoted only when it must be: a
// word of letters, digits and /._-+:@%,= reads as itself, which keeps a
// line meant for copying (a path) as plain as it can be.
func ShellWord(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r)) {
			return ShellQuote(s)
		}
	}
	if s == "" {
		return ShellQuote(s)
	}
	return s
}
