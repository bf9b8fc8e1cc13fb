package packagingtest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// Every input of every packaging is checked before it reaches a shell. For
// the GitLab include that is twice over: GitLab checks each input against
// its spec's regex: or options: (gitlab-ci-local checks options: only), and
// the job's script reads each input as data, so that one GitLab did not
// check still cannot run as code.

// gitlabSpecInputs is the template's spec:inputs.
type gitlabSpecInput struct {
	Default *string  `json:"default"`
	Regex   string   `json:"regex"`
	Options []string `json:"options"`
}

func gitlabSpecInputs(t *testing.T) map[string]gitlabSpecInput {
	t.Helper()
	docs := testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(root, gitlabFile)))
	var spec struct {
		Spec struct {
			Inputs map[string]gitlabSpecInput `json:"inputs"`
		} `json:"spec"`
	}
	remarshal(t, docs[0], &spec)
	return spec.Spec.Inputs
}

// heredocEnd ends the here-document each input is read from. It holds a
// ':', which the only input that may span lines (resources) cannot hold.
const heredocEnd = "HF-OIDC:INPUT"

// TestGitLabInputsChecked fails when an input of the template lacks a
// regex: or options:, or has one GitLab would refuse its own default by.
// GitLab checks a default against the regex too (gitlab-org/gitlab!132574);
// versions before gitlab-org/gitlab#477707 was fixed (!192082) refuse an
// empty default whatever the regex, which is why gitlab/README.md says to
// set version on those.
func TestGitLabInputsChecked(t *testing.T) {
	t.Parallel()
	for name, in := range gitlabSpecInputs(t) {
		switch {
		case in.Regex == "" && len(in.Options) == 0:
			t.Errorf("input %s has neither regex: nor options:, so GitLab passes any value to the job's script", name)
		case in.Regex != "":
			// Go's regexp is RE2, like GitLab's: ^ and $ anchor the whole value.
			re, err := regexp.Compile(in.Regex)
			if err != nil {
				t.Errorf("input %s: regex %q: %v", name, in.Regex, err)
				continue
			}
			if !strings.HasPrefix(in.Regex, "^") || !strings.HasSuffix(in.Regex, "$") {
				t.Errorf("input %s: regex %q is not anchored at both ends, so it checks part of a value only", name, in.Regex)
			}
			if in.Default != nil && !re.MatchString(*in.Default) {
				t.Errorf("input %s: GitLab refuses its own default %q by its regex %q", name, *in.Default, in.Regex)
			}
			for _, v := range []string{"x'y", "acme/a\n" + heredocEnd + "\nid", "v1.2.3\n" + heredocEnd} {
				if re.MatchString(v) {
					t.Errorf("input %s: regex %q accepts %q", name, in.Regex, v)
				}
			}
		default:
			if in.Default != nil && !slices.Contains(in.Options, *in.Default) {
				t.Errorf("input %s: its default %q is not one of its options %v", name, *in.Default, in.Options)
			}
		}
	}
}

// TestGitLabVersionInput checks the version input's regex against the
// release tags the release build accepts (release.CheckVersion), and the
// empty default.
func TestGitLabVersionInput(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(gitlabSpecInputs(t)["version"].Regex)
	for _, v := range []string{"", "v1.2.3", "v1.2.3-rc.1", "v0.10.0", testVersion, "v1.2.3-beta-2"} {
		if !re.MatchString(v) {
			t.Errorf("version %q is refused", v)
		}
	}
	for _, v := range []string{"v1' ; touch PWNED ; : '", "v1", "v1.2", "1.2.3", "latest", "v1.2.3 ", "v1.2.3\n", "v01.2.3", "v1.2.3+meta", "$(id)"} {
		if re.MatchString(v) {
			t.Errorf("version %q is accepted", v)
		}
	}
	for _, v := range []string{"v1.2.3", "v1.2.3-rc.1", "v1.2", "v1.2.3-", "v1.2.3_x", "v00.1.1"} {
		if got, want := re.MatchString(v), release.CheckVersion(v) == nil; got != want {
			t.Errorf("version %q: the input's regex says %v, the release build %v", v, got, want)
		}
	}
}

// inputHeredoc is how the job's script reads an input: as the body of a
// quoted here-document, which the shell neither expands nor runs.
var inputHeredoc = regexp.MustCompile(`(?m)^hf_oidc_in_[a-z_]+=\$\(cat <<'` + heredocEnd + `'\n\$\[\[ inputs\.[a-z-]+ \]\]\n` + heredocEnd + `\n\)$`)

// TestGitLabInputsReadAsData checks that the job's script uses each input
// only where it is read as data, never spliced into a command line.
func TestGitLabInputsReadAsData(t *testing.T) {
	t.Parallel()
	docs := testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(root, gitlabFile)))
	var jobs map[string]struct {
		BeforeScript []string `json:"before_script"`
	}
	remarshal(t, docs[1], &jobs)
	script := strings.Join(jobs[".hf-oidc"].BeforeScript, "\n")
	rest := inputHeredoc.ReplaceAllString(script, "")
	if m := inputRef.FindString(rest); m != "" {
		t.Errorf("the script uses %s outside a quoted here-document", m)
	}
	read := map[string]bool{}
	for _, m := range inputHeredoc.FindAllString(script, -1) {
		read[inputRef.FindStringSubmatch(m)[1]] = true
	}
	for name := range gitlabSpecInputs(t) {
		if !read[name] {
			t.Errorf("the script does not read input %s", name)
		}
	}
}

// TestGitLabInjection runs, in gitlab-ci-local, includes whose inputs try
// to run a command in the job's shell. gitlab-ci-local does not apply
// spec:inputs:regex (it says so: "spec:inputs:regex is currently not
// supported via gitlab-ci-local"), so each value reaches the job, which
// reads it as data: the command never runs, the job fails with a message
// that names the input, and nothing reaches the Hub. On GitLab, the
// regexes refuse every one of these values before the pipeline is created
// (TestGitLabInputsChecked, TestGitLabInputPatterns).
func TestGitLabInjection(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		input string
		value func(marker string) string
		want  string
	}{
		"version": {"version", func(m string) string { return "v1' ; touch " + m + " ; : '" },
			"hf-oidc setup: version 'v1' ; touch MARKER ; : '' is not a release tag like v1.2.3. Next: leave version empty"},
		"version, a command substitution": {"version", func(m string) string { return "$(touch " + m + ")" },
			"hf-oidc setup: version '$(touch MARKER)' is not a release tag like v1.2.3"},
		"resources": {"resources", func(m string) string { return "acme/model' ; touch " + m + " ; : '" },
			`--resource: resource "acme/model' ; touch MARKER ; : '": contains "'"`},
		"audience": {"audience", func(m string) string { return "x' ; touch " + m + " ; : '" },
			`--audience "x' ; touch MARKER ; : '": an audience is a single URL-like string with no whitespace`},
		"endpoint": {"endpoint", func(m string) string { return "https://hub.example' ; touch " + m + " ; : '" },
			"HF_ENDPOINT: the endpoint is not a valid URL"},
		"id-token-var": {"id-token-var", func(m string) string { return "HF' ; touch " + m + " ; : '" },
			`--id-token-var "HF' ; touch MARKER ; : '": expected the name of a variable`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
			marker := filepath.Join(t.TempDir(), "PWNED")
			inputs := map[string]string{"resources": "acme/training-model", "endpoint": "HUB"}
			inputs[c.input] = c.value(marker)
			var lines []string
			for _, k := range []string{"resources", "audience", "endpoint", "version", "id-token-var"} {
				if v, ok := inputs[k]; ok {
					lines = append(lines, "      "+k+": "+yamlQuote(v))
				}
			}
			r := runGitLab(t, sb, gitlabJob{
				pipeline: "include:\n  - remote: TEMPLATE_URL\n    inputs:\n" + strings.Join(lines, "\n") + `
publish:
  extends: .hf-oidc
  script: [echo "the job's script ran"]
`,
				variables: []string{gitlabIDToken(t, sb, "HF_ID_TOKEN")},
				// An hf-oidc on PATH: the version is refused all the same.
				path: binDir + ":" + systemPath(),
			})
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("the %s input ran a command in the job's shell:\n%s", c.input, r.out)
			}
			if r.code == 0 {
				t.Errorf("gitlab-ci-local succeeded:\n%s", r.out)
			}
			assertContains(t, "gitlab-ci-local's output", r.out, "spec:inputs:regex is currently not supported via gitlab-ci-local",
				strings.ReplaceAll(c.want, "MARKER", marker))
			if strings.Contains(r.out, "the job's script ran") {
				t.Error("the job's script ran")
			}
			if n := sb.Stats().Exchanges; n != 0 {
				t.Errorf("%d exchanges were sent", n)
			}
		})
	}
}

// TestOrbInjection gives the orb's parameters values that try to run a
// command. CircleCI has no pattern for a string parameter: the orb passes
// each to its scripts in the environment, and they hand it to the install
// library or to hf-oidc as one word, which check it. The command never
// runs, the job stops at the orb's step with a message that names the
// parameter's flag, and nothing reaches $BASH_ENV or the Hub.
func TestOrbInjection(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		param string
		value func(marker string) string
		want  string
	}{
		"version": {"version", func(m string) string { return "v1' ; touch " + m + " ; : '" },
			"hf-oidc setup: version 'v1' ; touch MARKER ; : '' is not a release tag like v1.2.3"},
		"version, a command substitution": {"version", func(m string) string { return "$(touch " + m + ")" },
			"hf-oidc setup: version '$(touch MARKER)' is not a release tag like v1.2.3"},
		"resources": {"resources", func(m string) string { return "acme/awesome-model\"; touch " + m + "; \"" },
			`resource "acme/awesome-model\"; touch MARKER; \"": contains`},
		"audience": {"audience", func(m string) string { return "x$(touch " + m + ")" },
			`--audience "x$(touch MARKER)": an audience is a single URL-like string`},
		"endpoint": {"endpoint", func(m string) string { return "https://hub.example`touch " + m + "`" },
			"--endpoint: the endpoint is not a valid URL"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o, _ := packOrb(t, filepath.Join(root, "circleci", "src"))
			sb := startSandbox(t, (*sandbox.Sandbox).TrustCircleCI, "acme/awesome-model")
			marker := filepath.Join(t.TempDir(), "PWNED")
			args := map[string]any{"resources": "acme/awesome-model", "endpoint": sb.URL()}
			args[c.param] = c.value(marker)
			steps, err := o.expand([]any{map[string]any{"hf-oidc/exchange": args}}, false)
			if err != nil {
				t.Fatal(err)
			}
			// An hf-oidc on PATH: the version is refused all the same.
			env, _ := circleEnv(t, sb, binDir+":"+systemPath())
			j := runCircleJob(t, append(steps, runStep{name: "later", command: "echo the later step ran"}), env)
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("the %s parameter ran a command:\n%s", c.param, j.out)
			}
			if j.failed < 0 {
				t.Fatalf("the job succeeded:\n%s", j.out)
			}
			assertContains(t, "the job's output", j.out, strings.ReplaceAll(c.want, "MARKER", marker))
			if strings.Contains(j.out, "the later step ran") {
				t.Error("a later step ran")
			}
			if b := testkit.ReadText(t, j.bashEnv); strings.Contains(b, "HF_TOKEN") || strings.Contains(b, "PWNED") {
				t.Errorf("$BASH_ENV holds what a failed step wrote:\n%s", b)
			}
			if n := sb.Stats().Exchanges; n != 0 {
				t.Errorf("%d exchanges were sent", n)
			}
			testkit.NoLeak(t, sb, map[string]string{"the job's output": j.out})
		})
	}
}
