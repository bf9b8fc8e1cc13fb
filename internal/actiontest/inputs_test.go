package actiontest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestActionInputsReachScriptsAsData checks action.yml: each step's run:
// holds no ${{ }} expression, so that no input is spliced into a script,
// where a value could end its quoting; inputs reach the scripts in env:,
// one variable each, and every input is handed to a step so.
func TestActionInputsReachScriptsAsData(t *testing.T) {
	t.Parallel()
	py := requireTool(t, "python3")
	cmd := exec.Command(py, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)")
	f, err := os.Open(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdin = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'yaml'") && os.Getenv("CI") != "true" {
			t.Skip("python3 has no yaml module; .ci/install installs python3-yaml")
		}
		t.Fatalf("parsing action.yml: %v\n%s", err, stderr.String())
	}
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
	if err := json.Unmarshal(out, &action); err != nil {
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
