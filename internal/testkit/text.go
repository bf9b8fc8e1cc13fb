package testkit

import "strings"

// Holds reports whether out holds s, as it is or, when s is one line,
// wrapped otherwise: hf-oidc wraps its prose at 100 columns, so a sentence
// may span lines, while lines to paste (YAML) must stay as they are.
func Holds(out, s string) bool {
	return strings.Contains(out, s) || (!strings.Contains(strings.TrimSuffix(s, "\n"), "\n") && strings.Contains(Flat(out), Flat(s)))
}

// Flat is s with every run of white space, line breaks included, one space.
func Flat(s string) string { return strings.Join(strings.Fields(s), " ") }
