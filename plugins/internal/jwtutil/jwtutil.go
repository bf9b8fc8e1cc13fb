// Package jwtutil holds what several providers need to handle the ID tokens
// their CI hands out: picking one out of a CLI's output, reading its
// audience without verifying it. Package safetext keeps it out of messages.
package jwtutil

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// Pick finds the one JWT in a CLI's output, which may carry notices around
// it. Its errors never quote the output.
func Pick(out []byte) (string, error) {
	var found []string
	for _, word := range strings.Fields(string(out)) {
		if LooksLikeJWT(word) {
			found = append(found, word)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return "", fmt.Errorf("it printed %d tokens, want one", len(found))
	case len(strings.TrimSpace(string(out))) == 0:
		return "", errors.New("it printed nothing")
	}
	return "", fmt.Errorf("it printed no token (%d bytes)", len(out))
}

// LooksLikeJWT reports whether w is a compact JWS: three base64url parts,
// the first the encoding of a JSON object (`{"` encodes as "eyJ"), so that a
// version number such as 3.41.0 is not taken for one.
func LooksLikeJWT(w string) bool {
	parts := strings.Split(w, ".")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "eyJ") || parts[1] == "" {
		return false
	}
	for _, part := range parts {
		for _, c := range part {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Audiences reads the aud claim of tok, a string or a list, without
// verifying it: the Hub does. It reports false when tok is no JWT with an
// aud, which the caller leaves for the Hub's own parse to report.
func Audiences(tok string) ([]string, bool) {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		return nil, false
	}
	auds, err := claims.GetAudience()
	if err != nil || len(auds) == 0 {
		return nil, false
	}
	return auds, true
}

// QuoteList quotes each of list and joins them with commas.
func QuoteList(list []string) string {
	q := make([]string, len(list))
	for i, a := range list {
		q[i] = strconv.Quote(a)
	}
	return strings.Join(q, ", ")
}

// plainScalar is what YAML reads back as the same string without quotes.
var plainScalar = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~/:@%+=-]*$`) })

// YAMLScalar writes s as a YAML scalar, for the snippets a setup error shows:
// plain when that reads back as s, else double-quoted (JSON's escapes are
// YAML's).
func YAMLScalar(s string) string {
	if plainScalar().MatchString(s) && !strings.HasSuffix(s, ":") {
		return s
	}
	return strconv.Quote(s)
}
