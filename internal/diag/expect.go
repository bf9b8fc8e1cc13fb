package diag

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/providerinfo"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// maxExpect bounds the fields of one --expect: the Hub's form has a handful.
const maxExpect = 50

// ParseExpect reads what the user configured on the Hub, in the words of its
// form: "repository=acme/training,branch=main,workflow=publish.yml". Each
// value may hold several such lists (a repeated flag). A value runs to the
// next comma; names and values are trimmed; a name given twice, an empty
// name or value, or an entry without "=" is an error that quotes the entry.
func ParseExpect(values []string) (map[string]string, error) {
	want := map[string]string{}
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			name, value, ok := strings.Cut(entry, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			switch {
			case !ok:
				return nil, fmt.Errorf("%q is not name=value (for example repository=acme/training,branch=main,workflow=publish.yml)", safetext.Clip(entry, 60))
			case name == "":
				return nil, fmt.Errorf("%q has no name before \"=\"", safetext.Clip(entry, 60))
			case value == "":
				return nil, fmt.Errorf("%q has no value: leave out a field the publisher does not set", safetext.Clip(entry, 60))
			case strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }):
				return nil, fmt.Errorf("%q: a field name has no spaces or control characters", safetext.Clip(name, 60))
			}
			if prev, dup := want[name]; dup {
				return nil, fmt.Errorf("%s is given twice (%q and %q)", clean(name), safetext.Clip(prev, 60), safetext.Clip(value, 60))
			}
			want[name] = value
			if len(want) > maxExpect {
				return nil, fmt.Errorf("more than %d fields given", maxExpect)
			}
		}
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("no field given (for example repository=acme/training,branch=main,workflow=publish.yml)")
	}
	return want, nil
}

// Expect compares the token's claims with what the user configured on the
// Hub, exactly as the Hub does (hubmatch).
func Expect(claims map[string]any, want map[string]string) []hubmatch.Field {
	return hubmatch.Match(claims, want)
}

// ExpectNext is the next step of a dry run with mismatches, without its
// link (AnchorExpectMismatch).
func ExpectNext() string {
	return "Make each mismatched field of the publisher on the Hub equal the token's value shown, or run the job that has the configured values; the Hub compares exactly, with no patterns."
}

// CheckExpectNames checks the names of want, as ParseExpect read them,
// against what a publisher of shape can be configured with: the fields of
// its form on the Hub, the claims it matches on, and any claim of t (a
// custom field). The first unknown name is an error that names the form's
// fields and suggests the nearest. Without a token, whose claims a custom
// field may name, every name is taken.
func CheckExpectNames(want map[string]string, t *idtoken.Token, shape Shape) error {
	if t == nil {
		return nil
	}
	form := []string{"sub"}
	var known []string
	if p, ok := providerinfo.Lookup(string(shape)); ok {
		form = form[:0]
		for _, f := range p.Form {
			form = append(form, f.Name)
		}
		known = append(append(known, form...), p.KeyClaims...)
	}
	for c := range t.Claims {
		known = append(known, c)
	}
	known = append(known, "sub")
	for _, name := range sortedKeys(want) {
		if slices.Contains(known, name) {
			continue
		}
		msg := fmt.Sprintf("%q is no field of the publisher form for %s (%s) nor a claim of this ID token", safetext.Clip(name, 60), shape.Title(), strings.Join(slices.Compact(form), ", "))
		if s := Nearest(name, known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return errors.New(msg)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
