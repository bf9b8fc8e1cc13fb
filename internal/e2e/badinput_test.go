package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// A badCase is one malformed flag, variable or input: the real binary must
// refuse it with exit 2 and a message that names it and says what was
// expected, before anything reaches the network or a file.
type badCase struct {
	name   string
	cmd    []string // default: exchange --format github
	args   []string
	env    []string
	want   []string // each in stderr
	secret string   // a value that must appear in no output
}

// badSetup is what every case runs in: a GitHub Actions step whose command
// files, token directory and Hub are watched.
type badSetup struct {
	sb                 *sandbox.Sandbox
	step               testkit.GitHubStep
	tokenDir, cloneDir string
}

func newBadSetup(t *testing.T, sb *sandbox.Sandbox) badSetup {
	s := badSetup{sb: sb, step: testkit.NewGitHubStep(t, sb)}
	s.tokenDir = filepath.Join(t.TempDir(), "tokens")
	s.cloneDir = t.TempDir()
	return s
}

// run runs c and checks everything a refusal must leave as it was.
func (s badSetup) run(t *testing.T, c badCase) {
	t.Helper()
	cmd := c.cmd
	if cmd == nil {
		cmd = []string{"exchange", "--format", "github"}
	}
	env := append(append([]string{}, s.step.Env...), "HF_OIDC_TOKEN_DIR="+s.tokenDir)
	r := runBin(t, append(env, c.env...), append(append([]string{}, cmd...), c.args...)...)
	if r.code != 2 {
		t.Errorf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
	}
	for _, w := range c.want {
		if !holds(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "\nNext: ") || !strings.Contains(r.stderr, "troubleshooting.md#") {
		t.Errorf("stderr does not say what to do next, with its link:\n%s", r.stderr)
	}
	if n := len(withoutCommands(r.stderr)); n > 1500 {
		t.Errorf("stderr is %d bytes long", n)
	}
	if strings.ContainsFunc(strings.ReplaceAll(r.stderr, "\n", ""), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		t.Errorf("stderr holds a control character: %q", r.stderr)
	}
	s.assertUntouched(t, map[string]string{"stdout": r.stdout, "stderr": r.stderr}, c.secret)
	if r.stdout != "" {
		t.Errorf("stdout after bad input: %q", r.stdout)
	}
}

// assertUntouched fails when anything was exported or written, or when an
// output holds a token or the case's secret.
func (s badSetup) assertUntouched(t *testing.T, outputs map[string]string, secret string) {
	t.Helper()
	for name, path := range map[string]string{"GITHUB_ENV": s.step.EnvFile, "GITHUB_OUTPUT": s.step.Output} {
		if got := testkit.ReadText(t, path); got != "" {
			t.Errorf("%s was written: %q", name, got)
		}
	}
	// The step summary says what failed, and nothing else.
	if got := testkit.ReadText(t, s.step.Summary); got != "" && (!strings.HasPrefix(got, "### hf-oidc: ") || strings.Count(got, "### ") != 1 || !strings.Contains(got, "**Next:**")) {
		t.Errorf("GITHUB_STEP_SUMMARY holds more than the failure: %q", got)
	}
	outputs["GITHUB_STEP_SUMMARY"] = testkit.ReadText(t, s.step.Summary)
	if _, err := os.Lstat(s.tokenDir); !os.IsNotExist(err) {
		t.Errorf("the token directory was created (%v)", err)
	}
	if ents, _ := os.ReadDir(s.cloneDir); len(ents) > 0 {
		t.Errorf("the clone directory holds %d entries: the pipe wrote something", len(ents))
	}
	testkit.NoLeak(t, s.sb, outputs)
	for name, out := range outputs {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("%s repeats the ID token or secret given", name)
		}
	}
}

// assertNoRequest fails when the sandbox saw any request at all.
func badAssertNoRequest(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	if st := sb.Stats(); len(st.Requests) > 0 || st.IDTokenRequests > 0 || st.Exchanges > 0 {
		t.Errorf("bad input reached the sandbox: %+v", st)
	}
}

// badTokens are ID tokens in every wrong shape, cut from a real one.
func badTokens(t *testing.T, sb *sandbox.Sandbox) (good string, bad map[string]string) {
	good, err := sb.MintIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(good, ".")
	enc := base64.RawURLEncoding.EncodeToString
	return good, map[string]string{
		"not a JWT":              "ghp_notanIDtokenButAGitHubPAT0123456789",
		"truncated":              good[:len(good)/2],
		"truncated signature":    p[0] + "." + p[1] + ".",
		"bad base64":             p[0] + "." + p[1][:10] + "%" + p[1][10:] + "." + p[2],
		"standard base64":        p[0] + "." + p[1] + "." + strings.ReplaceAll(p[2], "_", "/"),
		"non-JSON payload":       p[0] + "." + enc([]byte("this is no JSON, but a secret")) + "." + p[2],
		"JSON that is no object": p[0] + "." + enc([]byte(`["exp",1900000000]`)) + "." + p[2],
		"huge":                   p[0] + "." + p[1] + "." + strings.Repeat(p[2], 100),
		"two tokens":             good + " " + good,
	}
}

// TestBadInput runs hf-oidc with every flag and variable malformed, in a
// GitHub Actions step whose ID-token endpoint and Hub are the sandbox: each
// is exit 2 with a message naming the input and what was expected, and
// nothing is exported, written, sent or leaked.
func TestBadInput(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	good, tokens := badTokens(t, sb)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	var many []string
	for i := range 200 {
		many = append(many, fmt.Sprintf("acme/model-%d", i))
	}
	res := []string{"--resource", "acme/model"}
	resEnv := "HF_OIDC_RESOURCES=acme/model"
	cases := []badCase{
		// Resources, from the flag and the variable.
		{name: "no resource", want: []string{"no resource given", "--resource", "HF_OIDC_RESOURCES"}},
		{name: "empty resource flag", args: []string{"--resource", ""}, want: []string{"no resource given"}},
		{name: "blank resources variable", env: []string{"HF_OIDC_RESOURCES= ,\n\t, "}, want: []string{"no resource given"}},
		{name: "space inside", args: []string{"--resource", "acme/a acme/b"}, want: []string{`--resource: resource "acme/a acme/b": contains a space; separate resources with commas or newlines`}},
		{name: "tab inside", env: []string{"HF_OIDC_RESOURCES=acme/a\tb"}, want: []string{`HF_OIDC_RESOURCES: resource "acme/a\tb": contains a control character (U+0009)`}},
		{name: "duplicate", args: []string{"--resource", "acme/a", "--resource", "acme/a=X"}, want: []string{`resource "acme/a=X": listed twice (also as "acme/a")`}},
		{name: "200 resources", env: []string{"HF_OIDC_RESOURCES=" + strings.Join(many, ",")}, want: []string{"HF_OIDC_RESOURCES: 200 resources given, more than the 100 hf-oidc exchanges in one run; split the job"}},
		{name: "10 KB resource", args: []string{"--resource", "acme/" + strings.Repeat("m", 10<<10)}, want: []string{"(10245 bytes)", "is 10240 characters long, more than the Hub's 96"}},
		{name: "escape sequence", args: []string{"--resource", "acme/x\x1b]0;pwned\x07"}, want: []string{`contains a control character (U+001B)`}},
		{name: "NUL", env: []string{"HF_OIDC_RESOURCES=acme/x\x01y"}, want: []string{"control character (U+0001)"}},
		{name: "command substitution", args: []string{"--resource", "acme/$(touch pwned)"}, want: []string{`contains "$"`, "a Hub name has only letters, digits"}},
		{name: "backquotes", args: []string{"--resource", "acme/`id`"}, want: []string{"contains \"`\""}},
		{name: "semicolon", env: []string{"HF_OIDC_RESOURCES=acme/x;rm -rf ~"}, want: []string{`contains ";"`}},
		{name: "quotes", args: []string{"--resource", `"acme/x"`}, want: []string{`contains "\""`}},
		{name: "unknown prefix", args: []string{"--resource", "model/acme/x"}, want: []string{`a model is named "acme/x" (no "model/" prefix)`}},
		{name: "collision", args: []string{"--resource", "acme/a-b,acme/a_b"}, want: []string{"would export HF_TOKEN_ACME_A_B, as does resource \"acme/a-b\""}},
		// ENV_NAME.
		{name: "ENV_NAME empty", args: []string{"--resource", "acme/x="}, want: []string{`empty variable name after "="`}},
		{name: "ENV_NAME digit", args: []string{"--resource", "acme/x=1TOKEN"}, want: []string{`variable name "1TOKEN" must be a letter or "_"`}},
		{name: "ENV_NAME dash", args: []string{"--resource", "acme/x=MY-TOKEN"}, want: []string{`variable name "MY-TOKEN" must be`}},
		{name: "ENV_NAME metacharacters", args: []string{"--resource", "acme/x=T$(id)"}, want: []string{`contains "$"`}},
		{name: "ENV_NAME control", env: []string{"HF_OIDC_RESOURCES=acme/x=T\x1bK"}, want: []string{"control character (U+001B)"}},
		{name: "ENV_NAME 10 KB", args: []string{"--resource", "acme/x=T" + strings.Repeat("K", 10<<10)}, want: []string{"characters long, more than 128"}},
		{name: "ENV_NAME two equals", args: []string{"--resource", "acme/x=A=B"}, want: []string{`variable name "A=B" must be`}},
	}
	for name, what := range map[string]string{
		"PATH": "PATH", "HOME": "HOME", "SHELL": "SHELL", "IFS": "IFS", "ENV": "ENV", "BASH_ENV": "BASH_ENV",
		"LD_PRELOAD": "LD_*", "DYLD_INSERT_LIBRARIES": "DYLD_*", "GITHUB_ENV": "GITHUB_*", "GITHUB_PATH": "GITHUB_*",
		"RUNNER_TEMP": "RUNNER_*", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "ACTIONS_*", "CI": "CI", "HF_OIDC_AUDIENCE": "HF_OIDC_*",
		"HF_ENDPOINT": "HF_ENDPOINT", "path": "PATH", "Home": "HOME", "GIT": "GIT_EXPIRES_AT, which is GIT_*",
	} {
		cases = append(cases, badCase{name: "ENV_NAME " + name, args: []string{"--resource", "acme/x=" + name},
			want: []string{`variable name "` + name + `" would overwrite ` + what + ": ", `choose another, such as "HF_TOKEN_ACME_X": a letter or "_" followed by letters, digits and "_"`}})
	}
	cases = append(cases, []badCase{
		// Every other flag and variable.
		{name: "provider shape", args: append([]string{"--provider", "git hub"}, res...), want: []string{`--provider "git hub": expected auto or the name of a provider`}},
		{name: "provider unknown", env: []string{resEnv, "HF_OIDC_PROVIDER=jenkins"}, want: []string{`unknown provider "jenkins" (known: env, github`}},
		{name: "audience space", args: append([]string{"--audience", "https://huggingface.co extra"}, res...), want: []string{`--audience "https://huggingface.co extra": an audience is a single URL-like string`, "expected one word of printable ASCII"}},
		{name: "audience control", env: []string{resEnv, "HF_OIDC_AUDIENCE=aud\x1b[2J"}, want: []string{`HF_OIDC_AUDIENCE "aud\x1b[2J"`}},
		{name: "audience a flag", args: append([]string{"--audience=--lifetime=999999"}, res...), want: []string{`an audience cannot start with "-"`}},
		{name: "audience 10 KB", env: []string{resEnv, "HF_OIDC_AUDIENCE=" + strings.Repeat("a", 10<<10)}, want: []string{"HF_OIDC_AUDIENCE is 10240 bytes long, more than 1024"}},
		{name: "endpoint scheme", args: append([]string{"--endpoint", "ftp://hub.example"}, res...), want: []string{`--endpoint: the endpoint "ftp://hub.example" has the scheme ftp`, "must be the Hub's https:// URL"}},
		{name: "endpoint plain http", env: []string{resEnv, "HF_ENDPOINT=http://hub.example"}, want: []string{"HF_ENDPOINT: the endpoint \"http://hub.example\" uses http:// for a host that is not a loopback address"}},
		{name: "endpoint password", env: []string{resEnv, "HF_ENDPOINT=https://user:hunter2secret@hub.example"}, want: []string{"HF_ENDPOINT: the endpoint must not hold a user name or password"}, secret: "hunter2secret"},
		{name: "endpoint query", args: append([]string{"--endpoint", "https://hub.example/?x=1"}, res...), want: []string{"must not have a query"}},
		{name: "endpoint line break", env: []string{resEnv, "HF_ENDPOINT=https://hub.example\nX=1"}, want: []string{"HF_ENDPOINT: the endpoint is not a valid URL"}},
		{name: "endpoint 10 KB", env: []string{resEnv, "HF_ENDPOINT=https://" + strings.Repeat("h", 10<<10)}, want: []string{"HF_ENDPOINT is 10248 bytes long, more than 2048"}},
		{name: "timeout no unit", env: []string{resEnv, "HF_OIDC_TIMEOUT=30"}, want: []string{`HF_OIDC_TIMEOUT "30": a duration needs a unit, e.g. 30s`}},
		{name: "timeout word", args: append([]string{"--timeout", "soon"}, res...), want: []string{`--timeout "soon": expected a positive duration such as 60s or 2m`}},
		{name: "timeout negative", args: append([]string{"--timeout", "-5s"}, res...), want: []string{`--timeout "-5s": expected a positive duration`}},
		{name: "timeout too long", env: []string{resEnv, "HF_OIDC_TIMEOUT=2h"}, want: []string{`HF_OIDC_TIMEOUT "2h": expected a duration from 1s to 1h0m0s`}},
		{name: "timeout too short", args: append([]string{"--timeout", "10ms"}, res...), want: []string{`--timeout "10ms": expected a duration from 1s`}},
		{name: "format", args: append([]string{"--format", "yaml"}, res...), want: []string{`--format "yaml": expected one of auto, github, github-outputs, shell, dotenv, json`}},
		{name: "allow-partial not a boolean", args: append([]string{"--allow-partial=maybe"}, res...), want: []string{`invalid value "maybe" for --allow-partial: expected true or false`}},
		{name: "git not a boolean", args: append([]string{"--git=yes please"}, res...), want: []string{`invalid value "yes please" for --git: expected true or false`}},
		{name: "unknown flag", args: []string{"--resources", "acme/model"}, want: []string{"unknown flag --resources; did you mean --resource?"}},
		{name: "argument", args: append([]string{}, append(res, "acme/other")...), want: []string{`unexpected argument "acme/other"`}},
		{name: "token dir tilde", args: append([]string{"--git", "--token-dir", "~/tokens"}, res...), want: []string{`--token-dir "~/tokens": only a shell expands "~"`, "expected an absolute path, such as $HOME/tokens"}},
		{name: "token dir line break", env: []string{resEnv}, args: []string{"--git", "--token-dir", "/tmp/x\nHF_TOKEN=evil"}, want: []string{`--token-dir "/tmp/x\nHF_TOKEN=evil": a path with a control character`}},
		{name: "id token var a value", args: append([]string{"--id-token-var", "a b"}, res...), want: []string{`--id-token-var "a b": expected the name of a variable`}},
		{name: "id token var the token", env: []string{resEnv, "HF_OIDC_ID_TOKEN_VAR=" + good}, want: []string{"HF_OIDC_ID_TOKEN_VAR", "expected the name of a variable", "not its value"}, secret: good},
		{name: "id token file missing", args: append([]string{"--id-token-file", filepath.Join(dir, "nope")}, res...), want: []string{`--id-token-file "` + filepath.Join(dir, "nope") + `": cannot open it (no such file or directory); expected a file that holds only the ID token`}},
		{name: "id token file a directory", env: []string{resEnv, "HF_OIDC_ID_TOKEN_FILE=" + dir}, want: []string{`HF_OIDC_ID_TOKEN_FILE "` + dir + `": not a regular file`}},
		{name: "id token file huge", env: []string{resEnv, "HF_OIDC_ID_TOKEN_FILE=" + write("huge", strings.Repeat(good, 20))}, want: []string{"larger than 17 KiB, more than any ID token"}, secret: good},
		{name: "id token file not a JWT", args: append([]string{"--id-token-file", write("pat", tokens["not a JWT"]+"\n")}, res...), want: []string{"--id-token-file", "holds no usable ID token: not a JWT: it has 1 dot-separated part, want 3"}, secret: tokens["not a JWT"]},
		{name: "circleci fallback", args: append([]string{"--provider", "circleci"}, res...), env: []string{"HF_OIDC_CIRCLECI_FALLBACK=maybe"}, want: []string{"HF_OIDC_CIRCLECI_FALLBACK", "org-token"}},
		{name: "buildkite lifetime", args: append([]string{"--provider", "buildkite"}, res...), env: []string{"HF_OIDC_BUILDKITE_LIFETIME=forever"}, want: []string{"HF_OIDC_BUILDKITE_LIFETIME", "is not a lifetime"}},
		// Long-job settings, in the commands that use them.
		{name: "exec refresh margin", cmd: []string{"exec"}, args: append(append([]string{"--refresh-margin", "5"}, res...), "--", "true"), want: []string{`--refresh-margin "5": a duration needs a unit, e.g. 5s`}},
		{name: "refresh refresh margin", cmd: []string{"refresh", "--detach", "--format", "github"}, env: []string{resEnv, "HF_OIDC_REFRESH_MARGIN=-1m"}, want: []string{`HF_OIDC_REFRESH_MARGIN "-1m": expected a positive duration`}},
		{name: "refresh token dir", cmd: []string{"refresh", "--detach", "--format", "github"}, args: append([]string{"--token-dir", "~/t"}, res...), want: []string{`--token-dir "~/t": only a shell expands "~"`}},
		{name: "exec bad resource", cmd: []string{"exec"}, args: []string{"--resource", "acme/x=PATH", "--", "true"}, want: []string{`would overwrite PATH`}},
	}...)
	for name, tok := range tokens {
		cases = append(cases,
			badCase{name: "HF_OIDC_ID_TOKEN " + name, env: []string{resEnv, "HF_OIDC_ID_TOKEN=" + tok},
				want: []string{"HF_OIDC_ID_TOKEN holds no usable ID token: ", "; expected a JWT: three base64url parts separated by dots"}, secret: tok},
			badCase{name: "GitLab's HF_ID_TOKEN " + name, args: append([]string{"--provider", "gitlab"}, res...), env: []string{"HF_ID_TOKEN=" + tok},
				want: []string{"hf-oidc exchange: the gitlab provider has no ID token to give: the ID token it holds is unusable: ", "Next: Pass the ID token on unchanged: a JWT"}, secret: tok},
			badCase{name: "Bitbucket's token " + name, args: append([]string{"--provider", "bitbucket"}, res...), env: []string{"BITBUCKET_STEP_OIDC_TOKEN=" + tok},
				want: []string{"hf-oidc exchange: the bitbucket provider has no ID token to give: the ID token it holds is unusable: "}, secret: tok},
		)
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				newBadSetup(t, sb).run(t, c)
			})
		}
	})
	badAssertNoRequest(t, sb)
}

// TestBadInputPipe: the Bitbucket pipe's variables, malformed, leave no env
// file in the clone directory.
func TestBadInputPipe(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	tok, err := sb.MintBitbucketIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []badCase{
		{name: "no RESOURCES", want: []string{"RESOURCES is not set"}},
		{name: "RESOURCES blank", env: []string{"RESOURCES= , "}, want: []string{"RESOURCES: no resource given; expected \"ns/name\""}},
		{name: "RESOURCES metacharacters", env: []string{"RESOURCES=acme/x;$(id)"}, want: []string{`RESOURCES: resource "acme/x;$(id)": contains ";"`}},
		{name: "RESOURCES_COUNT word", env: []string{"RESOURCES_COUNT=two"}, want: []string{`RESOURCES_COUNT "two": expected the length of the RESOURCES list, 1 to 100`}},
		{name: "RESOURCES_COUNT 200", env: []string{"RESOURCES_COUNT=200"}, want: []string{`RESOURCES_COUNT "200": expected the length of the RESOURCES list, 1 to 100`}},
		{name: "RESOURCES_1 missing", env: []string{"RESOURCES_COUNT=2", "RESOURCES_0=acme/a"}, want: []string{"RESOURCES_1 is empty or not set, though RESOURCES_COUNT is 2"}},
		{name: "RESOURCES_0 reserved name", env: []string{"RESOURCES_COUNT=1", "RESOURCES_0=acme/a=LD_PRELOAD"}, want: []string{"RESOURCES_0: resource \"acme/a=LD_PRELOAD\": variable name \"LD_PRELOAD\" would overwrite LD_*"}},
		{name: "items duplicate", env: []string{"RESOURCES_COUNT=2", "RESOURCES_0=acme/a", "RESOURCES_1=acme/a"}, want: []string{"RESOURCES: resource \"acme/a\": listed twice"}},
		{name: "AUDIENCE space", env: []string{"RESOURCES=acme/a", "AUDIENCE=a b"}, want: []string{`AUDIENCE "a b": an audience is a single URL-like string`}},
		{name: "ENDPOINT plain http", env: []string{"RESOURCES=acme/a", "ENDPOINT=http://hub.example"}, want: []string{`ENDPOINT`, `the endpoint "http://hub.example" uses http:// for a host that is not a loopback address`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newBadSetup(t, sb)
			c.cmd = []string{"pipe"}
			c.secret = tok
			c.env = append([]string{"BITBUCKET_BUILD_NUMBER=1", "BITBUCKET_STEP_OIDC_TOKEN=" + tok, "HF_ENDPOINT=" + sb.URL(),
				"BITBUCKET_CLONE_DIR=" + s.cloneDir, "BITBUCKET_PIPE_SHARED_STORAGE_DIR=" + filepath.Join(s.cloneDir, ".bitbucket", "pipes")}, c.env...)
			s.run(t, c)
		})
	}
	badAssertNoRequest(t, sb)
}

// TestBadInputActionScripts runs the action's scripts with bash, as the
// runner does, with malformed inputs: they refuse with exit 2, pass inputs
// to hf-oidc only through its variables (never eval'd, never split into
// words), and leave the step's files untouched.
func TestBadInputActionScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		requireTool(t, "bash")
	}
	sb := startSandbox(t, sandbox.Config{})
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 10<<10)
	cases := []struct {
		name   string
		script string
		env    []string
		want   []string
	}{
		{"resources empty", "exchange.sh", []string{"HF_OIDC_INPUT_RESOURCES= ,\n "}, []string{"the resources input is empty"}},
		{"export unknown", "exchange.sh", []string{"HF_OIDC_INPUT_EXPORT=always"}, []string{"the export input is 'always': expected env"}},
		{"export escape", "exchange.sh", []string{"HF_OIDC_INPUT_EXPORT=env\x1b[2J"}, []string{`the export input is $'env\E[2J': expected env`}},
		{"export a workflow command", "exchange.sh", []string{"HF_OIDC_INPUT_EXPORT=env\n::set-output name=token::x"}, []string{`the export input is $'env\n::set-output name=token::x'`}},
		{"export 10 KB", "exchange.sh", []string{"HF_OIDC_INPUT_EXPORT=" + long}, []string{"… (10240 characters): expected env"}},
		{"git unknown", "exchange.sh", []string{"HF_OIDC_INPUT_GIT=yes"}, []string{"the git input is 'yes': expected true or false"}},
		{"git quote", "exchange.sh", []string{"HF_OIDC_INPUT_GIT=tr'ue"}, []string{`the git input is tr\'ue: expected true or false`}},
		// Passed on to hf-oidc: its own checks, and nothing runs.
		{"resources command substitution", "exchange.sh", []string{"HF_OIDC_INPUT_RESOURCES=acme/x$(touch pwned)`touch pwned`"}, []string{`HF_OIDC_RESOURCES: resource "acme/x$(touch pwned)`, `contains "$"`}},
		{"resources glob and words", "exchange.sh", []string{"HF_OIDC_INPUT_RESOURCES=* -rf --format json"}, []string{`contains "*"`}},
		{"audience as flags", "exchange.sh", []string{"HF_OIDC_INPUT_AUDIENCE=--format json"}, []string{`HF_OIDC_AUDIENCE "--format json": an audience is a single URL-like string`}},
		{"endpoint javascript", "exchange.sh", []string{"HF_OIDC_INPUT_ENDPOINT=javascript:alert(1)"}, []string{`HF_ENDPOINT: the endpoint "javascript:alert(1)" has the scheme javascript`}},
		{"install version", "install.sh", []string{"HF_OIDC_INPUT_VERSION=latest;id"}, []string{"the version input 'latest;id' is not a release tag like v1.2.3"}},
		{"install version line break", "install.sh", []string{"HF_OIDC_INPUT_VERSION=v1.0.0\npath=/tmp/evil"}, []string{`the version input $'v1.0.0\npath=/tmp/evil' is not a release tag`}},
		{"install binary line break", "install.sh", []string{"HF_OIDC_INPUT_BINARY=" + bin + "\npath=/tmp/evil"}, []string{"holds a line break or another control character"}},
		{"install binary missing", "install.sh", []string{"HF_OIDC_INPUT_BINARY=./no such binary"}, []string{"the binary input './no such binary' is not an executable file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newBadSetup(t, sb)
			work := t.TempDir()
			cmd := exec.Command(bash, filepath.Join(root, ".github", "action", c.script))
			cmd.Dir = work
			cmd.Env = hermeticEnv(t, append(append(s.step.Env, "HF_OIDC_BIN="+bin, "HF_OIDC_INPUT_RESOURCES=acme/model",
				"GITHUB_ACTION_PATH="+root, "RUNNER_TEMP="+t.TempDir(), "HF_OIDC_TOKEN_DIR="+s.tokenDir), c.env...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Errorf("%s: %v, want exit 2\nstderr: %s", c.script, err, stderr.String())
			}
			for _, w := range c.want {
				if !holds(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			if n := len(withoutCommands(stderr.String())); n > 1500 {
				t.Errorf("stderr is %d bytes long", n)
			}
			if ents, _ := os.ReadDir(work); len(ents) > 0 {
				t.Errorf("the script created %s: an input was run", ents[0].Name())
			}
			// The scripts' own refusals go to the summary and as an
			// annotation; hf-oidc's are on stderr alone.
			summary := testkit.ReadText(t, s.step.Summary)
			if err := os.WriteFile(s.step.Summary, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(summary, "\x1b") || strings.Contains(stdout.String(), "\x1b") {
				t.Errorf("an escape sequence reached the log or the summary")
			}
			for _, line := range strings.Split(stdout.String(), "\n") {
				if line != "" && !strings.HasPrefix(line, "::error title=") {
					t.Errorf("stdout holds more than one annotation line: %q", line)
				}
			}
			s.assertUntouched(t, map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "summary": summary}, "")
		})
	}
	badAssertNoRequest(t, sb)
}
