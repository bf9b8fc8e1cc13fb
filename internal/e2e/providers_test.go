package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// standIn is the sandbox's stand-in CLI (internal/sandbox/standin), built
// once next to the hf-oidc binary.
var standIn = sync.OnceValues(func() (string, error) {
	path := filepath.Join(filepath.Dir(bin), "standin")
	out, err := exec.Command("go", "build", "-o", path, "../sandbox/standin").CombinedOutput()
	if err != nil {
		return "", &buildError{err: err, out: string(out)}
	}
	return path, nil
})

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string {
	return "building the stand-in CLI: " + e.err.Error() + "\n" + e.out
}

// cliPath returns a PATH holding only stand-ins for the named CLIs
// (circleci, buildkite-agent), so that no real one on this machine answers.
func cliPath(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	if len(names) == 0 {
		return "PATH=" + dir
	}
	exe, err := standIn()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := os.Symlink(exe, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return "PATH=" + dir
}

// providerEnv is sandbox.Env(p) plus extra, which win.
func providerEnv(t *testing.T, sb *sandbox.Sandbox, p sandbox.Provider, extra ...string) []string {
	t.Helper()
	env, err := sb.Env(p)
	if err != nil {
		t.Fatal(err)
	}
	return append(env, extra...)
}

// without drops the variable name from env.
func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

var providerResources = []string{"acme/training-model", "datasets/acme/training-data"}

// exchangeOK runs an exchange of providerResources in the JSON format and
// checks that it succeeded with tokens that work, naming the provider, and
// that nothing but stdout holds a token.
func exchangeOK(t *testing.T, sb *sandbox.Sandbox, provider string, env []string, args ...string) {
	t.Helper()
	args = append([]string{"exchange", "--format", "json"}, args...)
	for _, r := range providerResources {
		args = append(args, "--resource", r)
	}
	r := runBin(t, env, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	var j jsonTokens
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || len(j.Tokens) != len(providerResources) {
		t.Fatalf("json output: %v (%d tokens)", err, len(j.Tokens))
	}
	for i, tok := range j.Tokens {
		assertWorks(t, sb, providerResources[i], tok.Token)
	}
	if !strings.Contains(r.stderr, provider+" provider") {
		t.Errorf("stderr does not name the %s provider:\n%s", provider, r.stderr)
	}
	if rej := sb.Rejections(); len(rej) != 0 {
		t.Errorf("the Hub rejected %d exchanges: %+v", len(rej), rej)
	}
	testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
}

// setupFails runs an exchange that must stop at the ID token with exit 2,
// before anything is sent to the Hub, and returns its stderr.
func setupFails(t *testing.T, sb *sandbox.Sandbox, env []string, args ...string) string {
	t.Helper()
	args = append([]string{"exchange", "--format", "json", "--resource", providerResources[0]}, args...)
	r := runBin(t, env, args...)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout after a failure: %q", r.stdout)
	}
	if n := sb.Stats().Exchanges; n != 0 {
		t.Errorf("%d exchanges were sent after a setup failure", n)
	}
	if !strings.Contains(r.stderr, "\nNext: ") {
		t.Errorf("stderr has no next step:\n%s", r.stderr)
	}
	testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
	return r.stderr
}

func wantIn(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !holds(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
}

// trustAll configures a publisher of each of providerResources with trust
// (a sandbox Trust helper).
func trustAll(trust func(resource string)) {
	for _, r := range providerResources {
		trust(r)
	}
}

func TestGitLab(t *testing.T) {
	t.Parallel()
	t.Run("id_tokens in HF_ID_TOKEN", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		trustAll(sb.TrustGitLab)
		exchangeOK(t, sb, "gitlab", providerEnv(t, sb, sandbox.GitLab))
	})
	for name, c := range map[string]struct {
		env  []string
		args []string
	}{
		"--id-token-var":       {args: []string{"--id-token-var", "PUBLISH_ID_TOKEN"}},
		"HF_OIDC_ID_TOKEN_VAR": {env: []string{"HF_OIDC_ID_TOKEN_VAR=PUBLISH_ID_TOKEN"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
			trustAll(sb.TrustGitLab)
			tok, err := sb.MintGitLabIDToken(nil)
			if err != nil {
				t.Fatal(err)
			}
			env := append(without(providerEnv(t, sb, sandbox.GitLab), "HF_ID_TOKEN"), "PUBLISH_ID_TOKEN="+tok)
			exchangeOK(t, sb, "gitlab", append(env, c.env...), c.args...)
		})
	}
	t.Run("forced with --provider", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		trustAll(sb.TrustGitLab)
		exchangeOK(t, sb, "gitlab", without(providerEnv(t, sb, sandbox.GitLab), "GITLAB_CI"), "--provider", "gitlab")
	})
	t.Run("no id_tokens", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, without(providerEnv(t, sb, sandbox.GitLab), "HF_ID_TOKEN"))
		wantIn(t, stderr, "hf-oidc exchange: the gitlab provider has no ID token to give: HF_ID_TOKEN is not set",
			"  id_tokens:\n    HF_ID_TOKEN:\n      aud: https://huggingface.co\n", "--id-token-var")
	})
	t.Run("no id_tokens, another variable and audience", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, without(providerEnv(t, sb, sandbox.GitLab), "HF_ID_TOKEN"),
			"--id-token-var", "PUBLISH_ID_TOKEN", "--audience", "https://hub.acme.example")
		wantIn(t, stderr, "PUBLISH_ID_TOKEN (named by --id-token-var or HF_OIDC_ID_TOKEN_VAR) is not set",
			"  id_tokens:\n    PUBLISH_ID_TOKEN:\n      aud: https://hub.acme.example\n")
	})
	t.Run("id_tokens for another audience", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		tok, err := sb.MintGitLabIDToken(map[string]any{"aud": "https://gitlab.com"})
		if err != nil {
			t.Fatal(err)
		}
		stderr := setupFails(t, sb, append(providerEnv(t, sb, sandbox.GitLab), "HF_ID_TOKEN="+tok))
		wantIn(t, stderr, `the ID token in HF_ID_TOKEN is for audience "https://gitlab.com", not "https://huggingface.co"`,
			"      aud: https://huggingface.co\n")
	})
	t.Run("a job on another branch", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		sb.TrustGitLab(providerResources[0])
		tok, err := sb.MintGitLabIDToken(map[string]any{"ref": "main-backup", "ref_path": "refs/heads/main-backup"})
		if err != nil {
			t.Fatal(err)
		}
		r := runBin(t, append(providerEnv(t, sb, sandbox.GitLab), "HF_ID_TOKEN="+tok), "exchange", "--format", "json", "--resource", providerResources[0])
		if r.code != 1 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
		}
		rej := sb.Rejections()
		if len(rej) != 1 || rej[0].Check != sandbox.CheckClaims || !strings.Contains(rej[0].Reason, `ref: want "main", got "main-backup"`) {
			t.Errorf("rejections %+v, want the ref's exact match failing", rej)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
	})
}

func TestCircleCI(t *testing.T) {
	t.Parallel()
	t.Run("circleci run oidc get", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		trustAll(sb.TrustCircleCI)
		log := filepath.Join(t.TempDir(), "argv")
		exchangeOK(t, sb, "circleci", providerEnv(t, sb, sandbox.CircleCI, cliPath(t, "circleci"), "STANDIN_LOG="+log))
		argv := testkit.ReadText(t, log)
		if want := "circleci run oidc get --claims {\"aud\":\"https://huggingface.co\"}\n"; argv != want {
			t.Errorf("the CLI ran as %q, want %q (once for the whole round)", argv, want)
		}
		testkit.NoLeak(t, sb, map[string]string{"the CLI's command lines": argv})
		if n := sb.Stats().IDTokenRequests; n != 1 {
			t.Errorf("%d ID tokens minted, want 1", n)
		}
	})
	t.Run("CLI missing", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, providerEnv(t, sb, sandbox.CircleCI, cliPath(t)))
		wantIn(t, stderr, "hf-oidc exchange: the circleci provider has no ID token to give: the circleci CLI is not on PATH",
			"HF_OIDC_CIRCLECI_FALLBACK=org-token", "its audience is the organization id")
	})
	t.Run("CLI fails", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, providerEnv(t, sb, sandbox.CircleCI, cliPath(t, "circleci"),
			"STANDIN_FAIL=this command can only run within a CircleCI job"))
		wantIn(t, stderr, "`circleci run oidc get` failed: running circleci: exit status 1: Error: this command can only run within a CircleCI job",
			"update the CLI")
	})
	t.Run("fallback refused for the Hub's audience", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, providerEnv(t, sb, sandbox.CircleCI, cliPath(t), "HF_OIDC_CIRCLECI_FALLBACK=org-token"))
		wantIn(t, stderr, `the fallback $CIRCLE_OIDC_TOKEN_V2 is for audience "`+sandbox.CircleCIOrgID+`" (the organization id), not "https://huggingface.co"`)
	})
	t.Run("fallback for a Hub whose audience is the org", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Audience: sandbox.CircleCIOrgID, Keys: sandbox.SharedKeys})
		trustAll(sb.TrustCircleCI)
		exchangeOK(t, sb, "circleci", providerEnv(t, sb, sandbox.CircleCI, cliPath(t),
			"HF_OIDC_CIRCLECI_FALLBACK=org-token", "HF_OIDC_AUDIENCE="+sandbox.CircleCIOrgID))
	})
	t.Run("a job from another branch", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		sb.TrustCircleCI(providerResources[0])
		sb.SetClaims(sandbox.CircleCI, map[string]any{"oidc.circleci.com/vcs-ref": "refs/heads/feature"})
		r := runBin(t, providerEnv(t, sb, sandbox.CircleCI, cliPath(t, "circleci")), "exchange", "--format", "json", "--resource", providerResources[0])
		if r.code != 1 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
		}
		if rej := sb.Rejections(); len(rej) != 1 || rej[0].Check != sandbox.CheckClaims {
			t.Errorf("rejections %+v, want the claims' exact match failing", rej)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
	})
}

func TestBitbucket(t *testing.T) {
	t.Parallel()
	t.Run("oidc with the Hub's audience", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		trustAll(sb.TrustBitbucket)
		exchangeOK(t, sb, "bitbucket", providerEnv(t, sb, sandbox.Bitbucket))
	})
	t.Run("oidc off", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, without(providerEnv(t, sb, sandbox.Bitbucket), "BITBUCKET_STEP_OIDC_TOKEN"))
		wantIn(t, stderr, "hf-oidc exchange: the bitbucket provider has no ID token to give: BITBUCKET_STEP_OIDC_TOKEN is not set", "`oidc: true`",
			"  - step:\n      oidc:\n        audiences:\n          - https://huggingface.co\n")
	})
	t.Run("oidc: true alone", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		tok, err := sb.MintBitbucketIDToken(map[string]any{"aud": sandbox.BitbucketDefaultAudience})
		if err != nil {
			t.Fatal(err)
		}
		stderr := setupFails(t, sb, append(providerEnv(t, sb, sandbox.Bitbucket), "BITBUCKET_STEP_OIDC_TOKEN="+tok))
		wantIn(t, stderr, `BITBUCKET_STEP_OIDC_TOKEN is for audience "`+sandbox.BitbucketDefaultAudience+`", not "https://huggingface.co"`,
			"  - step:\n      oidc:\n        audiences:\n          - https://huggingface.co\n")
	})
	t.Run("a step of another repository", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		sb.TrustBitbucket(providerResources[0])
		tok, err := sb.MintBitbucketIDToken(map[string]any{"repositoryUuid": "{00000000-0000-4000-8000-000000000000}"})
		if err != nil {
			t.Fatal(err)
		}
		r := runBin(t, append(providerEnv(t, sb, sandbox.Bitbucket), "BITBUCKET_STEP_OIDC_TOKEN="+tok), "exchange", "--format", "json", "--resource", providerResources[0])
		if r.code != 1 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
		}
		if rej := sb.Rejections(); len(rej) != 1 || rej[0].Check != sandbox.CheckClaims {
			t.Errorf("rejections %+v, want the claims' exact match failing", rej)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
	})
}

func TestBuildkite(t *testing.T) {
	t.Parallel()
	t.Run("buildkite-agent oidc request-token", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		trustAll(sb.TrustBuildkite)
		log := filepath.Join(t.TempDir(), "argv")
		exchangeOK(t, sb, "buildkite", providerEnv(t, sb, sandbox.Buildkite, cliPath(t, "buildkite-agent"),
			"STANDIN_LOG="+log, "HF_OIDC_BUILDKITE_LIFETIME=10m"))
		argv := testkit.ReadText(t, log)
		if want := "buildkite-agent oidc request-token --audience https://huggingface.co --lifetime 600\n"; argv != want {
			t.Errorf("the agent ran as %q, want %q (once for the whole round)", argv, want)
		}
		testkit.NoLeak(t, sb, map[string]string{"the agent's command lines": argv})
	})
	t.Run("agent missing", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, providerEnv(t, sb, sandbox.Buildkite, cliPath(t)))
		wantIn(t, stderr, "hf-oidc exchange: the buildkite provider has no ID token to give: buildkite-agent is not on PATH", "mount-buildkite-agent")
	})
	t.Run("agent without oidc", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, providerEnv(t, sb, sandbox.Buildkite, cliPath(t, "buildkite-agent"),
			"STANDIN_FAIL=No help topic for 'oidc'"))
		wantIn(t, stderr, "this buildkite-agent cannot run `oidc request-token`", "Upgrade the Buildkite agent")
	})
	t.Run("agent without --lifetime", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		stderr := setupFails(t, sb, providerEnv(t, sb, sandbox.Buildkite, cliPath(t, "buildkite-agent"),
			"HF_OIDC_BUILDKITE_LIFETIME=10m", "STANDIN_FAIL=Incorrect Usage: flag provided but not defined: -lifetime"))
		wantIn(t, stderr, "unset HF_OIDC_BUILDKITE_LIFETIME")
	})
	t.Run("a build of another organization", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
		sb.TrustBuildkite(providerResources[0])
		sb.SetClaims(sandbox.Buildkite, map[string]any{"organization_slug": "evil"})
		r := runBin(t, providerEnv(t, sb, sandbox.Buildkite, cliPath(t, "buildkite-agent")), "exchange", "--format", "json", "--resource", providerResources[0])
		if r.code != 1 || r.stdout != "" {
			t.Fatalf("exit %d, stdout %q; want 1 and nothing", r.code, r.stdout)
		}
		if rej := sb.Rejections(); len(rej) != 1 || !strings.Contains(rej[0].Reason, `organization_slug: want "acme", got "evil"`) {
			t.Errorf("rejections %+v, want the organization's exact match failing", rej)
		}
		testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
	})
}
