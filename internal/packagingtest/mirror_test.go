package packagingtest

import (
	"bytes"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The release workflow's gitlab-component job runs .github/ci/mirror-gitlab.sh,
// which pushes gitlab/ of the release commit, as the root of the GitLab
// component project, with the version tag the CI/CD Catalog takes. Here it
// pushes to a real git smart-HTTP server (git http-backend) that, like
// GitLab for a project access token, takes any user name with the token as
// the password, and refuses everything else with 401.

const mirrorToken = "glpat-mirror-test-0123456789abcdef"

type gitlabRemote struct {
	url, bare string
	refused   atomic.Int32
}

func startGitLabRemote(t *testing.T) *gitlabRemote {
	t.Helper()
	exe, err := exec.Command(testkit.RequireTool(t, "git"), "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	g := &gitlabRemote{bare: filepath.Join(root, componentProject+".git")}
	gitIn(t, root, "init", "-q", "--bare", "-b", "main", g.bare)
	gitIn(t, g.bare, "config", "http.receivepack", "true")
	backend := &cgi.Handler{
		Path:       filepath.Join(strings.TrimSpace(string(exe)), "git-http-backend"),
		Env:        []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
		InheritEnv: []string{"PATH"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A private project: reading needs the token too.
		if user, password, ok := r.BasicAuth(); !ok || user == "" || password != mirrorToken {
			g.refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
			http.Error(w, "HTTP Basic: Access denied", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL + "/" + componentProject + ".git"
	return g
}

// refs are the remote's refs, "sha refname" lines.
func (g *gitlabRemote) refs(t *testing.T) string {
	t.Helper()
	out, err := gitOut(g.bare, "for-each-ref", "--format=%(objectname) %(refname)")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return out
}

// releaseSource is a repository like this one at a release commit: gitlab/
// as it is committed, and other files that must not reach GitLab.
type releaseSource struct{ dir string }

func newReleaseSource(t *testing.T) *releaseSource {
	t.Helper()
	s := &releaseSource{dir: t.TempDir()}
	gitIn(t, s.dir, "init", "-q", "-b", "main")
	for _, f := range []string{"README.md", ".gitlab-ci.yml", "templates/hf-oidc.yml"} {
		writeText(t, filepath.Join(s.dir, "gitlab", f), testkit.ReadText(t, filepath.Join(root, "gitlab", f)), 0o644)
	}
	writeText(t, filepath.Join(s.dir, "go.mod"), "module github.com/hf-oidc/hf-oidc\n", 0o644)
	s.commit(t)
	return s
}

func (s *releaseSource) commit(t *testing.T) string {
	t.Helper()
	gitIn(t, s.dir, "add", "-A")
	gitIn(t, s.dir, "-c", "user.name=maintainer", "-c", "user.email=m@example.com", "commit", "-q", "--allow-empty", "-m", "release")
	return gitIn(t, s.dir, "rev-parse", "HEAD")
}

type mirrorRun struct {
	code int
	out  string
	argv string // every git command line the script ran
}

// mirror runs the script as the workflow does, with a git on PATH that
// records its command lines before running the real one.
func (s *releaseSource) mirror(t *testing.T, g *gitlabRemote, tag, token string) mirrorRun {
	t.Helper()
	bash := testkit.RequireTool(t, "bash")
	realGit := testkit.RequireTool(t, "git")
	shim := t.TempDir()
	argv := filepath.Join(t.TempDir(), "argv")
	writeText(t, filepath.Join(shim, "git"), "#!/bin/sh\nprintf '%s\\n' \"git $*\" >>"+argv+"\nexec "+realGit+" \"$@\"\n", 0o755)
	cmd := exec.Command(bash, filepath.Join(root, ".github", "ci", "mirror-gitlab.sh"))
	cmd.Dir = s.dir
	cmd.Env = []string{
		"PATH=" + shim + ":" + systemPath(), "HOME=" + t.TempDir(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"TAG=" + tag, "COMMIT=" + gitIn(t, s.dir, "rev-parse", "HEAD"), "GITLAB_URL=" + g.url,
		"GITLAB_COMPONENT_TOKEN=" + token, "GITHUB_REPOSITORY=hf-oidc/hf-oidc",
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := mirrorRun{out: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(argv); err == nil {
		r.argv = string(b)
	}
	for what, text := range map[string]string{"the script's output": r.out, "git's command lines": r.argv,
		"the source's .git/config": testkit.ReadText(t, filepath.Join(s.dir, ".git", "config"))} {
		if strings.Contains(text, mirrorToken) {
			t.Errorf("%s hold the token:\n%s", what, text)
		}
	}
	return r
}

// TestMirrorGitLab runs a series of releases through the mirroring script
// against one GitLab remote.
func TestMirrorGitLab(t *testing.T) {
	t.Parallel()
	g := startGitLabRemote(t)
	src := newReleaseSource(t)
	wantTree := gitIn(t, src.dir, "rev-parse", "HEAD:gitlab")

	// The first release: gitlab/ alone, as the root, under 1.2.3 and main.
	r := src.mirror(t, g, "v1.2.3", mirrorToken)
	if r.code != 0 {
		t.Fatalf("the first release: exit %d:\n%s", r.code, r.out)
	}
	assertContains(t, "the script's output", r.out, "pushed 1.2.3")
	first := gitIn(t, g.bare, "rev-parse", "refs/tags/1.2.3")
	if main := gitIn(t, g.bare, "rev-parse", "refs/heads/main"); main != first {
		t.Errorf("main is %s, the tag 1.2.3 %s", main, first)
	}
	if got := gitIn(t, g.bare, "rev-parse", "1.2.3^{tree}"); got != wantTree {
		t.Errorf("1.2.3 holds tree %s, want gitlab/'s %s:\n%s", got, wantTree, gitIn(t, g.bare, "ls-tree", "-r", "--name-only", "1.2.3"))
	}
	if got := gitIn(t, g.bare, "ls-tree", "-r", "--name-only", "1.2.3"); got != ".gitlab-ci.yml\nREADME.md\ntemplates/hf-oidc.yml" {
		t.Errorf("1.2.3 holds the files:\n%s", got)
	}
	if g.refused.Load() == 0 {
		t.Error("git never met the server's 401: the test proves nothing of the credential helper")
	}

	// A rerun of the same release pushes nothing and succeeds.
	before := g.refs(t)
	if r := src.mirror(t, g, "v1.2.3", mirrorToken); r.code != 0 || !strings.Contains(r.out, "nothing to push") {
		t.Errorf("a rerun: exit %d:\n%s", r.code, r.out)
	}

	// Refusals change nothing on GitLab.
	writeText(t, filepath.Join(src.dir, "gitlab", "README.md"), "# hf-oidc, the next release\n", 0o644)
	src.commit(t)
	for name, c := range map[string]struct{ tag, token, want string }{
		"a refused token":  {"v1.3.0", "glpat-revoked", "git ls-remote " + g.url + " failed"},
		"no token":         {"v1.3.0", "", "the secret GITLAB_COMPONENT_TOKEN is empty"},
		"no version":       {"v1.3", mirrorToken, "tag v1.3 is not v followed by a semantic version"},
		"a version reused": {"v1.2.3", mirrorToken, "already has a tag 1.2.3"},
	} {
		r := src.mirror(t, g, c.tag, c.token)
		if r.code == 0 {
			t.Errorf("%s: the script succeeded:\n%s", name, r.out)
		}
		assertContains(t, name+": the script's output", r.out, c.want)
		if after := g.refs(t); after != before {
			t.Errorf("%s: the remote's refs changed:\n%s\nwas:\n%s", name, after, before)
		}
	}

	// A pre-release gets its tag; main stays on the last release.
	if r := src.mirror(t, g, "v1.3.0-rc.1", mirrorToken); r.code != 0 {
		t.Fatalf("a pre-release: exit %d:\n%s", r.code, r.out)
	}
	if main := gitIn(t, g.bare, "rev-parse", "refs/heads/main"); main != first {
		t.Errorf("a pre-release moved main to %s", main)
	}
	// The next release follows the last on main.
	if r := src.mirror(t, g, "v1.3.0", mirrorToken); r.code != 0 {
		t.Fatalf("the next release: exit %d:\n%s", r.code, r.out)
	}
	next := gitIn(t, g.bare, "rev-parse", "refs/tags/1.3.0")
	if main := gitIn(t, g.bare, "rev-parse", "refs/heads/main"); main != next {
		t.Errorf("main is %s, the tag 1.3.0 %s", main, next)
	}
	if parent := gitIn(t, g.bare, "rev-parse", "1.3.0^"); parent != first {
		t.Errorf("1.3.0's parent is %s, want 1.2.3's commit %s", parent, first)
	}
	if got := gitIn(t, g.bare, "show", "1.3.0:README.md"); got != "# hf-oidc, the next release" {
		t.Errorf("1.3.0's README.md is %q", got)
	}
}
