package packagingtest

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// packagingColumns reads docs/configuration.md's table of the packagings'
// inputs: for each column's heading, the text of its cells.
func packagingColumns(t *testing.T) map[string]string {
	t.Helper()
	doc := testkit.ReadText(t, filepath.Join(root, "docs", "configuration.md"))
	const header = "| setting | GitHub Action input | GitLab include input | CircleCI orb parameter | Bitbucket pipe variable |\n"
	_, table, ok := strings.Cut(doc, header)
	if !ok {
		t.Fatalf("docs/configuration.md has no table headed %q", header)
	}
	heads := strings.Split(strings.Trim(strings.TrimSpace(header), "|"), "|")
	cols := map[string]string{}
	for _, row := range strings.Split(table, "\n")[1:] {
		if !strings.HasPrefix(row, "|") {
			break
		}
		for i, c := range strings.Split(strings.Trim(row, "|"), "|") {
			if i < len(heads) {
				cols[strings.TrimSpace(heads[i])] += c + "\n"
			}
		}
	}
	return cols
}

// TestConfigurationDocMapsEveryInput fails when docs/configuration.md's
// table of the packagings' inputs leaves out an input of the action or of
// the GitLab include, a parameter of the orb's commands, or a variable of
// the pipe.
func TestConfigurationDocMapsEveryInput(t *testing.T) {
	t.Parallel()
	cols := packagingColumns(t)
	named := func(col, name string) bool {
		return regexp.MustCompile("`" + regexp.QuoteMeta(name) + "[`:]").MatchString(cols[col])
	}
	n := 0
	var action struct {
		Inputs map[string]any `json:"inputs"`
	}
	remarshal(t, testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(root, "action.yml")))[0], &action)
	for name := range action.Inputs {
		n++
		if !named("GitHub Action input", name) {
			t.Errorf("docs/configuration.md's table of inputs has no GitHub Action input %s", name)
		}
	}
	for name := range gitlabSpecInputs(t) {
		n++
		if !named("GitLab include input", name) {
			t.Errorf("docs/configuration.md's table of inputs has no GitLab input %s", name)
		}
	}
	cmds, err := filepath.Glob(filepath.Join(root, "circleci", "src", "commands", "*.yml"))
	if err != nil || len(cmds) == 0 {
		t.Fatalf("the orb's commands: %v, %v", cmds, err)
	}
	for _, f := range cmds {
		var cmd orbCommand
		remarshal(t, testkit.YAMLDocs(t, testkit.ReadText(t, f))[0], &cmd)
		for name := range cmd.Parameters {
			n++
			if !named("CircleCI orb parameter", name) {
				t.Errorf("docs/configuration.md's table of inputs has no parameter %s of the orb's %s", name, filepath.Base(f))
			}
		}
	}
	pipeVar := regexp.MustCompile(`(?m)^\| ([A-Z][A-Z0-9_]*)\b`)
	for _, m := range pipeVar.FindAllStringSubmatch(testkit.ReadText(t, filepath.Join(root, "bitbucket", "README.md")), -1) {
		n++
		if !named("Bitbucket pipe variable", m[1]) {
			t.Errorf("docs/configuration.md's table of inputs has no pipe variable %s", m[1])
		}
	}
	if n < 10 {
		t.Errorf("found only %d inputs in the packagings; is their form as this test expects?", n)
	}
}
