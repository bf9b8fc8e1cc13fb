package actiontest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
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
	r, srv, _ := released(t)
	srv.Stall(1)
	run := runInstall(t, r, os.Getenv("PATH"), "HF_OIDC_ACTION_REF=v1", "HF_OIDC_RELEASE_BASE_URL="+srv.URL, "HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT=2")
	if run.err != nil {
		t.Fatalf("install.sh failed after %s: %v\n%s", run.took, run.err, run.out)
	}
	if !strings.Contains(run.out, "SHA-256 verified against the action's committed checksums") {
		t.Errorf("install.sh said:\n%s", run.out)
	}
	if n := srv.Count(); n != 2 {
		t.Errorf("%d requests, want 2 (the stalled one, then one that worked)", n)
	}
	// 2 s for the stalled attempt, 1 s before the next, and the next: well
	// under 15 s even on a loaded machine.
	if run.took < 2*time.Second || run.took > 15*time.Second {
		t.Errorf("the install took %s, want 2 s to 15 s", run.took)
	}
	run.assertInstalled(t)
}

// TestInstallAttemptTimeoutChecked: a value of HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT
// that is no number of seconds fails the step before any download, with a
// message that names the variable and says what it expects.
func TestInstallAttemptTimeoutChecked(t *testing.T) {
	t.Parallel()
	requireTool(t, "bash")
	srv := testkit.StartReleaseServer(t)
	r := newRepo(t, false)
	commitRelease(t, r, host)
	for _, v := range []string{"0", "1.5", "60s", "999999", "$(id)"} {
		run := runInstall(t, r, os.Getenv("PATH"), "HF_OIDC_ACTION_REF=v1", "HF_OIDC_RELEASE_BASE_URL="+srv.URL, "HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT="+v)
		if ee, ok := run.err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%q: install.sh exited with %v, want 2 (bad input):\n%s", v, run.err, run.out)
		}
		if !strings.Contains(run.out, "hf-oidc setup: HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT is '"+v+"': expected the most seconds one download attempt may take") {
			t.Errorf("%q: install.sh said:\n%s", v, run.out)
		}
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("%d downloads, want none", n)
	}
}
