package actiontest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/release"
)

// TestInstallStalledDownload runs the action's install script against a
// release server, on loopback only, whose first answer stalls halfway
// through the body: the headers (with the full Content-Length) and half
// the archive, then nothing until the client gives up. With each attempt
// bounded by HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT (2 s here), curl gives the
// stalled attempt up and installs from the second, in a few seconds rather
// than the default bound of an attempt (60 s), let alone the 300 s a
// stalled download used to hold the job for.
func TestInstallStalledDownload(t *testing.T) {
	t.Parallel()
	requireTool(t, "bash")
	requireTool(t, "curl")
	archive := goodRelease(t, host)
	path := "/" + testVersion + "/" + release.AssetName(testVersion, host)
	var mu sync.Mutex
	hits := 0
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		hits++
		first := hits == 1
		mu.Unlock()
		w.Header().Set("Content-Length", strconv.Itoa(len(archive)))
		if !first {
			w.Write(archive)
			return
		}
		w.Write(archive[:len(archive)/2])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: no handler holds Close up

	r := newRepo(t, false)
	commitRelease(t, r, host)
	tmp := t.TempDir()
	out := filepath.Join(tmp, "github_output")
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(r.dir, ".github", "action", "install.sh"))
	cmd.Dir = tmp
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"GITHUB_ACTION_PATH=" + r.dir,
		"GITHUB_OUTPUT=" + out,
		"RUNNER_TEMP=" + tmp,
		"HF_OIDC_ACTION_REF=v1",
		"HF_OIDC_RELEASE_BASE_URL=" + srv.URL,
		"HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT=2",
	}
	start := time.Now()
	got, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("install.sh failed after %s: %v\n%s", took, err, got)
	}
	if !strings.Contains(string(got), "SHA-256 verified against the action's committed checksums") {
		t.Errorf("install.sh said:\n%s", got)
	}
	mu.Lock()
	n := hits
	mu.Unlock()
	if n != 2 {
		t.Errorf("%d requests, want 2 (the stalled one, then one that worked)", n)
	}
	// 2 s for the stalled attempt, 1 s before the next, and the next: well
	// under 15 s even on a loaded machine.
	if took < 2*time.Second || took > 15*time.Second {
		t.Errorf("the install took %s, want 2 s to 15 s", took)
	}
	bin := strings.TrimSpace(strings.TrimPrefix(readText(t, out), "path="))
	if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(v), "hf-oidc "+testVersion) {
		t.Errorf("the installed binary %s: %q, %v", bin, v, err)
	}
}

// TestInstallAttemptTimeoutChecked: a value of HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT
// that is no number of seconds fails the step before any download, with a
// message that names the variable and says what it expects.
func TestInstallAttemptTimeoutChecked(t *testing.T) {
	t.Parallel()
	requireTool(t, "bash")
	srv := startReleaseServer(t)
	r := newRepo(t, false)
	commitRelease(t, r, host)
	for _, v := range []string{"0", "1.5", "60s", "999999", "$(id)"} {
		tmp := t.TempDir()
		out := filepath.Join(tmp, "github_output")
		cmd := exec.Command("bash", filepath.Join(r.dir, ".github", "action", "install.sh"))
		cmd.Dir = tmp
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_ACTION_PATH=" + r.dir, "GITHUB_OUTPUT=" + out, "RUNNER_TEMP=" + tmp,
			"HF_OIDC_ACTION_REF=v1", "HF_OIDC_RELEASE_BASE_URL=" + srv.URL, "HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT=" + v}
		got, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%q: install.sh exited with %v, want 2 (bad input):\n%s", v, err, got)
		}
		if !strings.Contains(string(got), "hf-oidc setup: HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT is '"+v+"': expected the most seconds one download attempt may take") {
			t.Errorf("%q: install.sh said:\n%s", v, got)
		}
	}
	if n := srv.count(); n != 0 {
		t.Errorf("%d downloads, want none", n)
	}
}
