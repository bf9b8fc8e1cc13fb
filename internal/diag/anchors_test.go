package diag

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const root = "../.."

// TestAnchorsMatchTheDocs keeps docs/troubleshooting.md and the code in step:
// every anchor the code links to has its entry, every entry is linked to
// from the code, and every link within the page lands on an entry.
func TestAnchorsMatchTheDocs(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(root, "docs", "troubleshooting.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]bool{}
	for _, m := range regexp.MustCompile(`<a id="([^"]*)"></a>\n### `).FindAllStringSubmatch(string(page), -1) {
		if entries[m[1]] {
			t.Errorf("docs/troubleshooting.md has entry %q twice", m[1])
		}
		entries[m[1]] = true
	}
	if n := strings.Count(string(page), `<a id="`); n != len(entries) {
		t.Errorf("docs/troubleshooting.md has %d anchors but %d entries: each <a id> must be followed by a ### heading", n, len(entries))
	}
	for _, m := range regexp.MustCompile(`\]\(#([^)]*)\)`).FindAllStringSubmatch(string(page), -1) {
		if !entries[m[1]] {
			t.Errorf("docs/troubleshooting.md links to #%s, which is no entry", m[1])
		}
	}

	consts := anchorConsts(t)
	used := map[string]bool{} // anchor values linked from non-test code
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".sh") || strings.HasSuffix(path, ".yml")) {
			// The packagings' scripts report their own failures (the
			// install, their inputs) before there is a binary to do it.
			return scriptLinks(t, path, entries, used)
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inDiag := f.Name.Name == "diag"
		declared := map[*ast.Ident]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for _, id := range n.Names {
					declared[id] = true
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "diag" {
					if v, ok := consts[n.Sel.Name]; ok {
						used[v] = true
					}
				}
			case *ast.Ident:
				if v, ok := consts[n.Name]; ok && inDiag && !declared[n] {
					used[v] = true
				}
			case *ast.BasicLit:
				s, err := strconv.Unquote(n.Value)
				if n.Kind != token.STRING || err != nil {
					return true
				}
				for _, m := range regexp.MustCompile(`troubleshooting\.md#([a-z0-9-]+)`).FindAllStringSubmatch(s, -1) {
					used[m[1]] = true
					if !entries[m[1]] {
						t.Errorf("%s links to troubleshooting.md#%s, which has no entry", fset.Position(n.Pos()), m[1])
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range consts {
		if !entries[v] {
			t.Errorf("%s (%q) has no entry in docs/troubleshooting.md", name, v)
		}
		if !used[v] {
			t.Errorf("%s (%q) is declared but no message links to it", name, v)
		}
	}
	for e := range entries {
		if !used[e] {
			t.Errorf("docs/troubleshooting.md#%s is linked from no message", e)
		}
	}
	if len(entries) < 20 {
		t.Errorf("only %d entries found: is the page's form as this test expects?", len(entries))
	}
}

// scriptLinks records the entries a packaging's script links to, and fails
// the test for a link to no entry and for a message of the install library
// or of the GitLab template ("hf-oidc setup: …" on stderr) without a link.
func scriptLinks(t *testing.T, path string, entries, used map[string]bool) error {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(b), "\n") {
		for _, m := range regexp.MustCompile(`troubleshooting\.md#([a-z0-9-]+)`).FindAllStringSubmatch(line, -1) {
			used[m[1]] = true
			if !entries[m[1]] {
				t.Errorf("%s:%d links to troubleshooting.md#%s, which has no entry", path, i+1, m[1])
			}
		}
		if strings.Contains(line, `echo "hf-oidc setup: `) && !strings.Contains(line, "troubleshooting.md#") {
			t.Errorf("%s:%d: a message with no link to its entry in docs/troubleshooting.md", path, i+1)
		}
	}
	return nil
}

// anchorConsts reads the Anchor constants from anchors.go: name to value.
func anchorConsts(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "anchors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "Anchor" {
				continue
			}
			for i, id := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				v, _ := strconv.Unquote(lit.Value)
				consts[id.Name] = v
			}
		}
	}
	return consts
}

// TestMessagesGoThroughTheReporter keeps every message of the commands
// linked to its entry: internal/cli writes a "Next:" line or a warning only
// through its reporter (message, writeNext, the failure paragraph), which
// always ends it with a link. A literal elsewhere that holds one is a
// message written by hand, which could leave its link out.
func TestMessagesGoThroughTheReporter(t *testing.T) {
	reporter := map[string]bool{"report.go": true, "failure.go": true}
	hand := regexp.MustCompile(`(^|\n)(Next: |[^#\n]*: warning: )|\bwarning: `)
	files, err := filepath.Glob(filepath.Join(root, "internal", "cli", "*.go"))
	if err != nil || len(files) < 10 {
		t.Fatalf("internal/cli: %d files, %v", len(files), err)
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") || reporter[filepath.Base(path)] {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			if s, err := strconv.Unquote(lit.Value); err == nil && hand.MatchString(s) {
				t.Errorf("%s: %.60q is a message written by hand: report it through message (report.go), which links its entry", fset.Position(lit.Pos()), s)
			}
			return true
		})
	}
}
