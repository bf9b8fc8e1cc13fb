package actiontest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// allInputs uses the action with every input and output, as actionlint
// checks them against action.yml.
const allInputs = `name: all inputs
on: push
permissions: { id-token: write, contents: read }
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: hf
        uses: ./
        with:
          resources: |
            acme/awesome-model
            datasets/acme/awesome-dataset=HF_DATASET_TOKEN
          audience: https://huggingface.co
          endpoint: https://huggingface.co
          export: file
          git: true
          timeout: 2m
          allow-partial: true
          refresh-margin: 10m
          version: v1.2.3
          binary: /opt/hf-oidc/hf-oidc
      - env:
          TOKEN: ${{ steps.hf.outputs.token }}
          EXPIRES_AT: ${{ steps.hf.outputs.expires-at }}
          TOKEN_FILE: ${{ steps.hf.outputs.token-file }}
          DATASET: ${{ fromJSON(steps.hf.outputs.tokens).HF_DATASET_TOKEN }}
        run: test -n "$TOKEN" && echo "$EXPIRES_AT $TOKEN_FILE"
`

// misused gets the action's inputs and outputs wrong.
const misused = `name: misused
on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - id: hf
        uses: ./
        with:
          resource: acme/awesome-model
      - run: echo "${{ steps.hf.outputs.token-map }}"
`

func actionlint(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(requireTool(t, "actionlint"), append([]string{"-no-color"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestActionlint(t *testing.T) {
	t.Parallel()
	t.Run("the repository's workflows", func(t *testing.T) {
		workflows, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
		if len(workflows) < 2 {
			t.Fatalf("want the ci and release workflows at least, found %v", workflows)
		}
		if out, err := actionlint(t, root); err != nil {
			t.Errorf("actionlint: %v\n%s", err, out)
		}
	})
	t.Run("every input", func(t *testing.T) {
		r := newRepo(t, false)
		r.write(t, ".github/workflows/all-inputs.yml", allInputs)
		r.commit(t) // actionlint finds the project, and so the action, by its .git
		if out, err := actionlint(t, r.dir); err != nil {
			t.Errorf("actionlint: %v\n%s", err, out)
		}
	})
	t.Run("misuse is caught", func(t *testing.T) {
		// Proves that actionlint reads action.yml: without it, it would
		// pass these.
		r := newRepo(t, false)
		r.write(t, ".github/workflows/misused.yml", misused)
		r.commit(t)
		out, err := actionlint(t, r.dir)
		if err == nil {
			t.Fatalf("actionlint passed a misuse of the action:\n%s", out)
		}
		for _, want := range []string{`input "resource" is not defined`, `missing input "resources"`, `property "token-map" is not defined`} {
			if !strings.Contains(out, want) {
				t.Errorf("actionlint's report lacks %q:\n%s", want, out)
			}
		}
	})
}

// TestShellcheck checks the scripts the action and its CI run, which run
// under bash on Linux, macOS and Windows runners alike.
func TestShellcheck(t *testing.T) {
	t.Parallel()
	scripts, _ := filepath.Glob(filepath.Join(root, ".github", "*", "*.sh"))
	if len(scripts) < 2 {
		t.Fatalf("want the action's scripts at least, found %v", scripts)
	}
	out, err := exec.Command(requireTool(t, "shellcheck"), append([]string{"--shell=bash"}, scripts...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// validate runs the action schema validator on an action.yml.
func validate(t *testing.T, path string) (string, error) {
	t.Helper()
	cmd := exec.Command(requireTool(t, "npx"), "--yes", "--prefer-offline", "@action-validator/cli@0.6.0", path)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestActionSchema(t *testing.T) {
	t.Parallel()
	t.Run("action.yml", func(t *testing.T) {
		t.Parallel()
		if out, err := validate(t, filepath.Join(root, "action.yml")); err != nil {
			t.Errorf("action.yml does not validate against the action schema: %v\n%s", err, out)
		}
	})
	t.Run("a broken action is refused", testBrokenAction)
}

func testBrokenAction(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "action.yml")
	if err := os.WriteFile(broken, []byte(strings.Replace(string(data), "using: composite", "using: compost", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := validate(t, broken); err == nil {
		t.Errorf("the validator passed runs.using: compost:\n%s", out)
	}
}
