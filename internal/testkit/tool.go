package testkit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireTool returns the path of a tool, found on PATH or else at one of
// elsewhere, skipping the test when it is missing, except in CI
// (CI=true), where a missing tool is a broken .ci/install.
func RequireTool(t testing.TB, name string, elsewhere ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range elsewhere {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: .ci/install must install it", name)
	}
	t.Skipf("%s is not installed; .ci/install installs it", name)
	return ""
}

// YAMLDocs parses every document of a YAML stream with python3 and PyYAML,
// since the module has no YAML parser of its own, and returns each as
// JSON. It skips the test when either is missing, except in CI, where it
// fails.
func YAMLDocs(t testing.TB, text string) []json.RawMessage {
	t.Helper()
	py := RequireTool(t, "python3")
	cmd := exec.Command(py, "-c", "import json, sys, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)")
	cmd.Stdin = strings.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'yaml'") && os.Getenv("CI") != "true" {
			t.Skip("python3 has no yaml module; .ci/install installs python3-yaml")
		}
		t.Fatalf("parsing YAML: %v\n%s", err, stderr.String())
	}
	var docs []json.RawMessage
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatal(err)
	}
	return docs
}
