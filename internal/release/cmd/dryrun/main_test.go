package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// fakeRelease makes a git repository with what the dry run reads (the orb's
// source, the GitLab include, a README) and, in dist/, release archives of
// a stand-in binary with their checksums committed in .release/: the
// release workflow's state after the release build, without minutes of
// compiling. It returns the repository's path.
func fakeRelease(t *testing.T, version string) string {
	t.Helper()
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyTree(t, filepath.Join(root, "circleci", "src"), filepath.Join(dir, "circleci", "src"))
	copyTree(t, filepath.Join(root, "gitlab", "templates"), filepath.Join(dir, "gitlab", "templates"))
	write(t, filepath.Join(dir, "cmd", "hf-oidc", "main.go"), "package main\n")
	write(t, filepath.Join(dir, "README.md"), "- pipe: docker://ghcr.io/hf-oidc/hf-oidc-pipe:1\n"+
		"include:\n  - remote: https://raw.githubusercontent.com/hf-oidc/hf-oidc/v1/gitlab/templates/hf-oidc.yml\n")
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "source")

	var assets []release.Asset
	for _, p := range release.Platforms {
		var b bytes.Buffer
		if err := release.WriteArchive(&b, p, []release.File{{Name: release.BinaryName(p), Mode: 0o755, Data: []byte("hf-oidc for " + p.String())}}); err != nil {
			t.Fatal(err)
		}
		a := release.Asset{Platform: p, Name: release.AssetName(version, p), Data: b.Bytes()}
		write(t, filepath.Join(dir, "dist", a.Name), string(a.Data))
		assets = append(assets, a)
	}
	sums := string(release.ChecksumsOf(assets).Format())
	write(t, filepath.Join(dir, "dist", "checksums.txt"), sums)
	write(t, filepath.Join(dir, ".release", "checksums.txt"), sums)
	write(t, filepath.Join(dir, ".release", "VERSION"), version+"\n")
	return dir
}

func circleciCLI(t *testing.T) string {
	tools := os.Getenv("HF_OIDC_CI_TOOLS")
	if tools == "" {
		home, _ := os.UserHomeDir()
		tools = filepath.Join(home, ".cache", "hf-oidc-ci")
	}
	return testkit.RequireTool(t, "circleci-cli-v0.1.47860", filepath.Join(tools, "circleci-cli-v0.1.47860", "circleci"))
}

func dryrun(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(context.Background(), append(args, "-podman", "none", "-circleci", circleciCLI(t)), &out, &out)
	return code, out.String()
}

// TestRecordThenVerify plays a release: -record at release time writes
// packages.txt and pins the README; -verify on the tag passes while
// nothing changed, and fails, naming what, when a package changed.
func TestRecordThenVerify(t *testing.T) {
	testkit.RequireTool(t, "git")
	dir := fakeRelease(t, "v1.2.3")
	t.Chdir(dir)

	if code, out := dryrun(t, "-record", "-archives", "dist", "-out", "packages"); code != 0 {
		t.Fatalf("-record exited %d:\n%s", code, out)
	}
	recorded, err := release.ParsePackages([]byte(readFile(t, ".release/packages.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if recorded.Version != "v1.2.3" || recorded.GitLabInclude != release.Integrity([]byte(readFile(t, release.GitLabInclude))) {
		t.Errorf("recorded %+v", recorded)
	}
	readme := readFile(t, "README.md")
	for _, want := range []string{
		"docker://ghcr.io/hf-oidc/hf-oidc-pipe:1.2.3@" + recorded.PipeImage + "\n",
		"hf-oidc/v1.2.3/gitlab/templates/hf-oidc.yml\n    integrity: '" + recorded.GitLabInclude + "'\n",
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("the README does not pin %q:\n%s", want, readme)
		}
	}
	// The maintainer commits the record and the pins, and tags.
	git(t, dir, "add", "-A", ".release", "README.md")
	git(t, dir, "commit", "-qm", "release v1.2.3")

	code, out := dryrun(t, "-verify", "-version", "v1.2.3", "-archives", "dist", "-out", "packages")
	if code != 0 {
		t.Fatalf("-verify of an unchanged release exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, "the packages match .release/packages.txt") {
		t.Errorf("-verify says:\n%s", out)
	}

	write(t, release.GitLabInclude, readFile(t, release.GitLabInclude)+"# changed after the record\n")
	code, out = dryrun(t, "-verify", "-archives", "dist", "-out", "packages")
	if code != 1 || !strings.Contains(out, "gitlab-include: "+recorded.GitLabInclude) {
		t.Errorf("-verify of a changed include exited %d, want 1 naming the include:\n%s", code, out)
	}
	// Another archive means another binary in the image.
	arc := filepath.Join("dist", release.AssetName("v1.2.3", release.Platform{OS: "linux", Arch: "amd64"}))
	var b bytes.Buffer
	release.WriteArchive(&b, release.Platform{OS: "linux", Arch: "amd64"}, []release.File{{Name: "hf-oidc", Mode: 0o755, Data: []byte("another")}})
	write(t, arc, b.String())
	code, out = dryrun(t, "-verify", "-archives", "dist", "-out", "packages")
	if code != 1 || !strings.Contains(out, "differ from their checksums.txt") {
		t.Errorf("-verify of a changed archive exited %d, want 1:\n%s", code, out)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-record", "-verify"},
		{"-version", "1.2.3"},
		{"extra"},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), args, &out, &out); code != 2 {
			t.Errorf("%q exited %d, want 2:\n%s", args, code, out.String())
		}
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		write(t, filepath.Join(dst, rel), string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
