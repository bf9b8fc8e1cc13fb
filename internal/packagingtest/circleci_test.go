package packagingtest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
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

// The orb is packed with the real circleci CLI (`orb pack`, which inlines
// each <<include(scripts/…)>>), and the packed orb's commands run the way
// CircleCI runs a job's steps: each orb command expanded with its
// parameters, each run step a `bash -eo pipefail` of its own with
// CIRCLECI=true, $BASH_ENV sourced by every later step, and a stand-in
// `circleci run oidc get` on PATH that asks the sandbox for a token.

// circleciCLI returns the real circleci CLI, as .ci/install builds it.
func circleciCLI(t testing.TB) string {
	t.Helper()
	tools := os.Getenv("HF_OIDC_CI_TOOLS")
	if tools == "" {
		home, _ := os.UserHomeDir()
		tools = filepath.Join(home, ".cache", "hf-oidc-ci")
	}
	// On PATH, a `circleci` could be a stand-in: only the built one counts.
	p := filepath.Join(tools, "circleci-cli-v0.1.47860", "circleci")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the circleci CLI is not at %s: .ci/install must build it", p)
	}
	t.Skipf("the circleci CLI is not at %s; .ci/install builds it", p)
	return ""
}

// orb is a packed orb, as far as running it needs.
type orb struct {
	Commands map[string]orbCommand `json:"commands"`
	Examples map[string]struct {
		Usage struct {
			Jobs map[string]struct {
				Steps []any `json:"steps"`
			} `json:"jobs"`
		} `json:"usage"`
	} `json:"examples"`
}

type orbCommand struct {
	Parameters map[string]struct {
		Type    string `json:"type"`
		Default *any   `json:"default"`
	} `json:"parameters"`
	Steps []any `json:"steps"`
}

// packOrb packs the orb source in src with the real CLI and parses it.
func packOrb(t testing.TB, src string) (orb, string) {
	t.Helper()
	cli := circleciCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, "orb", "pack", src)
	cmd.Env = []string{"PATH=" + systemPath(), "HOME=" + t.TempDir(), "CIRCLECI_CLI_SKIP_UPDATE_CHECK=true"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("circleci orb pack: %v\n%s", err, stderr.String())
	}
	var o orb
	remarshal(t, testkit.YAMLDocs(t, string(out))[0], &o)
	return o, string(out)
}

// orbSource copies circleci/src, with the install script carrying the
// digests of r, for the download tests.
func orbSource(t testing.TB, r releaseInfo) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "src")
	src := filepath.Join(root, "circleci", "src")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == filepath.Join("scripts", "install.sh") {
			data = []byte(renderedInstall(t, r))
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// A runStep is a run step after CircleCI has expanded orb commands and
// parameters.
type runStep struct {
	name, command string
	env           map[string]string
}

var paramRef = regexp.MustCompile(`<<\s*parameters\.([A-Za-z0-9_-]+)\s*>>`)

// expand turns a job's steps into run steps, expanding orb commands
// (hf-oidc/<name> from the job, <name> inside the orb) with their
// parameters, as CircleCI compiles a config.
func (o orb) expand(steps []any, inOrb bool) ([]runStep, error) {
	var out []runStep
	for _, s := range steps {
		var name string
		var body any
		switch s := s.(type) {
		case string:
			name = s
		case map[string]any:
			if len(s) != 1 {
				return nil, fmt.Errorf("a step must have one key: %v", s)
			}
			for k, v := range s {
				name, body = k, v
			}
		default:
			return nil, fmt.Errorf("step %v", s)
		}
		if name == "run" {
			step := runStep{env: map[string]string{}}
			switch b := body.(type) {
			case string:
				step.command = b
			case map[string]any:
				step.command, _ = b["command"].(string)
				step.name, _ = b["name"].(string)
				env, _ := b["environment"].(map[string]any)
				for k, v := range env {
					step.env[k] = fmt.Sprint(v)
				}
			}
			out = append(out, step)
			continue
		}
		cmdName, ok := strings.CutPrefix(name, "hf-oidc/")
		if inOrb {
			cmdName, ok = name, true
		}
		c, found := o.Commands[cmdName]
		if !ok || !found {
			return nil, fmt.Errorf("unknown step %q", name)
		}
		args, _ := body.(map[string]any)
		values := map[string]string{}
		for k, v := range args {
			if _, ok := c.Parameters[k]; !ok {
				return nil, fmt.Errorf("%s: unknown parameter %q", name, k)
			}
			values[k] = fmt.Sprint(v)
		}
		for k, p := range c.Parameters {
			if _, given := values[k]; given {
				continue
			}
			if p.Default == nil {
				return nil, fmt.Errorf("%s: missing required parameter %q", name, k)
			}
			values[k] = fmt.Sprint(*p.Default)
		}
		inner, err := o.expand(substitute(c.Steps, values), true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, inner...)
	}
	return out, nil
}

// substitute replaces << parameters.x >> in every string of v.
func substitute(v any, values map[string]string) []any {
	var sub func(any) any
	sub = func(v any) any {
		switch v := v.(type) {
		case string:
			return paramRef.ReplaceAllStringFunc(v, func(m string) string {
				return values[paramRef.FindStringSubmatch(m)[1]]
			})
		case []any:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = sub(e)
			}
			return out
		case map[string]any:
			out := make(map[string]any, len(v))
			for k, e := range v {
				out[k] = sub(e)
			}
			return out
		}
		return v
	}
	return sub(v).([]any)
}

// A circleJob is the result of running steps the CircleCI way.
type circleJob struct {
	failed  int    // the index of the step that failed; -1: none
	out     string // every step's output
	bashEnv string // the $BASH_ENV file
}

// runCircleJob runs steps in order until one fails, each in a bash of its
// own. env is the job's environment; PATH in it decides whether an hf-oidc
// is there already.
func runCircleJob(t *testing.T, steps []runStep, env []string) circleJob {
	t.Helper()
	testkit.RequireTool(t, "bash")
	dir := t.TempDir()
	j := circleJob{failed: -1, bashEnv: filepath.Join(dir, "bash_env")}
	writeText(t, j.bashEnv, "", 0o600)
	tmp := t.TempDir() // the job's, for all its steps
	var out bytes.Buffer
	for i, s := range steps {
		script := filepath.Join(dir, fmt.Sprintf("step-%d.sh", i))
		// orb pack escapes "<<" in included scripts; CircleCI unescapes it.
		writeText(t, script, strings.ReplaceAll(s.command, `\<<`, "<<"), 0o600)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-eo", "pipefail", script)
		cmd.Dir = dir
		cmd.Env = append([]string{"CIRCLECI=true", "CI=true", "BASH_ENV=" + j.bashEnv, "HOME=" + dir, "TMPDIR=" + tmp}, env...)
		for k, v := range s.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		fmt.Fprintf(&out, "#!/bin/bash -eo pipefail (%s)\n", s.name)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		cancel()
		if err != nil {
			fmt.Fprintf(&out, "Exited with code %v\n", err)
			j.failed = i
			break
		}
	}
	j.out = out.String()
	return j
}

// circleEnv is the job's environment: CircleCI's variables for the
// sandbox's job, a stand-in circleci CLI, and path after it.
func circleEnv(t *testing.T, sb *sandbox.Sandbox, path string, extra ...string) (env []string, argvLog string) {
	t.Helper()
	env, err := sb.Env(sandbox.CircleCI)
	if err != nil {
		t.Fatal(err)
	}
	argvLog = filepath.Join(t.TempDir(), "argv")
	return append(append(env, "PATH="+filepath.Dir(standInExe)+":"+path, "STANDIN_LOG="+argvLog), extra...), argvLog
}

// whoamiSteps are later steps of the job that use the exported tokens.
func whoamiSteps(vars ...string) []runStep {
	var steps []runStep
	for _, v := range vars {
		steps = append(steps, runStep{name: "whoami " + v, command: whoamiShell("$" + v)})
	}
	return steps
}

// exampleSteps are the orb steps of the job in the orb's example, with
// the endpoint set to the sandbox's.
func exampleSteps(t *testing.T, o orb, example, job string, endpoint string) []any {
	t.Helper()
	var steps []any
	for _, s := range o.Examples[example].Usage.Jobs[job].Steps {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		for k, v := range m {
			if strings.HasPrefix(k, "hf-oidc/") {
				args, _ := v.(map[string]any)
				args["endpoint"] = endpoint
				steps = append(steps, map[string]any{k: args})
			}
		}
	}
	if len(steps) == 0 {
		t.Fatalf("the orb's example %s has no hf-oidc step in job %s", example, job)
	}
	return steps
}

// TestOrb runs the orb's example job: the exchange command, then later
// steps that use the tokens.
func TestOrb(t *testing.T) {
	t.Parallel()
	resources := []string{"acme/awesome-model", "datasets/acme/awesome-dataset"}
	t.Run("hf-oidc on PATH", func(t *testing.T) {
		t.Parallel()
		o, packed := packOrb(t, filepath.Join(root, "circleci", "src"))
		if strings.Contains(packed, "<<include(") {
			t.Error("the packed orb still holds an include")
		}
		sb := startSandbox(t, (*sandbox.Sandbox).TrustCircleCI, resources...)
		steps, err := o.expand(exampleSteps(t, o, "publish", "publish", sb.URL()), false)
		if err != nil {
			t.Fatal(err)
		}
		env, argvLog := circleEnv(t, sb, binDir+":"+systemPath())
		j := runCircleJob(t, append(steps, whoamiSteps("HF_TOKEN", "HF_DATASET_TOKEN")...), env)
		if j.failed >= 0 {
			t.Fatalf("step %d failed:\n%s", j.failed, j.out)
		}
		assertContains(t, "the job's output", j.out,
			"hf-oidc: using "+bin+", already on PATH (hf-oidc "+testVersion,
			"2 tokens from the circleci provider's ID token",
			`"name":"[OIDC] acme/awesome-model"`, `"name":"[OIDC] datasets/acme/awesome-dataset"`)
		if argv := testkit.ReadText(t, argvLog); argv != "circleci run oidc get --claims {\"aud\":\"https://huggingface.co\"}\n" {
			t.Errorf("the CLI ran as %q, want once for the Hub's audience", argv)
		}
		testkit.NoLeak(t, sb, map[string]string{"the job's output": j.out})
	})
	t.Run("downloaded and verified", func(t *testing.T) {
		t.Parallel()
		o, _ := packOrb(t, orbSource(t, testRelease))
		sb := startSandbox(t, (*sandbox.Sandbox).TrustCircleCI, resources...)
		srv := startReleaseServer(t, testArchive)
		steps, err := o.expand([]any{map[string]any{"hf-oidc/exchange": map[string]any{"resources": resources[0], "endpoint": sb.URL()}}}, false)
		if err != nil {
			t.Fatal(err)
		}
		env, _ := circleEnv(t, sb, systemPath(), "HF_OIDC_RELEASE_BASE_URL="+srv.URL)
		later := runStep{name: "a later step", command: "command -v hf-oidc && hf-oidc version\n" + whoamiShell("$HF_TOKEN")}
		j := runCircleJob(t, append(steps, later), env)
		if j.failed >= 0 {
			t.Fatalf("step %d failed:\n%s", j.failed, j.out)
		}
		assertContains(t, "the job's output", j.out, "hf-oidc: installed "+testVersion+" from hf-oidc_"+testVersion+"_",
			"its SHA-256 checked against the one this orb carries", "hf-oidc "+testVersion+" (", `"name":"[OIDC] acme/awesome-model"`)
		if n := srv.Count(); n != 1 {
			t.Errorf("%d downloads, want 1", n)
		}
		testkit.NoLeak(t, sb, map[string]string{"the job's output": j.out})
	})
	t.Run("refresh, for long jobs", func(t *testing.T) {
		t.Parallel()
		o, _ := packOrb(t, filepath.Join(root, "circleci", "src"))
		sb := startSandbox(t, (*sandbox.Sandbox).TrustCircleCI, resources...)
		steps, err := o.expand(exampleSteps(t, o, "long-job", "train", sb.URL()), false)
		if err != nil {
			t.Fatal(err)
		}
		env, _ := circleEnv(t, sb, binDir+":"+systemPath())
		later := []runStep{
			{name: "train", command: `test -z "${HF_TOKEN:-}"; stat -c 'token file mode %a' "$HF_TOKEN_PATH"` + "\n" + whoamiShell(`$(cat "$HF_TOKEN_PATH")`)},
			{name: "stop the keeper", command: "hf-oidc refresh --stop"},
		}
		j := runCircleJob(t, append(steps, later...), env)
		if j.failed >= 0 {
			t.Fatalf("step %d failed:\n%s", j.failed, j.out)
		}
		assertContains(t, "the job's output", j.out, "kept fresh by a background keeper", "token file mode 600", `"name":"[OIDC] acme/awesome-model"`,
			"hf-oidc refresh: stopped the keeper")
		testkit.NoLeak(t, sb, map[string]string{"the job's output": j.out})
	})
}

// TestOrbRefuses checks that the job stops at the orb's step, with a
// message that says why, when the download is tampered with, when the
// version cannot be verified, and when CircleCI cannot mint a token; and
// that nothing reaches $BASH_ENV or the Hub.
func TestOrbRefuses(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		archive []byte
		path    string
		args    map[string]any
		env     []string
		want    string
	}{
		"a tampered download": {archive: tampered(), path: systemPath(), want: "hf-oidc setup: SHA-256 mismatch for hf-oidc_" + testVersion},
		"another version":     {archive: testArchive, path: systemPath(), args: map[string]any{"version": "v9.9.9"}, want: "carries the SHA-256 of release " + testVersion + " only, so it cannot verify v9.9.9"},
		"no OIDC in the job":  {archive: testArchive, path: binDir + ":" + systemPath(), env: []string{"STANDIN_FAIL=this command can only run within a CircleCI job"}, want: "`circleci run oidc get` failed"},
		"a bad resource":      {archive: testArchive, path: binDir + ":" + systemPath(), args: map[string]any{"resources": "acme/awesome model"}, want: `resource "acme/awesome model": contains a space`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o, _ := packOrb(t, orbSource(t, testRelease))
			sb := startSandbox(t, (*sandbox.Sandbox).TrustCircleCI, "acme/awesome-model")
			srv := startReleaseServer(t, c.archive)
			args := map[string]any{"resources": "acme/awesome-model", "endpoint": sb.URL()}
			for k, v := range c.args {
				args[k] = v
			}
			steps, err := o.expand([]any{map[string]any{"hf-oidc/exchange": args}}, false)
			if err != nil {
				t.Fatal(err)
			}
			env, _ := circleEnv(t, sb, c.path, append(c.env, "HF_OIDC_RELEASE_BASE_URL="+srv.URL)...)
			j := runCircleJob(t, append(steps, runStep{name: "later", command: "echo the later step ran"}), env)
			if j.failed < 0 {
				t.Fatalf("the job succeeded:\n%s", j.out)
			}
			assertContains(t, "the job's output", j.out, c.want)
			if strings.Contains(j.out, "the later step ran") {
				t.Error("a later step ran")
			}
			if strings.Contains(testkit.ReadText(t, j.bashEnv), "HF_TOKEN") {
				t.Error("$BASH_ENV holds HF_TOKEN after a failure")
			}
			if n := sb.Stats().Issued; n != 0 {
				t.Errorf("%d tokens issued", n)
			}
			testkit.NoLeak(t, sb, map[string]string{"the job's output": j.out})
		})
	}
}

// TestOrbLayout checks the orb's source layout and that every example uses
// only commands and parameters the orb has.
func TestOrbLayout(t *testing.T) {
	t.Parallel()
	src := filepath.Join(root, "circleci", "src")
	for _, p := range []string{"@orb.yml", "commands/install.yml", "commands/exchange.yml", "commands/refresh.yml", "scripts/install.sh", "scripts/exchange.sh", "examples/publish.yml", "examples/long-job.yml"} {
		if _, err := os.Stat(filepath.Join(src, p)); err != nil {
			t.Errorf("the orb source lacks %s", p)
		}
	}
	o, _ := packOrb(t, src)
	if got := sortedKeys(o.Commands); !slices.Equal(got, []string{"exchange", "install", "refresh"}) {
		t.Errorf("commands %v", got)
	}
	for name, ex := range o.Examples {
		for job, j := range ex.Usage.Jobs {
			var orbSteps []any
			for _, s := range j.Steps {
				if m, ok := s.(map[string]any); ok {
					for k := range m {
						if strings.HasPrefix(k, "hf-oidc/") {
							orbSteps = append(orbSteps, s)
						}
					}
				}
			}
			if _, err := o.expand(orbSteps, false); err != nil {
				t.Errorf("example %s, job %s: %v", name, job, err)
			}
		}
	}
	if _, err := o.expand([]any{map[string]any{"hf-oidc/exchange": map[string]any{}}}, false); err == nil || !strings.Contains(err.Error(), `missing required parameter "resources"`) {
		t.Errorf("exchange without resources: %v", err)
	}
}

// TestOrbScripts runs shellcheck on the orb's scripts: the install script
// as POSIX sh, since the GitLab template runs it in whatever shell the
// image has.
func TestOrbScripts(t *testing.T) {
	t.Parallel()
	sc := testkit.RequireTool(t, "shellcheck")
	for script, shell := range map[string]string{"install.sh": "sh", "exchange.sh": "bash"} {
		out, err := exec.Command(sc, "-s", shell, filepath.Join(root, "circleci", "src", "scripts", script)).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", script, err, out)
		}
	}
}
