package diag

import (
	"sort"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// maxShown bounds, in runes, a claim value as shown: a hostile token must not
// flood the terminal.
const maxShown = 200

// Display renders a claim value on one line for a terminal or a CI log: as
// the Hub compares it (hubmatch.Stringify), clipped by safetext.Clip to
// maxShown runes. It redacts nothing: a claim shown must be the claim.
func Display(v any) string {
	s, _ := hubmatch.Stringify(v)
	return clean(s)
}

// clean is Display's rendering of a string; check.go and expect.go use it
// on values that are strings already.
func clean(s string) string { return safetext.Clip(s, maxShown) }

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
