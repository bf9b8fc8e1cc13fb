package actiontest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The documents that show action.yml's inputs and outputs as tables.
var actionDocs = []string{"README.md", "docs/configuration.md"}

// TestActionTablesInDocs fails when a table of the action's inputs or
// outputs says other than action.yml: a name, whether it is required, its
// default or its description. UPDATE_DOCS=1 rewrites the tables.
func TestActionTablesInDocs(t *testing.T) {
	t.Parallel()
	inputs, outputs := actionTables(t)
	for _, f := range actionDocs {
		path := filepath.Join(root, f)
		doc := testkit.ReadText(t, path)
		updated := doc
		for _, s := range []struct{ name, want string }{{"action-inputs", inputs}, {"action-outputs", outputs}} {
			re := regexp.MustCompile(`(?s)(<!-- ` + s.name + `:begin[^>]*-->\n).*?(<!-- ` + s.name + `:end -->)`)
			m := re.FindStringSubmatch(updated)
			if m == nil {
				t.Errorf("%s has no <!-- %s:begin --> … <!-- %s:end --> section", f, s.name, s.name)
				continue
			}
			if m[0] == m[1]+s.want+m[2] {
				continue
			}
			if os.Getenv("UPDATE_DOCS") == "1" {
				updated = strings.Replace(updated, m[0], m[1]+s.want+m[2], 1)
				continue
			}
			t.Errorf("%s's %s table says other than action.yml; run UPDATE_DOCS=1 go test ./internal/actiontest -run TestActionTablesInDocs\nwant:\n%s", f, s.name, s.want)
		}
		if updated != doc {
			if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// actionTables renders action.yml's inputs and outputs as Markdown tables,
// in the order action.yml lists them.
func actionTables(t *testing.T) (inputs, outputs string) {
	t.Helper()
	doc := testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(root, "action.yml")))[0]
	var action struct {
		Inputs  json.RawMessage `json:"inputs"`
		Outputs json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(doc, &action); err != nil {
		t.Fatal(err)
	}
	var in, out strings.Builder
	in.WriteString("| input | required | default | description |\n|---|---|---|---|\n")
	for _, name := range orderedKeys(t, action.Inputs) {
		var v struct {
			Description string `json:"description"`
			Required    bool   `json:"required"`
			Default     any    `json:"default"`
		}
		unmarshalKey(t, action.Inputs, name, &v)
		required, def := "no", "—"
		if v.Required {
			required = "yes"
		}
		if s := fmt.Sprint(v.Default); v.Default != nil && s != "" {
			def = "`" + s + "`"
		}
		fmt.Fprintf(&in, "| `%s` | %s | %s | %s |\n", name, required, def, cell(v.Description))
	}
	out.WriteString("| output | description |\n|---|---|\n")
	for _, name := range orderedKeys(t, action.Outputs) {
		var v struct {
			Description string `json:"description"`
		}
		unmarshalKey(t, action.Outputs, name, &v)
		fmt.Fprintf(&out, "| `%s` | %s |\n", name, cell(v.Description))
	}
	return in.String(), out.String()
}

// cell is text as one Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}

// orderedKeys returns a JSON object's keys in the order written: the YAML
// parser keeps action.yml's order, and a Go map would lose it.
func orderedKeys(t *testing.T, obj json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if len(keys) == 0 {
		t.Fatalf("action.yml lists none: %s", obj)
	}
	return keys
}

func unmarshalKey(t *testing.T, obj json.RawMessage, key string, v any) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m[key], v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
}
