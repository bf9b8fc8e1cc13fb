package packagingtest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// testVersion is the release the tests install: bin is stamped with it,
// and the packagings rendered for the download tests carry its digest.
const testVersion = "v1.0.0-test"

var (
	// root is the repository, whose gitlab/, circleci/ and bitbucket/
	// are under test.
	root string
	// bin is hf-oidc built as a release is (static, stamped testVersion),
	// alone in binDir, so that a PATH can hold it and nothing else of ours.
	bin, binDir string
	// standInExe plays the circleci CLI against the sandbox.
	standInExe string
	// testArchive is bin packed as the host's release archive, and
	// testRelease the digests the packagings carry for it.
	testArchive []byte
	testRelease releaseInfo
)

// host is the platform the tests run on, the one the release is for.
var host = release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "hf-oidc-packagingtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = filepath.Join(dir, "bin")
	bin = filepath.Join(binDir, "hf-oidc")
	standInExe = filepath.Join(dir, "standin", "circleci")
	builds := [][]string{
		{"build", "-trimpath", "-ldflags", "-s -w -X github.com/hf-oidc/hf-oidc/internal/cli.version=" + testVersion, "-o", bin, "./cmd/hf-oidc"},
		{"build", "-o", standInExe, "./internal/sandbox/standin"},
	}
	for _, args := range builds {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		// Static, like the release and the pipe image: FROM scratch has no libc.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go %s: %v\n%s", strings.Join(args, " "), err, out)
			return 1
		}
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var buf bytes.Buffer
	if err := release.WriteArchive(&buf, host, []release.File{{Name: release.BinaryName(host), Mode: 0o755, Data: data}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testArchive = buf.Bytes()
	testRelease = releaseInfo{Version: testVersion, Sums: release.Checksums{release.Sum(release.AssetName(testVersion, host), testArchive)}}
	return m.Run()
}

// startSandbox starts a sandbox whose Hub trusts each resource through
// trust (a Trust helper of the sandbox), and closes it after the test.
func startSandbox(t testing.TB, trust func(*sandbox.Sandbox, string), resources ...string) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(sandbox.Config{Keys: sandbox.SharedKeys})
	if err != nil {
		t.Fatalf("starting the sandbox: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	for _, r := range resources {
		trust(sb, r)
	}
	return sb
}

// systemPath is a PATH with the system's tools and dirs, and no hf-oidc:
// a directory that holds one (a developer's /usr/local/bin) is left out,
// so that the tests decide where hf-oidc comes from.
func systemPath(dirs ...string) string {
	var keep []string
	for _, d := range append(dirs, "/usr/local/bin", "/usr/bin", "/bin") {
		if _, err := os.Stat(filepath.Join(d, "hf-oidc")); err == nil || slices.Contains(keep, d) {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, ":")
}

// assertNoTokenFiles fails if a file under dir holds a Hub token, other
// than the files allowed to (the pipe's env file, a token directory).
func assertNoTokenFiles(t testing.TB, dir string, allowed ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, a := range allowed {
			if p == a {
				return nil
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if m := regexp.MustCompile(`hf_(jwt|oauth)_[A-Za-z0-9_\-]{8,}`).Find(data); m != nil {
			t.Errorf("%s holds a Hub token (%.12s…)", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func assertContains(t testing.TB, what, out string, wants ...string) {
	t.Helper()
	// gitlab-ci-local puts "JOB > " before each line of a job's output.
	unprefixed := regexp.MustCompile(`(?m)^[A-Za-z0-9_-]+ > `).ReplaceAllString(out, "")
	for _, w := range wants {
		if !testkit.Holds(out, w) && !testkit.Holds(unprefixed, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// startReleaseServer serves archive as the host's release of testVersion,
// as GitHub's release downloads do (nil: a release not published).
func startReleaseServer(t testing.TB, archive []byte) *testkit.ReleaseServer {
	t.Helper()
	s := testkit.StartReleaseServer(t)
	if archive != nil {
		s.Serve(testVersion, release.AssetName(testVersion, host), archive)
	}
	return s
}

// tampered is testArchive with one byte changed.
func tampered() []byte {
	b := bytes.Clone(testArchive)
	b[len(b)/2] ^= 0xff
	return b
}

func writeText(t testing.TB, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}
