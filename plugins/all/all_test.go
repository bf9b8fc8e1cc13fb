package all_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
	_ "github.com/hf-oidc/hf-oidc/plugins/all"
)

// detectionOrder is the order doc.go promises.
var detectionOrder = []string{"env", "github", "gitlab", "circleci", "bitbucket", "buildkite"}

func TestNames(t *testing.T) {
	t.Parallel()
	if names := plugins.Names(); !slices.Equal(names, detectionOrder) {
		t.Errorf("Names() = %q, want %q", names, detectionOrder)
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	github := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://runtime.example/idtoken?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // "" for NotDetectedError
	}{
		{name: "GitHub only", env: github, want: "github"},
		{name: "env only", env: map[string]string{"HF_OIDC_ID_TOKEN": "a.b.c"}, want: "env"},
		{name: "token file only", env: map[string]string{"HF_OIDC_ID_TOKEN_FILE": "/t"}, want: "env"},
		{name: "GitHub and env", env: with(github, "HF_OIDC_ID_TOKEN", "a.b.c"), want: "env"},
		{name: "GitHub without id-token permission", env: map[string]string{"GITHUB_ACTIONS": "true"}, want: "github"},
		{name: "GitLab", env: map[string]string{"GITLAB_CI": "true", "CI": "true", "HF_ID_TOKEN": "a.b.c"}, want: "gitlab"},
		{name: "GitLab without id_tokens", env: map[string]string{"GITLAB_CI": "true"}, want: "gitlab"},
		{name: "GitLab naming its variable HF_OIDC_ID_TOKEN", env: map[string]string{"GITLAB_CI": "true", "HF_OIDC_ID_TOKEN": "a.b.c"}, want: "env"},
		{name: "CircleCI", env: map[string]string{"CIRCLECI": "true", "CI": "true"}, want: "circleci"},
		{name: "Bitbucket", env: map[string]string{"BITBUCKET_BUILD_NUMBER": "7", "CI": "true"}, want: "bitbucket"},
		{name: "Bitbucket without oidc", env: map[string]string{"BITBUCKET_BUILD_NUMBER": "7"}, want: "bitbucket"},
		{name: "Buildkite", env: map[string]string{"BUILDKITE": "true", "CI": "true"}, want: "buildkite"},
		{name: "Buildkite and env", env: map[string]string{"BUILDKITE": "true", "HF_OIDC_ID_TOKEN_FILE": "/t"}, want: "env"},
		// Only a job that fakes another CI's variables has two; the lower
		// order wins.
		{name: "GitHub and GitLab", env: with(github, "GITLAB_CI", "true"), want: "github"},
		{name: "CircleCI and Buildkite", env: map[string]string{"CIRCLECI": "true", "BUILDKITE": "true"}, want: "circleci"},
		{name: "none", env: map[string]string{}},
		{name: "only CI", env: map[string]string{"CI": "true"}},
		{name: "GITHUB_ACTIONS not true", env: map[string]string{"GITHUB_ACTIONS": "false"}},
		{name: "GITLAB_CI not true", env: map[string]string{"GITLAB_CI": "1"}},
		{name: "BITBUCKET_BUILD_NUMBER empty", env: map[string]string{"BITBUCKET_BUILD_NUMBER": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := plugins.Detect(plugins.WithGetenv(func(k string) string { return tt.env[k] }))
			if tt.want != "" {
				if err != nil || p.Name() != tt.want {
					t.Fatalf("Detect = %v, %v; want %s", p, err, tt.want)
				}
				return
			}
			var nd *plugins.NotDetectedError
			if !errors.As(err, &nd) {
				t.Fatalf("Detect = %v, %v; want *plugins.NotDetectedError", p, err)
			}
			if !slices.Equal(nd.Tried, detectionOrder) {
				t.Errorf("Tried = %q, want %q", nd.Tried, detectionOrder)
			}
			if !strings.Contains(err.Error(), "tried env, github, gitlab, circleci, bitbucket, buildkite") {
				t.Errorf("error = %q, want it to list what was tried", err)
			}
		})
	}
}

func with(env map[string]string, k, v string) map[string]string {
	m := maps.Clone(env)
	m[k] = v
	return m
}

// TestJob checks what each provider binds cached tokens to: its job, and
// only its job. Two jobs that differ in any identifying variable get
// different Jobs, a job gets the same Job on every call, and a provider
// outside a job says so with "".
func TestJob(t *testing.T) {
	t.Parallel()
	github := map[string]string{
		"GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "publish",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://runtime.example/jobs/a/idtoken",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token-a",
	}
	tests := []struct {
		provider string
		job      map[string]string // the job's identifying variables
		others   []map[string]string
		secret   string // must not appear in Job
	}{
		{provider: "github", job: github, secret: "request-token-a", others: []map[string]string{
			with(github, "GITHUB_RUN_ID", "2"),
			with(github, "GITHUB_RUN_ATTEMPT", "2"),
			with(github, "GITHUB_JOB", "test"),
			// A matrix: same run, attempt and key, another job.
			with(with(github, "ACTIONS_ID_TOKEN_REQUEST_URL", "https://runtime.example/jobs/b/idtoken"), "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-b"),
			with(github, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token-b"),
		}},
		{provider: "gitlab", job: map[string]string{"CI_JOB_ID": "10", "CI_SERVER_URL": "https://gitlab.com"}, others: []map[string]string{
			{"CI_JOB_ID": "11", "CI_SERVER_URL": "https://gitlab.com"},
			{"CI_JOB_ID": "10", "CI_SERVER_URL": "https://gitlab.example"},
		}},
		{provider: "circleci", job: map[string]string{"CIRCLE_WORKFLOW_JOB_ID": "a-b"}, others: []map[string]string{{"CIRCLE_WORKFLOW_JOB_ID": "a-c"}}},
		{provider: "bitbucket", job: map[string]string{"BITBUCKET_STEP_UUID": "{s1}"}, others: []map[string]string{{"BITBUCKET_STEP_UUID": "{s2}"}}},
		{provider: "buildkite", job: map[string]string{"BUILDKITE_JOB_ID": "j1"}, others: []map[string]string{{"BUILDKITE_JOB_ID": "j2"}}},
	}
	job := func(t *testing.T, name string, env map[string]string) string {
		t.Helper()
		p, err := plugins.New(name, plugins.WithGetenv(func(k string) string { return env[k] }))
		if err != nil {
			t.Fatal(err)
		}
		return p.Job()
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			t.Parallel()
			j := job(t, tt.provider, tt.job)
			if j == "" || j != job(t, tt.provider, tt.job) {
				t.Fatalf("Job = %q, then %q: want one non-empty value for one job", j, job(t, tt.provider, tt.job))
			}
			if tt.secret != "" && strings.Contains(j, tt.secret) {
				t.Errorf("Job = %q holds the secret %q", j, tt.secret)
			}
			for _, o := range tt.others {
				if oj := job(t, tt.provider, o); oj == j || oj == "" {
					t.Errorf("Job(%v) = %q, want a Job of its own (this job's is %q)", o, oj, j)
				}
			}
			if j := job(t, tt.provider, map[string]string{}); j != "" {
				t.Errorf("Job outside a job = %q, want \"\"", j)
			}
		})
	}
	if j := job(t, "env", map[string]string{"HF_OIDC_ID_TOKEN": "a.b.c"}); j != "" {
		t.Errorf("env Job = %q, want \"\": a pre-minted token names no job", j)
	}
}
