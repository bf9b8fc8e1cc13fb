package actiontest

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestActionInputsReachScriptsAsData checks action.yml: each step's run:
// holds no ${{ }} expression, so that no input is spliced into a script,
// where a value could end its quoting; inputs reach the scripts in env:,
// one variable each, and every input is handed to a step so.
func TestActionInputsReachScriptsAsData(t *testing.T) {
	t.Parallel()
	doc := testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(root, "action.yml")))[0]
	var action struct {
		Inputs map[string]any `json:"inputs"`
		Runs   struct {
			Steps []struct {
				ID  string            `json:"id"`
				Run string            `json:"run"`
				Env map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(doc, &action); err != nil {
		t.Fatal(err)
	}
	var passed []string
	for _, s := range action.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %s splices an expression into its script: %q", s.ID, s.Run)
		}
		for name, v := range s.Env {
			if in, ok := strings.CutPrefix(v, "${{ inputs."); ok {
				in, ok = strings.CutSuffix(in, " }}")
				if !ok || strings.ContainsAny(in, " |&") {
					t.Errorf("step %s: %s is %q, want one input as it is", s.ID, name, v)
				}
				passed = append(passed, in)
			}
		}
	}
	for name := range action.Inputs {
		if !slices.Contains(passed, name) {
			t.Errorf("input %s reaches no step through env:", name)
		}
	}
}
