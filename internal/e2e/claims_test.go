package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// docs is the troubleshooting page every Next: line links to.
const docs = "https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md"

// Claims of real providers' ID tokens (from their documentation), for tokens
// the sandbox mints with its GitHub key: the Hub's signature check is not
// what these tests exercise, the diagnosis of the shapes is.
func gitlabClaims() map[string]any {
	return map[string]any{
		"iss": "https://gitlab.com", "aud": "https://huggingface.co",
		"sub":            "project_path:acme/training:ref_type:branch:ref:main",
		"namespace_id":   "1234567",
		"namespace_path": "acme", "project_id": "7654321", "project_path": "acme/training",
		"user_id": "42", "user_login": "octocat", "pipeline_id": "1001", "pipeline_source": "push", "job_id": "2002",
		"ref": "main", "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
		"runner_id": 7, "runner_environment": "gitlab-hosted", "project_visibility": "private",
		"ci_config_ref_uri": "gitlab.com/acme/training//.gitlab-ci.yml@refs/heads/main",
	}
}

const (
	circleOrg     = "a3f0b7c2-1d4e-4f5a-9b8c-7d6e5f4a3b2c"
	circleProject = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
)

func circleciClaims() map[string]any {
	return map[string]any{
		"iss": "https://oidc.circleci.com/org/" + circleOrg, "aud": "https://huggingface.co",
		"sub":                           "org/" + circleOrg + "/project/" + circleProject + "/user/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9/vcs-origin/github.com/acme/training/vcs-ref/refs/heads/main",
		"oidc.circleci.com/project-id":  circleProject,
		"oidc.circleci.com/vcs-origin":  "github.com/acme/training",
		"oidc.circleci.com/vcs-ref":     "refs/heads/main",
		"oidc.circleci.com/context-ids": []any{"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"},
		"oidc.circleci.com/ssh-rerun":   false,
	}
}

const (
	bbWorkspace = "{8f7e6d5c-4b3a-4291-8f7e-6d5c4b3a2918}"
	bbRepo      = "{1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d}"
)

func bitbucketClaims() map[string]any {
	return map[string]any{
		"iss": "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
		"aud": "https://huggingface.co", "sub": bbRepo + ":{6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2f1e}",
		"accountUuid": "{0f1e2d3c-4b5a-4697-8877-665544332211}", "workspaceUuid": bbWorkspace,
		"repositoryUuid": bbRepo, "pipelineUuid": "{a1b2c3d4-e5f6-4a7b-8c9d-e0f1a2b3c4d5}",
		"stepUuid": "{6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2f1e}", "branchName": "main",
	}
}

func buildkiteClaims() map[string]any {
	return map[string]any{
		"iss": "https://agent.buildkite.com", "aud": "https://huggingface.co",
		"sub":               "organization:acme:pipeline:training:ref:refs/heads/main:commit:9f3c2b1a8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b:step:publish",
		"organization_slug": "acme", "pipeline_slug": "training", "build_number": 175,
		"build_branch": "main", "build_commit": "9f3c2b1a8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b", "step_key": "publish",
		"job_id": "018485f6-1f53-4f18-9b53-72428db4d239", "agent_id": "018485f6-eec2-4b61-a7be-0e35ef563df0",
	}
}

// mintShaped mints an ID token with the sandbox's GitHub claims removed and
// claims in their place.
func mintShaped(t *testing.T, sb *sandbox.Sandbox, claims map[string]any) string {
	t.Helper()
	layer := map[string]any{}
	for k := range sb.GitHubClaims() {
		layer[k] = nil
	}
	for k, v := range claims {
		layer[k] = v
	}
	return mint(t, sb, layer)
}

// mint mints a GitHub-shaped ID token with overrides.
func mint(t *testing.T, sb *sandbox.Sandbox, overrides map[string]any) string {
	t.Helper()
	tok, err := sb.MintIDToken(overrides)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func with(base map[string]any, overrides map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range overrides {
		m[k] = v
	}
	return m
}

// A finding as claims prints it.
type finding struct{ severity, anchor, problem, fix string }

func (f finding) text() string {
	// {any}: the lines to paste, if the finding has any, come before the link.
	end := "."
	if strings.HasSuffix(f.problem, "?") {
		end = ""
	}
	return "  " + f.severity + ": " + f.problem + end + "\n    Next: " + f.fix + "{any}(see " + docs + "#" + f.anchor + ")\n"
}

var (
	timestamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	durations  = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+s\b`)
)

// normalize replaces times and durations, which depend on when the binary
// ran, with placeholders.
func normalize(s string) string {
	return durations.ReplaceAllString(timestamps.ReplaceAllString(s, "<time>"), "<duration>")
}

// matches reports whether got, normalized, holds want, normalized, where
// "{any}" in want stands for anything; white space, line breaks included,
// compares as one space, for claims wraps its prose.
func matches(got, want string) bool {
	return pattern(flat(want)).MatchString(flat(normalize(got)))
}

// equals is matches for the whole of got.
func equals(got, want string) bool {
	return regexp.MustCompile("^" + pattern(want).String() + "$").MatchString(normalize(got))
}

func pattern(want string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(normalize(want)), regexp.QuoteMeta("{any}"), `[^\n]*`))
}

// claimsRun runs hf-oidc claims and checks that nothing it printed leaks a
// token.
func claimsRun(t *testing.T, sb *sandbox.Sandbox, env []string, args ...string) run {
	t.Helper()
	r := runBin(t, env, append([]string{"claims"}, args...)...)
	testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": r.stderr})
	return r
}

func TestClaimsFindings(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	now := time.Now()
	hub := "https://huggingface.co"
	// preMinted is the environment of a job that hands hf-oidc a token.
	preMinted := func(tok string) []string { return []string{"HF_OIDC_ID_TOKEN=" + tok} }
	forkEvent := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(forkEvent, []byte(`{"action":"opened","number":7,"pull_request":{"head":{"ref":"patch-1","repo":{"full_name":"bob/training","fork":true}},"base":{"ref":"main","repo":{"full_name":"acme/training","fork":false}}},"repository":{"full_name":"acme/training"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	gh := sb.GitHubEnv()

	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want []finding
		// also must appear in stdout, after normalize
		also []string
		// exactly, to check a time the finding computed
		re string
	}{
		{
			name: "audience of a GitHub token",
			env:  preMinted(mint(t, sb, map[string]any{"aud": "https://github.com/acme"})),
			code: 1,
			want: []finding{{"error", "audience",
				"the ID token's aud is https://github.com/acme, not the Hub's https://huggingface.co, so the Hub refuses it",
				"Let hf-oidc fetch the token (the github provider asks for aud https://huggingface.co), or request it with that audience yourself: core.getIDToken('https://huggingface.co'), or &audience=https://huggingface.co on $ACTIONS_ID_TOKEN_REQUEST_URL."}},
		},
		{
			name: "audience of a GitLab token",
			env:  preMinted(mintShaped(t, sb, with(gitlabClaims(), map[string]any{"aud": "https://gitlab.com"}))),
			code: 1,
			want: []finding{{"error", "audience",
				"the ID token's aud is https://gitlab.com, not the Hub's https://huggingface.co, so the Hub refuses it",
				"Declare the token with the Hub's audience in the job: `id_tokens: { HF_ID_TOKEN: { aud: https://huggingface.co } }`."}},
		},
		{
			name: "audience of a Buildkite token",
			env:  preMinted(mintShaped(t, sb, with(buildkiteClaims(), map[string]any{"aud": "https://buildkite.com/acme"}))),
			code: 1,
			want: []finding{{"error", "audience",
				"the ID token's aud is https://buildkite.com/acme, not the Hub's https://huggingface.co, so the Hub refuses it",
				"Mint the token with `buildkite-agent oidc request-token --audience https://huggingface.co`, as the buildkite provider does."}},
		},
		{
			name: "audience of a token of another issuer",
			env:  preMinted(mintShaped(t, sb, map[string]any{"iss": "https://idp.example.com", "sub": "job:42", "aud": []any{"api://default", "https://example.com"}})),
			code: 1,
			want: []finding{{"error", "audience",
				"the ID token's aud is api://default, https://example.com, not the Hub's https://huggingface.co, so the Hub refuses it",
				"Mint the ID token for the audience https://huggingface.co with the issuer's audience setting (for a Hub that requires another audience, pass it with --audience)."}},
			also: []string{"provider  a custom OIDC provider", "sub       job:42"},
		},
		{
			name: "CircleCI token with the organization's audience",
			env:  preMinted(mintShaped(t, sb, with(circleciClaims(), map[string]any{"aud": circleOrg}))),
			code: 1,
			want: []finding{{"error", "circleci-org-audience",
				"the ID token's aud is " + circleOrg + ", the CircleCI organization's ID: it is the fixed-audience token of $CIRCLE_OIDC_TOKEN or $CIRCLE_OIDC_TOKEN_V2, and the Hub requires https://huggingface.co",
				"Mint one for the Hub with `circleci run oidc get --claims '{\"aud\":\"https://huggingface.co\"}'`, as the circleci provider does; do not pass $CIRCLE_OIDC_TOKEN_V2 as HF_OIDC_ID_TOKEN."}},
		},
		{
			name: "CircleCI SSH rerun",
			env:  preMinted(mintShaped(t, sb, with(circleciClaims(), map[string]any{"oidc.circleci.com/ssh-rerun": true}))),
			code: 0,
			want: []finding{{"warning", "circleci-ssh-rerun",
				"this ID token comes from a CircleCI job rerun with SSH (oidc.circleci.com/ssh-rerun is true), which relying parties commonly refuse: anyone with SSH access to the job could use it",
				"Publish from a run without SSH (Rerun workflow from start, or from failed); keep SSH reruns for debugging."}},
			also: []string{"provider                      CircleCI\n", "oidc.circleci.com/project-id  " + circleProject + "\n", "oidc.circleci.com/vcs-ref     refs/heads/main\n"},
		},
		{
			name: "Bitbucket token with the workspace's audience",
			env:  preMinted(mintShaped(t, sb, with(bitbucketClaims(), map[string]any{"aud": "ari:cloud:bitbucket::workspace/" + bbWorkspace}))),
			code: 1,
			want: []finding{{"error", "bitbucket-workspace-audience",
				"the ID token's aud is ari:cloud:bitbucket::workspace/" + bbWorkspace + ", the Bitbucket workspace's default audience, and the Hub requires https://huggingface.co",
				"Give the step the Hub's audience: replace `oidc: true` with `oidc: { audiences: [https://huggingface.co] }`."}},
		},
		{
			name: "expired pre-minted token",
			env:  preMinted(mint(t, sb, map[string]any{"iat": now.Add(-8 * time.Minute), "nbf": now.Add(-8 * time.Minute), "exp": now.Add(-3 * time.Minute)})),
			code: 1,
			want: []finding{{"error", "expired",
				"the ID token expired 3m0s ago (exp 2026-01-01T00:00:00Z)",
				"This ID token was minted once for the job and hf-oidc cannot renew it: exchange it while it is valid (early in the job), or get a new one by rerunning the job."}},
			re: `expired 3m[0-9]+s ago`,
		},
		{
			name: "pre-minted token about to expire",
			env:  preMinted(mint(t, sb, map[string]any{"exp": now.Add(90 * time.Second)})),
			code: 0,
			want: []finding{{"warning", "expiring",
				"the ID token expires in 1m30s (exp 2026-01-01T00:00:00Z) and cannot be renewed: the provider gave it once for the job",
				"Exchange it now, early in the job; for a job that must exchange later, use a provider that mints on demand (github, circleci, buildkite) or give the token a longer lifetime."}},
			re: `expires in 1m(2[6-9]|30)s`,
		},
		{
			name: "token issued in the future",
			env:  preMinted(mint(t, sb, map[string]any{"iat": now.Add(5 * time.Minute), "nbf": now.Add(5 * time.Minute), "exp": now.Add(10 * time.Minute)})),
			code: 0,
			want: []finding{{"warning", "clock-skew",
				"the ID token was issued 5m0s in the future (iat 2026-01-01T00:00:00Z, this machine's clock 2026-01-01T00:00:00Z): this machine's clock or the issuer's is off by about 5m0s",
				"Sync this machine's clock (NTP, e.g. `timedatectl set-ntp true` or chrony): hf-oidc times renewals by it, and the Hub refuses a token that is not valid yet by its own clock."}},
			re: `issued 4m5[6-9]s in the future|issued 5m0s in the future`,
		},
		{
			name: "GitHub job without id-token: write",
			env:  []string{"GITHUB_ACTIONS=true", "HF_ENDPOINT=" + sb.URL(), "GITHUB_EVENT_NAME=push"},
			code: 1,
			want: []finding{{"error", "github-id-token-permission",
				"GitHub gave this job no ID token: the job lacks the id-token: write permission (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set)",
				"Give the job that runs hf-oidc the permission. A job's own permissions: replaces the workflow's whole, so if the job has one, add it there; else the job or the top of the workflow will do:"}},
			also: []string{"hf-oidc claims: no ID token from the github provider (1 error).\n", "\n        permissions: { id-token: write, contents: read }\n    (see " + docs + "#github-id-token-permission)\n"},
		},
		{
			name: "GitHub pull request from a fork",
			env:  []string{"GITHUB_ACTIONS=true", "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + forkEvent},
			code: 1,
			want: []finding{{"error", "github-fork-pull-request",
				"this run is for a pull request from the fork bob/training into acme/training, and GitHub gives such runs no ID token, whatever their permissions",
				"Publish from a workflow that runs in acme/training itself (on push, release or workflow_dispatch), not on pull requests from forks."}},
		},
		{
			name: "GitHub reusable workflow",
			env:  preMinted(mint(t, sb, map[string]any{"job_workflow_ref": "acme/shared/.github/workflows/release.yml@refs/tags/v1"})),
			code: 0,
			want: []finding{{"warning", "github-reusable-workflow",
				"this job runs in a reusable workflow: workflow_ref names the caller, acme/training/.github/workflows/publish.yml@refs/heads/main, and job_workflow_ref the called workflow, acme/shared/.github/workflows/release.yml@refs/tags/v1",
				"The Hub's workflow field compares with workflow_ref, so enter the caller's file, publish.yml; to pin the reusable workflow instead, configure a job_workflow_ref claim with its full value."}},
			also: []string{"  workflow    publish.yml\n"},
		},
		{
			name: "GitHub enterprise issuer",
			env:  preMinted(mint(t, sb, map[string]any{"iss": "https://token.actions.githubusercontent.com/acme-corp"})),
			code: 0,
			want: []finding{{"warning", "github-enterprise-issuer",
				`the ID token's issuer is https://token.actions.githubusercontent.com/acme-corp, the form GitHub uses for the enterprise "acme-corp" (include_enterprise_slug is on), not https://token.actions.githubusercontent.com`,
				"On the Hub, configure the publisher with this exact issuer (a custom OIDC provider if the GitHub preset only offers https://token.actions.githubusercontent.com), or turn include_enterprise_slug off for the enterprise."}},
		},
		{
			name: "GitHub Enterprise Server",
			env:  preMinted(mint(t, sb, map[string]any{"iss": "https://github.acme.example/_services/token"})),
			code: 0,
			want: []finding{{"warning", "github-ghes-issuer",
				"the ID token comes from GitHub Enterprise Server at github.acme.example (issuer https://github.acme.example/_services/token), not from github.com",
				"The Hub must reach https://github.acme.example/_services/token/.well-known/openid-configuration and its keys from the internet, and the publisher must name this issuer rather than the GitHub preset's https://token.actions.githubusercontent.com."}},
		},
		{
			name: "GitHub immutable sub",
			env:  preMinted(mint(t, sb, map[string]any{"sub": "repo:acme@1234567/training@765432109:ref:refs/heads/main"})),
			code: 0,
			want: []finding{{"note", "github-immutable-sub",
				"the ID token's sub uses GitHub's immutable form, repo:acme@1234567/training@765432109:ref:refs/heads/main, which names the owner and the repository with their IDs",
				"A publisher that pins sub must spell it exactly so (repo:OWNER/REPO:… no longer matches); the repository field compares with the repository claim, acme/training, which keeps its usual form."}},
		},
		{
			name: "GitHub run for a tag",
			env:  preMinted(mint(t, sb, map[string]any{"ref": "refs/tags/v1.0", "ref_type": "tag", "sub": "repo:acme/training:ref:refs/tags/v1.0"})),
			code: 0,
			want: []finding{{"note", "github-not-a-branch",
				"this run is for refs/tags/v1.0, not a branch, and the Hub form's branch field matches branches only",
				"Leave branch empty on the publisher and pin ref = refs/tags/v1.0 (or ref_type) instead, or publish from a run on a branch."}},
			also: []string{"  ref         refs/tags/v1.0\n"},
		},
		{
			name: "HF_OIDC_RESOURCE in the environment",
			env:  append([]string{"HF_OIDC_RESOURCE=acme/model"}, gh...),
			code: 0,
			want: []finding{{"warning", "hf-oidc-resource",
				`HF_OIDC_RESOURCE is set ("acme/model"): huggingface_hub then runs its own exchange and ignores HF_TOKEN and HF_TOKEN_PATH`,
				"Unset HF_OIDC_RESOURCE in the job's environment: hf-oidc reads its resources from --resource or HF_OIDC_RESOURCES (plural)."}},
		},
		{
			name: "resources the Hub will reject",
			env:  append([]string{"HF_OIDC_RESOURCES=acme/ok,dataset/acme/data"}, gh...),
			args: []string{"--resource", "models/acme/x", "--resource", "acme/fine"},
			code: 1,
			want: []finding{{"error", "resource-form",
				`resource "models/acme/x": a model is named "acme/x" (no "models/" prefix)`,
				"Name each resource as the Hub does: ns/name (a model), datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username, optionally followed by =ENV_NAME."}},
		},
		{
			name: "resources from the variable",
			env:  append([]string{"HF_OIDC_RESOURCES=acme/ok,dataset/acme/data"}, gh...),
			code: 1,
			want: []finding{{"error", "resource-form",
				`resource "dataset/acme/data": unknown prefix "dataset/": did you mean "datasets/acme/data"?`,
				"Name each resource as the Hub does: ns/name (a model), datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username, optionally followed by =ENV_NAME."}},
		},
		{
			name: "no provider",
			code: 1,
			want: []finding{{"error", "no-provider",
				"no CI provider detected (tried env, github{any})",
				"Run this inside a CI job of a supported provider, force one with --provider, or pass a pre-minted ID token in HF_OIDC_ID_TOKEN or --id-token-file. Try `hf-oidc demo` to see the whole flow locally."}},
		},
		{
			name: "pre-minted token given twice",
			env:  []string{"HF_OIDC_ID_TOKEN=" + mint(t, sb, nil), "HF_OIDC_ID_TOKEN_FILE=/nonexistent"},
			code: 1,
			want: []finding{{"error", "no-id-token",
				"the env provider has no ID token to give: both HF_OIDC_ID_TOKEN and HF_OIDC_ID_TOKEN_FILE are set",
				"Set only one of them: HF_OIDC_ID_TOKEN to the token, or HF_OIDC_ID_TOKEN_FILE (--id-token-file) to a file holding it."}},
		},
		{
			name: "not a JWT",
			env:  []string{"HF_OIDC_ID_TOKEN=not-a-token"},
			code: 1,
			want: []finding{{"error", "no-id-token",
				"getting an ID token from the env provider failed: reading the ID token: not a JWT: it has 1 dot-separated part, want 3",
				"Check the provider's setup (hf-oidc providers shows what is detected); a pre-minted token must be the JWT itself, exactly as the CI minted it."}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsRun(t, sb, c.env, c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, c.code, r.stdout, r.stderr)
			}
			for _, f := range c.want {
				if !matches(r.stdout, f.text()) {
					t.Errorf("stdout lacks the finding\n%s\nstdout:\n%s", f.text(), r.stdout)
				}
			}
			for _, a := range c.also {
				if !strings.Contains(r.stdout, a) {
					t.Errorf("stdout lacks %q:\n%s", a, r.stdout)
				}
			}
			if c.re != "" && !regexp.MustCompile(c.re).MatchString(r.stdout) {
				t.Errorf("stdout does not match %s:\n%s", c.re, r.stdout)
			}
			if n := strings.Count(r.stdout, "    Next: "); n != len(c.want) {
				t.Errorf("%d findings, want %d:\n%s", n, len(c.want), r.stdout)
			}

			// The JSON report says the same.
			j := claimsJSON(t, sb, c.env, c.args...)
			if len(j.Findings) != len(c.want) {
				t.Fatalf("--json has %d findings, want %d", len(j.Findings), len(c.want))
			}
			for i, f := range c.want {
				g := j.Findings[i]
				if g.ID != f.anchor || g.Severity != f.severity || !equals(g.Problem, f.problem) || g.Fix != f.fix || g.Link != docs+"#"+f.anchor {
					t.Errorf("--json finding %d = %+v, want %+v", i, g, f)
				}
			}
			if j.OK != (c.code == 0) {
				t.Errorf("--json ok = %v with exit %d", j.OK, c.code)
			}
		})
	}
	_ = hub
}

type claimsReport struct {
	Provider string `json:"provider"`
	Shape    string `json:"shape"`
	Token    *struct {
		Issuer    string         `json:"issuer"`
		Audience  []string       `json:"audience"`
		Subject   string         `json:"subject"`
		ExpiresAt string         `json:"expires_at"`
		ExpiresIn int64          `json:"expires_in"`
		Claims    map[string]any `json:"claims"`
	} `json:"token"`
	Publisher *struct {
		Provider string `json:"provider"`
		Issuer   string `json:"issuer"`
		Fields   []struct {
			Name     string `json:"name"`
			Value    string `json:"value"`
			Optional bool   `json:"optional"`
		} `json:"fields"`
	} `json:"hub_publisher"`
	Findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Problem  string `json:"problem"`
		Fix      string `json:"fix"`
		Link     string `json:"link"`
	} `json:"findings"`
	Expect []struct {
		Field   string `json:"field"`
		Claim   string `json:"claim"`
		Want    string `json:"want"`
		Got     string `json:"got"`
		Present bool   `json:"present"`
		Match   bool   `json:"match"`
	} `json:"expect"`
	OK bool `json:"ok"`
}

func claimsJSON(t *testing.T, sb *sandbox.Sandbox, env []string, args ...string) claimsReport {
	t.Helper()
	r := claimsRun(t, sb, env, append([]string{"--json"}, args...)...)
	var j claimsReport
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
	}
	return j
}

func TestClaimsGitHub(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	r := claimsRun(t, sb, sb.GitHubEnv())
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	iss := sb.GitHubIssuer()
	for _, want := range []string{
		"\nThe ID token from the github provider, with GitHub Actions claims (never the token itself):\n",
		"  issuer    " + iss + "\n",
		"  audience  https://huggingface.co\n",
		"  subject   repo:acme/training:ref:refs/heads/main\n",
		"Claims that publishers match on:\n  repository           acme/training\n",
		"  job_workflow_ref     acme/training/.github/workflows/publish.yml@refs/heads/main\n",
		"To trust this job, enter on the Hub (Settings → Trusted Publishers; for a username, CI/CD Access):\n" +
			"  provider    GitHub Actions\n" +
			"  issuer      " + iss + "\n" +
			"  repository  acme/training\n" +
			"  branch      main\n" +
			"  workflow    publish.yml\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// The verdict first, on its line.
	if !strings.HasPrefix(r.stdout, "hf-oidc claims: the ID token from the github provider passes the checks that can be run from here.\n\n") {
		t.Errorf("stdout does not start with the verdict:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`  expires   \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (4m5\ds|5m0s)\)\n`).MatchString(r.stdout) {
		t.Errorf("no expiry in about 5 minutes:\n%s", r.stdout)
	}

	j := claimsJSON(t, sb, sb.GitHubEnv())
	if !j.OK || j.Provider != "github" || j.Shape != "github" || j.Token == nil || j.Publisher == nil {
		t.Fatalf("--json = %+v", j)
	}
	if j.Token.Issuer != iss || j.Token.Claims["repository"] != "acme/training" || j.Token.ExpiresIn < 250 || j.Token.ExpiresIn > 300 {
		t.Errorf("--json token = %+v", j.Token)
	}
	var fields []string
	for _, f := range j.Publisher.Fields {
		fields = append(fields, f.Name+"="+f.Value)
	}
	if got := strings.Join(fields, ","); got != "repository=acme/training,branch=main,workflow=publish.yml" || j.Publisher.Provider != "GitHub Actions" || j.Publisher.Issuer != iss {
		t.Errorf("--json hub_publisher = %+v", j.Publisher)
	}
	if len(j.Findings) != 0 {
		t.Errorf("--json findings = %+v", j.Findings)
	}
}

// The other providers' shapes get their own form: the claims that identify
// the project and the ref.
func TestClaimsForms(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	cases := []struct {
		name   string
		claims map[string]any
		form   string
	}{
		{"gitlab", gitlabClaims(), "  provider      GitLab CI/CD\n  issuer        https://gitlab.com\n  project_path  acme/training\n  ref_type      branch\n  ref           main\n"},
		{"gitlab environment", with(gitlabClaims(), map[string]any{"environment": "production"}), "  ref           main\n  environment   production   (optional)\n"},
		{"circleci", circleciClaims(), "  provider                      CircleCI\n  issuer                        https://oidc.circleci.com/org/" + circleOrg + "\n  oidc.circleci.com/project-id  " + circleProject + "\n  oidc.circleci.com/vcs-ref     refs/heads/main\n"},
		{"bitbucket", bitbucketClaims(), "  provider        Bitbucket Pipelines\n  issuer          https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc\n  repositoryUuid  " + bbRepo + "\n  branchName      main\n"},
		{"buildkite", buildkiteClaims(), "  provider           Buildkite\n  issuer             https://agent.buildkite.com\n  organization_slug  acme\n  pipeline_slug      training\n  build_branch       main\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsRun(t, sb, []string{"HF_OIDC_ID_TOKEN=" + mintShaped(t, sb, c.claims)})
			if r.code != 0 || !strings.HasPrefix(r.stdout, "hf-oidc claims: the ID token from the env provider passes the checks that can be run from here.\n") {
				t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, c.form) {
				t.Errorf("stdout lacks the form\n%s\nstdout:\n%s", c.form, r.stdout)
			}
		})
	}
}

func TestClaimsExpect(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	env := sb.GitHubEnv()
	const (
		repoOK   = "  repository  match     Hub: acme/training  token: acme/training\n"
		repoBad  = "  repository  MISMATCH  Hub: acme/inference  token: acme/training\n"
		branchOK = "  branch      match     Hub: main  token: main (from ref refs/heads/main)\n"
		brBad    = "  branch      MISMATCH  Hub: main-backup  token: main (from ref refs/heads/main)\n"
		wfOK     = "  workflow    match     Hub: publish.yml  token: publish.yml (from workflow_ref acme/training/.github/workflows/publish.yml@refs/heads/main)\n"
		wfBad    = "  workflow    MISMATCH  Hub: release.yml  token: publish.yml (from workflow_ref acme/training/.github/workflows/publish.yml@refs/heads/main)\n"
	)
	// Every combination of the GitHub form's three fields matching or not.
	for mask := range 8 {
		repo, branch, wf := mask&1 != 0, mask&2 != 0, mask&4 != 0
		var values, lines []string
		bad := 0
		pick := func(ok bool, good, wrong, okLine, badLine string) string {
			if ok {
				lines = append(lines, okLine)
				return good
			}
			bad++
			lines = append(lines, badLine)
			return wrong
		}
		// Lines come in the sorted order of the names.
		b := "branch=" + pick(branch, "main", "main-backup", branchOK, brBad)
		r := "repository=" + pick(repo, "acme/training", "acme/inference", repoOK, repoBad)
		w := "workflow=" + pick(wf, "publish.yml", "release.yml", wfOK, wfBad)
		values = []string{r, b, w}
		name := strings.Join(values, ",")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := claimsRun(t, sb, env, "--expect", name)
			table := "\nDry run of the Hub's matching (--expect):\n" + strings.Join(lines, "")
			verdict := "hf-oidc claims: the ID token from the github provider passes the checks that can be run from here, and all 3 fields match the publisher's.\n"
			end := "All 3 fields match: the Hub's claim check would pass for a publisher with this issuer.\n"
			if bad > 0 {
				mismatch := string(rune('0'+bad)) + " of 3 fields do not match"
				if bad == 1 {
					mismatch = "1 of 3 fields does not match"
				}
				verdict = "hf-oidc claims: the Hub would refuse the ID token from the github provider (" + mismatch + ").\n"
				end = mismatch + ": the Hub would refuse this token with invalid_grant.\n" +
					"Next: Make each mismatched field of the publisher on the Hub equal the token's value shown, or run the job that has the configured values; the Hub compares exactly, with no patterns. (see " + docs + "#expect-mismatch)\n"
			}
			if !strings.Contains(res.stdout, table) || !strings.HasSuffix(flat(res.stdout), flat(table+end)) || !strings.HasPrefix(flat(res.stdout), flat(verdict)) {
				t.Errorf("stdout does not start with\n%s\nand end with\n%s\nstdout:\n%s", verdict, table+end, res.stdout)
			}
			if wantCode := map[bool]int{true: 0, false: 1}[bad == 0]; res.code != wantCode {
				t.Errorf("exit %d, want %d", res.code, wantCode)
			}
			j := claimsJSON(t, sb, env, "--expect", name)
			if len(j.Expect) != 3 || j.OK != (bad == 0) {
				t.Fatalf("--json expect = %+v, ok %v", j.Expect, j.OK)
			}
			for _, e := range j.Expect {
				wantMatch := map[string]bool{"repository": repo, "branch": branch, "workflow": wf}[e.Field]
				if e.Match != wantMatch || !e.Present {
					t.Errorf("--json %+v: want match %v", e, wantMatch)
				}
			}
		})
	}

	// Beyond the GitHub form's words, and without the claim.
	tag := mint(t, sb, map[string]any{"ref": "refs/tags/v1.0", "workflow_ref": nil, "environment": "production"})
	for _, c := range []struct {
		name, expect string
		lines        []string
	}{
		{"tag ref never matches a branch", "branch=refs/tags/v1.0", []string{"  branch  MISMATCH  Hub: refs/tags/v1.0  token: refs/tags/v1.0 (ref)\n"}},
		{"missing claim", "workflow=publish.yml", []string{"  workflow  MISMATCH  Hub: publish.yml  token: (no workflow_ref claim)\n"}},
		{"other words compare with their claim", "environment=production,ref=refs/tags/v1.0", []string{"  environment  match     Hub: production  token: production\n", "  ref          match     Hub: refs/tags/v1.0  token: refs/tags/v1.0\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := claimsRun(t, sb, []string{"HF_OIDC_ID_TOKEN=" + tag}, "--expect", c.expect)
			for _, l := range c.lines {
				if !strings.Contains(res.stdout, l) {
					t.Errorf("stdout lacks %q:\n%s", l, res.stdout)
				}
			}
			ok := !strings.Contains(strings.Join(c.lines, ""), "MISMATCH")
			if (res.code == 0) != ok {
				t.Errorf("exit %d for %s", res.code, c.expect)
			}
		})
	}

	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		res := claimsRun(t, sb, nil, "--expect", "repository=acme/training")
		if res.code != 1 || !strings.Contains(res.stdout, "  nothing to compare: there is no ID token.\n") {
			t.Errorf("exit %d:\n%s", res.code, res.stdout)
		}
	})
}

func TestClaimsBadInput(t *testing.T) {
	sb := startSandbox(t, sandbox.Config{})
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"expect without =", nil, []string{"--expect", "repository"}, `--expect: "repository" is not name=value`},
		{"expect twice", nil, []string{"--expect", "branch=main", "--expect", "branch=dev"}, `--expect: branch is given twice ("main" and "dev")`},
		{"expect empty value", nil, []string{"--expect", "branch="}, `--expect: "branch=" has no value`},
		{"unknown provider", nil, []string{"--provider", "jenkins"}, `"jenkins"`},
		{"bad timeout", []string{"HF_OIDC_TIMEOUT=soon"}, nil, `HF_OIDC_TIMEOUT "soon"`},
		{"audience with a space", nil, []string{"--audience", "a b"}, `--audience "a b"`},
		{"argument", nil, []string{"acme/x"}, `unexpected argument "acme/x"`},
		{"unknown flag", nil, []string{"--format", "json"}, "-format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := claimsRun(t, sb, append(c.env, sb.GitHubEnv()...), c.args...)
			// An unknown flag shows the usage on stdout, as every command does.
			if r.code != 2 || !holds(r.stderr, c.want) || (r.stdout != "" && c.name != "unknown flag") {
				t.Errorf("exit %d, want 2 and %q\nstdout: %s\nstderr: %s", r.code, c.want, r.stdout, r.stderr)
			}
			if !strings.HasSuffix(flat(r.stderr), "Next: run 'hf-oidc claims --help' for usage. (see "+docs+"#bad-input)") {
				t.Errorf("stderr does not end with the link:\n%s", r.stderr)
			}
		})
	}
	if st := sb.Stats(); st.IDTokenRequests != 0 {
		t.Errorf("bad input fetched an ID token: %+v", st)
	}
}

func TestClaimsHelp(t *testing.T) {
	r := runBin(t, nil, "claims", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage: hf-oidc claims") || !strings.Contains(r.stdout, "-expect FIELDS") {
		t.Errorf("claims --help: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, nil, "--help"); !strings.Contains(r.stdout, "\n  claims ") {
		t.Errorf("--help does not list claims:\n%s", r.stdout)
	}
}

// TestClaimsSettingsAsExchange: claims resolves and checks its settings
// with the same code as exchange, so it refuses what exchange refuses
// (they had drifted: claims took --timeout 5h and --audience=-x).
func TestClaimsSettingsAsExchange(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	for _, args := range [][]string{
		{"--timeout", "5h"},
		{"--audience=-x"},
		{"--provider", "Git Hub"},
		{"--id-token-var", "1BAD"},
	} {
		flag := strings.TrimLeft(strings.SplitN(args[0], "=", 2)[0], "-")
		claims := runBin(t, sb.GitHubEnv(), append([]string{"claims"}, args...)...)
		exchange := runBin(t, sb.GitHubEnv(), append([]string{"exchange", "--format", "json", "--resource", "acme/model"}, args...)...)
		for name, r := range map[string]run{"claims": claims, "exchange": exchange} {
			if r.code != 2 || !strings.Contains(r.stderr, "--"+flag) {
				t.Errorf("%s %v: exit %d, want 2 naming --%s:\n%s", name, args, r.code, flag, r.stderr)
			}
		}
	}
	if n := sb.Stats().Exchanges + sb.Stats().IDTokenRequests; n != 0 {
		t.Errorf("%d requests reached the sandbox", n)
	}
}
