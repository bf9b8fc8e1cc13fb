package config

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// envName is the shape of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$|^[A-Z]{2,}$`)

// readNames returns the variable names this package's code hands to a
// function: the getenv calls, and the names it reports an error under.
func readNames(t *testing.T) map[string]token.Position {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	names := map[string]token.Position{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			for _, arg := range call.Args {
				lit, ok := arg.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
					names[s] = fset.Position(lit.Pos())
				}
			}
			return true
		})
	}
	return names
}

// TestConfigurationDocNamesEveryVariable fails when a variable this
// package reads, in Vars or by name in its code, is missing from
// docs/configuration.md.
func TestConfigurationDocNamesEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	names := readNames(t)
	if len(names) < 5 {
		t.Fatalf("found only %d variable names in the package's calls: %v; the scan is broken", len(names), names)
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
