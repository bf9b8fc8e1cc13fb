package cli

import (
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/config"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestPipeEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string // what config.Load reads
	}{
		{"a string", map[string]string{"RESOURCES": "acme/model, datasets/acme/data"},
			map[string]string{"HF_OIDC_RESOURCES": "acme/model, datasets/acme/data", "HF_OIDC_PROVIDER": "bitbucket", "HF_ENDPOINT": "", "HF_OIDC_AUDIENCE": ""}},
		{"a list", map[string]string{"RESOURCES_COUNT": "2", "RESOURCES_0": "acme/model", "RESOURCES_1": "datasets/acme/data=HF_DATA"},
			map[string]string{"HF_OIDC_RESOURCES": "acme/model\ndatasets/acme/data=HF_DATA"}},
		{"the list wins", map[string]string{"RESOURCES": "acme/other", "RESOURCES_COUNT": "1", "RESOURCES_0": "acme/model"},
			map[string]string{"HF_OIDC_RESOURCES": "acme/model"}},
		{"audience and endpoint", map[string]string{"RESOURCES": "acme/model", "AUDIENCE": "api://hub", "ENDPOINT": "https://hub.example/"},
			map[string]string{"HF_OIDC_AUDIENCE": "api://hub", "HF_ENDPOINT": "https://hub.example"}},
		{"the provider is forced", map[string]string{"RESOURCES": "acme/model", "HF_OIDC_PROVIDER": "github"},
			map[string]string{"HF_OIDC_PROVIDER": "bitbucket"}},
		{"other settings pass", map[string]string{"RESOURCES": "acme/model", "HF_OIDC_TIMEOUT": "5s"},
			map[string]string{"HF_OIDC_TIMEOUT": "5s"}},
	}
	for _, tt := range tests {
		getenv, err := pipeEnv(mapEnv(tt.env))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		for k, v := range tt.want {
			if got := getenv(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.name, k, got, v)
			}
		}
	}
}

func TestPipeEnvRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing", map[string]string{}, "RESOURCES is not set"},
		{"blank", map[string]string{"RESOURCES": " \n"}, "RESOURCES is not set"},
		{"count not a number", map[string]string{"RESOURCES_COUNT": "two"}, `RESOURCES_COUNT "two": expected the length of the RESOURCES list, 1 to 100`},
		{"count zero", map[string]string{"RESOURCES_COUNT": "0"}, `RESOURCES_COUNT "0"`},
		{"count too big", map[string]string{"RESOURCES_COUNT": "101"}, `RESOURCES_COUNT "101"`},
		{"an item missing", map[string]string{"RESOURCES_COUNT": "2", "RESOURCES_0": "acme/a"}, "RESOURCES_1 is empty or not set, though RESOURCES_COUNT is 2"},
		{"a bad item", map[string]string{"RESOURCES_COUNT": "2", "RESOURCES_0": "acme/a", "RESOURCES_1": "a/b/c/d"}, "RESOURCES_1: "},
		{"a bad string", map[string]string{"RESOURCES": "acme/a b"}, `RESOURCES: resource "acme/a b": contains a space`},
		{"a duplicate across items", map[string]string{"RESOURCES_COUNT": "2", "RESOURCES_0": "acme/a", "RESOURCES_1": "acme/a"}, "RESOURCES: "},
		{"an audience with spaces", map[string]string{"RESOURCES": "acme/a", "AUDIENCE": "a b"}, `AUDIENCE "a b"`},
		{"a plain-http endpoint", map[string]string{"RESOURCES": "acme/a", "ENDPOINT": "http://hub.example"}, `ENDPOINT: the endpoint "http://hub.example"`},
	}
	for _, tt := range tests {
		_, err := pipeEnv(mapEnv(tt.env))
		if err == nil || !config.IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want bad input containing %q", tt.name, err, tt.want)
		}
	}
}

func TestSourceLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		clone, path, want string
	}{
		{"/opt/atlassian/pipelines/agent/build", "/opt/atlassian/pipelines/agent/build/.bitbucket/pipelines/generated/pipeline/pipes/hf-oidc.env",
			`. "$BITBUCKET_CLONE_DIR"/.bitbucket/pipelines/generated/pipeline/pipes/hf-oidc.env && rm -f "$BITBUCKET_CLONE_DIR"/.bitbucket/pipelines/generated/pipeline/pipes/hf-oidc.env`},
		{"/opt/build", "/elsewhere/hf-oidc.env", ". /elsewhere/hf-oidc.env && rm -f /elsewhere/hf-oidc.env"},
		{"/opt/build", "/opt/build-other/hf-oidc.env", ". /opt/build-other/hf-oidc.env && rm -f /opt/build-other/hf-oidc.env"},
		{"/opt/build", "/opt/build/it's here/hf-oidc.env", `. '/opt/build/it'\''s here/hf-oidc.env' && rm -f '/opt/build/it'\''s here/hf-oidc.env'`},
	}
	for _, tt := range tests {
		if got := sourceLine(mapEnv(map[string]string{"BITBUCKET_CLONE_DIR": tt.clone}), tt.path); got != tt.want {
			t.Errorf("sourceLine(%q, %q) = %s, want %s", tt.clone, tt.path, got, tt.want)
		}
	}
}

// FuzzPipeResources checks that whatever Bitbucket passes, the pipe either
// refuses it as bad input or reads one non-blank value per list item.
func FuzzPipeResources(f *testing.F) {
	f.Add("", "acme/model", "", "")
	f.Add("2", "", "acme/a", "datasets/acme/b")
	f.Add("1", "x", "\n", "")
	f.Add("-1", "", "", "")
	f.Fuzz(func(t *testing.T, count, str, item0, item1 string) {
		env := map[string]string{"RESOURCES_COUNT": count, "RESOURCES": str, "RESOURCES_0": item0, "RESOURCES_1": item1}
		values, err := pipeResources(mapEnv(env))
		if err != nil {
			if !config.IsUsage(err) {
				t.Fatalf("not bad input: %v", err)
			}
			return
		}
		for _, v := range values {
			if strings.TrimSpace(v.value) == "" || !strings.HasPrefix(v.name, "RESOURCES") {
				t.Fatalf("read %+v", values)
			}
		}
		if strings.TrimSpace(count) != "" && len(values) > 2 {
			t.Fatalf("read %d items from a list of at most 2 set: %+v", len(values), values)
		}
	})
}
