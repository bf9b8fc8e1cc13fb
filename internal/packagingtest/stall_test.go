package packagingtest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestInstallLibraryStalledDownload serves a download that stalls
// mid-body on its first attempt: with each attempt bounded by
// HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT (2 s here), every downloader gives the
// stalled attempt up and installs from the second, in a few seconds rather
// than the whole default bound of an attempt (60 s), let alone the 300 s a
// stalled download used to hold the job for.
func TestInstallLibraryStalledDownload(t *testing.T) {
	t.Parallel()
	dash := testkit.RequireTool(t, "dash")
	lib := library(t, testRelease)
	for _, downloader := range []string{"curl", "wget", "python3"} {
		t.Run(downloader, func(t *testing.T) {
			t.Parallel()
			srv := startReleaseServer(t, testArchive)
			srv.Stall(1)
			path := toolPath(t, append(basicTools, downloader)...)
			tmp := t.TempDir()
			script := writeLibrary(t, lib)
			cmd := exec.Command(dash, "-c", `. "$1" && hf_oidc_install '' 'this test'`, "sh", script)
			cmd.Env = []string{"PATH=" + path, "TMPDIR=" + tmp, "HF_OIDC_RELEASE_BASE_URL=" + srv.URL, "HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT=2"}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			if err != nil {
				t.Fatalf("the install failed after %s: %v\n%s", took, err, stderr.String())
			}
			assertContains(t, "stderr", stderr.String(), "hf-oidc: installed "+testVersion)
			if n := srv.Count(); n != 2 {
				t.Errorf("%d requests, want 2 (the stalled one, then one that worked)", n)
			}
			// 2 s for the stalled attempt, 1 s before the next, and the
			// next: well under 15 s even on a loaded machine.
			if took < 2*time.Second || took > 15*time.Second {
				t.Errorf("the install took %s, want 2 s to 15 s", took)
			}
			bin := strings.TrimSpace(stdout.String())
			if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(v), "hf-oidc "+testVersion+" ") {
				t.Errorf("the installed %s says %q (%v)", bin, v, err)
			}
		})
	}
}

// TestInstallLibraryAttemptTimeoutChecked gives HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT
// values that are no number of seconds: the library names the variable,
// says what it expects, and downloads nothing.
func TestInstallLibraryAttemptTimeoutChecked(t *testing.T) {
	t.Parallel()
	dash := testkit.RequireTool(t, "dash")
	lib := library(t, testRelease)
	path := toolPath(t, append(basicTools, "curl")...)
	for _, v := range []string{"0", "1.5", "60s", "-1", "999999", "060"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			srv := startReleaseServer(t, testArchive)
			cmd := exec.Command(dash, "-c", `. "$1" && hf_oidc_install '' 'this test'`, "sh", writeLibrary(t, lib))
			cmd.Env = []string{"PATH=" + path, "TMPDIR=" + t.TempDir(), "HF_OIDC_RELEASE_BASE_URL=" + srv.URL, "HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT=" + v}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the install succeeded:\n%s", out)
			}
			assertContains(t, "the output", string(out), "hf-oidc setup: HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT is '"+v+"': expected the most seconds one download attempt may take", "Next: ")
			if n := srv.Count(); n != 0 {
				t.Errorf("%d downloads, want none", n)
			}
		})
	}
}

func writeLibrary(t *testing.T, lib string) string {
	t.Helper()
	p := t.TempDir() + "/library.sh"
	writeText(t, p, lib, 0o644)
	return p
}
