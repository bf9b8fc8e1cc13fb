package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// evalShell runs the shell format's output through a real POSIX shell and
// returns the environment it leaves. The lines go through stdin, never argv.
func evalShell(t *testing.T, lines string) map[string]string {
	t.Helper()
	cmd := exec.Command("sh", "-c", `eval "$(cat)" && env -0`)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(lines)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("eval of the shell format failed: %v", err)
	}
	return parseEnv0(out)
}

// sourceDotenv reads the dotenv format the way `set -a; . file` does.
func sourceDotenv(t *testing.T, content string) map[string]string {
	t.Helper()
	f := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `set -a && . "$0" && env -0`, f)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sourcing the dotenv format failed: %v", err)
	}
	return parseEnv0(out)
}

func parseEnv0(b []byte) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

type jsonTokens struct {
	Tokens []struct {
		Resource  string `json:"resource"`
		Env       string `json:"env"`
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	} `json:"tokens"`
}

// exported runs one exchange in format and returns the variables it
// exported, parsed back the way their consumer reads them. Every output not
// meant to hold a token is scanned for leaks.
func exported(t *testing.T, sb *sandbox.Sandbox, format string, resources ...string) map[string]string {
	t.Helper()
	step := testkit.NewGitHubStep(t, sb)
	args := []string{"exchange", "--format", format}
	for _, r := range resources {
		args = append(args, "--resource", r)
	}
	r := runBin(t, step.Env, args...)
	if r.code != 0 {
		t.Fatalf("exchange --format %s: exit %d\nstderr: %s", format, r.code, r.stderr)
	}
	// In GitHub Actions, formats other than github mask on stderr, which
	// the runner reads workflow commands from too.
	outputs := map[string]string{"stderr without its mask commands": withoutMasks(t, sb, r.stderr), "step summary": testkit.ReadText(t, step.Summary)}
	var vars map[string]string
	switch format {
	case "github":
		vars = testkit.CommandFile(t, testkit.ReadText(t, step.EnvFile))
		outputs["stdout without its mask commands"] = withoutMasks(t, sb, r.stdout)
		outputs["GITHUB_OUTPUT without its token output"] = withoutOutput(t, testkit.ReadText(t, step.Output), "token")
	case "shell":
		vars = evalShell(t, r.stdout)
	case "dotenv":
		vars = sourceDotenv(t, r.stdout)
	case "json":
		var j jsonTokens
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
			t.Fatalf("json format does not parse: %v", err)
		}
		vars = map[string]string{}
		for i, tok := range j.Tokens {
			vars[tok.Env] = tok.Token
			vars[tok.Env+"_EXPIRES_AT"] = tok.ExpiresAt
			if i == 0 {
				vars["HF_TOKEN"] = tok.Token
				vars["HF_TOKEN_EXPIRES_AT"] = tok.ExpiresAt
			}
			if tok.Resource != strings.Split(resources[i], "=")[0] {
				t.Errorf("json token %d is for %q, want %q", i, tok.Resource, resources[i])
			}
		}
	}
	if format != "github" {
		// Evaluated in a GitHub step, the tokens must still be masked.
		for name, v := range vars {
			if strings.HasPrefix(v, "hf_") && !strings.Contains(r.stderr, "::add-mask::"+v+"\n") {
				t.Errorf("%s is not masked on stderr in GitHub Actions", name)
			}
		}
		outputs["GITHUB_ENV"] = testkit.ReadText(t, step.EnvFile)
		outputs["GITHUB_OUTPUT"] = testkit.ReadText(t, step.Output)
	}
	testkit.NoLeak(t, sb, outputs)
	return vars
}

// withoutMasks returns stdout minus the ::add-mask:: lines, after checking
// that every token minted was masked there before any other command.
func withoutMasks(t *testing.T, sb *sandbox.Sandbox, stdout string) string {
	t.Helper()
	var rest []string
	masked := map[string]bool{}
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			if len(rest) > 0 {
				t.Errorf("::add-mask:: after other output: %q", rest)
			}
			masked[v] = true
			continue
		}
		if line != "" {
			rest = append(rest, line)
		}
	}
	for _, s := range sb.Minted() {
		if (strings.HasPrefix(s, "hf_") || strings.HasPrefix(s, "eyJ")) && !masked[s] && strings.Contains(stdout+"", s) {
			t.Errorf("a token appears on stdout without being masked (%.12s…)", s)
		}
	}
	return strings.Join(rest, "\n")
}

func withoutOutput(t *testing.T, content, name string) string {
	t.Helper()
	vars := testkit.CommandFile(t, content)
	delete(vars, name)
	b, _ := json.Marshal(vars)
	return string(b)
}

func TestExchangeFormats(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	resources := []string{"acme/awesome-model", "datasets/acme/awesome-dataset=HF_DATASET_TOKEN", "spaces/acme/demo", "kernels/acme/flash", "acme-bot"}
	for _, r := range resources {
		sb.TrustGitHub(strings.Split(r, "=")[0])
	}
	for _, format := range []string{"github", "shell", "dotenv", "json"} {
		t.Run(format, func(t *testing.T) {
			vars := exported(t, sb, format, resources...)
			want := map[string]string{
				"acme/awesome-model":            "HF_TOKEN_ACME_AWESOME_MODEL",
				"datasets/acme/awesome-dataset": "HF_DATASET_TOKEN",
				"spaces/acme/demo":              "HF_TOKEN_SPACES_ACME_DEMO",
				"kernels/acme/flash":            "HF_TOKEN_KERNELS_ACME_FLASH",
				"acme-bot":                      "HF_TOKEN_ACME_BOT",
			}
			for res, name := range want {
				tok := vars[name]
				if tok == "" {
					t.Errorf("%s: no %s exported", res, name)
					continue
				}
				assertWorks(t, sb, res, tok)
				assertExpiry(t, name+"_EXPIRES_AT", vars[name+"_EXPIRES_AT"])
			}
			if vars["HF_TOKEN"] != vars["HF_TOKEN_ACME_AWESOME_MODEL"] {
				t.Errorf("HF_TOKEN is not the first resource's token")
			}
			assertExpiry(t, "HF_TOKEN_EXPIRES_AT", vars["HF_TOKEN_EXPIRES_AT"])
			if !strings.HasPrefix(vars["HF_TOKEN_ACME_BOT"], "hf_oauth_") || !strings.HasPrefix(vars["HF_TOKEN"], "hf_jwt_") {
				t.Errorf("want hf_jwt_ tokens for repos and hf_oauth_ for a user")
			}
		})
	}
}

func assertExpiry(t *testing.T, name, v string) {
	t.Helper()
	exp, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Errorf("%s = %q: not RFC 3339: %v", name, v, err)
		return
	}
	if !strings.HasSuffix(v, "Z") {
		t.Errorf("%s = %q: want UTC", name, v)
	}
	if d := time.Until(exp); d < 55*time.Minute || d > 61*time.Minute {
		t.Errorf("%s = %s: want about an hour from now, got %s", name, v, d)
	}
}

func TestExchangeOneIDTokenPerRound(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	var args []string
	for i := range 16 {
		r := "acme/model-" + string(rune('a'+i))
		sb.TrustGitHub(r)
		args = append(args, "--resource", r)
	}
	step := testkit.NewGitHubStep(t, sb)
	r := runBin(t, step.Env, append([]string{"exchange", "--format", "json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st := sb.Stats()
	if st.IDTokenRequests != 1 || st.Exchanges != 16 {
		t.Errorf("got %d ID-token requests and %d exchanges, want 1 and 16", st.IDTokenRequests, st.Exchanges)
	}
	testkit.NoLeak(t, sb, map[string]string{"stderr": withoutMasks(t, sb, r.stderr)})
}

func TestExchangeRejected(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/trusted")
	// acme/untrusted has a publisher, but for another branch.
	sb.Trust(sandbox.Publisher{Resource: "acme/untrusted", Issuer: sb.GitHubIssuer(), Claims: map[string]string{"repository": "acme/training", "branch": "main-backup"}})
	for _, format := range []string{"github", "shell"} {
		t.Run(format, func(t *testing.T) {
			step := testkit.NewGitHubStep(t, sb)
			r := runBin(t, step.Env, "exchange", "--format", format, "--resource", "acme/trusted", "--resource", "acme/untrusted")
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstderr: %s", r.code, r.stderr)
			}
			for _, want := range []string{
				"failed for 1 of 2 resources; nothing was exported",
				"acme/untrusted: invalid_grant",
				"HTTP 400", "request ID Root=",
				"  sub                  repo:acme/training:ref:refs/heads/main\n", // the claims block's sub row
				"Trusted Publishers",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if got := testkit.ReadText(t, step.EnvFile) + testkit.ReadText(t, step.Output); got != "" {
				t.Errorf("something was exported after a failure: %d bytes", len(got))
			}
			if format == "shell" && r.stdout != "" {
				t.Errorf("stdout after a failure: %q", r.stdout)
			}
			if format == "github" && !strings.Contains(r.stdout, "::error") {
				t.Errorf("no ::error annotation on stdout: %q", r.stdout)
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": withoutMasks(t, sb, r.stdout), "stderr": withoutMasks(t, sb, r.stderr)})
		})
	}
}

func TestExchangeBadInput(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no resource", nil, nil, "no resource given"},
		{"bad resource", nil, []string{"--resource", "models/acme/x"}, `"models/acme/x"`},
		{"bad resource in variable", []string{"HF_OIDC_RESOURCES=acme/ok,acme/not ok"}, nil, "HF_OIDC_RESOURCES"},
		{"collision", nil, []string{"--resource", "acme/a-b", "--resource", "acme/a_b"}, "HF_TOKEN_ACME_A_B"},
		{"bad format", nil, []string{"--resource", "acme/x", "--format", "yaml"}, `--format "yaml"`},
		{"bad timeout", []string{"HF_OIDC_TIMEOUT=60"}, []string{"--resource", "acme/x"}, "HF_OIDC_TIMEOUT"},
		{"plain http endpoint", []string{"HF_ENDPOINT=http://example.com"}, []string{"--resource", "acme/x"}, "https"},
		{"unknown provider", nil, []string{"--resource", "acme/x", "--provider", "jenkins"}, `"jenkins"`},
		{"unknown flag", nil, []string{"--resources", "acme/x"}, "-resources"},
		{"argument", nil, []string{"acme/x"}, `unexpected argument "acme/x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			step := testkit.NewGitHubStep(t, sb)
			r := runBin(t, append(step.Env, c.env...), append([]string{"exchange", "--format", "github"}, c.args...)...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, r.stderr)
			}
			if testkit.ReadText(t, step.EnvFile) != "" {
				t.Errorf("something was exported")
			}
		})
	}
	if st := sb.Stats(); st.IDTokenRequests != 0 || st.Exchanges != 0 {
		t.Errorf("bad input reached the network: %+v", st)
	}
}

func TestExchangePreMinted(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	idToken, err := sb.MintIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id-token")
	if err := os.WriteFile(file, []byte(idToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		env  []string
		args []string
	}{
		"variable": {env: []string{"HF_OIDC_ID_TOKEN=" + idToken}},
		"file":     {args: []string{"--id-token-file", file}},
	} {
		t.Run(name, func(t *testing.T) {
			env := append([]string{"HF_ENDPOINT=" + sb.URL()}, c.env...)
			r := runBin(t, env, append([]string{"exchange", "--format", "json", "--resource", "acme/model"}, c.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var j jsonTokens
			if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || len(j.Tokens) != 1 {
				t.Fatalf("json output: %v", err)
			}
			assertWorks(t, sb, "acme/model", j.Tokens[0].Token)
			if !strings.Contains(r.stderr, "env provider") {
				t.Errorf("stderr does not name the env provider: %s", r.stderr)
			}
			testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
		})
	}
}

func TestExchangeWithoutIDTokenPermission(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	r := runBin(t, []string{"GITHUB_ACTIONS=true", "HF_ENDPOINT=" + sb.URL()}, "exchange", "--format", "json", "--resource", "acme/model")
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, "id-token: write") {
		t.Errorf("stderr does not say to add the permission:\n%s", r.stderr)
	}
}

func TestAutoFormatRefusesTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		requireTool(t, "script")
	}
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	idToken, err := sb.MintIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	// script gives the binary a real terminal as stdout.
	cmd := exec.Command(script, "-qec", bin+" exchange --resource acme/model", "/dev/null")
	cmd.Env = hermeticEnv(t, "HF_ENDPOINT="+sb.URL(), "HF_OIDC_ID_TOKEN="+idToken)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Errorf("want exit 2, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refusing to print tokens to a terminal") {
		t.Errorf("output: %s", out)
	}
	if sb.Stats().Exchanges != 0 {
		t.Errorf("it exchanged before refusing")
	}
	testkit.NoLeak(t, sb, map[string]string{"terminal": string(out)})
}

func TestDemo(t *testing.T) {
	r := runBin(t, nil, "demo")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"acme/awesome-model", "HF_DATASET_TOKEN", "hf_jwt_****", "hf_oauth_****", "exchanged concurrently with one ID token"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, " ok: "); n != 4 {
		t.Errorf("want 4 tokens that work against whoami, got %d:\n%s", n, r.stdout)
	}
	testkit.NoLeak(t, nil, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"exchange", "demo", "sandbox", "providers", "version"} {
		r := runBin(t, nil, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: hf-oidc "+cmd) {
			t.Errorf("%s --help: exit %d\n%s%s", cmd, r.code, r.stdout, r.stderr)
		}
	}
	if r := runBin(t, nil, "--help"); r.code != 0 || !strings.Contains(r.stdout, "exchange") {
		t.Errorf("--help: exit %d", r.code)
	}
	if r := runBin(t, nil, "frobnicate"); r.code != 2 {
		t.Errorf("unknown command: exit %d, want 2", r.code)
	}
}

// requireTool skips when a tool is missing, except in CI, where a missing
// tool is a broken .ci/run and must fail.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: .ci/run must install it", name)
	}
	t.Skipf("%s is not installed; .ci/run installs it", name)
}
