package diag

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/plugins"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// tok builds a token with claims over a valid GitHub-shaped base; a nil
// value deletes a claim. The end-to-end tests use sandbox-signed tokens;
// here only the claims matter.
func tok(t testing.TB, claims map[string]any) *idtoken.Token {
	t.Helper()
	c := map[string]any{
		"iss": GitHubIssuer, "aud": DefaultAudience, "sub": "repo:acme/training:ref:refs/heads/main",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"repository": "acme/training", "ref": "refs/heads/main",
		"workflow_ref":     "acme/training/.github/workflows/publish.yml@refs/heads/main",
		"job_workflow_ref": "acme/training/.github/workflows/publish.yml@refs/heads/main",
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := idtoken.Parse("eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func anchors(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f.Anchor))
	}
	return strings.Join(s, ",")
}

func TestShapeOf(t *testing.T) {
	t.Parallel()
	gl := map[string]any{"iss": "https://gitlab.example.com", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil, "project_path": "acme/x"}
	bare := map[string]any{"iss": "https://idp.example", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil}
	tests := []struct {
		name     string
		claims   map[string]any
		provider string
		want     Shape
	}{
		{"github.com", nil, "env", GitHub},
		{"enterprise slug", map[string]any{"iss": GitHubIssuer + "/acme"}, "", GitHub},
		{"GHES", map[string]any{"iss": "https://ghe.acme.example/_services/token"}, "", GitHub},
		{"sandbox issuer, GitHub claims", map[string]any{"iss": "http://127.0.0.1:4000/github"}, "env", GitHub},
		{"GitHub claims, called workflow only", map[string]any{"iss": "http://127.0.0.1:4000/x", "workflow_ref": nil}, "", GitHub},
		{"gitlab.com", map[string]any{"iss": "https://gitlab.com", "repository": nil}, "", GitLab},
		{"self-hosted GitLab, by claims", gl, "", GitLab},
		{"CircleCI", map[string]any{"iss": "https://oidc.circleci.com/org/abc", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil}, "", CircleCI},
		{"CircleCI claims", with(bare, map[string]any{"oidc.circleci.com/project-id": "p"}), "", CircleCI},
		{"Bitbucket", with(bare, map[string]any{"iss": "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"}), "", Bitbucket},
		{"Bitbucket claims", with(bare, map[string]any{"repositoryUuid": "{r}", "stepUuid": "{s}"}), "", Bitbucket},
		{"Buildkite", with(bare, map[string]any{"iss": "https://agent.buildkite.com"}), "", Buildkite},
		{"Buildkite claims", with(bare, map[string]any{"organization_slug": "acme", "pipeline_slug": "p"}), "", Buildkite},
		{"plain http is no known issuer", with(bare, map[string]any{"iss": "http://agent.buildkite.com"}), "", Generic},
		{"by the provider in use", bare, "gitlab", GitLab},
		{"env provider says nothing", bare, "env", Generic},
	}
	for _, tt := range tests {
		if got := ShapeOf(tok(t, tt.claims), tt.provider); got != tt.want {
			t.Errorf("%s: ShapeOf = %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := ShapeOf(nil, "circleci"); got != CircleCI {
		t.Errorf("ShapeOf(nil, circleci) = %s", got)
	}
}

func with(base, over map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// Both sides of every time edge, with the clock injected.
func TestTimeEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		exp     time.Duration // from now
		issued  time.Duration // iat from now
		nbf     time.Duration // from now; 0: as iat
		canMint bool
		want    string
	}{
		{"fresh", 5 * time.Minute, 0, 0, false, ""},
		{"expires now", 0, -5 * time.Minute, 0, false, "expired"},
		{"expired a second ago", -time.Second, -5 * time.Minute, 0, true, "expired"},
		{"a second left", time.Second, -5 * time.Minute, 0, false, "expiring"},
		{"exactly ExpiringWithin left", ExpiringWithin, -time.Minute, 0, false, "expiring"},
		{"just beyond ExpiringWithin", ExpiringWithin + time.Second, -time.Minute, 0, false, ""},
		{"a minter renews anyway", 30 * time.Second, -time.Minute, 0, true, ""},
		{"issued exactly SkewTolerance ahead", 5 * time.Minute, SkewTolerance, 0, true, ""},
		{"issued just beyond SkewTolerance ahead", 5 * time.Minute, SkewTolerance + time.Second, 0, true, "clock-skew"},
		{"not valid before the future", 5 * time.Minute, 0, time.Minute, true, "clock-skew"},
	}
	for _, tt := range tests {
		claims := map[string]any{"exp": now.Add(tt.exp).Unix(), "iat": now.Add(tt.issued).Unix(), "nbf": now.Add(tt.issued).Unix()}
		if tt.nbf != 0 {
			claims["nbf"] = now.Add(tt.nbf).Unix()
		}
		got := CheckToken(Input{Token: tok(t, claims), CanMint: tt.canMint, Now: now})
		if anchors(got) != tt.want {
			t.Errorf("%s: findings %q, want %q (%+v)", tt.name, anchors(got), tt.want, got)
		}
	}
}

func TestTimeTexts(t *testing.T) {
	t.Parallel()
	exp := CheckToken(Input{Token: tok(t, map[string]any{"exp": now.Add(-3 * time.Minute).Unix(), "iat": now.Add(-8 * time.Minute).Unix()}), CanMint: true, Now: now})
	if len(exp) != 1 || exp[0].Problem != "the ID token expired 3m0s ago (exp 2026-05-01T11:57:00Z)" ||
		exp[0].Fix != "hf-oidc minted this token just now, so this machine's clock is ahead of the issuer's: sync it (NTP, e.g. `timedatectl set-ntp true`)." {
		t.Errorf("expired, minted: %+v", exp)
	}
	skew := CheckToken(Input{Token: tok(t, map[string]any{"iat": now.Add(90 * time.Second).Unix(), "nbf": nil, "exp": now.Add(10 * time.Minute).Unix()}), Now: now})
	if len(skew) != 1 || skew[0].Problem != "the ID token was issued 1m30s in the future (iat 2026-05-01T12:01:30Z, this machine's clock 2026-05-01T12:00:00Z): this machine's clock or the issuer's is off by about 1m30s" {
		t.Errorf("skew: %+v", skew)
	}
}

func TestAudience(t *testing.T) {
	t.Parallel()
	circle := map[string]any{"iss": "https://oidc.circleci.com/org/org-1", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil}
	tests := []struct {
		name     string
		claims   map[string]any
		audience string
		endpoint string
		want     Anchor
		fix      string // prefix
		severity Severity
	}{
		{"one of several is the Hub's", map[string]any{"aud": []any{"x", DefaultAudience}}, "", "", "", "", Error},
		{"no aud at all", map[string]any{"aud": nil}, "", "", AnchorAudience, "Let hf-oidc fetch the token", Error},
		{"CircleCI org id", with(circle, map[string]any{"aud": "org-1"}), "", "", AnchorCircleCIOrgAudience, "Mint one for the Hub with `circleci run oidc get", Error},
		{"CircleCI, another audience", with(circle, map[string]any{"aud": "other"}), "", "", AnchorAudience, "Mint the token with `circleci run oidc get", Error},
		{"Bitbucket, another audience", map[string]any{"iss": "https://api.bitbucket.org/2.0/workspaces/a/pipelines-config/identity/oidc", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil, "aud": "x"}, "", "", AnchorAudience, "Give the step the Hub's audience: `oidc: { audiences: [https://huggingface.co] }`.", Error},
		// An audience of one's own is compared with the Hub's: wrong for
		// huggingface.co, maybe right for a Hub of one's own.
		{"another audience for huggingface.co", map[string]any{"aud": "https://hub.internal"}, "https://hub.internal", "", AnchorAudience, "Leave out --audience", Error},
		{"another audience for the Hub's own endpoint", map[string]any{"aud": "https://hub.internal"}, "https://hub.internal", "https://huggingface.co/", AnchorAudience, "Leave out --audience", Error},
		{"a custom Hub's audience", map[string]any{"aud": "https://hub.internal"}, "https://hub.internal", "https://hub.internal", AnchorAudience, "Leave out --audience", Warning},
	}
	for _, tt := range tests {
		got := CheckToken(Input{Token: tok(t, tt.claims), Audience: tt.audience, Endpoint: tt.endpoint, Now: now})
		if tt.want == "" {
			if len(got) != 0 {
				t.Errorf("%s: %+v", tt.name, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Anchor != tt.want || !strings.HasPrefix(got[0].Fix, tt.fix) || got[0].Severity != tt.severity {
			t.Errorf("%s: %+v, want %s with fix %q…", tt.name, got, tt.want, tt.fix)
		}
	}
	if got := CheckToken(Input{Token: tok(t, map[string]any{"aud": nil}), Now: now}); got[0].Problem != "the ID token's aud is (none), not the Hub's https://huggingface.co, so the Hub refuses it" {
		t.Errorf("no aud: %q", got[0].Problem)
	}
}

func TestAnalyzeOrdersWorstFirst(t *testing.T) {
	t.Parallel()
	in := Input{
		Token:     tok(t, map[string]any{"aud": "x", "ref": "refs/tags/v1", "job_workflow_ref": "acme/shared/.github/workflows/r.yml@v1"}),
		Resources: []string{"acme/ok,models/acme/x\nspaces/acme/ok"},
		Getenv:    func(k string) string { return map[string]string{"HF_OIDC_RESOURCE": "acme/x"}[k] },
		Now:       now,
	}
	if got := anchors(Analyze(in)); got != "resource-form,audience,hf-oidc-resource,github-reusable-workflow,github-not-a-branch" {
		t.Errorf("Analyze = %s", got)
	}
	worst, ok := Worst(Analyze(in))
	if !ok || worst != Error {
		t.Errorf("Worst = %v, %v", worst, ok)
	}
	if _, ok := Worst(nil); ok {
		t.Error("Worst(nil) reports a finding")
	}
}

func TestNoToken(t *testing.T) {
	t.Parallel()
	fork := `{"pull_request":{"head":{"repo":{"full_name":"bob/x"}},"base":{"repo":{"full_name":"acme/x"}}}}`
	files := map[string]string{"/fork.json": fork, "/same.json": `{"pull_request":{"head":{"repo":{"full_name":"acme/x"}},"base":{"repo":{"full_name":"acme/x"}}}}`}
	readFile := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	actions := func(kv ...string) func(string) string {
		m := map[string]string{"GITHUB_ACTIONS": "true"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	setup := &plugins.SetupError{Provider: "github", Problem: "ACTIONS_ID_TOKEN_REQUEST_URL is not set", Fix: "Add it."}
	tests := []struct {
		name     string
		provider string
		getenv   func(string) string
		err      error
		want     Anchor
		problem  string // substring
	}{
		{"no permission", "github", actions("GITHUB_EVENT_NAME", "push"), setup, AnchorGitHubPermission, "lacks the id-token: write permission"},
		{"fork", "github", actions("GITHUB_EVENT_NAME", "pull_request", "GITHUB_EVENT_PATH", "/fork.json"), setup, AnchorGitHubForkPR, "from the fork bob/x into acme/x"},
		{"pull request review from a fork", "github", actions("GITHUB_EVENT_NAME", "pull_request_review", "GITHUB_EVENT_PATH", "/fork.json"), setup, AnchorGitHubForkPR, "bob/x"},
		{"pull_request_target gets tokens", "github", actions("GITHUB_EVENT_NAME", "pull_request_target", "GITHUB_EVENT_PATH", "/fork.json"), setup, AnchorGitHubPermission, ""},
		{"same-repo pull request", "github", actions("GITHUB_EVENT_NAME", "pull_request", "GITHUB_EVENT_PATH", "/same.json"), setup, AnchorGitHubPermission, ""},
		{"unreadable event", "github", actions("GITHUB_EVENT_NAME", "pull_request", "GITHUB_EVENT_PATH", "/missing.json"), setup, AnchorGitHubPermission, ""},
		{"URL set but no request token", "github", actions("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x"), setup, AnchorGitHubPermission, ""},
		{"another provider's setup", "env", nil, &plugins.SetupError{Provider: "env", Problem: "neither is set", Fix: "Set one."}, AnchorNoIDToken, "the env provider has no ID token to give: neither is set"},
		{"nothing detected", "", nil, &plugins.NotDetectedError{Tried: []string{"env", "github"}}, AnchorNoProvider, "no CI provider detected (tried env, github)"},
		{"a fetch that failed", "github", actions("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"), errors.New("status 500"), AnchorNoIDToken, "getting an ID token from the github provider failed: status 500"},
	}
	for _, tt := range tests {
		got := Analyze(Input{Provider: tt.provider, Getenv: tt.getenv, TokenErr: tt.err, ReadFile: readFile, Now: now})
		if len(got) != 1 || got[0].Anchor != tt.want || got[0].Severity != Error || !strings.Contains(got[0].Problem, tt.problem) {
			t.Errorf("%s: %+v, want %s with %q", tt.name, got, tt.want, tt.problem)
		}
	}
}

func TestHubForm(t *testing.T) {
	t.Parallel()
	bare := map[string]any{"repository": nil, "workflow_ref": nil, "job_workflow_ref": nil, "ref": nil}
	tests := []struct {
		name   string
		claims map[string]any
		want   string
	}{
		{"github", map[string]any{"environment": "prod"}, "repository=acme/training branch=main workflow=publish.yml environment=prod?"},
		{"github tag", map[string]any{"ref": "refs/tags/v1"}, "repository=acme/training ref=refs/tags/v1 workflow=publish.yml"},
		{"github without workflow_ref", map[string]any{"workflow_ref": nil}, "repository=acme/training branch=main"},
		{"gitlab", with(bare, map[string]any{"iss": "https://gitlab.com", "project_path": "acme/x", "ref_type": "tag", "ref": "v1"}), "project_path=acme/x ref_type=tag ref=v1"},
		{"circleci", with(bare, map[string]any{"iss": "https://oidc.circleci.com/org/o", "oidc.circleci.com/project-id": "p", "oidc.circleci.com/vcs-ref": "refs/heads/main"}), "oidc.circleci.com/project-id=p oidc.circleci.com/vcs-ref=refs/heads/main"},
		{"bitbucket", with(bare, map[string]any{"iss": "https://api.bitbucket.org/2.0/workspaces/a/pipelines-config/identity/oidc", "repositoryUuid": "{r}", "stepUuid": "{s}", "branchName": "main", "deploymentEnvironmentUuid": "{d}"}), "repositoryUuid={r} branchName=main deploymentEnvironmentUuid={d}?"},
		{"buildkite", with(bare, map[string]any{"iss": "https://agent.buildkite.com", "organization_slug": "acme", "pipeline_slug": "p", "build_branch": "main"}), "organization_slug=acme pipeline_slug=p build_branch=main"},
		{"generic", with(bare, map[string]any{"iss": "https://idp.example", "sub": "job:1"}), "sub=job:1"},
	}
	for _, tt := range tests {
		tk := tok(t, tt.claims)
		f := HubForm(tk, ShapeOf(tk, ""))
		var got []string
		for _, fl := range f.Fields {
			s := fl.Name + "=" + fl.Value
			if fl.Optional {
				s += "?"
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != tt.want || f.Issuer != tk.Issuer {
			t.Errorf("%s: %v (issuer %s), want %s", tt.name, got, f.Issuer, tt.want)
		}
	}
}

func TestKeyClaimsAndDisplay(t *testing.T) {
	t.Parallel()
	tk := tok(t, map[string]any{"iss": "https://idp.example", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil,
		"b": "x\x1b[31my\n", "a": strings.Repeat("é", 300), "n": json.Number("12345678901234567890")})
	got := KeyClaims(tk, Generic)
	want := []Claim{{"a", strings.Repeat("é", 200) + "…"}, {"b", `x\x1B[31my\n`}, {"n", "12345678901234567890"}, {"ref", "refs/heads/main"}}
	if len(got) != len(want) {
		t.Fatalf("KeyClaims = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("KeyClaims[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestFindingJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Finding{Anchor: AnchorExpired, Severity: Warning, Problem: "p", Fix: "F."})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"expired","severity":"warning","problem":"p","fix":"F.","link":"` + DocsURL + `#expired"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	if got := (Finding{Anchor: AnchorExpired, Fix: "F."}).Next(); got != "F. (see "+DocsURL+"#expired)" {
		t.Errorf("Next = %q", got)
	}
}

var expectCases = []struct {
	in   []string
	want map[string]string
	err  string
}{
	{[]string{"repository=acme/training,branch=main,workflow=publish.yml"}, map[string]string{"repository": "acme/training", "branch": "main", "workflow": "publish.yml"}, ""},
	{[]string{" repository = acme/x ,", "branch=main"}, map[string]string{"repository": "acme/x", "branch": "main"}, ""},
	{[]string{"ref=refs/heads/a=b"}, map[string]string{"ref": "refs/heads/a=b"}, ""},
	{[]string{"branch"}, nil, `"branch" is not name=value`},
	{[]string{"=main"}, nil, `"=main" has no name`},
	{[]string{"branch="}, nil, `"branch=" has no value`},
	{[]string{"branch=a", "branch=b"}, nil, `branch is given twice ("a" and "b")`},
	{[]string{"bra nch=a"}, nil, `"bra nch": a field name has no spaces`},
	{[]string{",", ""}, nil, "no field given"},
}

func TestParseExpect(t *testing.T) {
	t.Parallel()
	for _, tt := range expectCases {
		got, err := ParseExpect(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseExpect(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ParseExpect(%q) = %v, %v", tt.in, got, err)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseExpect(%q)[%s] = %q, want %q", tt.in, k, got[k], v)
			}
		}
	}
}

func FuzzParseExpect(f *testing.F) {
	for _, tt := range expectCases {
		f.Add(strings.Join(tt.in, "\x00"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := strings.Split(s, "\x00")
		got, err := ParseExpect(in)
		if err != nil {
			if got != nil {
				t.Fatalf("ParseExpect(%q) = %v with error %v", in, got, err)
			}
			return
		}
		if len(got) == 0 || len(got) > maxExpect {
			t.Fatalf("ParseExpect(%q) = %d fields", in, len(got))
		}
		// What it read, written back, reads the same.
		var parts []string
		for k, v := range got {
			if k == "" || v == "" || strings.Contains(k, "=") || strings.Contains(k+v, ",") {
				t.Fatalf("ParseExpect(%q) gave %q=%q", in, k, v)
			}
			parts = append(parts, k+"="+v)
		}
		again, err := ParseExpect([]string{strings.Join(parts, ",")})
		if err != nil || len(again) != len(got) {
			t.Fatalf("round trip of %v: %v, %v", got, again, err)
		}
		for k, v := range got {
			if again[k] != v {
				t.Fatalf("round trip of %v: %v", got, again)
			}
		}
	})
}

var forkCases = []struct {
	payload, fork, base string
	ok                  bool
}{
	{`{"pull_request":{"head":{"repo":{"full_name":"bob/x"}},"base":{"repo":{"full_name":"acme/x"}}}}`, "bob/x", "acme/x", true},
	{`{"pull_request":{"head":{"repo":null},"base":{"repo":{"full_name":"acme/x"}}}}`, "(a deleted fork)", "acme/x", true},
	{`{"pull_request":{"head":{"repo":{"full_name":"acme/x"}},"base":{"repo":{"full_name":"acme/x"}}}}`, "", "", false},
	{`{"pull_request":{"head":{"repo":{"full_name":"bob/x"}},"base":{"repo":null}}}`, "", "", false},
	{`{"pull_request":{"head":{"repo":{"full_name":"bob/x"}},"base":{"repo":{"full_name":""}}}}`, "", "", false},
	{`{"ref":"refs/heads/main"}`, "", "", false},
	{`[1,2]`, "", "", false},
	{`{"pull_request":`, "", "", false},
}

func TestParseForkEvent(t *testing.T) {
	t.Parallel()
	for _, tt := range forkCases {
		fork, base, ok := ParseForkEvent([]byte(tt.payload))
		if fork != tt.fork || base != tt.base || ok != tt.ok {
			t.Errorf("ParseForkEvent(%s) = %q, %q, %v; want %q, %q, %v", tt.payload, fork, base, ok, tt.fork, tt.base, tt.ok)
		}
	}
}

func FuzzParseForkEvent(f *testing.F) {
	for _, tt := range forkCases {
		f.Add([]byte(tt.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		fork, base, ok := ParseForkEvent(payload)
		if !ok {
			if fork != "" || base != "" {
				t.Fatalf("not a fork, but %q, %q", fork, base)
			}
			return
		}
		if base == "" || fork == "" || fork == base {
			t.Fatalf("a fork %q of %q", fork, base)
		}
	})
}

func FuzzGitHubIssuerKind(f *testing.F) {
	for _, s := range []string{GitHubIssuer, GitHubIssuer + "/acme", GitHubIssuer + "/a/b", "https://ghe.example/_services/token", "http://ghe.example/_services/token", "https://x/_services/token?a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, iss string) {
		kind, where := githubIssuerKind(iss)
		switch kind {
		case githubDotCom:
			if iss != GitHubIssuer || where != "" {
				t.Fatalf("%q: github.com with %q", iss, where)
			}
		case githubEnterpriseSlug:
			if where == "" || strings.Contains(where, "/") || iss != GitHubIssuer+"/"+where {
				t.Fatalf("%q: slug %q", iss, where)
			}
		case githubServer:
			if where == "" || !strings.HasPrefix(iss, "https://") || !strings.HasSuffix(iss, "/_services/token") {
				t.Fatalf("%q: GHES at %q", iss, where)
			}
		case notGitHub:
			if where != "" {
				t.Fatalf("%q: not GitHub, but %q", iss, where)
			}
		}
		_ = ShapeOf(&idtoken.Token{Issuer: iss, Claims: map[string]any{}}, "")
	})
}

func TestCheckExpectNames(t *testing.T) {
	t.Parallel()
	gh := tok(t, map[string]any{"actor": "octocat"})
	tests := []struct {
		name  string
		want  map[string]string
		token *idtoken.Token
		shape Shape
		err   string // "" for none; else the error's end
	}{
		{"the form's fields", map[string]string{"repository": "a/b", "branch": "main", "workflow": "w.yml", "environment": "prod"}, gh, GitHub, ""},
		{"a claim publishers match on", map[string]string{"ref": "refs/tags/v1", "repository_owner": "a"}, gh, GitHub, ""},
		{"a claim of the token", map[string]string{"actor": "octocat", "sub": "x"}, gh, GitHub, ""},
		{"a short name", map[string]string{"repo": "a/b"}, gh, GitHub, `"repo" is no field of the publisher form for GitHub Actions (repository, branch, ref, workflow, environment) nor a claim of this ID token; did you mean "repository"?`},
		{"a typo", map[string]string{"brnach": "main"}, gh, GitHub, `did you mean "branch"?`},
		{"another case", map[string]string{"Workflow": "w.yml"}, gh, GitHub, `did you mean "workflow"?`},
		{"nothing near", map[string]string{"zzzzzz": "x"}, gh, GitHub, "nor a claim of this ID token"},
		{"no token: a custom field may name any claim", map[string]string{"sha": "0123"}, nil, GitLab, ""},
		{"a GitLab token", map[string]string{"project": "a/b"}, tok(t, map[string]any{"iss": "https://gitlab.com", "project_path": "a/b", "repository": nil, "workflow_ref": nil, "job_workflow_ref": nil}), GitLab, `"project" is no field of the publisher form for GitLab CI/CD (project_path, ref_type, ref, environment) nor a claim of this ID token; did you mean "project_path"?`},
		{"no token, no form", map[string]string{"anything": "x"}, nil, Generic, ""},
		{"a custom provider", map[string]string{"sub": "x", "actor": "y"}, gh, Generic, ""},
		{"a custom provider, an unknown claim", map[string]string{"subject": "x"}, gh, Generic, `"subject" is no field of the publisher form for a custom OIDC provider (sub) nor a claim of this ID token; did you mean "sub"?`},
	}
	for _, tt := range tests {
		err := CheckExpectNames(tt.want, tt.token, tt.shape)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.HasSuffix(err.Error(), tt.err)):
			t.Errorf("%s: %v, want …%s", tt.name, err, tt.err)
		}
	}
}
