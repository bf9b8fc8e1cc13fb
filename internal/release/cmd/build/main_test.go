package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
)

func runBuild(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := run(context.Background(), args, &out, &out)
	return code, out.String()
}

// buildTool builds this command, to run it as a maintainer does: in
// process, under -race, compressing the archives would take minutes.
func buildTool(t *testing.T) func(args ...string) (int, string) {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "build")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the release build: %v\n%s", err, out)
	}
	return func(args ...string) (int, string) {
		t.Helper()
		out, err := exec.Command(exe, args...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatalf("running the release build: %v", err)
		}
		return 0, string(out)
	}
}

// TestReleaseBuild runs the release build as a maintainer does, then as the
// release workflow does, and compares the two byte for byte. It builds the
// host's platform only: every platform cold takes minutes on two cores, and
// the release workflow builds them all on every tag.
func TestReleaseBuild(t *testing.T) {
	p := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if p.OS == "windows" || len(mustParse(t, p.String())) == 0 {
		t.Skipf("no tar.gz release for %s", p)
	}
	runBuild := buildTool(t)
	tmp := t.TempDir()
	first, second, rel := filepath.Join(tmp, "first"), filepath.Join(tmp, "second"), filepath.Join(tmp, "release")
	t.Chdir("../../../..")
	common := []string{"-platforms", p.String(), "-commit", "0123abcd", "-release-dir", rel}

	code, out := runBuild(append(common, "-version", "v0.0.0-test", "-out", first)...)
	if code != 0 {
		t.Fatalf("release build: exit %d\n%s", code, out)
	}
	asset := release.AssetName("v0.0.0-test", p)
	for _, f := range []string{"VERSION", "checksums.txt", "go-version"} {
		if _, err := os.Stat(filepath.Join(rel, f)); err != nil {
			t.Errorf("the release directory lacks %s", f)
		}
	}
	if got := readFile(t, filepath.Join(rel, "VERSION")); got != "v0.0.0-test\n" {
		t.Errorf("VERSION = %q", got)
	}
	if got := readFile(t, filepath.Join(rel, "go-version")); !strings.HasPrefix(got, "go1.") {
		t.Errorf("go-version = %q", got)
	}
	sums, err := release.ParseChecksums([]byte(readFile(t, filepath.Join(rel, "checksums.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	archive := []byte(readFile(t, filepath.Join(first, asset)))
	if d, _ := sums.Lookup(asset); d != release.Sum(asset, archive).Digest {
		t.Errorf("the committed checksum of %s is not the archive's", asset)
	}
	// sha256sum -c checks the published folder as is.
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha, "-c", "checksums.txt")
		cmd.Dir = first
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}

	// The release workflow: rebuild on the tag and match the committed
	// checksums.
	code, out = runBuild(append(common, "-verify", "-version", "v0.0.0-test", "-out", second)...)
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	for _, f := range []string{asset, "checksums.txt"} {
		if readFile(t, filepath.Join(first, f)) != readFile(t, filepath.Join(second, f)) {
			t.Errorf("%s differs between the two release builds", f)
		}
	}

	// The binary says what it is.
	exe := filepath.Join(tmp, "hf-oidc")
	if err := os.WriteFile(exe, member(t, archive, "hf-oidc"), 0o755); err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command(exe, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "hf-oidc v0.0.0-test (commit 0123abcd, go") {
		t.Errorf("hf-oidc version: %q, %v", v, err)
	}

	t.Run("verify refuses", func(t *testing.T) {
		tampered := filepath.Join(tmp, "tampered")
		if err := os.CopyFS(tampered, os.DirFS(rel)); err != nil {
			t.Fatal(err)
		}
		sum := readFile(t, filepath.Join(tampered, "checksums.txt"))
		// Another first hex digit: a digest that differs, whatever it was.
		other := "0"
		if sum[0] == '0' {
			other = "1"
		}
		flipped := other + sum[1:]
		if err := os.WriteFile(filepath.Join(tampered, "checksums.txt"), []byte(flipped), 0o644); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			args []string
			code int
			want string
		}{
			{"other digest", []string{"-release-dir", tampered, "-version", "v0.0.0-test"}, 1, "differ from the checksums committed"},
			{"other tag", []string{"-release-dir", rel, "-version", "v0.0.1"}, 1, "the tag is v0.0.1 but"},
			{"no release", []string{"-release-dir", filepath.Join(tmp, "none"), "-version", "v0.0.0-test"}, 1, "reading the committed version"},
		}
		for _, c := range cases {
			args := append([]string{"-verify", "-platforms", p.String(), "-commit", "0123abcd", "-out", t.TempDir()}, c.args...)
			code, out := runBuild(args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("%s: exit %d, want %d and %q:\n%s", c.name, code, c.code, c.want, out)
			}
		}
	})
}

func TestBadFlags(t *testing.T) {
	t.Chdir("../../../..")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-version", "1.2.3"}, `-version: version "1.2.3": expected a release tag like v1.2.3`},
		{[]string{}, `-version: version "": expected`},
		{[]string{"-version", "v1.2.3", "-platforms", "plan9/amd64"}, `-platforms: platform "plan9/amd64"`},
		{[]string{"-version", "v1.2.3", "extra"}, `unexpected argument "extra"`},
		{[]string{"-frobnicate"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, out := runBuild(t, c.args...)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", c.args, code, c.want, out)
		}
	}
}

// TestSourceCommit checks the commit stamped by default: the last one that
// changed the source, which stays the same once .release/ is committed on
// top, and none at all while the tree has changes.
func TestSourceCommit(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, content string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("main.go", "package main\n")
	git("add", "-A")
	git("commit", "-qm", "source")
	source := git("rev-parse", "HEAD")
	write(".release/VERSION", "v1.0.0\n")
	write("dist/hf-oidc_v1.0.0_linux_amd64.tar.gz", "archive")

	ctx := context.Background()
	got, err := release.SourceCommit(ctx, ".release", "dist")
	if err != nil || got != source {
		t.Errorf("with .release/ and the output uncommitted: %q, %v; want %s", got, err, source)
	}
	// The READMEs' pins are committed with the release directory.
	write("README.md", "pinned\n")
	git("add", ".release", "README.md")
	git("commit", "-qm", "release")
	if got, err := release.SourceCommit(ctx, ".release", "dist"); err != nil || got != source {
		t.Errorf("with .release/ committed: %q, %v; want %s", got, err, source)
	}
	write("main.go", "package main // changed\n")
	if _, err := release.SourceCommit(ctx, ".release", "dist"); err == nil || !strings.Contains(err.Error(), "main.go") {
		t.Errorf("with a change: %v, want an error naming main.go", err)
	}
}

func mustParse(t *testing.T, s string) []release.Platform {
	ps, err := release.ParsePlatforms(s)
	if err != nil {
		return nil
	}
	return ps
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func member(t *testing.T, archive []byte, name string) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the archive: %v", name, err)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}
