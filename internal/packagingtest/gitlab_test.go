package packagingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The GitLab template runs in gitlab-ci-local (a real GitLab CI runner for
// the desk: it validates against GitLab's schema, resolves include: remote
// with spec: inputs, and runs before_script and script in one shell), fetched
// over HTTP the way `include: remote:` fetches it. gitlab-ci-local mints no
// id_tokens: each run gets a sandbox-minted token in its variables file.

var gitlabResources = []string{"acme/training-model", "datasets/acme/training-data"}

// whoamiLine is a job script line (as a YAML scalar) that calls the Hub's whoami with the
// token in the named variable, as a later step of a real job would, and
// prints the name the Hub knows the token by. The token goes to curl on
// stdin, never on a command line.
func whoamiLine(variable string) string {
	return yamlQuote(whoamiShell("$" + variable))
}

// whoamiShell is the shell that calls whoami with the token that tok (a
// shell word) expands to.
func whoamiShell(tok string) string {
	return `printf 'header = "Authorization: Bearer %s"\n' "` + tok + `" | curl -fsS -K - "$HF_ENDPOINT/api/whoami-v2" | grep -o '"name":"[^"]*"'`
}

// yamlQuote is s as a single-quoted YAML scalar.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// A gitlabJob is one gitlab-ci-local run of a pipeline that includes the
// template.
type gitlabJob struct {
	template  string   // the template served for include: remote; default the committed one
	pipeline  string   // .gitlab-ci.yml; TEMPLATE_URL, COMPONENT and HUB are replaced
	variables []string // NAME: value lines of .gitlab-ci-local-variables.yml
	path      string   // the PATH gitlab-ci-local and its jobs run with, before node's
	env       []string // more environment
	// component makes the repository a copy of gitlab/, the CI/CD catalog
	// component project, whose own pipeline includes its component at
	// COMPONENT (its commit, as a component project tests itself).
	component bool
	// project runs gitlab/'s own .gitlab-ci.yml (the component project's
	// pipeline, every job of it) instead of pipeline; it implies component.
	project bool
	// mint, in a project run, mints the ID token of a job's id_tokens
	// entry for aud, given the commit the repository is at: gitlab-ci-local
	// mints none, so each entry of the resolved configuration gets one
	// this way, as GitLab would give it.
	mint func(sha, aud string) string
	args []string // more gitlab-ci-local arguments
}

type gitlabRun struct {
	code int
	out  string // gitlab-ci-local's stdout and stderr
	dir  string // the repository it ran in
}

func runGitLab(t *testing.T, sb *sandbox.Sandbox, j gitlabJob) gitlabRun {
	t.Helper()
	glci := testkit.RequireTool(t, "gitlab-ci-local")
	testkit.RequireTool(t, "git")
	testkit.RequireTool(t, "curl")
	if j.template == "" {
		j.template = testkit.ReadText(t, filepath.Join(root, gitlabFile))
	}
	// include: remote fetches the file from where it is published:
	// raw.githubusercontent.com/hf-oidc/hf-oidc/<ref>/gitlab/templates/hf-oidc.yml.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hf-oidc/hf-oidc/v1/"+gitlabFile {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(j.template))
	}))
	defer srv.Close()

	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	if j.project {
		j.pipeline = testkit.ReadText(t, filepath.Join(root, "gitlab", ".gitlab-ci.yml"))
	}
	if j.component || j.project {
		writeText(t, filepath.Join(dir, "README.md"), testkit.ReadText(t, filepath.Join(root, "gitlab", "README.md")), 0o644)
		writeText(t, filepath.Join(dir, "templates", "hf-oidc.yml"), j.template, 0o644)
		git("remote", "add", "origin", "https://gitlab.com/hf-oidc/hf-oidc-gitlab.git")
		git("add", "-A")
	}
	pipeline := j.pipeline
	if j.project {
		// The project's own pipeline is committed as it is, and run as it
		// is: its include names the project and commit through GitLab's
		// predefined variables, which gitlab-ci-local derives from the
		// remote and HEAD.
		writeText(t, filepath.Join(dir, ".gitlab-ci.yml"), pipeline, 0o644)
		git("add", "-A")
	}
	git("-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "--allow-empty", "-m", "component")
	head := git("rev-parse", "HEAD")
	if !j.project {
		pipeline = strings.NewReplacer(
			"TEMPLATE_URL", srv.URL+"/hf-oidc/hf-oidc/v1/"+gitlabFile,
			"COMPONENT", "gitlab.com/hf-oidc/hf-oidc-gitlab/hf-oidc@"+head,
			"HUB", sb.URL(),
		).Replace(pipeline)
		writeText(t, filepath.Join(dir, ".gitlab-ci.yml"), pipeline, 0o644)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// gitlab-ci-local runs on node, wherever they are installed.
	node := testkit.RequireTool(t, "node")
	path := j.path + ":" + systemPath(filepath.Dir(node), filepath.Dir(glci))
	env := append([]string{"PATH=" + path, "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}, j.env...)
	if j.mint != nil {
		for name, aud := range idTokens(ctx, t, glci, dir, env) {
			j.variables = append(j.variables, name+": "+j.mint(head, aud))
		}
	}
	// The ID token goes in a file, not on gitlab-ci-local's command line.
	writeText(t, filepath.Join(dir, ".gitlab-ci-local-variables.yml"), strings.Join(j.variables, "\n")+"\n", 0o600)

	args := []string{"--shell-executor-no-image", "--no-color"}
	if j.project {
		// Its jobs name the images GitLab's runners use; here they run
		// in the shell (there is no container engine for gitlab-ci-local).
		args = append(args, "--force-shell-executor")
	} else {
		args = append(args, "publish")
	}
	cmd := exec.CommandContext(ctx, glci, append(args, j.args...)...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := gitlabRun{out: out.String(), dir: dir}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running gitlab-ci-local: %v\n%s", err, r.out)
	}
	testkit.NoLeak(t, sb, map[string]string{"gitlab-ci-local's output": r.out})
	// Its state directory holds the job's log and script: no Hub token may
	// be in them, nor anywhere else in the repository.
	assertNoTokenFiles(t, dir)
	return r
}

// idTokens returns the id_tokens entries (variable name → aud) of every job
// of the pipeline in dir, as gitlab-ci-local resolves it (includes, inputs,
// extends, !reference and all).
func idTokens(ctx context.Context, t *testing.T, glci, dir string, env []string) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(ctx, glci, "--preview", "--no-color")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gitlab-ci-local --preview: %v\n%s", err, out)
	}
	// Its warnings come on stdout, before the YAML.
	var yaml []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, " WARN ") {
			yaml = append(yaml, line)
		}
	}
	var jobs map[string]json.RawMessage
	remarshal(t, testkit.YAMLDocs(t, strings.Join(yaml, "\n"))[0], &jobs)
	tokens := map[string]string{}
	for _, raw := range jobs {
		var job struct {
			IDTokens map[string]struct {
				Aud string `json:"aud"`
			} `json:"id_tokens"`
		}
		if json.Unmarshal(raw, &job) != nil {
			continue // not a job: stages, variables, …
		}
		for name, tok := range job.IDTokens {
			tokens[name] = tok.Aud
		}
	}
	return tokens
}

// gitlabIDToken is the variables file line that stands in for the job's
// id_tokens entry.
func gitlabIDToken(t *testing.T, sb *sandbox.Sandbox, name string) string {
	t.Helper()
	tok, err := sb.MintGitLabIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	return name + ": " + tok
}

const gitlabPublish = `include:
  - remote: TEMPLATE_URL
    inputs:
      resources: acme/training-model, datasets/acme/training-data=HF_DATA_TOKEN
      endpoint: HUB
publish:
  extends: .hf-oidc
  script:
    - test -n "$HF_TOKEN_EXPIRES_AT"
    - ` + `WHOAMI_HF_TOKEN
    - ` + `WHOAMI_HF_DATA_TOKEN
`

func publishPipeline(p string) string {
	return strings.NewReplacer("WHOAMI_HF_TOKEN", whoamiLine("HF_TOKEN"), "WHOAMI_HF_DATA_TOKEN", whoamiLine("HF_DATA_TOKEN")).Replace(p)
}

func assertGitLabTokensWork(t *testing.T, sb *sandbox.Sandbox, r gitlabRun) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("gitlab-ci-local exited %d:\n%s", r.code, r.out)
	}
	assertContains(t, "the job's log", r.out,
		`"name":"[OIDC] acme/training-model"`, `"name":"[OIDC] datasets/acme/training-data"`,
		"2 tokens from the gitlab provider's ID token")
	if n := sb.Stats().Requests[sandbox.PathWhoami]; n != 2 {
		t.Errorf("the job called whoami %d times, want 2", n)
	}
	if rej := sb.Rejections(); len(rej) != 0 {
		t.Errorf("the Hub rejected exchanges: %+v", rej)
	}
}

// TestGitLabTemplate runs the README's GitLab quick start: include: remote
// with inputs, a job that extends .hf-oidc, and later script lines that use
// the tokens against the Hub.
func TestGitLabTemplate(t *testing.T) {
	t.Parallel()
	t.Run("hf-oidc on PATH", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
		r := runGitLab(t, sb, gitlabJob{
			pipeline:  publishPipeline(gitlabPublish),
			variables: []string{gitlabIDToken(t, sb, "HF_ID_TOKEN")},
			path:      binDir + ":" + systemPath(),
		})
		assertGitLabTokensWork(t, sb, r)
		assertContains(t, "the job's log", r.out, "hf-oidc: using "+bin+", already on PATH (hf-oidc "+testVersion)
	})
	t.Run("as a CI/CD catalog component", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
		r := runGitLab(t, sb, gitlabJob{
			component: true,
			pipeline:  publishPipeline(strings.Replace(gitlabPublish, "remote: TEMPLATE_URL", "component: COMPONENT", 1)),
			variables: []string{gitlabIDToken(t, sb, "HF_ID_TOKEN")},
			path:      binDir + ":" + systemPath(),
		})
		assertGitLabTokensWork(t, sb, r)
	})
	t.Run("downloaded, in a job that extends another", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
		srv := startReleaseServer(t, testArchive)
		r := runGitLab(t, sb, gitlabJob{
			template: renderedTemplate(t, testRelease),
			pipeline: publishPipeline(`include:
  - remote: TEMPLATE_URL
    inputs:
      resources: acme/training-model, datasets/acme/training-data=HF_DATA_TOKEN
      endpoint: HUB
      id-token-var: PUBLISH_ID_TOKEN
.python:
  before_script:
    - echo "the base job's own setup"
publish:
  extends: .python
  id_tokens: !reference [.hf-oidc, id_tokens]
  before_script:
    - !reference [.python, before_script]
    - !reference [.hf-oidc, before_script]
  script:
    - hf-oidc version
    - WHOAMI_HF_TOKEN
    - WHOAMI_HF_DATA_TOKEN
`),
			variables: []string{gitlabIDToken(t, sb, "PUBLISH_ID_TOKEN")},
			path:      systemPath(),
			env:       []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL},
		})
		assertGitLabTokensWork(t, sb, r)
		assertContains(t, "the job's log", r.out, "the base job's own setup",
			"hf-oidc: installed "+testVersion+" from hf-oidc_"+testVersion+"_", "its SHA-256 checked against the one this template carries",
			"> hf-oidc "+testVersion)
		if n := srv.Count(); n != 1 {
			t.Errorf("%d downloads, want 1", n)
		}
	})
	t.Run("export: file", func(t *testing.T) {
		t.Parallel()
		sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
		r := runGitLab(t, sb, gitlabJob{
			pipeline: `include:
  - remote: TEMPLATE_URL
    inputs:
      resources: acme/training-model
      endpoint: HUB
      export: file
publish:
  extends: .hf-oidc
  script:
    - test -z "${HF_TOKEN:-}"
    - ` + yamlQuote(whoamiShell(`$(cat "$HF_TOKEN_PATH")`)) + `
    - stat -c 'token file mode %a' "$HF_TOKEN_PATH"
    - hf-oidc refresh --stop
`,
			variables: []string{gitlabIDToken(t, sb, "HF_ID_TOKEN")},
			path:      binDir + ":" + systemPath(),
		})
		if r.code != 0 {
			t.Fatalf("gitlab-ci-local exited %d:\n%s", r.code, r.out)
		}
		assertContains(t, "the job's log", r.out, `"name":"[OIDC] acme/training-model"`, "token file mode 600",
			"kept fresh by a background keeper", "hf-oidc refresh: stopped the keeper")
	})
}

// TestGitLabTemplateRefuses checks that bad inputs and a tampered download
// stop the pipeline or the job, with a message that names the problem,
// before any token is exchanged.
func TestGitLabTemplateRefuses(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		inputs, want string
		download     bool
	}{
		"an export mode not offered": {inputs: "resources: acme/training-model\n      export: both",
			want: "`export` input: `both` cannot be used because it is not in the list of allowed options"},
		"no resources": {inputs: "audience: https://huggingface.co",
			want: "`resources` input: required value has not been provided"},
		// gitlab-ci-local skips spec:inputs:regex (TestGitLabInputPatterns
		// checks them), so this reaches hf-oidc, which refuses it too.
		"a resource that is no repo": {inputs: "resources: acme/training model",
			want: `--resource: resource "acme/training model": contains a space`},
		"a tampered download": {inputs: "resources: acme/training-model", download: true,
			want: "hf-oidc setup: SHA-256 mismatch for hf-oidc_" + testVersion},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
			j := gitlabJob{
				pipeline: `include:
  - remote: TEMPLATE_URL
    inputs:
      endpoint: HUB
      ` + c.inputs + `
publish:
  extends: .hf-oidc
  script: [echo "the job's script ran"]
`,
				variables: []string{gitlabIDToken(t, sb, "HF_ID_TOKEN")},
				path:      binDir + ":" + systemPath(),
			}
			if c.download {
				srv := startReleaseServer(t, tampered())
				j.template, j.path, j.env = renderedTemplate(t, testRelease), systemPath(), []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}
			}
			r := runGitLab(t, sb, j)
			if r.code == 0 {
				t.Errorf("gitlab-ci-local succeeded:\n%s", r.out)
			}
			assertContains(t, "gitlab-ci-local's output", r.out, c.want)
			if strings.Contains(r.out, "the job's script ran") {
				t.Error("the job's script ran")
			}
			if n := sb.Stats().Exchanges; n != 0 {
				t.Errorf("%d exchanges were sent", n)
			}
		})
	}
}

// TestGitLabInputPatterns checks the template's input patterns with Go's
// regexp, which is RE2 like GitLab's: gitlab-ci-local does not apply them.
// They keep each input a plain value, which the script reads as data
// (TestGitLabInputsReadAsData).
func TestGitLabInputPatterns(t *testing.T) {
	t.Parallel()
	docs := testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(root, gitlabFile)))
	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Default *string  `json:"default"`
				Regex   string   `json:"regex"`
				Options []string `json:"options"`
			} `json:"inputs"`
		} `json:"spec"`
	}
	remarshal(t, docs[0], &spec)
	inputs := spec.Spec.Inputs
	if got := sortedKeys(inputs); !slices.Equal(got, []string{"audience", "endpoint", "export", "id-token-var", "resources", "version"}) {
		t.Errorf("inputs %v", got)
	}
	tests := map[string]struct{ good, bad []string }{
		"resources":    {[]string{"acme/model", "acme/model, datasets/acme/data=HF_DATA", "acme/a\ndatasets/acme/b\n", "acme-bot"}, []string{"", "acme/m'odel", "$(id)", "acme/model; id", " acme/model"}},
		"audience":     {[]string{"https://huggingface.co", "api://hub"}, []string{"", "a b", "x'y"}},
		"endpoint":     {[]string{"https://huggingface.co", "http://127.0.0.1:8080"}, []string{"", "huggingface.co", "https://x'y", "https://a b"}},
		"id-token-var": {[]string{"HF_ID_TOKEN", "_T1"}, []string{"", "1TOKEN", "HF-ID", "A'B"}},
		"version":      {[]string{"", "v1.2.3", "v1.2.3-rc.1"}, []string{"v1' ; id ; : '", "latest", "1.2.3", "v1.2.3\n"}},
	}
	for name, tt := range tests {
		in := inputs[name]
		re, err := regexp.Compile(in.Regex)
		if err != nil || in.Regex == "" {
			t.Errorf("%s: regex %q: %v", name, in.Regex, err)
			continue
		}
		if in.Default != nil && !re.MatchString(*in.Default) {
			t.Errorf("%s: the default %q does not match its own regex", name, *in.Default)
		}
		for _, v := range tt.good {
			if !re.MatchString(v) {
				t.Errorf("%s: %q is refused", name, v)
			}
		}
		for _, v := range tt.bad {
			if re.MatchString(v) {
				t.Errorf("%s: %q is accepted", name, v)
			}
		}
	}
	if in := inputs["export"]; !slices.Equal(in.Options, []string{"env", "file"}) || in.Default == nil || *in.Default != "env" {
		t.Errorf("export: options %v, default %v", in.Options, in.Default)
	}
	if in := inputs["version"]; in.Default == nil || *in.Default != "" {
		t.Errorf("version: default %v, want empty (the template's own release)", in.Default)
	}
	// The hidden jobs hold what a job needs and nothing that could carry a
	// token out of it (artifacts, reports, variables).
	var jobs map[string]map[string]any
	remarshal(t, docs[1], &jobs)
	if got := sortedKeys(jobs); !slices.Equal(got, []string{".hf-oidc", ".hf-oidc-install"}) {
		t.Errorf("the template defines %v, want the hidden jobs .hf-oidc and .hf-oidc-install alone", got)
	}
	for name, job := range jobs {
		if got := sortedKeys(job); !slices.Equal(got, []string{"before_script", "id_tokens"}) {
			t.Errorf("%s has %v, want before_script and id_tokens alone", name, got)
		}
	}
}

func remarshal(t testing.TB, v, into any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	if err != nil {
		t.Fatalf("reading YAML: %v", err)
	}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	return slices.Sorted(maps.Keys(m))
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// TestGitLabScriptPOSIX runs the template's before_script under dash, as
// a runner whose image has no bash does, with its inputs interpolated as
// GitLab does, and with the runner's debug trace (set -x) on: the trace
// must not show the tokens, and must be back on after the block.
func TestGitLabScriptPOSIX(t *testing.T) {
	t.Parallel()
	dash := testkit.RequireTool(t, "dash")
	docs := testkit.YAMLDocs(t, renderedTemplate(t, testRelease))
	var jobs map[string]struct {
		BeforeScript []string `json:"before_script"`
	}
	remarshal(t, docs[1], &jobs)
	sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab, gitlabResources...)
	inputs := map[string]string{
		"resources": "acme/training-model\ndatasets/acme/training-data=HF_DATA_TOKEN\n", "audience": "https://huggingface.co",
		"endpoint": sb.URL(), "version": "", "id-token-var": "HF_ID_TOKEN", "export": "env",
	}
	block := inputRef.ReplaceAllStringFunc(strings.Join(jobs[".hf-oidc"].BeforeScript, "\n"), func(m string) string {
		v, ok := inputs[inputRef.FindStringSubmatch(m)[1]]
		if !ok {
			t.Errorf("the template uses an unknown input: %s", m)
		}
		return v
	})
	srv := startReleaseServer(t, testArchive)
	script := "set -x\n" + block + "\n: the trace is back\n{ set +x; } 2>/dev/null\n" + whoamiShell("$HF_TOKEN") + "\n" + whoamiShell("$HF_DATA_TOKEN") + "\n"
	tok, err := sb.MintGitLabIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dash, "-e", "-c", script)
	cmd.Env = []string{"PATH=" + systemPath(), "TMPDIR=" + t.TempDir(), "HF_ID_TOKEN=" + tok, "CI_JOB_ID=7", "HF_OIDC_RELEASE_BASE_URL=" + srv.URL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dash: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	assertContains(t, "the output", stdout.String(), `"name":"[OIDC] acme/training-model"`, `"name":"[OIDC] datasets/acme/training-data"`)
	assertContains(t, "the trace", stderr.String(), "hf-oidc: installed "+testVersion, "+ : the trace is back")
	testkit.NoLeak(t, sb, map[string]string{"stdout": stdout.String(), "the trace": stderr.String()})
}
