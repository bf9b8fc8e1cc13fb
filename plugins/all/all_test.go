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

// detectionOrder is the order doc.go promises, for the providers that exist
// so far. Later ones (order 30 and up) sort after them.
var detectionOrder = []string{"env", "github"}

func TestNames(t *testing.T) {
	t.Parallel()
	names := plugins.Names()
	if len(names) < len(detectionOrder) || !slices.Equal(names[:len(detectionOrder)], detectionOrder) {
		t.Errorf("Names() = %q, want it to start with %q", names, detectionOrder)
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
		want string // "" for ErrNotDetected
	}{
		{name: "GitHub only", env: github, want: "github"},
		{name: "env only", env: map[string]string{"HF_OIDC_ID_TOKEN": "a.b.c"}, want: "env"},
		{name: "token file only", env: map[string]string{"HF_OIDC_ID_TOKEN_FILE": "/t"}, want: "env"},
		{name: "GitHub and env", env: with(github, "HF_OIDC_ID_TOKEN", "a.b.c"), want: "env"},
		{name: "GitHub without id-token permission", env: map[string]string{"GITHUB_ACTIONS": "true"}, want: "github"},
		{name: "none", env: map[string]string{}},
		{name: "GITHUB_ACTIONS not true", env: map[string]string{"GITHUB_ACTIONS": "false"}},
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
			var nd *plugins.ErrNotDetected
			if !errors.As(err, &nd) {
				t.Fatalf("Detect = %v, %v; want *plugins.ErrNotDetected", p, err)
			}
			if len(nd.Tried) < len(detectionOrder) || !slices.Equal(nd.Tried[:len(detectionOrder)], detectionOrder) {
				t.Errorf("Tried = %q, want it to start with %q", nd.Tried, detectionOrder)
			}
			if !strings.Contains(err.Error(), "tried env, github") {
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
