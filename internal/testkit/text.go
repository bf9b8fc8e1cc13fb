package testkit

import (
	"regexp"
	"strings"
	"testing"
)

// ownLine is the first line of a message of hf-oidc's: "hf-oidc: …",
// "hf-oidc CMD: …", after a time in a keeper's log.
// entryLink is a link to an entry of the troubleshooting page.
var entryLink = regexp.MustCompile(`troubleshooting\.md#[a-z0-9-]+\)`)

var ownLine = regexp.MustCompile(`^(\S+ )?hf-oidc( [a-z-]+)?: `)

// Holds reports whether out holds s, as it is or, when s is one line,
// wrapped otherwise: hf-oidc wraps its prose at 100 columns, so a sentence
// may span lines, while lines to paste (YAML) must stay as they are.
func Holds(out, s string) bool {
	return strings.Contains(out, s) || (!strings.Contains(strings.TrimSuffix(s, "\n"), "\n") && strings.Contains(Flat(out), Flat(s)))
}

// Flat is s with every run of white space, line breaks included, one space.
func Flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// Unlinked returns the first message in out that tells of a problem but
// links no entry of docs/troubleshooting.md, or "" when every one links
// its entry: a warning ("hf-oidc CMD: warning: …") or a Next: line, up to
// the next message (a line of hf-oidc's own, a workflow command, a finding
// of claims, a blank line). failed says that the run ended in a failure of
// hf-oidc's own (exit status 1 or 2, not a status that exec passed on):
// then out must link an entry too.
func Unlinked(out string, failed bool) string {
	lines := strings.SplitAfter(out, "\n")
	ends := func(l string) bool {
		t := strings.TrimLeft(l, " ")
		return ownLine.MatchString(l) || strings.HasPrefix(l, "::") || strings.TrimSpace(l) == "" ||
			strings.HasPrefix(t, "error: ") || strings.HasPrefix(t, "warning: ") || strings.HasPrefix(t, "note: ")
	}
	for i, l := range lines {
		if !strings.Contains(l, ": warning: ") && !strings.HasPrefix(strings.TrimLeft(l, " "), "Next: ") {
			continue
		}
		block := l
		for _, m := range lines[i+1:] {
			if ends(m) {
				break
			}
			block += m
		}
		if !entryLink.MatchString(block) {
			return block
		}
	}
	if failed && !entryLink.MatchString(out) {
		return out
	}
	return ""
}

// CheckLinked fails t unless every problem a run of hf-oidc ARGS told of
// links its entry of docs/troubleshooting.md; every in-process command test
// and every run of the binary checks it.
func CheckLinked(t testing.TB, args []string, code int, stdout, stderr string) {
	t.Helper()
	// A failure of hf-oidc's own, not the status of a command exec ran,
	// nor the list of commands shown for no command at all.
	started := len(args) > 0 && args[0] == "exec" && strings.Contains(stderr, "kept fresh while")
	failed := (code == 1 || code == 2) && !started && len(args) > 0
	for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if m := Unlinked(out, failed && name == "stderr" && !strings.Contains(stdout, "troubleshooting.md#")); m != "" {
			t.Errorf("hf-oidc %s: %s tells of a problem without the link to its entry in docs/troubleshooting.md:\n%s", strings.Join(args, " "), name, m)
		}
	}
}
