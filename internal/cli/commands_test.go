package cli

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

var allCommands = []string{"exchange", "exec", "refresh", "git-credential", "pipe", "claims", "demo", "sandbox", "providers", "version"}

// TestUsage: help goes to stdout with status 0; bad usage is status 2, on
// stderr, naming the flag, with the next step; stdout stays clean.
func TestUsage(t *testing.T) {
	t.Parallel()
	type tc struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}
	tests := []tc{
		{"no command", nil, 2, nil, []string{"Usage: hf-oidc <command>", "Commands:", "git-credential"}},
		{"--help", []string{"--help"}, 0, []string{"Usage: hf-oidc <command>", "hf-oidc demo"}, nil},
		{"help", []string{"help"}, 0, []string{"Usage: hf-oidc <command>", "hf-oidc --version"}, nil},
		{"help exchange", []string{"help", "exchange"}, 0, []string{"Usage: hf-oidc exchange", "--resource R"}, nil},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`, "hf-oidc --help"}},
	}
	for _, c := range allCommands {
		tests = append(tests,
			tc{c + " --help", []string{c, "--help"}, 0, []string{"Usage: hf-oidc " + c, "  -h, --help"}, nil},
			tc{c + " bad flag", []string{c, "--no-such-flag"}, 2, nil, []string{"hf-oidc " + c + ": unknown flag --no-such-flag", "'hf-oidc " + c + " --help'"}},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, baseEnv(t), "", tt.args...)
			r.want(t, tt.code, tt.stdout, tt.stderr)
			testkit.NoLeak(t, nil, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
			if tt.code == 2 && r.stdout != "" {
				t.Errorf("bad usage printed on stdout: %q", r.stdout)
			}
		})
	}
}

// TestFlagMistakes: a mistyped command or flag, or one that belongs to
// another command, gets a first line that says what was meant, and the
// link to the entry for bad input.
func TestFlagMistakes(t *testing.T) {
	t.Parallel()
	gitlab := baseEnv(t).with("GITLAB_CI=true")
	tests := []struct {
		args  []string
		first string
	}{
		{[]string{"exchang"}, `hf-oidc: unknown command "exchang"; did you mean "exchange"?`},
		{[]string{"exhcange", "--resource", "acme/model"}, `hf-oidc: unknown command "exhcange"; did you mean "exchange"?`},
		{[]string{"git-cred", "get"}, `hf-oidc: unknown command "git-cred"; did you mean "git-credential"?`},
		{[]string{"help", "claim"}, `hf-oidc: unknown command "claim"; did you mean "claims"?`},
		{[]string{"upload"}, `hf-oidc: unknown command "upload".`},
		{[]string{"--resource", "acme/model", "exchange"}, `hf-oidc: unknown flag "--resource" before the command: a command's flags go after it, as in 'hf-oidc exchange --resource acme/model'.`},
		{[]string{"exchange", "--resources", "acme/model"}, "hf-oidc exchange: unknown flag --resources; did you mean --resource?"},
		{[]string{"exchange", "-resources=acme/model"}, "hf-oidc exchange: unknown flag --resources; did you mean --resource?"},
		{[]string{"exchange", "--formt", "json"}, "hf-oidc exchange: unknown flag --formt; did you mean --format?"},
		{[]string{"exchange", "--token-dir", "/tmp/x"}, "hf-oidc exchange: --token-dir applies to exchange only with --git, for the git helper it configures: exchange itself writes no token file (refresh and exec do)."},
		{[]string{"exchange", "--keeper"}, "hf-oidc exchange: unknown flag --keeper."},
		{[]string{"refresh", "--deatch"}, "hf-oidc refresh: unknown flag --deatch; did you mean --detach?"},
		{[]string{"exec", "--format", "json", "--", "true"}, "hf-oidc exec: --format does not apply here: exec hands the tokens to CMD in its environment and token files, and prints none."},
		{[]string{"git-credential", "--format", "yaml", "get"}, "hf-oidc git-credential: --format does not apply here: git-credential answers git on stdout in git's own format."},
		{[]string{"pipe", "--resource", "acme/model"}, "hf-oidc pipe: unknown flag --resource: pipe takes no flags."},
		{[]string{"providers", "--json"}, "hf-oidc providers: unknown flag --json: providers takes no flags."},
		{[]string{"claims", "--expcet", "repository=acme/x"}, "hf-oidc claims: unknown flag --expcet; did you mean --expect?"},
		{[]string{"exchange", "--timeout"}, "hf-oidc exchange: --timeout needs a value: --timeout DURATION."},
		{[]string{"sandbox", "--tls=maybe"}, `hf-oidc sandbox: invalid value "maybe" for --tls: expected true or false.`},
		{[]string{"sandbox", "--token-lifetime=soon"}, `hf-oidc sandbox: invalid value "soon" for --token-lifetime: expected a duration such as 90s, 10m or 1h.`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := runMain(t, gitlab, "", tt.args...)
			// The first line is the first sentence, wrapped at lineWidth.
			first, rest, _ := strings.Cut(r.stderr, "\nNext: ")
			first, rest = flat(first), "Next: "+rest
			if r.code != 2 || first != tt.first || r.stdout != "" {
				t.Fatalf("exit %d, first line\n  %s\nwant exit 2 and\n  %s\nstdout: %q", r.code, first, tt.first, r.stdout)
			}
			if !strings.HasPrefix(rest, "Next: run 'hf-oidc ") || !strings.Contains(rest, diag.AnchorBadInput.See()) {
				t.Errorf("no Next: line that links %s:\n%s", diag.AnchorBadInput, r.stderr)
			}
		})
	}
}

// commandFlags are the flags each command shows and takes: its own, and
// none that do not apply to it.
var commandFlags = map[string]string{
	"exchange":       "allow-partial audience endpoint format git id-token-file id-token-var provider refresh-margin resource timeout token-dir verbose",
	"exec":           "allow-partial audience endpoint git id-token-file id-token-var provider refresh-margin resource timeout token-dir verbose",
	"refresh":        "allow-partial audience detach endpoint format git id-token-file id-token-var provider refresh-margin resource stop timeout token-dir verbose",
	"git-credential": "audience endpoint id-token-file id-token-var provider refresh-margin resource timeout token-dir verbose",
	"pipe":           "",
	"claims":         "audience expect id-token-file id-token-var json provider resource timeout verbose",
	"demo":           "resource",
	"sandbox":        "addr tls token-lifetime trust",
	"providers":      "",
	"version":        "",
}

// TestHelpShowsItsOwnFlags: each command's --help lists exactly its flags,
// as --name VALUE (never Go's -name string), internal ones hidden.
func TestHelpShowsItsOwnFlags(t *testing.T) {
	t.Parallel()
	flagLine := regexp.MustCompile(`^  --([a-z-]+)( [A-Z]+)?(  |$)`)
	for _, c := range allCommands {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, baseEnv(t), "", c, "--help")
			_, list, ok := strings.Cut(r.stdout, "\nFlags:\n")
			if r.code != 0 || !ok {
				t.Fatalf("exit %d, no Flags: section:\n%s", r.code, r.stdout)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSuffix(list, "\n"), "\n") {
				if m := flagLine.FindStringSubmatch(line); m != nil {
					got = append(got, m[1])
					continue
				}
				if strings.HasPrefix(strings.TrimSpace(line), "-") && line != "  -h, --help            show this help" && !strings.HasPrefix(line, "  -h, --help ") {
					t.Errorf("a flag line not in the --name VALUE form: %q", line)
				}
				if !strings.HasPrefix(line, "      ") && !strings.HasPrefix(line, "  -h, --help") {
					t.Errorf("neither a flag nor its usage: %q", line)
				}
				if len(line) > 80 {
					t.Errorf("a line of %d columns: %q", len(line), line)
				}
			}
			if strings.Join(got, " ") != commandFlags[c] {
				t.Errorf("%s --help lists\n  %s\nwant\n  %s", c, strings.Join(got, " "), commandFlags[c])
			}
		})
	}
}

// TestVersionFlag: --version and -V print what the version command prints.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	want := runMain(t, baseEnv(t), "", "version")
	for _, arg := range []string{"--version", "-V"} {
		r := runMain(t, baseEnv(t), "", arg)
		if r.code != 0 || r.stdout != want.stdout || r.stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", arg, r.code, r.stdout, r.stderr, want.stdout)
		}
	}
}

// TestBadInput: settings that cannot work are refused with status 2 before
// anything reaches the Hub, naming the flag or variable to fix.
func TestBadInput(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	gh := newGitHubStep(t, sb)
	gitlab := providerEnv(t, sb, sandbox.GitLab)
	none := baseEnv(t)
	tests := []struct {
		name   string
		env    cliEnv
		args   []string
		stderr []string
	}{
		{"exchange: no resource", gitlab, []string{"exchange", "--format", "json"}, []string{"--resource", "HF_OIDC_RESOURCES"}},
		{"exchange: a bad resource", gitlab, []string{"exchange", "--format", "json", "--resource", "acme/a b"}, []string{"--resource", "acme/a b"}},
		{"exchange: a bad timeout", gitlab, []string{"exchange", "--format", "json", "--resource", "acme/model", "--timeout", "soon"}, []string{"--timeout"}},
		{"exchange: a bad timeout variable", gitlab.with("HF_OIDC_TIMEOUT=-5s"), []string{"exchange", "--format", "json", "--resource", "acme/model"}, []string{"HF_OIDC_TIMEOUT"}},
		{"exchange: a bad format", gitlab, []string{"exchange", "--format", "xml", "--resource", "acme/model"}, []string{"--format"}},
		{"exchange: github format elsewhere", gitlab, []string{"exchange", "--format", "github", "--resource", "acme/model"}, []string{"GITHUB_ENV"}},
		{"exchange: github-outputs elsewhere", gitlab, []string{"exchange", "--format", "github-outputs", "--resource", "acme/model"}, []string{"GITHUB_OUTPUT"}},
		{"refresh: github-outputs", gh.env, []string{"refresh", "--format", "github-outputs", "--resource", "acme/model"}, []string{"--format github-outputs is for 'hf-oidc exchange'"}},
		{"exchange: an argument", gitlab, []string{"exchange", "--resource", "acme/model", "acme/other"}, []string{`unexpected argument "acme/other"`}},
		{"exchange: an unknown provider", gitlab, []string{"exchange", "--format", "json", "--resource", "acme/model", "--provider", "jenkins"}, []string{"--provider", "jenkins"}},
		{"exchange: a plain-http endpoint", gitlab, []string{"exchange", "--format", "json", "--resource", "acme/model", "--endpoint", "http://hub.example"}, []string{"--endpoint", "http://hub.example"}},
		{"exchange: no provider", none, []string{"exchange", "--format", "json", "--resource", "acme/model"}, []string{"Next: Run this inside a CI job", "HF_OIDC_ID_TOKEN"}},
		{"exchange: no id-token permission", none.with("GITHUB_ACTIONS=true", "HF_ENDPOINT="+sb.URL()), []string{"exchange", "--format", "json", "--resource", "acme/model"}, []string{"hf-oidc exchange: GitHub gave this job no ID token", diag.PermissionSnippet}},
		{"exchange: --git without a valid endpoint", gitlab, []string{"exchange", "--git", "--format", "json", "--resource", "acme/model", "--endpoint", "ftp://hub.example"}, []string{"--endpoint"}},
		{"exec: no command", gitlab, []string{"exec", "--resource", "acme/model"}, []string{"no command given"}},
		{"exec: a bad margin", gitlab, []string{"exec", "--resource", "acme/model", "--refresh-margin", "-1m", "--", "true"}, []string{"--refresh-margin"}},
		{"refresh: an argument", gitlab, []string{"refresh", "--resource", "acme/model", "now"}, []string{`unexpected argument "now"`}},
		{"refresh: --stop --detach", gitlab, []string{"refresh", "--stop", "--detach"}, []string{"--stop takes no --detach"}},
		{"refresh: a bad margin variable", gitlab.with("HF_OIDC_REFRESH_MARGIN=90"), []string{"refresh", "--format", "json", "--resource", "acme/model"}, []string{"HF_OIDC_REFRESH_MARGIN"}},
		{"refresh: github format elsewhere", gitlab, []string{"refresh", "--format", "github", "--resource", "acme/model"}, []string{"GITHUB_ENV"}},
		{"git-credential: no action", gitlab, []string{"git-credential", "--resource", "acme/model"}, []string{"expected the action get, store or erase"}},
		{"git-credential: an unknown action", gitlab, []string{"git-credential", "fetch"}, []string{`got "fetch"`}},
		{"git-credential: an argument after the action", gitlab, []string{"git-credential", "get", "more"}, []string{`unexpected argument "more" after get`}},
		{"git-credential: a bad endpoint", gitlab.with("HF_ENDPOINT=ftp://hub.example"), []string{"git-credential", "--resource", "acme/model", "get"}, []string{"HF_ENDPOINT"}},
		{"pipe: no resources", none.with("BITBUCKET_PIPE_SHARED_STORAGE_DIR=" + t.TempDir()), []string{"pipe"}, []string{"RESOURCES is not set"}},
		{"pipe: no shared storage", none.with("RESOURCES=acme/model"), []string{"pipe"}, []string{"BITBUCKET_PIPE_SHARED_STORAGE_DIR is not set"}},
		{"pipe: an argument", none, []string{"pipe", "acme/model"}, []string{`unexpected argument "acme/model"`}},
		{"claims: a bad timeout", gh.env, []string{"claims", "--timeout", "0s"}, []string{"--timeout", `"0s"`}},
		{"claims: a bad timeout variable", gh.env.with("HF_OIDC_TIMEOUT=soon"), []string{"claims"}, []string{"HF_OIDC_TIMEOUT", `"soon"`}},
		{"claims: an audience with a space", gh.env, []string{"claims", "--audience", "a b"}, []string{"--audience", "no whitespace"}},
		{"claims: a bad --expect", gh.env, []string{"claims", "--expect", "nonsense"}, []string{"--expect"}},
		{"claims: an --expect field the form has not", gh.env, []string{"claims", "--expect", "repo=acme/training,branch=main"}, []string{`hf-oidc claims: --expect: "repo" is no field of the publisher form for GitHub Actions (repository, branch, ref, workflow, environment) nor a claim of this ID token; did you mean "repository"?`, "Next: name each field as the Hub's publisher form does"}},
		{"claims: an unknown provider", gh.env, []string{"claims", "--provider", "jenkins"}, []string{"--provider", "jenkins"}},
		{"claims: an argument", gh.env, []string{"claims", "token.jwt"}, []string{`unexpected argument "token.jwt"`}},
		{"demo: a bad resource", none, []string{"demo", "--resource", "a/b/c/d"}, []string{"--resource"}},
		{"sandbox: a bad lifetime", none, []string{"sandbox", "--token-lifetime", "0s"}, []string{"--token-lifetime"}},
		{"sandbox: a bad trust", none, []string{"sandbox", "--trust", "acme/a b"}, []string{"--trust"}},
		{"providers: an argument", none, []string{"providers", "--json"}, []string{"-json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.env, "", tt.args...)
			r.want(t, 2, nil, append(tt.stderr, "Next: "))
			if r.stdout != "" {
				t.Errorf("bad input printed on stdout: %q", r.stdout)
			}
			testkit.NoLeak(t, sb, map[string]string{"stderr": r.stderr})
		})
	}
	t.Cleanup(func() {
		if n := sb.Stats().Exchanges; n != 0 {
			t.Errorf("bad input reached the Hub's exchange %d times", n)
		}
	})
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runMain(t, baseEnv(t), "", "version")
	r.want(t, 0, []string{"hf-oidc " + version + " (commit ", runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}, nil)
}

func TestProviders(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	tests := []struct {
		name   string
		env    cliEnv
		stdout []string
	}{
		{"none", baseEnv(t), []string{"PROVIDER", "MINTS FRESH ID TOKENS", "github", "gitlab", "No provider detected here"}},
		{"github", newGitHubStep(t, sb).env, []string{"github"}},
		{"gitlab", providerEnv(t, sb, sandbox.GitLab), []string{"gitlab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.env, "", "providers")
			r.want(t, 0, tt.stdout, nil)
			detected := regexp.MustCompile(`(?m)^(\S+)\s+yes\s`).FindAllStringSubmatch(r.stdout, -1)
			switch {
			case tt.name == "none" && len(detected) != 0:
				t.Errorf("detected %v with no CI variables:\n%s", detected, r.stdout)
			case tt.name != "none" && (len(detected) != 1 || detected[0][1] != tt.name):
				t.Errorf("detected %v, want only %s:\n%s", detected, tt.name, r.stdout)
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
		})
	}
}

// gitHost is the host part of the sandbox's URL, as git sends it.
func gitHost(t testing.TB, sb *sandbox.Sandbox) string {
	u, err := url.Parse(sb.URL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestClaims: claims shows the ID token's claims and what to enter on the
// Hub, never the token; --expect compares them as the Hub does; a missing
// or expired ID token is status 1.
func TestClaims(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	expired, err := sb.MintIDToken(map[string]any{"iat": time.Now().Add(-2 * time.Hour), "nbf": time.Now().Add(-2 * time.Hour), "exp": time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "id.jwt")
	if err := os.WriteFile(tokenFile, []byte(expired), 0o600); err != nil {
		t.Fatal(err)
	}
	gh := newGitHubStep(t, sb).env
	const passes = "hf-oidc claims: the ID token from the github provider passes the checks that can be run from here"
	tests := []struct {
		name   string
		env    cliEnv
		args   []string
		code   int
		first  string // the verdict, the report's first line
		stdout []string
	}{
		{"github", gh, nil, 0, passes + ".", []string{"The ID token from the github provider, with GitHub Actions claims (never the token itself)", "issuer", sb.GitHubIssuer(), "repository", "acme/training", "To trust this job, enter on the Hub", "workflow"}},
		{"--expect, all match", gh, []string{"--expect", "repository=acme/training,branch=main", "--expect", "workflow=publish.yml"}, 0, passes + ", and all 3 fields match the publisher's.", []string{"All 3 fields match"}},
		{"--expect, one field matches", gh, []string{"--expect", "repository=acme/training"}, 0, passes + ", and the 1 field matches the publisher's.", []string{"The 1 field matches"}},
		// The verdict comes first, and says what the rest shows: no
		// "no problems" before a mismatch.
		{"--expect, a mismatch", gh, []string{"--expect", "repository=acme/training,branch=release"}, 1, "hf-oidc claims: the Hub would refuse the ID token from the github provider (1 of 2 fields does not match).", []string{"MISMATCH", "Hub: release", "token: main (from ref refs/heads/main)", "1 of 2 fields does not match", "invalid_grant", "Next: "}},
		{"--expect, the only field mismatches", gh, []string{"--expect", "branch=release"}, 1, "hf-oidc claims: the Hub would refuse the ID token from the github provider (1 of 1 field does not match).", []string{"\n1 of 1 field does not match: "}},
		{"--expect, two mismatch", gh, []string{"--expect", "branch=release,workflow=release.yml"}, 1, "hf-oidc claims: the Hub would refuse the ID token from the github provider (2 of 2 fields do not match).", []string{"\n2 of 2 fields do not match: "}},
		{"another audience", gh.with("HF_ENDPOINT=https://huggingface.co"), []string{"--audience", "https://hub.internal"}, 1, "hf-oidc claims: the Hub would refuse the ID token from the github provider (1 error).", []string{"error: --audience (or HF_OIDC_AUDIENCE) asks for the audience https://hub.internal, not the Hub's https://huggingface.co", "#audience)"}},
		{"another audience for a Hub of one's own", gh.with("HF_ENDPOINT=https://hub.internal"), []string{"--audience", "https://hub.internal"}, 0, passes + " (1 warning).", []string{"warning: --audience (or HF_OIDC_AUDIENCE) asks for the audience https://hub.internal"}},
		{"resources to check", gh, []string{"--resource", "acme/model", "--resource", "datasets/acme/data"}, 0, passes + ".", []string{"the ID token from the github provider"}},
		{"gitlab", providerEnv(t, sb, sandbox.GitLab), []string{"--provider", "gitlab"}, 0, "hf-oidc claims: the ID token from the gitlab provider passes", []string{"the ID token from the gitlab provider", "project_path"}},
		{"an expired token file", baseEnv(t), []string{"--id-token-file", tokenFile}, 1, "hf-oidc claims: the Hub would refuse the ID token from the env provider (1 error).", []string{"expires", "ago", "Problems ("}},
		{"no CI", baseEnv(t), []string{"--expect", "repository=acme/training"}, 1, "hf-oidc claims: no ID token (1 error).", []string{"Problems (", "nothing to compare: there is no ID token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.env, "", append([]string{"claims"}, tt.args...)...)
			r.want(t, tt.code, tt.stdout, nil)
			if first, _, _ := strings.Cut(r.stdout, "\n\n"); !strings.HasPrefix(flat(first), tt.first) {
				t.Errorf("the report starts with %q, want %q", first, tt.first)
			}
			if strings.Contains(r.stdout, "No problems found") {
				t.Errorf("the report says no problems were found:\n%s", r.stdout)
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})

			j := runMain(t, tt.env, "", append([]string{"claims", "--json"}, tt.args...)...)
			var report struct {
				Provider string `json:"provider"`
				OK       bool   `json:"ok"`
				Token    *struct {
					Issuer string         `json:"issuer"`
					Claims map[string]any `json:"claims"`
				} `json:"token"`
				Findings []json.RawMessage `json:"findings"`
			}
			if err := json.Unmarshal([]byte(j.stdout), &report); err != nil {
				t.Fatalf("--json: %v\n%s", err, j.stdout)
			}
			if j.code != tt.code || report.OK != (tt.code == 0) || report.Findings == nil {
				t.Errorf("--json: exit %d, ok %v, findings %v; want exit %d\n%s", j.code, report.OK, report.Findings, tt.code, j.stdout)
			}
			if tt.name != "no CI" && (report.Token == nil || report.Token.Issuer == "" || len(report.Token.Claims) == 0) {
				t.Errorf("--json: no token's claims:\n%s", j.stdout)
			}
			testkit.NoLeak(t, sb, map[string]string{"--json stdout": j.stdout, "--json stderr": j.stderr})
		})
	}
}

// TestDemo runs the whole flow against the demo's own sandbox: nothing in
// its output may look like a token.
func TestDemo(t *testing.T) {
	t.Parallel()
	r := runMain(t, baseEnv(t), "", "demo", "--resource", "acme/model", "--resource", "datasets/acme/data=HF_DATA")
	r.want(t, 0, []string{"hf-oidc demo:", "acme/model", "HF_TOKEN", "HF_DATA", "hf_jwt_****", "ok: ", "2 resources exchanged concurrently", "hf-oidc exchange --resource acme/model"}, nil)
	testkit.NoLeak(t, nil, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
}

// TestSandbox: the sandbox command prints one line that points hf-oidc at
// it without pretending to be a CI job (no GITHUB_ACTIONS, no masks, no
// SSL_CERT_FILE for the whole shell, no secret on the screen), and a next
// command that exchanges with it, over http and over TLS. The e2e test
// TestSandboxInstructions runs the lines in a real shell.
func TestSandbox(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		name := "http"
		args := []string{"sandbox", "--trust", "acme/model", "--token-lifetime", "10m"}
		if tls {
			name = "tls"
			args = append(args, "--tls")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var ex, gh cliRun
			var exports []string
			r := runUntil(t, baseEnv(t), false, "# A GitHub Actions job", func(stdout string) {
				env := baseEnv(t)
				var next []string
				for _, line := range strings.Split(stdout, "\n") {
					if kvs, ok := strings.CutPrefix(line, "export "); ok {
						exports = append(exports, line)
						for _, kv := range strings.Fields(kvs) {
							k, v, _ := strings.Cut(kv, "=")
							env[k] = strings.Trim(v, "'")
						}
					}
					if cmd, ok := strings.CutPrefix(line, `eval "$(`); ok {
						next = strings.Fields(strings.TrimSuffix(cmd, `)"`))[1:]
					}
				}
				if len(next) == 0 {
					t.Errorf("no eval line:\n%s", stdout)
					return
				}
				ex = runMain(t, env, "", next...)

				// .github/ci/sandbox.sh hands these to a GitHub Actions job.
				m := regexp.MustCompile(`(?m)^# A GitHub Actions job .*: cat '([^']+)' >> "\$GITHUB_ENV"$`).FindStringSubmatch(stdout)
				if m == nil {
					t.Errorf("no line for a GitHub Actions job:\n%s", stdout)
					return
				}
				ghEnv := newGitHubStep(t, startSB(t, sandbox.Config{})).env // for its RUNNER_TEMP, GITHUB_ENV…
				for _, kv := range strings.Fields(testkit.ReadText(t, m[1])) {
					k, v, _ := strings.Cut(kv, "=")
					ghEnv[k] = v
				}
				gh = runMain(t, ghEnv, "", "exchange", "--resource", "acme/model", "--format", "json")
			}, args...)
			r.want(t, 0, []string{"# hf-oidc sandbox on http", "# trusted for the sandbox's GitHub claims: acme/model", "exchange --resource acme/model)\"\n"}, nil)
			if len(exports) != 1 {
				t.Fatalf("%d export lines, want the one to paste:\n%s", len(exports), r.stdout)
			}
			for _, want := range []string{"HF_ENDPOINT=", "HF_OIDC_PROVIDER='env'", "HF_OIDC_ID_TOKEN_FILE="} {
				if !strings.Contains(exports[0], want) {
					t.Errorf("the export line lacks %s: %s", want, exports[0])
				}
			}
			for _, bad := range []string{"GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST", "SSL_CERT_FILE"} {
				if strings.Contains(r.stdout, bad) {
					t.Errorf("the sandbox's instructions mention %s:\n%s", bad, r.stdout)
				}
			}
			if tls != strings.Contains(exports[0], "HF_OIDC_CA_FILE=") {
				t.Errorf("tls %v, export line: %s", tls, exports[0])
			}
			ex.want(t, 0, []string{"export HF_TOKEN="}, []string{"hf-oidc: 1 token from the env provider's ID token"})
			gh.want(t, 0, []string{`"resource":"acme/model"`}, []string{"hf-oidc: 1 token from the github provider's ID token"})
			if strings.Contains(ex.stdout+ex.stderr, "::") {
				t.Errorf("workflow commands outside GitHub Actions:\n%s%s", ex.stdout, ex.stderr)
			}
			testkit.NoLeak(t, nil, map[string]string{"sandbox stdout": r.stdout, "sandbox stderr": r.stderr, "exchange stderr": ex.stderr})
		})
	}
}

// TestExecCannotRun: a command that cannot run makes exec exit as a shell
// would, 127 not found (before any exchange) and 126 found but not
// runnable, with a first line that names it and the entry that explains it.
func TestExecCannotRun(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	gh := newGitHubStep(t, sb)
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notExec := write("train.sh", "#!/bin/sh\n", 0o644)
	garbage := write("garbage", "\x7fELF not a program", 0o755)
	tests := []struct {
		cmd       string
		code      int
		first     string
		exchanged bool
	}{
		{"hf-oidc-no-such-command", 127, `hf-oidc exec: cannot run "hf-oidc-no-such-command": executable file not found in $PATH.`, false},
		{filepath.Join(dir, "missing"), 127, `hf-oidc exec: cannot run "` + filepath.Join(dir, "missing") + `": no such file or directory.`, false},
		{notExec, 126, `hf-oidc exec: cannot run "` + notExec + `": permission denied.`, false},
		{dir, 126, `hf-oidc exec: cannot run "` + dir + `": is a directory.`, false},
		{garbage, 126, `hf-oidc exec: cannot run "` + garbage + `": exec format error.`, true},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.cmd), func(t *testing.T) {
			before := sb.Stats().Exchanges
			r := runMain(t, gh.env, "", "exec", "--resource", "acme/model", "--", tt.cmd)
			var first string
			for _, line := range strings.Split(unmasked(t, sb, r.stderr), "\n") {
				if strings.HasPrefix(line, "hf-oidc exec: cannot run") {
					first = line
				}
			}
			if r.code != tt.code || first != tt.first {
				t.Fatalf("exit %d, want %d; the error line\n  %s\nwant\n  %s\nstderr:\n%s", r.code, tt.code, first, tt.first, r.stderr)
			}
			if _, next, _ := strings.Cut(r.stderr, first+"\n"); !strings.HasPrefix(next, "Next: ") || !strings.Contains(next, diag.AnchorExecCommand.See()) {
				t.Errorf("no Next: line linking %s after it:\n%s", diag.AnchorExecCommand, r.stderr)
			}
			if !tt.exchanged && sb.Stats().Exchanges != before {
				t.Errorf("a command that cannot run cost an exchange")
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": unmasked(t, sb, r.stderr)})
		})
	}
}

// TestResourceMistakes: the resource settings users get wrong most often
// get a first line that names what was meant, and the entry about it.
func TestResourceMistakes(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	gitlab := providerEnv(t, sb, sandbox.GitLab)
	tests := []struct {
		name   string
		env    cliEnv
		args   []string
		first  string
		next   string
		anchor diag.Anchor
	}{
		{"only the singular variable", gitlab.with("HF_OIDC_RESOURCE=acme/model"), []string{"exchange", "--format", "json"},
			`hf-oidc exchange: no resource given, but HF_OIDC_RESOURCE (singular) is set ("acme/model"): hf-oidc reads HF_OIDC_RESOURCES (plural), and the singular makes huggingface_hub ignore hf-oidc's tokens.`,
			"Next: rename HF_OIDC_RESOURCE to HF_OIDC_RESOURCES, or pass --resource and unset it.", diag.AnchorHFOIDCResource},
		{"only the singular variable, exec", gitlab.with("HF_OIDC_RESOURCE=acme/model"), []string{"exec", "--", "true"},
			`hf-oidc exec: no resource given, but HF_OIDC_RESOURCE (singular) is set ("acme/model")`, "Next: rename HF_OIDC_RESOURCE", diag.AnchorHFOIDCResource},
		{"a URL", gitlab, []string{"exchange", "--format", "json", "--resource", "https://huggingface.co/acme/x"},
			`hf-oidc exchange: --resource: resource "https://huggingface.co/acme/x": is a URL, not a resource's name: did you mean "acme/x"?`,
			"Next: run 'hf-oidc exchange --help' for usage.", diag.AnchorResourceForm},
		{"a dataset's page in the variable", gitlab.with("HF_OIDC_RESOURCES=huggingface.co/datasets/acme/x/tree/main"), []string{"exchange", "--format", "json"},
			`hf-oidc exchange: HF_OIDC_RESOURCES: resource "huggingface.co/datasets/acme/x/tree/main": is a URL, not a resource's name: did you mean "datasets/acme/x"?`,
			"Next: ", diag.AnchorResourceForm},
		{"a git remote", gitlab, []string{"exchange", "--format", "json", "--resource", "acme/x.git"},
			`hf-oidc exchange: --resource: resource "acme/x.git": name "x.git" must not end in ".git": did you mean "acme/x"?`,
			"Next: ", diag.AnchorResourceForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, tt.env, "", tt.args...)
			// The first line is the first sentence, wrapped at lineWidth.
			first, next, _ := strings.Cut(r.stderr, "\nNext: ")
			first, next = flat(first), "Next: "+next
			if r.code != 2 || !strings.HasPrefix(first, tt.first) || r.stdout != "" {
				t.Fatalf("exit %d, first line\n  %s\nwant exit 2 and\n  %s", r.code, first, tt.first)
			}
			if !strings.HasPrefix(next, tt.next) || !strings.HasSuffix(strings.TrimSpace(next), tt.anchor.See()) {
				t.Errorf("Next: line\n  %s\nwant it to start %q and link %s", next, tt.next, tt.anchor)
			}
		})
	}
	t.Cleanup(func() {
		if n := sb.Stats().Exchanges; n != 0 {
			t.Errorf("bad resources reached the Hub %d times", n)
		}
	})
}
