package actiontest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// pinnedSHA is the commit a workflow pins the action at in these tests.
const pinnedSHA = "0123456789abcdef0123456789abcdef01234567"

// recordTree writes .release/tree.sha256 for the repo's files as they are,
// as the release dry run's -record does for the release commit.
func recordTree(t testing.TB, r *repo) {
	t.Helper()
	var files []string
	err := filepath.WalkDir(r.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.dir, p)
		if d.IsDir() && (rel == ".git" || rel == ".release") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := release.TreeDigest(r.dir, files)
	if err != nil {
		t.Fatal(err)
	}
	r.write(t, ".release/"+release.TreeFile, tree+"\n")
}

// TestActionPinnedBySHA pins the action by commit SHA, as GitHub
// recommends: at the release's commit, it installs the release archive
// (no go, no source needed); at any other commit, its files differ from
// the release's and it builds its source.
func TestActionPinnedBySHA(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, trusted...)
	srv := testkit.StartReleaseServer(t)
	r := newRepo(t, false)
	asset := commitRelease(t, r, host)
	srv.Serve(testVersion, asset, goodRelease(t, host))
	r.workflow(t, strings.Replace(quickStart, "@v1", "@"+pinnedSHA, 1)+useTokens)
	recordTree(t, r)
	opts := actOptions{refs: []string{pinnedSHA}, env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}, path: pathWithout(t, "go")}
	run := runAct(t, r, sb, opts)
	assertTokensWork(t, sb, run)
	assertContains(t, run.out,
		"hf-oidc: commit "+pinnedSHA+" is release "+testVersion,
		asset+" SHA-256 verified against the action's committed checksums",
	)

	t.Run("another commit", func(t *testing.T) {
		other := newRepo(t, false)
		commitRelease(t, other, host)
		other.workflow(t, `      - uses: hf-oidc/hf-oidc@`+pinnedSHA+`
        with:
          resources: acme/awesome-model
`)
		recordTree(t, other)
		// One byte of the action changed since the release.
		script := filepath.Join(other.dir, ".github", "action", "exchange.sh")
		other.write(t, ".github/action/exchange.sh", testkit.ReadText(t, script)+"\n")
		run := runActFailing(t, other, sb, opts, "the action's ref '"+pinnedSHA+"' is not a release", "there is no go on PATH")
		if strings.Contains(run.out, "is release "+testVersion) || srv.Count() != 1 {
			t.Errorf("a commit whose files are not the release's installed the release (%d downloads)", srv.Count())
		}
	})
}

// TestActionWithoutCurl runs the action in a job whose PATH has no curl,
// as in `container: python:3.12-slim`: the download falls back to wget.
func TestActionWithoutCurl(t *testing.T) {
	t.Parallel()
	requireTool(t, "wget")
	sb := startSandbox(t, trusted...)
	r, srv, asset := released(t)
	r.workflow(t, quickStart+`      - run: test -n "$HF_TOKEN" && test -n "$HF_DATASET_TOKEN" && echo "the tokens are in the next step"
`)
	run := runAct(t, r, sb, actOptions{refs: []string{"v1"}, path: linkedPath(t, func(name string) bool { return name == "curl" }), env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}})
	if run.code != 0 {
		t.Fatalf("act exited %d:\n%s", run.code, run.out)
	}
	assertContains(t, run.out, "no curl on this job's PATH: downloading with wget", asset+" SHA-256 verified", "the tokens are in the next step")
	if n := sb.Stats().Exchanges; n != 3 {
		t.Errorf("%d exchanges, want 3", n)
	}
}

// TestInstallDownloaders runs the install script with one downloader at a
// time on PATH: each gets the release, and with none the step says so.
func TestInstallDownloaders(t *testing.T) {
	t.Parallel()
	r, srv, asset := released(t)
	for _, c := range []struct{ tool, want string }{
		{"curl", asset + " SHA-256 verified"},
		{"wget", "downloading with wget"},
		{"python3", "downloading with python3"},
		{"node", "downloading with "},
		{"", "this job has no curl, wget, python3 or node to download with"},
	} {
		t.Run("only "+c.tool, func(t *testing.T) {
			t.Parallel()
			path := onlyDownloader(t, c.tool)
			run := runInstall(t, r, path, "HF_OIDC_ACTION_REF=v1", "HF_OIDC_RELEASE_BASE_URL="+srv.URL)
			if !strings.Contains(run.out, c.want) {
				t.Errorf("install.sh (err %v) said:\n%s\nwant %q", run.err, run.out, c.want)
			}
			if c.tool != "" {
				run.assertInstalled(t)
			} else if run.err == nil {
				t.Error("install.sh succeeded with nothing to download with")
			}
		})
	}
}

// onlyDownloader is a PATH of links to every command on $PATH but the
// downloaders the install script knows, save tool.
func onlyDownloader(t *testing.T, tool string) string {
	t.Helper()
	if tool != "" {
		requireTool(t, tool)
	}
	return linkedPath(t, func(name string) bool {
		downloader := name == "curl" || name == "wget" || name == "node" || strings.HasPrefix(name, "python")
		return downloader && name != tool
	})
}

// linkedPath is a PATH of one directory of links to every command on
// $PATH but those leave says to leave out: a job image without them.
func linkedPath(t *testing.T, leave func(name string) bool) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if name := e.Name(); !leave(name) && isExecutable(filepath.Join(d, name)) {
				os.Symlink(filepath.Join(d, name), filepath.Join(dir, name)) // the first on PATH wins
			}
		}
	}
	return dir
}
