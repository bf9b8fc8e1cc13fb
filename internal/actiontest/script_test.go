package actiontest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
)

// TestInstallPicksTheBinary runs the action's install script alone, as the
// runner would on each kind of runner and at each kind of ref, and checks
// where it gets hf-oidc from. It runs without go on PATH, so that a choice
// to build from source shows as the error that says so.
func TestInstallPicksTheBinary(t *testing.T) {
	t.Parallel()
	requireTool(t, "bash")
	srv := startReleaseServer(t)
	srv.serve(testVersion, release.AssetName(testVersion, host), goodRelease(t, host))
	r := newRepo(t, false)
	commitRelease(t, r, host)
	runner := map[string]string{"linux": "Linux", "darwin": "macOS", "windows": "Windows"}[host.OS]
	arch := map[string]string{"amd64": "X64", "arm64": "ARM64"}[host.Arch]

	const (
		download = "SHA-256 verified against the action's committed checksums"
		source   = "is not a release (this source's release is " + testVersion + "), and there is no go on PATH"
	)
	cases := []struct {
		name, ref, version, os, arch, want string
	}{
		{"the release's own tag", testVersion, "", runner, arch, download},
		{"its major tag", "v1", "", runner, arch, download},
		{"its minor tag", "v1.0", "", runner, arch, download},
		{"another major tag", "v2", "", runner, arch, "the action's ref 'v2' " + source},
		{"another release's tag", "v1.0.0", "", runner, arch, "the action's ref 'v1.0.0' " + source},
		{"a branch", "main", "", runner, arch, "the action's ref 'main' " + source},
		{"a commit", "0123456789abcdef0123456789abcdef01234567", "", runner, arch, source},
		{"a local path", "", "", runner, arch, "the action's ref '(a local path)' " + source},
		{"a branch, with the release named", "main", testVersion, runner, arch, download},
		{"macOS arm64", "v1", "", "macOS", "ARM64", "no SHA-256 for hf-oidc_" + testVersion + "_darwin_arm64.tar.gz is committed"},
		{"Windows x64", "v1", "", "Windows", "X64", "no SHA-256 for hf-oidc_" + testVersion + "_windows_amd64.zip is committed"},
		{"Windows arm64", "v1", "", "Windows", "ARM64", "no SHA-256 for hf-oidc_" + testVersion + "_windows_arm64.zip is committed"},
		{"Linux arm64", "v1", "", "Linux", "ARM64", "no SHA-256 for hf-oidc_" + testVersion + "_linux_arm64.tar.gz is committed"},
		{"32-bit", "v1", "", "Linux", "X86", "runner CPU 'X86' has no hf-oidc release (x64 and arm64 do)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.os == runner && c.arch == arch && strings.Contains(c.want, "no SHA-256") {
				t.Skip("the host's own platform has a digest")
			}
			tmp := t.TempDir()
			out := filepath.Join(tmp, "github_output")
			if err := os.WriteFile(out, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", filepath.Join(r.dir, ".github", "action", "install.sh"))
			cmd.Dir = tmp
			cmd.Env = []string{
				"PATH=" + pathWithout(t, "go"),
				"GITHUB_ACTION_PATH=" + r.dir,
				"GITHUB_OUTPUT=" + out,
				"RUNNER_TEMP=" + tmp,
				"RUNNER_OS=" + c.os,
				"RUNNER_ARCH=" + c.arch,
				"HF_OIDC_ACTION_REF=" + c.ref,
				"HF_OIDC_INPUT_VERSION=" + c.version,
				"HF_OIDC_RELEASE_BASE_URL=" + srv.URL,
			}
			got, err := cmd.CombinedOutput()
			if !strings.Contains(string(got), c.want) {
				t.Errorf("install.sh (err %v) said:\n%s\nwant %q", err, got, c.want)
			}
			if c.want == download {
				path := strings.TrimSpace(strings.TrimPrefix(readText(t, out), "path="))
				if v, err := exec.Command(path, "version").Output(); err != nil || !strings.HasPrefix(string(v), "hf-oidc "+testVersion) {
					t.Errorf("the installed binary %s: %q, %v", path, v, err)
				}
			} else if err == nil {
				t.Errorf("install.sh succeeded")
			}
		})
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
