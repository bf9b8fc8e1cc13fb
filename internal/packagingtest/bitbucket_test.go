package packagingtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The pipe's image is made as the release makes it, loaded into podman,
// and run the
// way Bitbucket runs a pipe: its variables in the environment (a list as
// NAME_COUNT and NAME_0, NAME_1, …), the clone directory mounted as the
// working directory, the step's ID token passed in, and --network host to
// reach the sandbox. The step's script is played by bash on the host,
// which sees the clone directory at its own path.

// cloneDir is where Bitbucket mounts the repository in a step's containers.
const cloneDir = "/opt/atlassian/pipelines/agent/build"

// sharedStorage is the pipes' shared storage directory inside the clone
// directory, where Bitbucket Cloud puts it (unverified: the pipe relies only
// on the variable).
const sharedStorage = ".bitbucket/pipelines/generated/pipeline/pipes"

// podmanRunFlags make podman run in this kind of sandbox, which lacks some
// of crun's capabilities and the default ulimits.
var podmanRunFlags = []string{"--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

// buildPipeImage makes the pipe's image as the release does
// (release.BuildImage, with the binary under test for this machine's CPU),
// loads it into podman from its OCI layout, and removes it when the test
// ends.
func buildPipeImage(t *testing.T) string {
	t.Helper()
	podman := testkit.RequireTool(t, "podman")
	bins := map[release.Platform][]byte{}
	for _, p := range release.ImagePlatforms {
		bins[p] = []byte("not run here")
	}
	bins[release.Platform{OS: "linux", Arch: runtime.GOARCH}] = []byte(testkit.ReadText(t, bin))
	// A commit of its own makes each test's image its own: removing one
	// when its test ends leaves the others'.
	commit := make([]byte, 8)
	rand.Read(commit)
	im, err := release.BuildImage("v0.0.0-test", hex.EncodeToString(commit), bins, release.CABundle())
	if err != nil {
		t.Fatal(err)
	}
	// podman names the image after the layout's path, which must be
	// lowercase: t.TempDir's holds the test's name.
	dir, err := os.MkdirTemp("", "hf-oidc-pipe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := im.WriteLayout(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// stdout holds the image's ID alone; a warning goes to stderr.
	pull := exec.CommandContext(ctx, podman, "pull", "-q", "oci:"+dir+":"+im.Ref)
	var stderr bytes.Buffer
	pull.Stderr = &stderr
	out, err := pull.Output()
	if err != nil {
		t.Fatalf("podman pull: %v\n%s", err, stderr.String())
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", id).Run() })
	return id
}

type pipeRun struct {
	code           int
	stdout, stderr string
	clone          string // the clone directory on the host
}

// runPipe runs the image as Bitbucket runs a pipe. vars are the pipe's
// variables and the step's, NAME=value; they reach podman in its
// environment and the container by name only, so that no token is on a
// command line.
func runPipe(t *testing.T, image string, vars []string) pipeRun {
	t.Helper()
	clone := t.TempDir()
	args := append([]string{"run", "--rm", "--network", "host", "-v", clone + ":" + cloneDir, "-w", cloneDir}, podmanRunFlags...)
	env := []string{"PATH=" + systemPath(), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + t.TempDir()}
	for _, kv := range append([]string{
		"BITBUCKET_CLONE_DIR=" + cloneDir,
		"BITBUCKET_PIPE_SHARED_STORAGE_DIR=" + cloneDir + "/" + sharedStorage,
		"BITBUCKET_PIPE_STORAGE_DIR=" + cloneDir + "/" + sharedStorage + "/hf-oidc/hf-oidc-pipe",
	}, vars...) {
		name, _, _ := strings.Cut(kv, "=")
		args = append(args, "-e", name)
		env = append(env, kv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", append(args, image)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := pipeRun{stdout: stdout.String(), stderr: stderr.String(), clone: clone}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("podman run: %v\n%s", err, r.stderr)
	}
	return r
}

// bitbucketStep is the step's environment, as sandbox.Env gives it: the
// Bitbucket variables and BITBUCKET_STEP_OIDC_TOKEN, for the Hub's audience.
func bitbucketStep(t *testing.T, sb *sandbox.Sandbox) []string {
	t.Helper()
	env, err := sb.Env(sandbox.Bitbucket)
	if err != nil {
		t.Fatal(err)
	}
	var step []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "BITBUCKET_") || strings.HasPrefix(kv, "CI=") {
			step = append(step, kv)
		}
	}
	return step
}

var sourceLine = regexp.MustCompile(`(?m)^  (\. .*hf-oidc\.env)$`)

// TestPipe runs the README's Bitbucket quick start: the pipe with a list
// of resources, then the line it prints and later script lines that use
// the tokens.
func TestPipe(t *testing.T) {
	t.Parallel()
	image := buildPipeImage(t)
	resources := []string{"acme/awesome-model", "datasets/acme/awesome-dataset"}
	for name, vars := range map[string][]string{
		"a list":   {"RESOURCES_COUNT=2", "RESOURCES_0=" + resources[0], "RESOURCES_1=" + resources[1] + "=HF_DATASET_TOKEN"},
		"a string": {"RESOURCES=" + resources[0] + ", " + resources[1] + "=HF_DATASET_TOKEN"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, (*sandbox.Sandbox).TrustBitbucket, resources...)
			r := runPipe(t, image, append(append(bitbucketStep(t, sb), "ENDPOINT="+sb.URL()), vars...))
			if r.code != 0 {
				t.Fatalf("the pipe exited %d:\n%s%s", r.code, r.stdout, r.stderr)
			}
			assertContains(t, "the pipe's output", r.stdout, "2 tokens from the bitbucket provider's ID token",
				"written to "+cloneDir+"/"+sharedStorage+"/hf-oidc.env (mode 0600)")
			m := sourceLine.FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("the pipe printed no line to source:\n%s", r.stdout)
			}
			if m[1] != pipeSourceLine {
				t.Errorf("the line to source is %q, want %q", m[1], pipeSourceLine)
			}
			envFile := filepath.Join(r.clone, sharedStorage, "hf-oidc.env")
			if st, err := os.Stat(envFile); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("the env file: %v, mode %v; want 0600", err, st.Mode())
			}
			// A release script's `git add -A` in the clone directory adds
			// neither the env file nor the .gitignore that keeps it out.
			if st := gitAddAll(t, r.clone); st != "" {
				t.Errorf("git add -A in the clone directory staged:\n%s", st)
			}
			// The rest of the step's script, as the README has it: the
			// printed line loads the tokens and deletes the file.
			script := "set -eu\n" + m[1] + "\n" +
				"test ! -e " + sharedStorage + "/hf-oidc.env && echo 'the env file is gone'\n" +
				whoamiShell("$HF_TOKEN") + "\n" + whoamiShell("$HF_DATASET_TOKEN") + "\n"
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir = r.clone
			cmd.Env = []string{"PATH=" + systemPath(), "BITBUCKET_CLONE_DIR=" + r.clone}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the step's script: %v\n%s", err, out)
			}
			assertContains(t, "the step's script", string(out), "the env file is gone",
				`"name":"[OIDC] acme/awesome-model"`, `"name":"[OIDC] datasets/acme/awesome-dataset"`)
			if _, err := os.Stat(envFile); err == nil {
				t.Error("the env file is still there after the printed line ran")
			}
			testkit.NoLeak(t, sb, map[string]string{"the pipe's stdout": r.stdout, "the pipe's stderr": r.stderr, "the step's script": string(out)})
			assertNoTokenFiles(t, r.clone)
		})
	}
}

// pipeSourceLine is the line the pipe prints for a step in Bitbucket's
// clone directory: it loads the env file and deletes it.
const pipeSourceLine = `. "$BITBUCKET_CLONE_DIR"/` + sharedStorage + `/hf-oidc.env && rm -f "$BITBUCKET_CLONE_DIR"/` + sharedStorage + "/hf-oidc.env"

// gitAddAll makes dir a git repository, as a step's clone directory is,
// runs `git add -A` there as a release script would, and returns what
// `git status --porcelain` then lists: nothing, when every file the pipe
// left is ignored.
func gitAddAll(t *testing.T, dir string) string {
	t.Helper()
	testkit.RequireTool(t, "git")
	var status string
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"status", "--porcelain"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		status = string(out)
	}
	return status
}

// TestPipeLineInREADMEs checks that the quick starts show the line the
// pipe prints.
func TestPipeLineInREADMEs(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"README.md", "bitbucket/README.md"} {
		n := 0
		for _, l := range strings.Split(testkit.ReadText(t, filepath.Join(root, f)), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "- . ") {
				n++
				if l != "- "+pipeSourceLine {
					t.Errorf("%s shows %q, want the line the pipe prints: %s", f, l, pipeSourceLine)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s shows no line that loads the pipe's env file", f)
		}
	}
}

// TestPipeRefuses checks the pipe's failures: exit 2 for a step or a
// variable to fix, with a message that says what, and no env file.
func TestPipeRefuses(t *testing.T) {
	t.Parallel()
	image := buildPipeImage(t)
	for name, c := range map[string]struct {
		vars func(*testing.T, *sandbox.Sandbox) []string
		want []string
	}{
		"oidc off": {
			vars: func(t *testing.T, sb *sandbox.Sandbox) []string {
				return append(without(bitbucketStep(t, sb), "BITBUCKET_STEP_OIDC_TOKEN"), "RESOURCES=acme/awesome-model")
			},
			want: []string{"BITBUCKET_STEP_OIDC_TOKEN is not set", "`oidc: true`", "audiences:\n          - https://huggingface.co"},
		},
		"oidc without the Hub's audience": {
			vars: func(t *testing.T, sb *sandbox.Sandbox) []string {
				tok, err := sb.MintBitbucketIDToken(map[string]any{"aud": sandbox.BitbucketDefaultAudience})
				if err != nil {
					t.Fatal(err)
				}
				return append(without(bitbucketStep(t, sb), "BITBUCKET_STEP_OIDC_TOKEN"), "BITBUCKET_STEP_OIDC_TOKEN="+tok, "RESOURCES=acme/awesome-model")
			},
			want: []string{"is for audience \"" + sandbox.BitbucketDefaultAudience + "\"", "oidc:\n        audiences:"},
		},
		"no RESOURCES": {
			vars: func(t *testing.T, sb *sandbox.Sandbox) []string { return bitbucketStep(t, sb) },
			want: []string{"RESOURCES is not set"},
		},
		"a short list": {
			vars: func(t *testing.T, sb *sandbox.Sandbox) []string {
				return append(bitbucketStep(t, sb), "RESOURCES_COUNT=2", "RESOURCES_0=acme/awesome-model")
			},
			want: []string{"RESOURCES_1 is empty or not set, though RESOURCES_COUNT is 2"},
		},
		"a bad item": {
			vars: func(t *testing.T, sb *sandbox.Sandbox) []string {
				return append(bitbucketStep(t, sb), "RESOURCES_COUNT=2", "RESOURCES_0=acme/awesome-model", "RESOURCES_1=acme/bad name")
			},
			want: []string{`RESOURCES_1: resource "acme/bad name": contains a space`},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, (*sandbox.Sandbox).TrustBitbucket, "acme/awesome-model")
			r := runPipe(t, image, append(c.vars(t, sb), "ENDPOINT="+sb.URL()))
			if r.code != 2 {
				t.Errorf("the pipe exited %d, want 2:\n%s%s", r.code, r.stdout, r.stderr)
			}
			assertContains(t, "the pipe's stderr", r.stderr, append(c.want, "\nNext: ")...)
			if _, err := os.Stat(filepath.Join(r.clone, sharedStorage, "hf-oidc.env")); err == nil {
				t.Error("the pipe wrote an env file")
			}
			if n := sb.Stats().Exchanges; n != 0 {
				t.Errorf("%d exchanges were sent", n)
			}
			testkit.NoLeak(t, sb, map[string]string{"the pipe's stdout": r.stdout, "the pipe's stderr": r.stderr})
		})
	}
}

// TestPipeImage checks what the image holds: the binary, and the pinned
// CA bundle where the binary reads it.
func TestPipeImage(t *testing.T) {
	t.Parallel()
	image := buildPipeImage(t)
	podman := testkit.RequireTool(t, "podman")
	out, err := exec.Command(podman, "create", image).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	ctr := strings.TrimSpace(string(out))
	defer exec.Command(podman, "rm", "-f", ctr).Run()
	dir := t.TempDir()
	for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/hf-oidc"} {
		dst := filepath.Join(dir, filepath.Base(f))
		if out, err := exec.Command(podman, "cp", ctr+":"+f, dst).CombinedOutput(); err != nil {
			t.Errorf("the image lacks %s: %v\n%s", f, err, out)
		}
	}
	if testkit.ReadText(t, filepath.Join(dir, "ca-certificates.crt")) != string(release.CABundle()) {
		t.Error("the image's CA bundle is not the pinned one")
	}
}

// without drops the variable name from env.
func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
