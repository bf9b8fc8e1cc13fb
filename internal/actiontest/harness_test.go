package actiontest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

var (
	// root is the repository: the action under test is its action.yml.
	root string
	// dist holds the host's release archive and checksums.txt, and
	// releaseDir the trust root, both written by the real release build.
	dist, releaseDir string
	// bin is hf-oidc from that archive, for the binary input.
	bin string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// testMain makes a release of this tree for the host, as a maintainer
// would: the download tests serve its archive, the others use its binary.
func testMain(m *testing.M) int {
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p := host
	if p.OS != "linux" && p.OS != "darwin" {
		fmt.Println("act runs jobs on the host, and these tests serve tar.gz releases: linux and darwin only")
		return 0
	}
	dir, err := os.MkdirTemp("", "hf-oidc-actiontest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	dist, releaseDir = filepath.Join(dir, "dist"), filepath.Join(dir, "release")
	build := exec.Command("go", "run", "./internal/release/cmd/build", "-version", testVersion,
		"-platforms", p.String(), "-commit", "0123456789abcdef", "-out", dist, "-release-dir", releaseDir)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "the release build failed: %v\n%s", err, out)
		return 1
	}
	bin = filepath.Join(dir, "hf-oidc")
	extract := exec.Command("tar", "-xzf", filepath.Join(dist, release.AssetName(testVersion, p)), "-C", dir, "hf-oidc")
	if out, err := extract.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "extracting hf-oidc from the release: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// requireTool is testkit.RequireTool, looking also where .ci/install puts
// tools off PATH: Go's bin and /usr/local/bin.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return testkit.RequireTool(t, name, filepath.Join(goBin(), name), filepath.Join("/usr/local/bin", name))
}

func goBin() string {
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// repo is a throwaway repository for one act run: the action's own files
// copied from the real tree, and a workflow.
type repo struct {
	dir string
}

// newRepo copies the action (action.yml, .github/action, .release) into a
// new git repository, with the Go source too when withSource is set (the
// build-from-source path).
func newRepo(t testing.TB, withSource bool) *repo {
	t.Helper()
	r := &repo{dir: t.TempDir()}
	paths := []string{"action.yml", ".github/action", ".release"}
	if withSource {
		paths = append(paths, "go.mod", "go.sum", "cmd", "internal", "plugins")
	}
	for _, p := range paths {
		copyTree(t, filepath.Join(root, p), filepath.Join(r.dir, p))
	}
	return r
}

// copyTree copies src to dst, leaving out tests and test data, which the
// action never needs.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == src {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == "testdata":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case strings.HasSuffix(p, "_test.go"):
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

func (r *repo) write(t testing.TB, name, content string) {
	t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// workflow writes the workflow act runs: the job's steps after the
// checkout that every act workflow starts with.
func (r *repo) workflow(t testing.TB, steps string) {
	t.Helper()
	r.write(t, ".github/workflows/test.yml", `name: test
on: push
permissions: { id-token: write, contents: read }
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
`+steps)
}

// commit makes the copy a git repository, which act reads the ref and
// SHA of the run from.
func (r *repo) commit(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.dir, ".git")); err == nil {
		return // act copies the files as they are; one commit gives it the ref
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "test"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = r.dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// actRun is the outcome of one act run.
type actRun struct {
	code int
	out  string // stdout and stderr, interleaved as a user sees them
	took time.Duration
}

// actOptions tune one act run.
type actOptions struct {
	env      []string // more --env for the job
	path     string   // PATH of the job; default the test's
	cacheDir string   // act's cache, holding the job's tool cache; default a new one
	// refs of hf-oidc/hf-oidc that act serves from the repo, as GitHub
	// serves `uses: hf-oidc/hf-oidc@REF`.
	refs []string
}

// runAct runs the repo's workflow with act on this machine (no container),
// with the sandbox as the job's ID-token endpoint and Hub. act runs with a
// minimal environment: the machine's own variables (a real CI's
// GITHUB_ACTIONS, say) must not reach the job.
func runAct(t testing.TB, r *repo, sb *sandbox.Sandbox, o actOptions) actRun {
	t.Helper()
	act := requireTool(t, "act")
	r.commit(t)
	if o.cacheDir == "" {
		o.cacheDir = t.TempDir()
	}
	if o.path == "" {
		o.path = os.Getenv("PATH")
	}
	args := []string{"push", "-W", ".github/workflows/test.yml",
		"-P", "ubuntu-latest=-self-hosted", "--action-offline-mode", "--no-cache-server",
		"--action-cache-path", o.cacheDir}
	for _, ref := range o.refs {
		args = append(args, "--local-repository", "hf-oidc/hf-oidc@"+ref+"="+r.dir)
	}
	if sb != nil {
		// The request token is a secret: it goes in a file, not in argv.
		envFile := filepath.Join(t.TempDir(), "act.env")
		var secrets bytes.Buffer
		for _, kv := range sb.GitHubEnv() {
			switch k, _, _ := strings.Cut(kv, "="); k {
			case "ACTIONS_ID_TOKEN_REQUEST_TOKEN":
				secrets.WriteString(kv + "\n")
			case "GITHUB_ACTIONS":
			default:
				args = append(args, "--env", kv)
			}
		}
		if err := os.WriteFile(envFile, secrets.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--env-file", envFile)
	}
	for _, kv := range o.env {
		args = append(args, "--env", kv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = r.dir
	cmd.Env = hermeticEnv(t, o.path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	res := actRun{out: out.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running act: %v\n%s", err, res.out)
	}
	return res
}

// runActFailing runs a workflow that must fail and returns the first run
// whose output holds every one of wants (or the last of three). act loses
// the output of a host step that exits non-zero now and then: it returns
// as soon as the command fails and closes the terminal it reads the output
// from (pkg/container/host_environment.go, exec), so a failing step's last
// lines can go missing from the log. A real runner reads to the end.
func runActFailing(t testing.TB, r *repo, sb *sandbox.Sandbox, o actOptions, wants ...string) actRun {
	t.Helper()
	var run actRun
	for range 3 {
		run = runAct(t, r, sb, o)
		if run.code == 0 {
			t.Fatalf("act succeeded, and the job should have failed:\n%s", run.out)
		}
		missing := false
		for _, w := range wants {
			missing = missing || !strings.Contains(run.out, w)
		}
		if !missing {
			break
		}
	}
	assertContains(t, run.out, wants...)
	return run
}

// hermeticEnv is what act and so the job see: a PATH, a private HOME, and
// Go's caches (for the build from source), which hold every module, so the
// build needs no network.
func hermeticEnv(t testing.TB, path string) []string {
	env := []string{
		"PATH=" + path,
		"HOME=" + t.TempDir(),
		"ACT_DISABLE_VERSION_CHECK=1",
		"GOPROXY=off",
		"GOTOOLCHAIN=local",
		"GOFLAGS=",
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", k).Output()
		if err == nil {
			env = append(env, k+"="+strings.TrimSpace(string(out)))
		}
	}
	return env
}

func assertContains(t testing.TB, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("act's output lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("act's output:\n%s", out)
	}
}

func startSandbox(t testing.TB, trusted ...string) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	for _, r := range trusted {
		sb.TrustGitHub(r)
	}
	return sb
}
