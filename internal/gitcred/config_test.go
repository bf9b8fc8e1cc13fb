package gitcred

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	hub, _ := url.Parse("https://huggingface.co")
	var got []string
	for _, e := range Settings(hub, "!hf-oidc git-credential") {
		got = append(got, e.Key+"="+e.Value)
	}
	want := []string{
		"credential.https://huggingface.co.helper=",
		"credential.https://huggingface.co.helper=!hf-oidc git-credential",
		"credential.https://huggingface.co.useHttpPath=true",
		"url.https://huggingface.co/.insteadOf=git@hf.co:",
		"url.https://huggingface.co/.insteadOf=ssh://git@hf.co/",
		"url.https://huggingface.co/.insteadOf=git@huggingface.co:",
		"url.https://huggingface.co/.insteadOf=ssh://git@huggingface.co/",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Settings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	private, _ := url.Parse("https://hub.example.com:8443/hub/")
	var prefixes []string
	for _, e := range Settings(private, "!x") {
		if strings.HasPrefix(e.Key, "url.") {
			prefixes = append(prefixes, e.Key+"="+e.Value)
		}
	}
	if strings.Join(prefixes, " ") != "url.https://hub.example.com:8443/hub/.insteadOf=git@hub.example.com: url.https://hub.example.com:8443/hub/.insteadOf=ssh://git@hub.example.com/" {
		t.Errorf("a private Hub's rewrites: %v", prefixes)
	}
}

func TestHelperCommand(t *testing.T) {
	t.Parallel()
	got := HelperCommand("/opt/hf oidc/hf-oidc", "git-credential", "--resource", "it's")
	if got != `!'/opt/hf oidc/hf-oidc' 'git-credential' '--resource' 'it'\''s'` {
		t.Errorf("HelperCommand = %s", got)
	}
}

func TestEnvConfig(t *testing.T) {
	t.Parallel()
	es := []Entry{{"a.b", "1", Reset}, {"a.b", "2", Add}}
	got, err := EnvConfig(func(k string) string { return map[string]string{"GIT_CONFIG_COUNT": "2"}[k] }, es)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "GIT_CONFIG_KEY_2=a.b GIT_CONFIG_VALUE_2=1 GIT_CONFIG_KEY_3=a.b GIT_CONFIG_VALUE_3=2 GIT_CONFIG_COUNT=4" {
		t.Errorf("EnvConfig = %v", got)
	}
	if _, err := EnvConfig(func(string) string { return "x" }, es); err == nil || !strings.Contains(err.Error(), "GIT_CONFIG_COUNT") {
		t.Errorf("EnvConfig with a bad count = %v", err)
	}
}

// gitEnv is an environment in which git reads only the configuration in
// dir: no system file, the global one in dir.
func gitEnv(t *testing.T, dir string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(dir, "gitconfig"),
		"GIT_TERMINAL_PROMPT=0",
	}
}

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is not installed: .ci/install must install it")
		}
		t.Skip("git is not installed")
	}
}

// runGit runs git in dir, outside any repository whose configuration it
// could read.
func runGit(t *testing.T, env []string, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestConfigureWithGit writes the settings with real git, twice, over a
// global helper that would answer with another password, and asks git what
// it now does: our helper answers for the Hub only, and SSH-style remotes
// point at the Hub over HTTPS.
func TestConfigureWithGit(t *testing.T) {
	t.Parallel()
	needGit(t)
	dir := t.TempDir()
	env := gitEnv(t, dir)
	runGit(t, env, dir, "", "config", "--global", "credential.helper", "!f() { echo username=other; echo password=stored; }; f")
	hub, _ := url.Parse("https://huggingface.co")
	helper := "!f() { test \"$1\" = get && echo username=acme && echo password=fresh; }; f"
	git := func(ctx context.Context, args ...string) error {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("%s", out)
			return err
		}
		return nil
	}
	for range 2 {
		if err := Configure(context.Background(), git, Settings(hub, helper)); err != nil {
			t.Fatal(err)
		}
	}
	if got := runGit(t, env, dir, "", "config", "--global", "--get-all", "url.https://huggingface.co/.insteadOf"); strings.Count(got, "\n") != 4 {
		t.Errorf("insteadOf after two runs:\n%s", got)
	}
	if got := runGit(t, env, dir, "", "config", "--global", "--get-all", "credential.https://huggingface.co.helper"); strings.Count(got, "\n") != 2 {
		t.Errorf("helpers after two runs:\n%s", got)
	}

	fill := func(host string) string {
		return runGit(t, env, dir, "protocol=https\nhost="+host+"\npath=acme/m.git\n\n", "credential", "fill")
	}
	if got := fill("huggingface.co"); !strings.Contains(got, "password=fresh") {
		t.Errorf("fill for the Hub:\n%s", got)
	}
	if got := fill("github.com"); !strings.Contains(got, "password=stored") {
		t.Errorf("fill for another host:\n%s", got)
	}

	repo := filepath.Join(dir, "repo")
	runGit(t, env, dir, "", "init", "-q", repo)
	for remote, want := range map[string]string{
		"git@hf.co:acme/model":                    "https://huggingface.co/acme/model",
		"ssh://git@hf.co/datasets/acme/d":         "https://huggingface.co/datasets/acme/d",
		"git@huggingface.co:spaces/acme/s":        "https://huggingface.co/spaces/acme/s",
		"ssh://git@huggingface.co/acme/model.git": "https://huggingface.co/acme/model.git",
		"git@github.com:acme/model":               "git@github.com:acme/model",
	} {
		runGit(t, env, dir, "", "-C", repo, "remote", "add", "r", remote)
		if got := strings.TrimSpace(runGit(t, env, dir, "", "-C", repo, "remote", "get-url", "r")); got != want {
			t.Errorf("%s is fetched from %s, want %s", remote, got, want)
		}
		runGit(t, env, dir, "", "-C", repo, "remote", "remove", "r")
	}
}
