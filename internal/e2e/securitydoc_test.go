package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// citation is how docs/security.md names a test: `package.TestName`,
// optionally followed by /subtest.
var citation = regexp.MustCompile("`([a-z0-9]+)\\.((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)(/[^`]*)?`")

// TestSecurityDocCitesRealTests: every promise in docs/security.md's
// tables names at least one test, and every test it names exists, so the
// document cannot claim a proof that is not there.
func TestSecurityDocCitesRealTests(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	// Every Test/Fuzz function in the module, by package name, and the
	// test sources of each package, where a subtest's name must appear.
	funcs := map[string]bool{}
	sources := map[string]string{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)[A-Za-z0-9_]+)\(`)
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pkg := filepath.Base(filepath.Dir(path))
		sources[pkg] += string(src)
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			funcs[pkg+"."+m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	rows, cited := 0, 0
	for i, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), "|")
		last := cells[len(cells)-1]
		if strings.TrimSpace(last) == "test" || strings.TrimSpace(last) == "tests" {
			continue // a header
		}
		rows++
		ms := citation.FindAllStringSubmatch(last, -1)
		if len(ms) == 0 {
			t.Errorf("docs/security.md:%d: a promise without a test: %s", i+1, line)
		}
		for _, m := range ms {
			cited++
			if !funcs[m[1]+"."+m[2]] {
				t.Errorf("docs/security.md:%d cites %s.%s, which does not exist", i+1, m[1], m[2])
			}
			if sub := strings.TrimPrefix(m[3], "/"); sub != "" && !strings.Contains(sources[m[1]], `"`+sub+`"`) {
				t.Errorf("docs/security.md:%d cites the subtest %q of %s.%s, whose name is in none of the package's tests", i+1, sub, m[1], m[2])
			}
		}
	}
	if rows < 10 || cited < rows {
		t.Errorf("docs/security.md has %d promises citing %d tests; the tables are missing", rows, cited)
	}
}
