package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

func TestPickResource(t *testing.T) {
	t.Parallel()
	withUser, _ := resource.ParseList([]string{"acme/model,datasets/acme/data,acme-bot"})
	repos, _ := resource.ParseList([]string{"acme/model,datasets/acme/data"})
	tests := []struct {
		rs   []resource.Resource
		repo string
		want string
	}{
		{withUser, "datasets/acme/data", "datasets/acme/data"},
		{withUser, "Acme/Model", "acme/model"},
		{withUser, "meta/llama", "acme-bot"}, // a gated repo: the user token reads it
		{repos, "meta/llama", "acme/model"},
		{withUser, "", "acme/model"}, // no useHttpPath
	}
	for _, tt := range tests {
		if got := pickResource(tt.rs, tt.repo); got.Name != tt.want {
			t.Errorf("pickResource(%q) = %s, want %s", tt.repo, got.Name, tt.want)
		}
	}
}

func TestGitUsername(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"acme/model": "acme", "datasets/acme/data": "acme", "spaces/org/demo": "org", "kernels/k/flash": "k", "acme-bot": "acme-bot",
	} {
		r, err := resource.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := gitUsername(r); got != want {
			t.Errorf("gitUsername(%s) = %s, want %s", name, got, want)
		}
	}
}

func loadConfig(t *testing.T, env map[string]string, args ...string) (*config.Config, *flag.FlagSet) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := config.Bind(fs, slices.Concat(config.ExchangeVars, config.FileVars)...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := flags.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg, fs
}

// TestHelperArgs: the helper's command line in git's configuration carries
// every setting given, flag or variable, and never a secret.
func TestHelperArgs(t *testing.T) {
	t.Parallel()
	cfg, _ := loadConfig(t, map[string]string{
		"HF_OIDC_ID_TOKEN":  "eyJsecret.eyJsecret.sig",
		"HF_OIDC_AUDIENCE":  "https://hub.example",
		"HF_OIDC_TOKEN_DIR": "/ignored/for/the/argument",
		"GITHUB_ACTIONS":    "true",
		"HF_OIDC_PROVIDER":  "github",
		"HF_OIDC_RESOURCES": "acme/ignored",
		"HF_OIDC_TIMEOUT":   "",
	}, "--resource", "acme/model=MODEL_TOKEN", "--resource", "acme-bot", "--refresh-margin", "90s")
	got := strings.Join(helperArgs(cfg, "/run/tokens"), " ")
	want := "git-credential --resource=acme/model=MODEL_TOKEN --resource=acme-bot --endpoint=https://huggingface.co --token-dir=/run/tokens " +
		"--provider=github --audience=https://hub.example --refresh-margin=90s"
	if got != want {
		t.Errorf("helperArgs:\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "secret") {
		t.Error("a secret is in the helper's command line")
	}
}

func TestDefaultTokenDir(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	jobA := refresh.Owner{Provider: "gitlab", Job: "CI_JOB_ID=1", Endpoint: "https://huggingface.co"}
	jobB := refresh.Owner{Provider: "gitlab", Job: "CI_JOB_ID=2", Endpoint: "https://huggingface.co"}
	tokenA := refresh.Owner{Provider: "env", IDToken: "a.b.c"}
	tokenB := refresh.Owner{Provider: "env", IDToken: "a.b.d"}
	uid := fmt.Sprintf("hf-oidc-%d-", os.Getuid())
	if got := defaultTokenDir(env(map[string]string{"RUNNER_TEMP": "/runner/tmp", "TMPDIR": "/tmp/x"}), jobA); got != "/runner/tmp/"+uid+jobA.JobKey() {
		t.Errorf("on GitHub: %s", got)
	}
	if got := defaultTokenDir(env(map[string]string{"TMPDIR": "/tmp/x"}), jobA); got != "/tmp/x/"+uid+jobA.JobKey() {
		t.Errorf("elsewhere: %s", got)
	}
	// One directory per job: another job, or another pre-minted token,
	// has its own; the same job on another Hub keeps its directory.
	dirs := map[string]refresh.Owner{}
	for _, o := range []refresh.Owner{jobA, jobB, tokenA, tokenB} {
		d := defaultTokenDir(env(nil), o)
		if prev, dup := dirs[d]; dup {
			t.Errorf("%+v and %+v share the default directory %s", prev, o, d)
		}
		dirs[d] = o
	}
	otherHub := jobA
	otherHub.Endpoint = "https://hub.example"
	if defaultTokenDir(env(nil), otherHub) != defaultTokenDir(env(nil), jobA) {
		t.Error("the same job's directory depends on the endpoint")
	}
}
