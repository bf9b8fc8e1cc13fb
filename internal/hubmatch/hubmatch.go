package hubmatch

import (
	"encoding/json"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// A Field is one configured publisher claim compared with the token's.
type Field struct {
	Name  string // the publisher's word: "branch", "repository", "ref", …
	Claim string // the token claim it is compared with: "ref" for "branch"
	Want  string // the configured value
	// Got is the value compared with Want: the claim derived as Name says
	// (the branch of a ref), or the raw claim when it cannot be derived.
	Got     string
	Present bool // the token has Claim
	OK      bool // Got equals Want exactly
}

// A preset maps a word of the Hub's publisher form to the claim it compares
// with and how the claim's value is turned into the word's value.
type preset struct {
	claim  string
	derive func(string) (string, bool) // nil: the claim as it is
}

// presets holds the words of the Hub form's GitHub preset. Only repository is
// confirmed; how branch and workflow compare is assumed (see
// trusted-publishers.md), so this table is the one place to change if the Hub
// turns out to compare them otherwise. Words not listed compare with the claim
// of the same name.
var presets = map[string]preset{
	"repository": {claim: "repository"},
	"branch":     {claim: "ref", derive: Branch},
	"workflow":   {claim: "workflow_ref", derive: WorkflowFile},
}

// Match compares every expected field with the token's claims, in sorted
// order of Name. Comparison is exact string equality: no pattern, no prefix.
func Match(claims map[string]any, expect map[string]string) []Field {
	names := make([]string, 0, len(expect))
	for name := range expect {
		names = append(names, name)
	}
	sort.Strings(names)

	fields := make([]Field, 0, len(names))
	for _, name := range names {
		p, ok := presets[name]
		if !ok {
			p = preset{claim: name}
		}
		f := Field{Name: name, Claim: p.claim, Want: expect[name]}
		v, present := claims[p.claim]
		if present {
			f.Present = true
			got, scalar := Stringify(v)
			f.Got = got
			f.OK = scalar
			if scalar && p.derive != nil {
				if d, ok := p.derive(got); ok {
					f.Got = d
				} else {
					// A ref that is no branch never matches a branch, even
					// one configured as the full ref.
					f.OK = false
				}
			}
			f.OK = f.OK && f.Got == f.Want
		}
		fields = append(fields, f)
	}
	return fields
}

// Matches reports whether every expected field matches. An empty expectation
// matches any claims.
func Matches(claims map[string]any, expect map[string]string) bool {
	for _, f := range Match(claims, expect) {
		if !f.OK {
			return false
		}
	}
	return true
}

// Branch returns the branch a ref names: ref without "refs/heads/". It
// reports false for any other ref (a tag, a pull request).
func Branch(ref string) (string, bool) {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	return b, ok && b != ""
}

// WorkflowFile returns the file name of the workflow a workflow_ref names:
// "publish.yml" for "acme/x/.github/workflows/publish.yml@refs/heads/main".
//
// The path ends at the first "@": owners and repository names cannot hold
// one, while the ref after it can.
func WorkflowFile(workflowRef string) (string, bool) {
	path, _, ok := strings.Cut(workflowRef, "@")
	if !ok {
		return "", false
	}
	file := path[strings.LastIndexByte(path, '/')+1:]
	return file, file != ""
}

// Stringify turns a claim value into the string the Hub compares: strings as
// they are, booleans as "true" or "false", integral numbers as integers
// without exponent. It reports false for values that are no string, boolean
// or number (objects, arrays, null), which never match; their string is
// their JSON encoding, to show what was there.
func Stringify(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case json.Number:
		return number(v), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case uint:
		return strconv.FormatUint(uint64(v), 10), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), false
}

// number formats a JSON number. Integers keep every digit, even beyond
// float64's precision (GitHub's ids are strings today, but need not stay so).
func number(n json.Number) string {
	s := string(n)
	if i, ok := new(big.Int).SetString(s, 10); ok {
		return i.String()
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
