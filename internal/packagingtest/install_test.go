package packagingtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The install library (circleci/src/scripts/install.sh, copied into the
// GitLab template) run alone under dash, the plainest POSIX sh at hand, the
// way both packagings call it: hf_oidc_install VERSION ORIGIN in a
// subshell, the path of the hf-oidc to use on stdout.

// toolPath is a directory holding only the named system tools, for a PATH
// that lacks the others (curl, an hf-oidc).
func toolPath(t *testing.T, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range tools {
		p := testkit.RequireTool(t, name)
		if name == "python3" {
			// It may be a wrapper script (pyenv) that needs more of PATH.
			out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output()
			if err != nil {
				t.Fatal(err)
			}
			p = strings.TrimSpace(string(out))
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// basicTools are what the library needs besides a downloader.
var basicTools = []string{"sh", "mktemp", "uname", "tar", "gzip", "sha256sum", "cut", "rm", "chmod"}

type installRun struct {
	code     int
	path     string // stdout: the hf-oidc to use
	stderr   string
	tmp      string // the TMPDIR it ran with
	download int    // requests to the release server
}

func runInstall(t *testing.T, library, version, path string, archive []byte) installRun {
	t.Helper()
	dash := testkit.RequireTool(t, "dash")
	srv := startReleaseServer(t, archive)
	dir := t.TempDir()
	lib := filepath.Join(dir, "library.sh")
	writeText(t, lib, library, 0o644)
	r := installRun{tmp: t.TempDir()}
	cmd := exec.Command(dash, "-c", `. "$1" && hf_oidc_install "$2" 'this test'`, "sh", lib, version)
	cmd.Env = []string{"PATH=" + path, "TMPDIR=" + r.tmp, "HF_OIDC_RELEASE_BASE_URL=" + srv.URL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.path, r.stderr, r.download = strings.TrimSpace(stdout.String()), stderr.String(), srv.Count()
	return r
}

// library returns the install library carrying the digests of r.
func library(t *testing.T, r releaseInfo) string {
	t.Helper()
	lib, err := between(renderedInstall(t, r), libraryBegin, libraryEnd)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func TestInstallLibrary(t *testing.T) {
	t.Parallel()
	withRelease := library(t, testRelease)
	withCurl := toolPath(t, append(basicTools, "curl")...)
	for name, c := range map[string]struct {
		library, version, path string
		archive                []byte
		code, downloads        int
		want                   string
	}{
		"on PATH": {withRelease, "", binDir + ":" + withCurl, testArchive, 0, 0,
			"hf-oidc: using " + bin + ", already on PATH (hf-oidc " + testVersion},
		"on PATH, whatever the version": {withRelease, "v9.9.9", binDir + ":" + withCurl, testArchive, 0, 0, "already on PATH"},
		"downloaded with curl": {withRelease, "", withCurl, testArchive, 0, 1,
			"hf-oidc: installed " + testVersion + " from hf-oidc_" + testVersion + "_"},
		"downloaded with wget": {withRelease, testVersion, toolPath(t, append(basicTools, "wget")...), testArchive, 0, 1, "hf-oidc: installed " + testVersion},
		// python images (python:3-slim) have neither curl nor wget.
		"downloaded with python3": {withRelease, "", toolPath(t, append(basicTools, "python3")...), testArchive, 0, 1, "hf-oidc: installed " + testVersion},
		"tampered": {withRelease, "", withCurl, tampered(), 1, 1,
			"hf-oidc setup: SHA-256 mismatch for hf-oidc_" + testVersion + "_" + host.OS + "_" + host.Arch + ".tar.gz from http://127.0.0.1:"},
		"not published": {withRelease, "", withCurl, nil, 1, 1, "hf-oidc setup: downloading http://127.0.0.1:"},
		"another release": {withRelease, "v1.2.3", withCurl, testArchive, 1, 0,
			"this test carries the SHA-256 of release " + testVersion + " only, so it cannot verify v1.2.3. Next: use this test at release v1.2.3 itself, or leave version empty."},
		"not a tag":         {withRelease, "latest", withCurl, testArchive, 1, 0, "version 'latest' is not a release tag like v1.2.3"},
		"not a plain value": {withRelease, "v1;id", withCurl, testArchive, 1, 0, "version 'v1;id' is not a release tag"},
		"no downloader":     {withRelease, "", toolPath(t, basicTools...), testArchive, 1, 0, "neither curl, wget nor python3"},
		"no release carried": {library(t, releaseInfo{}), "", withCurl, testArchive, 1, 0,
			"no hf-oidc on PATH, and this test comes from a commit that carries no release to install"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := runInstall(t, c.library, c.version, c.path, c.archive)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\n%s", r.code, c.code, r.stderr)
			}
			assertContains(t, "stderr", r.stderr, c.want)
			if r.download != c.downloads {
				t.Errorf("%d downloads, want %d", r.download, c.downloads)
			}
			switch {
			case c.code != 0 && r.path != "":
				t.Errorf("printed a path after a failure: %q", r.path)
			case c.code != 0:
				assertContains(t, "stderr", r.stderr, "(see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)")
				// Nothing half-installed is left behind.
				if left, _ := filepath.Glob(filepath.Join(r.tmp, "hf-oidc.*")); len(left) > 0 {
					t.Errorf("left %v", left)
				}
			case c.downloads == 0 && r.path != bin:
				t.Errorf("chose %q, want the one on PATH", r.path)
			case c.downloads > 0:
				out, err := exec.Command(r.path, "version").Output()
				if err != nil || !strings.HasPrefix(string(out), "hf-oidc "+testVersion+" ") {
					t.Errorf("the installed %s says %q (%v)", r.path, out, err)
				}
				if st, err := os.Stat(filepath.Dir(r.path)); err != nil || st.Mode().Perm() != 0o700 {
					t.Errorf("its directory: %v, %v; want mode 0700 (mktemp -d)", st.Mode(), err)
				}
			}
		})
	}
}
