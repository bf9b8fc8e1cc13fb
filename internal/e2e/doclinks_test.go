package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The documents a user or a contributor reads in the repository.
var linkedDocs = []string{
	"README.md", "CONTRIBUTING.md",
	"docs/configuration.md", "docs/troubleshooting.md", "docs/security.md", "docs/bench/results.md",
	"gitlab/README.md", "circleci/README.md", "bitbucket/README.md",
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	htmlID    = regexp.MustCompile(`<a id="([^"]+)"`)
	fence     = regexp.MustCompile("(?ms)^```.*?^```")
)

// TestDocLinksResolve: every relative link in the documents reaches a
// file of the repository and, with a #fragment, a heading or an <a id>
// of that file, as GitHub renders them; so that moving a section between
// README.md, CONTRIBUTING.md and docs/ breaks no link.
func TestDocLinksResolve(t *testing.T) {
	t.Parallel()
	const root = "../.."
	anchors := map[string]map[string]bool{}
	anchorsOf := func(file string) map[string]bool {
		if a, ok := anchors[file]; ok {
			return a
		}
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		a := map[string]bool{}
		seen := map[string]int{}
		for _, m := range mdHeading.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			slug := githubSlug(m[1])
			if n := seen[slug]; n > 0 {
				a[slug+"-"+strconv.Itoa(n)] = true
			} else {
				a[slug] = true
			}
			seen[slug]++
		}
		for _, m := range htmlID.FindAllStringSubmatch(string(b), -1) {
			a[m[1]] = true
		}
		anchors[file] = a
		return a
	}
	links := 0
	for _, doc := range linkedDocs {
		b, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			path, frag, _ := strings.Cut(target, "#")
			file := doc
			if path != "" {
				file = filepath.ToSlash(filepath.Join(filepath.Dir(doc), path))
				if _, err := os.Stat(filepath.Join(root, file)); err != nil {
					t.Errorf("%s links to %s, which is not in the repository", doc, target)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(file, ".md") && !anchorsOf(file)[frag] {
				t.Errorf("%s links to %s, but %s has no heading or <a id> %q", doc, target, file, frag)
			}
		}
	}
	if links < 20 {
		t.Errorf("found %d relative links in %v; the link pattern is broken", links, linkedDocs)
	}
}

// githubSlug is the anchor GitHub gives a Markdown heading: lower case,
// punctuation other than '-' and '_' dropped, spaces turned into '-'.
func githubSlug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
