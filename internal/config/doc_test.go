package config

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

// envName is the shape of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^[A-Z]{2,}$`)

// readers are the functions that read a variable by name, in the code
// outside this package: os.Getenv and the getenv each command and provider
// is handed, and plugins.JobVar.
var readers = map[string]bool{"Getenv": true, "getenv": true, "LookupEnv": true, "env": true, "JobVar": true}

// notSettings are the directories whose variables are no setting of
// hf-oidc: the sandbox's and the tests' own switches, the benchmark and
// the release build, which run from a checkout.
var notSettings = []string{"internal/sandbox", "internal/testkit", "internal/bench", "internal/release", "testdata"}

// namesRead returns the variable names the non-test Go files under dir
// hand to a function: to every function when reader is nil (this package,
// which also names a variable in the errors about it), else to the
// functions reader accepts. A name may be a string literal, a constant of
// the file declared as one, or a literal of a []string that a loop reads
// each of.
func namesRead(t *testing.T, dir string, reader func(string) bool) map[string]token.Position {
	t.Helper()
	fset := token.NewFileSet()
	names := map[string]token.Position{}
	// consts are the current file's string constants, by name.
	var consts map[string]ast.Expr
	add := func(e ast.Expr) {
		if id, ok := e.(*ast.Ident); ok && consts[id.Name] != nil {
			e = consts[id.Name]
		}
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return
		}
		if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
			names[s] = fset.Position(lit.Pos())
		}
	}
	isReader := func(call *ast.CallExpr) bool {
		if reader == nil {
			return true
		}
		switch f := call.Fun.(type) {
		case *ast.Ident:
			return reader(f.Name)
		case *ast.SelectorExpr:
			return reader(f.Sel.Name)
		}
		return false
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			for _, skip := range notSettings {
				if strings.HasSuffix(filepath.ToSlash(path), skip) && reader != nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		consts = map[string]ast.Expr{}
		for _, decl := range file.Decls {
			if gen, ok := decl.(*ast.GenDecl); ok && gen.Tok == token.CONST {
				for _, spec := range gen.Specs {
					if vs := spec.(*ast.ValueSpec); len(vs.Values) == len(vs.Names) {
						for i, n := range vs.Names {
							consts[n.Name] = vs.Values[i]
						}
					}
				}
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if isReader(n) {
					for _, arg := range n.Args {
						add(arg)
					}
				}
			case *ast.RangeStmt:
				// for _, v := range []string{"A", "B"} { getenv(v) }
				lit, ok := n.X.(*ast.CompositeLit)
				v, ok2 := n.Value.(*ast.Ident)
				if !ok || !ok2 {
					return true
				}
				ast.Inspect(n.Body, func(m ast.Node) bool {
					if call, ok := m.(*ast.CallExpr); ok && isReader(call) {
						for _, arg := range call.Args {
							if id, ok := arg.(*ast.Ident); ok && id.Name == v.Name {
								for _, elt := range lit.Elts {
									add(elt)
								}
							}
						}
					}
					return true
				})
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestConfigurationDocNamesEveryVariable fails when a variable hf-oidc
// reads is missing from docs/configuration.md: one in Vars, one this
// package names in its code, or one read by name anywhere in internal/ or
// plugins/ (the sandbox, the tests, the benchmark and the release build
// aside).
func TestConfigurationDocNamesEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	names := namesRead(t, ".", nil)
	if len(names) < 5 {
		t.Fatalf("found only %d variable names in this package's calls: %v; the scan is broken", len(names), names)
	}
	isReader := func(name string) bool { return readers[name] }
	for _, dir := range []string{"../../internal", "../../plugins"} {
		for name, pos := range namesRead(t, dir, isReader) {
			names[name] = pos
		}
	}
	for _, want := range []string{"GITHUB_RUN_ATTEMPT", "CI_JOB_ID", "ACTIONS_ID_TOKEN_REQUEST_URL", "GIT_CONFIG_COUNT"} {
		if _, ok := names[want]; !ok {
			t.Errorf("the scan missed %s, which hf-oidc reads", want)
		}
	}
	for _, v := range Vars {
		names[v.Name] = token.Position{Filename: "Vars"}
	}
	for name, pos := range names {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("%s reads %s, which docs/configuration.md does not name", pos, name)
		}
	}
}
