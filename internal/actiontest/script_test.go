package actiontest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestInstallPicksTheBinary runs the action's install script alone, as the
// runner would on each kind of runner and at each kind of ref, and checks
// where it gets hf-oidc from. It runs without go on PATH, so that a choice
// to build from source shows as the error that says so.
func TestInstallPicksTheBinary(t *testing.T) {
	t.Parallel()
	requireTool(t, "bash")
	r, srv, _ := released(t)
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
			run := runInstall(t, r, pathWithout(t, "go"),
				"RUNNER_OS="+c.os,
				"RUNNER_ARCH="+c.arch,
				"HF_OIDC_ACTION_REF="+c.ref,
				"HF_OIDC_INPUT_VERSION="+c.version,
				"HF_OIDC_RELEASE_BASE_URL="+srv.URL,
			)
			if !strings.Contains(run.out, c.want) {
				t.Errorf("install.sh (err %v) said:\n%s\nwant %q", run.err, run.out, c.want)
			}
			if c.want == download {
				run.assertInstalled(t)
			} else if run.err == nil {
				t.Errorf("install.sh succeeded")
			}
		})
	}
}

// installRun is what one run of the action's install script left.
type installRun struct {
	out    string // stdout and stderr
	err    error
	took   time.Duration
	output string // the path of its GITHUB_OUTPUT
}

// runInstall runs the action's install.sh of r alone, as the runner's step
// would: in a new temporary directory, which is also its RUNNER_TEMP, with
// an empty GITHUB_OUTPUT, PATH path, and the NAME=VALUE pairs of env.
func runInstall(t testing.TB, r *repo, path string, env ...string) installRun {
	t.Helper()
	tmp := t.TempDir()
	output := filepath.Join(tmp, "github_output")
	if err := os.WriteFile(output, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(r.dir, ".github", "action", "install.sh"))
	cmd.Dir = tmp
	cmd.Env = append([]string{"PATH=" + path, "GITHUB_ACTION_PATH=" + r.dir, "GITHUB_OUTPUT=" + output, "RUNNER_TEMP=" + tmp}, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return installRun{out: string(out), err: err, took: time.Since(start), output: output}
}

// assertInstalled fails unless the binary the run's GITHUB_OUTPUT names is
// hf-oidc testVersion.
func (run installRun) assertInstalled(t testing.TB) {
	t.Helper()
	bin := strings.TrimSpace(strings.TrimPrefix(testkit.ReadText(t, run.output), "path="))
	if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(v), "hf-oidc "+testVersion) {
		t.Errorf("the installed binary %s: %q, %v", bin, v, err)
	}
}
