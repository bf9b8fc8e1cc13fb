package resource

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
)

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 96)
	longEnv := "X" + strings.Repeat("_", 127)
	tests := []struct {
		in   string
		want Resource
	}{
		{"acme/awesome-model", Resource{Name: "acme/awesome-model", Kind: Model, Env: "HF_TOKEN_ACME_AWESOME_MODEL"}},
		{"datasets/acme/awesome-dataset", Resource{Name: "datasets/acme/awesome-dataset", Kind: Dataset, Env: "HF_TOKEN_DATASETS_ACME_AWESOME_DATASET"}},
		{"spaces/acme/demo", Resource{Name: "spaces/acme/demo", Kind: Space, Env: "HF_TOKEN_SPACES_ACME_DEMO"}},
		{"kernels/acme/flash", Resource{Name: "kernels/acme/flash", Kind: Kernel, Env: "HF_TOKEN_KERNELS_ACME_FLASH"}},
		{"alice", Resource{Name: "alice", Kind: User, Env: "HF_TOKEN_ALICE"}},
		{"a", Resource{Name: "a", Kind: User, Env: "HF_TOKEN_A"}},
		{"Acme/Model.v1_2", Resource{Name: "Acme/Model.v1_2", Kind: Model, Env: "HF_TOKEN_ACME_MODEL_V1_2"}},
		{"acme/a.b-c_d", Resource{Name: "acme/a.b-c_d", Kind: Model, Env: "HF_TOKEN_ACME_A_B_C_D"}},
		{"acme/gitlab", Resource{Name: "acme/gitlab", Kind: Model, Env: "HF_TOKEN_ACME_GITLAB"}},
		{"acme/x.gits", Resource{Name: "acme/x.gits", Kind: Model, Env: "HF_TOKEN_ACME_X_GITS"}},
		{long + "/" + long, Resource{Name: long + "/" + long, Kind: Model, Env: "HF_TOKEN_" + strings.ToUpper(long) + "_" + strings.ToUpper(long)}},
		{"  acme/model\t", Resource{Name: "acme/model", Kind: Model, Env: "HF_TOKEN_ACME_MODEL"}},
		{"acme/model=MY_TOKEN", Resource{Name: "acme/model", Kind: Model, Env: "MY_TOKEN", Explicit: true}},
		{"datasets/acme/d=HF_DATASET_TOKEN", Resource{Name: "datasets/acme/d", Kind: Dataset, Env: "HF_DATASET_TOKEN", Explicit: true}},
		{"acme/model=_x", Resource{Name: "acme/model", Kind: Model, Env: "_x", Explicit: true}},
		{"acme/model=HF_TOKEN", Resource{Name: "acme/model", Kind: Model, Env: "HF_TOKEN", Explicit: true}},
		{"acme/model=" + longEnv, Resource{Name: "acme/model", Kind: Model, Env: longEnv, Explicit: true}},
		// Names that merely start like a reserved one are fine.
		{"acme/model=PATHS_TOKEN", Resource{Name: "acme/model", Kind: Model, Env: "PATHS_TOKEN", Explicit: true}},
		{"acme/model=CIRCUIT", Resource{Name: "acme/model", Kind: Model, Env: "CIRCUIT", Explicit: true}},
		{"acme/model=HF_HUBX", Resource{Name: "acme/model", Kind: Model, Env: "HF_HUBX", Explicit: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string // in the message
	}{
		{"", "no resource given"},
		{"   ", "no resource given"},
		{"models/acme/x", `resource "models/acme/x": a model is named "acme/x" (no "models/" prefix)`},
		{"model/acme/x", `a model is named "acme/x" (no "model/" prefix)`},
		{"models/x", `a model is named "ns/x" (no "models/" prefix)`},
		{"dataset/acme/x", `did you mean "datasets/acme/x"?`},
		{"space/acme/x", `did you mean "spaces/acme/x"?`},
		{"kernel/acme/x", `did you mean "kernels/acme/x"?`},
		{"datasets/x", `"datasets/" needs a namespace and a name after it: "datasets/ns/name"`},
		{"spaces/x", `"spaces/" needs a namespace`},
		{"kernels/x", `"kernels/" needs a namespace`},
		{"foo/acme/x", `unknown prefix "foo/"`},
		{"datasets/acme/x/y", "has 3 slashes"},
		{"a/b/c/d/e", "has 4 slashes"},
		{"acme/", `ends with "/"`},
		{"/model", `starts with "/"`},
		{"datasets//x", `contains "//"`},
		{"datasets/acme/", `ends with "/"`},
		{"acme//x", `contains "//"`},
		{"/", `starts with "/"`},
		{"-acme/x", `namespace "-acme" must start and end with a letter or digit`},
		{"acme/x-", `name "x-" must start and end`},
		{"acme/_x", `name "_x" must start and end`},
		{"acme/.x", `name ".x" must start and end`},
		{"_alice", `username "_alice" must start and end`},
		{"acme/a--b", `must not contain "--" or ".."`},
		{"acme/a..b", `must not contain "--" or ".."`},
		{"acme/x.git", `must not end in ".git"`},
		{"acme/x.GIT", `must not end in ".git"`},
		{"acme/" + strings.Repeat("a", 97), "97 characters long, more than the Hub's 96"},
		{strings.Repeat("a", 97), "username"},
		{"acme/my model", "contains a space"},
		{"acme/x\ty", "control character (U+0009)"},
		{"acme/x\x00", "control character (U+0000)"},
		{"acme/x\x1b[31m", "control character (U+001B)"},
		{"acme/x\u00a0y", "whitespace (U+00A0)"},
		{"acme/x\xff", "not valid UTF-8"},
		{"acme/x;rm -rf /", `contains ";"`},
		{"acme/$(id)", `contains "$"`},
		{"acme/`id`", "contains \"`\""},
		{`acme/"x"`, `contains "\""`},
		{"acme/'x'", `contains "'"`},
		{"acme/x|y", `contains "|"`},
		{"acme/x&", `contains "&"`},
		{"acme/x>y", `contains ">"`},
		{"acme/x*", `contains "*"`},
		{"acme/x\\y", `contains "\\"`},
		{"acme/modèle", `contains "è"`},
		{"=X", `nothing before "="`},
		{"acme/x=", "empty variable name"},
		{"acme/x=1X", `variable name "1X" must be a letter or "_"`},
		{"acme/x=A-B", `variable name "A-B" must be a letter or "_" followed by letters, digits and "_"`},
		{"acme/x=A.B", `variable name "A.B" must be`},
		{"acme/x=A=B", `variable name "A=B" must be`},
		{"acme/x=X" + strings.Repeat("A", 128), "129 characters long, more than 128"},
		{"acme/x=PATH", `variable name "PATH" would overwrite PATH: the shell and the programs the job runs rely on it; choose another, such as "HF_TOKEN_ACME_X"`},
		{"acme/x=path", `would overwrite PATH`},
		{"acme/x=HOME", "would overwrite HOME"},
		{"acme/x=SHELL", "would overwrite SHELL"},
		{"acme/x=USER", "would overwrite USER"},
		{"acme/x=PWD", "would overwrite PWD"},
		{"acme/x=IFS", "would overwrite IFS"},
		{"acme/x=ENV", "would overwrite ENV"},
		{"acme/x=BASH_ENV", "would overwrite BASH_ENV"},
		{"acme/x=CDPATH", "would overwrite CDPATH"},
		{"acme/x=PS1", "would overwrite PS1"},
		{"acme/x=PS4", "would overwrite PS4"},
		{"acme/x=TMPDIR", "would overwrite TMPDIR"},
		{"acme/x=LANG", "would overwrite LANG"},
		{"acme/x=LC_ALL", "would overwrite LC_*"},
		{"acme/x=LD_PRELOAD", "would overwrite LD_*: it changes how programs are loaded"},
		{"acme/x=DYLD_INSERT_LIBRARIES", "would overwrite DYLD_*"},
		{"acme/x=CI", "would overwrite CI: the CI system sets it"},
		{"acme/x=CI_JOB_JWT", "would overwrite CI_*"},
		{"acme/x=GITHUB_TOKEN", "would overwrite GITHUB_*"},
		{"acme/x=RUNNER_TEMP", "would overwrite RUNNER_*"},
		{"acme/x=ACTIONS_ID_TOKEN_REQUEST_TOKEN", "would overwrite ACTIONS_*"},
		{"acme/x=GITLAB_CI", "would overwrite GITLAB_*"},
		{"acme/x=CIRCLECI", "would overwrite CIRCLE*"},
		{"acme/x=CIRCLE_OIDC_TOKEN", "would overwrite CIRCLE*"},
		{"acme/x=BITBUCKET_STEP_OIDC_TOKEN", "would overwrite BITBUCKET_*"},
		{"acme/x=BUILDKITE", "would overwrite BUILDKITE*"},
		{"acme/x=BUILDKITE_AGENT_ACCESS_TOKEN", "would overwrite BUILDKITE*"},
		{"acme/x=HF_ENDPOINT", "would overwrite HF_ENDPOINT: huggingface_hub reads it"},
		{"acme/x=HF_HOME", "would overwrite HF_HOME"},
		{"acme/x=HF_HUB_OFFLINE", "would overwrite HF_HUB_*"},
		{"acme/x=HF_OIDC_RESOURCE", "would overwrite HF_OIDC_*: hf-oidc reads it"},
		{"acme/x=HF_TOKEN_PATH", "would overwrite HF_TOKEN_PATH"},
		{"acme/x=HUGGING_FACE_HUB_TOKEN", "would overwrite HUGGING_FACE_HUB_TOKEN"},
		{"acme/x=BASH_FUNC_x", "would overwrite BASH_FUNC_*"},
		{"acme/x=TZ", "would overwrite TZ"},
		{"acme/x=NODE_OPTIONS", "would overwrite NODE_OPTIONS: it changes how programs are loaded"},
		{"acme/x=PYTHONPATH", "would overwrite PYTHONPATH"},
		{"acme/x=https_proxy", "would overwrite HTTPS_PROXY: it changes where programs connect"},
		{"acme/x=SSL_CERT_FILE", "would overwrite SSL_CERT_FILE"},
		{"acme/x=GIT_ASKPASS", "would overwrite GIT_*: git reads it"},
		{"acme/x=GITHUB_ENV", `choose another, such as "HF_TOKEN_ACME_X": a letter or "_" followed by letters, digits and "_"`},
		{"acme/x=HF_OIDC_RESOURCES", "would overwrite HF_OIDC_*"},
		{"acme/x=GIT", "would overwrite GIT_EXPIRES_AT, which is GIT_*: git reads it"},
		{"acme/x=ld", "would overwrite ld_EXPIRES_AT, which is LD_*"},
		{"acme/x=GITHUB", "would overwrite GITHUB_EXPIRES_AT, which is GITHUB_*"},
		{"acme/x=HF_OIDC", "would overwrite HF_OIDC_EXPIRES_AT, which is HF_OIDC_*"},
		{"acme/x=$(id)", `contains "$"`},
		{"acme/x=A;B", `contains ";"`},
		{"acme/x=A B", "contains a space"},
		{"acme/x=A\nB", "control character (U+000A)"},
		{"acme/x=A\x00B", "control character (U+0000)"},
		{"acme/x=ÉTÉ", `contains "É"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			r, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error containing %q", tt.in, r, tt.want)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q): %T is not *Error", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error:\n  %s\nwant it to contain\n  %s", tt.in, err, tt.want)
			}
			if r != (Resource{}) {
				t.Errorf("Parse(%q) returned %+v with its error", tt.in, r)
			}
		})
	}
}

func TestErrorQuotesSafely(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"10 KB name", "acme/" + strings.Repeat("x", 10<<10)},
		{"10 KB of metacharacters", strings.Repeat("$(reboot);`\n", 1<<10)},
		{"10 KB of multibyte runes", "acme/" + strings.Repeat("é", 5<<10)},
		{"escape sequences", "acme/x\x1b]0;pwned\x07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse accepted %d bytes", len(tt.in))
			}
			msg := err.Error()
			if len(msg) > 500 {
				t.Errorf("message is %d bytes long:\n%s", len(msg), msg)
			}
			if strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Errorf("message holds a control character: %q", msg)
			}
			if !strings.HasPrefix(msg, `resource "`) {
				t.Errorf("message does not start by quoting the entry: %s", msg)
			}
		})
	}
}

func TestErrorClip(t *testing.T) {
	t.Parallel()
	long := "acme/" + strings.Repeat("x", 10<<10)
	_, err := Parse(long)
	want := fmt.Sprintf("resource \"%s…\" (%d bytes): ", long[:maxQuoted], len(long))
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %v, want it to start with %s", err, want)
	}
	// A clipped multibyte rune would print as an invalid byte.
	_, err = Parse("ab" + strings.Repeat("é", 100))
	if err == nil || strings.Contains(err.Error(), `\x`) {
		t.Fatalf("error = %v, want whole runes only", err)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"datasets/acme/awesome-dataset": "HF_TOKEN_DATASETS_ACME_AWESOME_DATASET",
		"acme/a-b":                      "HF_TOKEN_ACME_A_B",
		"acme/a_b":                      "HF_TOKEN_ACME_A_B",
		"acme/a.b":                      "HF_TOKEN_ACME_A_B",
		"Alice":                         "HF_TOKEN_ALICE",
		"x9":                            "HF_TOKEN_X9",
		"é$ ":                           "HF_TOKEN____",
		"":                              "HF_TOKEN_",
	}
	for in, want := range tests {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseListSplits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		want   []string // String() of each resource
	}{
		{"one", []string{"acme/m"}, []string{"acme/m"}},
		{"repeated flag", []string{"acme/m", "alice"}, []string{"acme/m", "alice"}},
		{"commas", []string{"acme/m,datasets/acme/d,alice"}, []string{"acme/m", "datasets/acme/d", "alice"}},
		{"commas and spaces", []string{" acme/m , datasets/acme/d=D ,alice "}, []string{"acme/m", "datasets/acme/d=D", "alice"}},
		{"YAML block", []string{"acme/m\ndatasets/acme/d=HF_DATASET_TOKEN\n"}, []string{"acme/m", "datasets/acme/d=HF_DATASET_TOKEN"}},
		{"CRLF and tabs", []string{"\tacme/m\r\n\talice\r\n"}, []string{"acme/m", "alice"}},
		{"blank entries", []string{",,\n acme/m,, \n\n,alice,", "", " "}, []string{"acme/m", "alice"}},
		{"mixed", []string{"acme/m,alice\nspaces/acme/s", "kernels/acme/k"}, []string{"acme/m", "alice", "spaces/acme/s", "kernels/acme/k"}},
		{"HF_TOKEN on the first", []string{"acme/m=HF_TOKEN,acme/n"}, []string{"acme/m=HF_TOKEN", "acme/n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := ParseList(tt.values)
			if err != nil {
				t.Fatalf("ParseList(%q): %v", tt.values, err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.String())
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("ParseList(%q) = %q, want %q", tt.values, got, tt.want)
			}
		})
	}
}

func TestParseListRejects(t *testing.T) {
	t.Parallel()
	many := func(n int) []string {
		var v []string
		for i := range n {
			v = append(v, fmt.Sprintf("acme/m%d", i))
		}
		return v
	}
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"nothing", nil, "no resource given"},
		{"only blanks", []string{" , \n,", ""}, "no resource given"},
		{"200 resources", many(200), "200 resources given, more than the 100"},
		{"bad entry among good", []string{"acme/a,acme/b c"}, `resource "acme/b c": contains a space`},
		{"duplicate", []string{"acme/a", "alice,acme/a"}, `resource "acme/a": listed twice (also as "acme/a")`},
		{"duplicate with override", []string{"acme/a=X,acme/a=Y"}, `resource "acme/a=Y": listed twice (also as "acme/a=X")`},
		{"derived clash", []string{"acme/a-b,acme/a_b"}, `resource "acme/a_b": would export HF_TOKEN_ACME_A_B, as does resource "acme/a-b"`},
		{"dot clash", []string{"acme/a.b", "acme/a-b"}, `would export HF_TOKEN_ACME_A_B, as does resource "acme/a.b"`},
		{"case clash", []string{"acme/X,acme/x"}, `would export HF_TOKEN_ACME_X, as does resource "acme/X"`},
		{"override onto derived", []string{"acme/a,acme/b=HF_TOKEN_ACME_A"}, `resource "acme/b=HF_TOKEN_ACME_A": would export HF_TOKEN_ACME_A, as does resource "acme/a"`},
		{"overrides clash", []string{"acme/a=T,acme/b=T"}, `would export T, as does resource "acme/a=T"`},
		{"overrides clash in case", []string{"acme/a=Tok,acme/b=TOK"}, `would export TOK, and resource "acme/a=Tok" exports Tok, the same variable on Windows`},
		{"expiry clash", []string{"acme/a=T_EXPIRES_AT,acme/b=T"}, `resource "acme/b=T": would export T_EXPIRES_AT, as does resource "acme/a=T_EXPIRES_AT"`},
		{"HF_TOKEN on the second", []string{"acme/a,acme/b=HF_TOKEN"}, `resource "acme/b=HF_TOKEN": only the first resource may be exported as HF_TOKEN`},
		{"HF_TOKEN twice", []string{"acme/a=HF_TOKEN,acme/b=HF_TOKEN"}, `only the first resource may be exported as HF_TOKEN`},
		{"hf_token on the first", []string{"acme/a=hf_token"}, `would export hf_token, and hf-oidc itself exports HF_TOKEN, the same variable`},
		{"HF_TOKEN_EXPIRES_AT", []string{"acme/a=HF_TOKEN_EXPIRES_AT"}, `would export HF_TOKEN_EXPIRES_AT, as does hf-oidc itself; choose another name with "acme/a=ENV_NAME"`},
		{"username path", []string{"path"}, `resource "path": would export HF_TOKEN_PATH, as does hf-oidc itself`},
		{"username expires-at", []string{"expires-at"}, `would export HF_TOKEN_EXPIRES_AT, as does hf-oidc itself`},
		{"file clash", []string{"acme/a=T,acme/b=T_FILE"}, `resource "acme/b=T_FILE": would export T_FILE, as does resource "acme/a=T"`},
		{"derived file clash", []string{"acme/a,acme/b=HF_TOKEN_ACME_A_FILE"}, `would export HF_TOKEN_ACME_A_FILE, as does resource "acme/a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := ParseList(tt.values)
			if err == nil {
				t.Fatalf("ParseList = %+v, want an error containing %q", rs, tt.want)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("%T is not *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n  %s\nwant it to contain\n  %s", err, tt.want)
			}
		})
	}
}

func TestParseListLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range MaxResources {
		fmt.Fprintf(&b, "acme/m%d\n", i)
	}
	rs, err := ParseList([]string{b.String()})
	if err != nil || len(rs) != MaxResources {
		t.Fatalf("ParseList(%d resources) = %d, %v", MaxResources, len(rs), err)
	}
	if _, err := ParseList([]string{b.String(), "acme/one-more"}); err == nil {
		t.Fatalf("ParseList accepted %d resources", MaxResources+1)
	}
}

var envRE = regexp.MustCompile(`^[A-Z0-9_]+$`)

// checkParsed holds for every resource Parse accepts.
func checkParsed(t *testing.T, r Resource) {
	t.Helper()
	again, err := Parse(r.String())
	if err != nil || again != r {
		t.Fatalf("Parse(%q) = %+v, %v; want %+v", r.String(), again, err, r)
	}
	if !r.Explicit && r.Env != EnvName(r.Name) {
		t.Fatalf("%+v: Env is not EnvName(Name)", r)
	}
	if !envRE.MatchString(EnvName(r.Name)) {
		t.Fatalf("EnvName(%q) = %q", r.Name, EnvName(r.Name))
	}
	if _, reason := parseName(r.Name); reason != "" {
		t.Fatalf("accepted name %q fails its own check: %s", r.Name, reason)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"acme/model", "datasets/acme/d", "spaces/a/b=X", "kernels/a/b", "alice", "models/a/b",
		"a/b/c/d", "acme/x=PATH", "acme/a--b", "acme/x.git", " acme/x ", "acme/x=HF_TOKEN", "\x00", "a=b=c",
		"https://huggingface.co/datasets/acme/x/tree/main?a=b#c", "git@hf.co:acme/x.git", "hf://spaces/a/b=S", "hf.co/hf.co/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !envRE.MatchString(EnvName(s)) {
			t.Fatalf("EnvName(%q) = %q", s, EnvName(s))
		}
		r, err := Parse(s)
		if err != nil {
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q): %T is not *Error", s, err)
			}
			if len(err.Error()) > 1000 {
				t.Fatalf("Parse(%q): message of %d bytes", s, len(err.Error()))
			}
			return
		}
		checkParsed(t, r)
	})
}

func FuzzParseList(f *testing.F) {
	f.Add("acme/a,acme/b\nalice", "datasets/acme/d=D")
	f.Add("acme/a-b", "acme/a_b")
	f.Add("acme/a=HF_TOKEN", "acme/b")
	f.Add(" , \n", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		rs, err := ParseList([]string{a, b})
		if err != nil {
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("%T is not *Error", err)
			}
			return
		}
		if len(rs) == 0 || len(rs) > MaxResources {
			t.Fatalf("accepted %d resources", len(rs))
		}
		seen := map[string]bool{}
		for i, r := range rs {
			checkParsed(t, r)
			for _, v := range []string{r.Env, r.Env + "_EXPIRES_AT", r.Env + "_FILE"} {
				up := strings.ToUpper(v)
				if seen[up] {
					t.Fatalf("%s exported twice by %+v", v, rs)
				}
				seen[up] = true
				if i > 0 && (up == "HF_TOKEN" || up == "HF_TOKEN_EXPIRES_AT") || up == "HF_TOKEN_PATH" {
					t.Fatalf("%+v exports hf-oidc's own %s", r, v)
				}
			}
		}
		// The list written back parses to the same resources.
		var back []string
		for _, r := range rs {
			back = append(back, r.String())
		}
		again, err := ParseList([]string{strings.Join(back, ",")})
		if err != nil || fmt.Sprint(again) != fmt.Sprint(rs) {
			t.Fatalf("ParseList(%q) = %+v, %v; want %+v", back, again, err, rs)
		}
	})
}

func TestCheckEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want string // "" when allowed
	}{
		{"HF_TOKEN", ""},
		{"HF_DATASET_TOKEN", ""},
		{"_x9", ""},
		{"MY_PATH", ""},
		{"", "empty variable name"},
		{"9X", `must be a letter or "_"`},
		{"A-B", `must be a letter or "_"`},
		{"A=B", `must be a letter or "_"`},
		{"A\x1bB", `"A\x1BB" must be`},
		{"X" + strings.Repeat("Y", 200), "201 characters long, more than 128"},
		{"PATH", "would overwrite PATH"},
		{"Home", "would overwrite HOME"},
		{"LD_PRELOAD", "would overwrite LD_*"},
		{"GITHUB_PATH", "would overwrite GITHUB_*"},
		{"HF_TOKEN_PATH", "would overwrite HF_TOKEN_PATH"},
		{"HF_OIDC_ID_TOKEN", "would overwrite HF_OIDC_*: hf-oidc reads it as configuration; choose another: a letter"},
	}
	for _, tt := range tests {
		err := CheckEnv(tt.name)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckEnv(%q) = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckEnv(%q) = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func FuzzCheckEnv(f *testing.F) {
	for _, s := range []string{"HF_TOKEN", "PATH", "path", "LD_X", "GIT", "GIT_", "_", "A B", "9", "HF_OIDC_", "CIRCUIT", "ı"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := CheckEnv(name)
		if err != nil {
			msg := err.Error()
			if len(msg) > 1000 || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("CheckEnv(%q): message unfit for a terminal: %q", name, msg)
			}
			// Parse trims the entry, and so the name at its end.
			if _, perr := Parse("acme/x=" + name); perr == nil && name == strings.TrimSpace(name) {
				t.Fatalf("Parse accepts =%q, which CheckEnv refuses: %v", name, err)
			}
			return
		}
		if !plugins.IsVarName(name) || len(name) > maxEnv {
			t.Fatalf("CheckEnv accepted %q", name)
		}
		for _, v := range []string{name, name + "_EXPIRES_AT", name + "_FILE"} {
			up := strings.ToUpper(v)
			for _, r := range reservedEnv {
				if up == r.name || r.prefix && strings.HasPrefix(up, r.name) {
					t.Fatalf("CheckEnv accepted %q, which exports %s over %s", name, v, r.name)
				}
			}
		}
		r, perr := Parse("acme/x=" + name)
		if perr != nil || r.Env != name || !r.Explicit {
			t.Fatalf("CheckEnv accepts %q but Parse gives %+v, %v", name, r, perr)
		}
	})
}

// TestParseSuggestsTheName: a repo's URL, git remote or page, pasted where
// its name belongs, gets the name it points to.
func TestParseSuggestsTheName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://huggingface.co/acme/x":                          `resource "https://huggingface.co/acme/x": is a URL, not a resource's name: did you mean "acme/x"?`,
		"http://huggingface.co/acme/x/":                          `did you mean "acme/x"?`,
		"https://huggingface.co/acme/x=HF_X":                     `did you mean "acme/x=HF_X"?`,
		"huggingface.co/datasets/acme/x":                         `is a URL, not a resource's name: did you mean "datasets/acme/x"?`,
		"https://huggingface.co/datasets/acme/x/tree/main/dir":   `did you mean "datasets/acme/x"?`,
		"https://hf.co/spaces/acme/demo":                         `did you mean "spaces/acme/demo"?`,
		"https://www.huggingface.co/acme/x?library=transformers": `did you mean "acme/x"?`,
		"hf.co/acme/x.git":                                       `did you mean "acme/x"?`,
		"https://huggingface.co/acme/x/blob/main/config.json":    `did you mean "acme/x"?`,
		"https://HuggingFace.co:443/acme/x#readme":               `did you mean "acme/x"?`,
		"https://huggingface.co/acme":                            `did you mean "acme"?`,
		"https://huggingface.co/":                                `is a URL, not a resource's name; expected "ns/name"`,
		"https://huggingface.co/models/acme/x":                   `is a URL, not a resource's name; expected`,
		"https://example.com/acme/x":                             `is a URL, not a resource's name; expected`,
		"git@hf.co:acme/x.git":                                   `is a git remote, not a resource's name: did you mean "acme/x"?`,
		"ssh://git@hf.co/datasets/acme/x":                        `is a URL, not a resource's name: did you mean "datasets/acme/x"?`,
		"hf://datasets/acme/x":                                   `is an hf:// path, not a resource's name: did you mean "datasets/acme/x"?`,
		"acme/x.git":                                             `name "x.git" must not end in ".git": did you mean "acme/x"?`,
		"acme/x.git=HF_X":                                        `did you mean "acme/x=HF_X"?`,
		"acme/x/tree/main":                                       `has 3 slashes; expected "ns/name" (a model), "datasets/ns/name", "spaces/ns/name", "kernels/ns/name" or a username, optionally followed by "=ENV_NAME": did you mean "acme/x"?`,
		"datasets/acme/x/blob/main/a.csv":                        `did you mean "datasets/acme/x"?`,
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want it to hold %s", in, err, want)
		}
	}
}
