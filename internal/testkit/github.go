package testkit

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

// GitHubStep is a GitHub Actions step whose ID-token endpoint and Hub are
// a sandbox, with its own command files, empty at first.
type GitHubStep struct {
	// Env is the step's variables: the sandbox's GitHub environment and
	// GITHUB_ENV, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY naming the files.
	Env                      []string
	EnvFile, Output, Summary string
}

// NewGitHubStep makes a step's command files in a new temporary directory.
func NewGitHubStep(t testing.TB, sb *sandbox.Sandbox) GitHubStep {
	t.Helper()
	dir := t.TempDir()
	s := GitHubStep{
		EnvFile: filepath.Join(dir, "github_env"),
		Output:  filepath.Join(dir, "github_output"),
		Summary: filepath.Join(dir, "step_summary"),
	}
	for _, f := range []string{s.EnvFile, s.Output, s.Summary} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.Env = append(sb.GitHubEnv(), "GITHUB_ENV="+s.EnvFile, "GITHUB_OUTPUT="+s.Output, "GITHUB_STEP_SUMMARY="+s.Summary)
	return s
}

// CommandFile parses a GitHub command file ($GITHUB_ENV, $GITHUB_OUTPUT)
// as hf-oidc writes one: NAME<<DELIM, value lines, DELIM, for every
// variable. It fails on any other line (the runner would also take
// NAME=VALUE, which cannot carry a newline safely and hf-oidc never
// writes) and on a heredoc its delimiter does not close.
func CommandFile(t testing.TB, content string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		name, delim, ok := strings.Cut(line, "<<")
		if !ok {
			t.Fatalf("command file line is not a heredoc: %.40q", line)
		}
		var value []string
		closed := false
		for sc.Scan() {
			if sc.Text() == delim {
				closed = true
				break
			}
			value = append(value, sc.Text())
		}
		if !closed {
			t.Fatalf("heredoc for %s is not closed by its delimiter", name)
		}
		vars[name] = strings.Join(value, "\n")
	}
	return vars
}

// ReadText returns the file at path, failing the test if it cannot.
func ReadText(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
