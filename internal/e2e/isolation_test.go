package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// An isoJob is one CI job on a shared runner: its own provider variables
// and ID token, on top of the Unix user, HOME and TMPDIR that every job of
// the runner shares.
type isoJob struct {
	name string
	env  []string
}

// run runs hf-oidc as this job, with stdin.
func (j isoJob) run(t *testing.T, stdin string, args ...string) run {
	t.Helper()
	return runBinIn(t, j.env, stdin, args...)
}

// with is j with more variables, which win over j's own.
func (j isoJob) with(env ...string) isoJob {
	return isoJob{name: j.name, env: append(append([]string(nil), j.env...), env...)}
}

// credential is git's request for the Hub's credential of repo at sb.
func credential(sb *sandbox.Sandbox, repo string) string {
	return "protocol=http\nhost=" + strings.TrimPrefix(sb.URL(), "http://") + "\npath=" + repo + ".git\n\n"
}

// password is the password of a git-credential answer.
func password(answer string) string {
	for _, l := range strings.Split(answer, "\n") {
		if p, ok := strings.CutPrefix(l, "password="); ok {
			return p
		}
	}
	return ""
}

// isoRunner is a runner user's machine with three jobs on it, one Hub that
// trusts job A for acme/model and job B for datasets/acme/data only, and a
// second Hub that trusts no one:
//   - A: a GitHub Actions job;
//   - B: a GitLab job, its ID token from id_tokens;
//   - C: a plain shell with a pre-minted ID token in HF_OIDC_ID_TOKEN and
//     no job identifier, as the first report was made.
type isoRunner struct {
	sb, other *sandbox.Sandbox
	a, b, c   isoJob
	shared    string // a token directory all jobs name, as a machine-wide HF_OIDC_TOKEN_DIR would
}

func newIsoRunner(t *testing.T, cfg sandbox.Config) *isoRunner {
	t.Helper()
	sb := startSandbox(t, cfg)
	other := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	sb.TrustGitLab("datasets/acme/data")
	machine := []string{"HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(), "HF_ENDPOINT=" + sb.URL()}
	gitlab, err := sb.Env(sandbox.GitLab)
	if err != nil {
		t.Fatal(err)
	}
	untrusted, err := sb.MintGitLabIDToken(map[string]any{"project_path": "someone/else"})
	if err != nil {
		t.Fatal(err)
	}
	return &isoRunner{
		sb: sb, other: other,
		a:      isoJob{"job A", append(append(sb.GitHubEnv(), "GITHUB_RUN_ID=101", "GITHUB_RUN_ATTEMPT=1", "GITHUB_JOB=publish"), machine...)},
		b:      isoJob{"job B", append(gitlab, machine...)},
		c:      isoJob{"job C", append([]string{"HF_OIDC_ID_TOKEN=" + untrusted}, machine...)},
		shared: filepath.Join(t.TempDir(), "shared-tokens"),
	}
}

// refusedByHub checks that r is the Hub's own refusal of resource for the
// job that ran it: invalid_grant, a rejection the Hub recorded, and no token
// at all in anything the job saw.
func (ir *isoRunner) refusedByHub(t *testing.T, hub *sandbox.Sandbox, j isoJob, r run, rejectionsBefore int, resource string) {
	t.Helper()
	if r.code != 1 || !strings.Contains(r.stderr, "invalid_grant") {
		t.Errorf("%s: exit %d, want the Hub's invalid_grant:\nstdout: %s\nstderr: %s", j.name, r.code, r.stdout, r.stderr)
	}
	rej := hub.Rejections()
	if len(rej) <= rejectionsBefore || rej[len(rej)-1].Resource != resource {
		t.Errorf("%s: the Hub recorded no new rejection of %s (%d before, %v now): it was not asked", j.name, resource, rejectionsBefore, rej)
	}
	testkit.NoLeak(t, ir.sb, map[string]string{j.name + " stdout": r.stdout, j.name + " stderr": r.stderr})
	testkit.NoLeak(t, ir.other, map[string]string{j.name + " stdout": r.stdout, j.name + " stderr": r.stderr})
}

// TestIsolationGitCredential: the git helper's cache serves the job, Hub
// and ID token that filled it, and no one else: another job, in its own
// default directory or in a directory all jobs share, gets the Hub's own
// answer, and so does the same job asking for another Hub.
func TestIsolationGitCredential(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"default", "shared"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			ir := newIsoRunner(t, sandbox.Config{})
			a, b, c := ir.a, ir.b, ir.c
			if dir == "shared" {
				a, b, c = a.with("HF_OIDC_TOKEN_DIR="+ir.shared), b.with("HF_OIDC_TOKEN_DIR="+ir.shared), c.with("HF_OIDC_TOKEN_DIR="+ir.shared)
			}
			get := func(j isoJob, hub *sandbox.Sandbox, repo string) run {
				return j.with("HF_ENDPOINT="+hub.URL()).run(t, credential(hub, repo), "git-credential", "--resource", repo, "get")
			}

			first := get(a, ir.sb, "acme/model")
			tokA := password(first.stdout)
			if first.code != 0 || tokA == "" {
				t.Fatalf("job A: exit %d\n%s", first.code, first.stderr)
			}
			assertWorks(t, ir.sb, "acme/model", tokA)
			exchanges := ir.sb.Stats().Exchanges
			if again := get(a, ir.sb, "acme/model"); password(again.stdout) != tokA || ir.sb.Stats().Exchanges != exchanges {
				t.Fatalf("job A's second get: a new exchange or another token (exit %d): the cache serves no one, so this test proves nothing", again.code)
			}

			for _, j := range []isoJob{b, c} {
				before := len(ir.sb.Rejections())
				ir.refusedByHub(t, ir.sb, j, get(j, ir.sb, "acme/model"), before, "acme/model")
			}
			// B's own resource: a token of its own, never A's.
			own := get(b, ir.sb, "datasets/acme/data")
			if tokB := password(own.stdout); own.code != 0 || tokB == "" || tokB == tokA {
				t.Errorf("job B for its own resource: exit %d, a token of its own: %v\n%s", own.code, tokB != tokA, own.stderr)
			} else {
				assertWorks(t, ir.sb, "datasets/acme/data", tokB)
			}
			// The same job, another Hub: that Hub's answer, not the token
			// the first one issued.
			before := len(ir.other.Rejections())
			ir.refusedByHub(t, ir.other, a, get(a, ir.other, "acme/model"), before, "acme/model")
			// A still gets a token of its own: from its cache in its own
			// directory; in the shared one, B's caching took the status
			// over, and A asks the Hub again.
			again := get(a, ir.sb, "acme/model")
			switch tok := password(again.stdout); {
			case dir == "default" && tok != tokA:
				t.Errorf("job A after the others: exit %d, not its cached token\n%s", again.code, again.stderr)
			case tok == "":
				t.Errorf("job A after the others: exit %d\n%s", again.code, again.stderr)
			default:
				assertWorks(t, ir.sb, "acme/model", tok)
			}
		})
	}
}

// TestIsolationRefresh: a keeper belongs to its job. Another job's
// refresh --detach asks the Hub for itself in its own default directory,
// is refused in a directory another job's keeper holds, and never exports
// that keeper's files; --stop in another job never stops it; exec in
// another job gets the Hub's answer.
func TestIsolationRefresh(t *testing.T) {
	t.Parallel()
	ir := newIsoRunner(t, sandbox.Config{})
	start := func(j isoJob, extra ...string) run {
		return j.run(t, "", append([]string{"refresh", "--detach", "--format", "shell", "--resource", "acme/model"}, extra...)...)
	}
	keeperOf := func(r run, j isoJob) int {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: refresh --detach: exit %d\n%s", j.name, r.code, r.stderr)
		}
		st, _ := readStatus(t, filepath.Dir(evalShell(t, r.stdout)["HF_TOKEN_PATH"]))
		t.Cleanup(func() { syscall.Kill(st.PID, syscall.SIGKILL) })
		return st.PID
	}
	mine := start(ir.a)
	pidDefault := keeperOf(mine, ir.a)
	tokA := testkit.ReadText(t, evalShell(t, mine.stdout)["HF_TOKEN_PATH"])
	assertWorks(t, ir.sb, "acme/model", tokA)
	pidShared := keeperOf(start(ir.a, "--token-dir", ir.shared), ir.a)

	for _, j := range []isoJob{ir.b, ir.c} {
		before := len(ir.sb.Rejections())
		r := start(j)
		ir.refusedByHub(t, ir.sb, j, r, before, "acme/model")
		if strings.Contains(r.stderr, "already") {
			t.Errorf("%s joined job A's keeper:\n%s", j.name, r.stderr)
		}

		r = start(j, "--token-dir", ir.shared)
		if r.code != 2 || !strings.Contains(r.stderr, "for another job") || r.stdout != "" {
			t.Errorf("%s in the directory job A's keeper holds: exit %d, want 2, \"for another job\" and nothing exported\nstdout: %s\nstderr: %s", j.name, r.code, r.stdout, r.stderr)
		}
		testkit.NoLeak(t, ir.sb, map[string]string{j.name + " stdout": r.stdout, j.name + " stderr": r.stderr})

		if r := j.run(t, "", "refresh", "--stop"); r.code != 0 || !strings.Contains(r.stderr, "no keeper runs") {
			t.Errorf("%s: --stop of its own default directory: exit %d\n%s", j.name, r.code, r.stderr)
		}
		if r := j.run(t, "", "refresh", "--stop", "--token-dir", ir.shared); r.code != 2 || !strings.Contains(r.stderr, "not started by this job") {
			t.Errorf("%s: --stop of job A's keeper: exit %d, want 2\n%s", j.name, r.code, r.stderr)
		}

		before = len(ir.sb.Rejections())
		r = j.run(t, "", "exec", "--resource", "acme/model", "--", "sh", "-c", `echo ran; cat "$HF_TOKEN_PATH"`)
		ir.refusedByHub(t, ir.sb, j, r, before, "acme/model")
		if strings.Contains(r.stdout, "ran") {
			t.Errorf("%s: exec ran its command without a token", j.name)
		}
	}
	for _, pid := range []int{pidDefault, pidShared} {
		if processGone(pid) {
			t.Errorf("job A's keeper (pid %d) was stopped by another job", pid)
		}
	}
	if r := ir.a.run(t, "", "refresh", "--stop", "--token-dir", ir.shared); r.code != 0 || !strings.Contains(r.stderr, "stopped the keeper") {
		t.Errorf("job A: --stop of its own keeper: exit %d\n%s", r.code, r.stderr)
	}
	if r := ir.a.run(t, "", "refresh", "--stop"); r.code != 0 || !strings.Contains(r.stderr, "stopped the keeper") {
		t.Errorf("job A: --stop of its default directory: exit %d\n%s", r.code, r.stderr)
	}
	waitGone(t, pidShared, 10*time.Second)
	waitGone(t, pidDefault, 10*time.Second)
}

// TestIsolationAtOnce: the three jobs run their git helper, refresh
// --detach and exec at the same moment, in their default directories and
// in one they all share: each gets the Hub's answer for itself, and
// nothing job A was issued appears anywhere B or C can see.
func TestIsolationAtOnce(t *testing.T) {
	t.Parallel()
	ir := newIsoRunner(t, sandbox.Config{})
	type call struct {
		j    isoJob
		args []string
		in   string
	}
	var calls []call
	for _, j := range []isoJob{ir.a, ir.b, ir.c} {
		for _, shared := range []bool{false, true} {
			jj := j
			if shared {
				jj = j.with("HF_OIDC_TOKEN_DIR=" + ir.shared)
			}
			calls = append(calls, call{jj, []string{"git-credential", "--resource", "acme/model", "get"}, credential(ir.sb, "acme/model")})
			if !shared {
				// In a directory of its own, as they run by default: two
				// keepers cannot share one, whoever they belong to.
				calls = append(calls,
					call{jj, []string{"exec", "--resource", "acme/model", "--", "sh", "-c", `test -s "$HF_TOKEN_PATH" && echo ran`}, ""},
					call{jj, []string{"refresh", "--detach", "--format", "shell", "--resource", "acme/model"}, ""})
			}
		}
	}
	results := make([]run, len(calls))
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i, c := range calls {
		wg.Go(func() {
			<-ready
			results[i] = c.j.run(t, c.in, c.args...)
		})
	}
	close(ready)
	wg.Wait()

	var aOutputs []string
	for i, c := range calls {
		r := results[i]
		what := fmt.Sprintf("%s %s", c.j.name, c.args[0])
		if c.j.name == ir.a.name {
			if r.code != 0 {
				t.Errorf("%s: exit %d\n%s", what, r.code, r.stderr)
			}
			aOutputs = append(aOutputs, r.stdout)
			if c.args[0] == "refresh" {
				if st, _ := readStatus(t, filepath.Dir(evalShell(t, r.stdout)["HF_TOKEN_PATH"])); st.PID > 0 {
					t.Cleanup(func() { syscall.Kill(st.PID, syscall.SIGKILL) })
				}
			}
			continue
		}
		if r.code != 1 || !strings.Contains(r.stderr, "invalid_grant") {
			t.Errorf("%s: exit %d, want the Hub's invalid_grant\nstdout: %s\nstderr: %s", what, r.code, r.stdout, r.stderr)
		}
		testkit.NoLeak(t, ir.sb, map[string]string{what + " stdout": r.stdout, what + " stderr": r.stderr})
	}
	if n := len(ir.sb.Rejections()); n != 8 {
		t.Errorf("the Hub refused %d exchanges, want 8: one per call of jobs B and C", n)
	}
	if pw := password(aOutputs[0]); pw != "" {
		if code, _ := whoami(t, ir.sb, pw); code != http.StatusOK {
			t.Errorf("job A's helper token: whoami %d", code)
		}
	}
	if entries, _ := os.ReadDir(ir.shared); len(entries) == 0 {
		t.Error("the shared directory holds nothing: the shared half of the test ran nowhere")
	}
}
