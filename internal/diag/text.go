package diag

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
)

// maxShown bounds, in runes, a claim value as shown: a hostile token must not
// flood the terminal.
const maxShown = 200

// Display renders a claim value on one line for a terminal or a CI log: as
// the Hub compares it (hubmatch.Stringify), control and other unprintable
// characters escaped, at most maxShown runes.
func Display(v any) string {
	s, _ := hubmatch.Stringify(v)
	return clean(s)
}

func clean(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxShown {
			b.WriteString("…")
			break
		}
		n++
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// scalar is the string the Hub compares for claim name, if t has it as a
// string, boolean or number.
func scalar(claims map[string]any, name string) (string, bool) {
	v, ok := claims[name]
	if !ok {
		return "", false
	}
	return hubmatch.Stringify(v)
}

// Duration is d to the second, for messages: "4m57s", "0s".
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	return d.Round(time.Second).String()
}

// Timestamp is t in RFC 3339 UTC to the second.
func Timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func sortStrings(s []string) { sort.Strings(s) }

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func joinAudience(aud []string) string {
	if len(aud) == 0 {
		return "(none)"
	}
	shown := make([]string, len(aud))
	for i, a := range aud {
		shown[i] = clean(a)
	}
	return strings.Join(shown, ", ")
}
