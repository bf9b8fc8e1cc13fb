package packagingtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// The GitLab template and the orb carry the SHA-256 of the release they
// install, so that a download is checked against something that did not
// come with it. This file is the generator that writes those digests from
// .release/ (and copies the shared install library into the template), and
// the test that fails when they are out of date:
//
//	UPDATE_PACKAGING=1 go test ./internal/packagingtest -run TestPackagingUpToDate

const (
	installScript = "circleci/src/scripts/install.sh"
	gitlabFile    = "gitlab/templates/hf-oidc.yml"

	libraryBegin  = "# --- hf-oidc install library: begin ---"
	libraryEnd    = "# --- hf-oidc install library: end ---"
	releaseBegin  = "# --- release: generated from .release/ by UPDATE_PACKAGING=1 go test ./internal/packagingtest; do not edit ---"
	releaseEnd    = "# --- release: end ---"
	templateBegin = "# --- hf-oidc install library (copied from circleci/src/scripts/install.sh by UPDATE_PACKAGING=1 go test ./internal/packagingtest) ---"
	templateEnd   = "# --- end of the install library ---"
)

// releaseInfo is what the packagings carry of a release: its version and
// the digests of the archives the install script can use.
type releaseInfo struct {
	Version string
	Sums    release.Checksums
}

// readRelease reads the trust root the release build commits: VERSION and
// checksums.txt. No directory means no release yet, which is no error.
func readRelease(dir string) (releaseInfo, error) {
	v, err := os.ReadFile(filepath.Join(dir, "VERSION"))
	if errors.Is(err, fs.ErrNotExist) {
		return releaseInfo{}, nil
	}
	if err != nil {
		return releaseInfo{}, err
	}
	r := releaseInfo{Version: strings.TrimSpace(string(v))}
	if err := release.CheckVersion(r.Version); err != nil {
		return releaseInfo{}, fmt.Errorf("reading %s/VERSION: %w", dir, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		return releaseInfo{}, fmt.Errorf("reading the checksums of %s: %w", r.Version, err)
	}
	all, err := release.ParseChecksums(data)
	if err != nil {
		return releaseInfo{}, err
	}
	// The install script runs on Linux and macOS, from tar.gz archives.
	for _, p := range release.Platforms {
		name := release.AssetName(r.Version, p)
		if !strings.HasSuffix(name, ".tar.gz") {
			continue
		}
		if d, ok := all.Lookup(name); ok {
			r.Sums = append(r.Sums, release.Checksum{Digest: d, Name: name})
		}
	}
	if len(r.Sums) == 0 {
		return releaseInfo{}, fmt.Errorf("%s/checksums.txt has no tar.gz archive of %s", dir, r.Version)
	}
	return r, nil
}

// releaseBlock is the shell that carries r: the version, and a function
// that prints the digest of an archive or fails for any other name.
func releaseBlock(r releaseInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hf_oidc_release='%s'\nhf_oidc_sha256() {\n\tcase $1 in\n", r.Version)
	for _, s := range r.Sums {
		fmt.Fprintf(&b, "\t%s) echo %s ;;\n", s.Name, s.Digest)
	}
	b.WriteString("\t*) return 1 ;;\n\tesac\n}\n")
	return b.String()
}

// replaceBetween replaces the lines between the line begin and the line
// end (each found once, as a whole line but for indentation) with body,
// indented as begin is.
func replaceBetween(text, begin, end, body string) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	b, e := -1, -1
	for i, l := range lines {
		switch strings.TrimSpace(l) {
		case begin:
			if b >= 0 {
				return "", fmt.Errorf("%q appears twice", begin)
			}
			b = i
		case end:
			if e >= 0 {
				return "", fmt.Errorf("%q appears twice", end)
			}
			e = i
		}
	}
	if b < 0 || e < 0 || e < b {
		return "", fmt.Errorf("expected the line %q, then the line %q", begin, end)
	}
	indent := lines[b][:len(lines[b])-len(strings.TrimLeft(lines[b], " \t"))]
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	var out strings.Builder
	for _, l := range lines[:b+1] {
		out.WriteString(l)
	}
	for _, l := range strings.SplitAfter(body, "\n") {
		if strings.TrimSpace(l) == "" {
			if l != "" {
				out.WriteString("\n")
			}
			continue
		}
		out.WriteString(indent + l)
	}
	for _, l := range lines[e:] {
		out.WriteString(l)
	}
	return out.String(), nil
}

// between returns the lines strictly between the lines begin and end,
// without the indentation of begin.
func between(text, begin, end string) (string, error) {
	_, rest, ok := strings.Cut(text, begin+"\n")
	if !ok {
		return "", fmt.Errorf("no line %q", begin)
	}
	body, _, ok := strings.Cut(rest, end+"\n")
	if !ok {
		return "", fmt.Errorf("no line %q after %q", end, begin)
	}
	return body, nil
}

// stamp returns the install script and the GitLab template as the
// generator writes them for r.
func stamp(install, template string, r releaseInfo) (string, string, error) {
	install, err := replaceBetween(install, releaseBegin, releaseEnd, releaseBlock(r))
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", installScript, err)
	}
	lib, err := between(install, libraryBegin, libraryEnd)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", installScript, err)
	}
	template, err = replaceBetween(template, templateBegin, templateEnd, lib)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", gitlabFile, err)
	}
	return install, template, nil
}

// TestPackagingUpToDate fails when the digests in the orb and the GitLab
// template are not the ones .release/ commits, or when the template's
// install library is not the orb's. UPDATE_PACKAGING=1 rewrites them.
func TestPackagingUpToDate(t *testing.T) {
	r, err := readRelease(filepath.Join(root, ".release"))
	if err != nil {
		t.Fatal(err)
	}
	install, template := testkit.ReadText(t, filepath.Join(root, installScript)), testkit.ReadText(t, filepath.Join(root, gitlabFile))
	wantInstall, wantTemplate, err := stamp(install, template, r)
	if err != nil {
		t.Fatal(err)
	}
	for path, c := range map[string][2]string{installScript: {install, wantInstall}, gitlabFile: {template, wantTemplate}} {
		if c[0] == c[1] {
			continue
		}
		if os.Getenv("UPDATE_PACKAGING") == "1" {
			mode := os.FileMode(0o644)
			if strings.HasSuffix(path, ".sh") {
				mode = 0o755
			}
			writeText(t, filepath.Join(root, path), c[1], mode)
			t.Logf("updated %s", path)
			continue
		}
		t.Errorf("%s is out of date with .release/ (release %q) or with the install library: run UPDATE_PACKAGING=1 go test ./internal/packagingtest -run TestPackagingUpToDate", path, r.Version)
	}
}

func TestReleaseBlock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sums := "" +
		strings.Repeat("a", 64) + "  hf-oidc_v1.2.3_darwin_arm64.tar.gz\n" +
		strings.Repeat("b", 64) + "  hf-oidc_v1.2.3_linux_amd64.tar.gz\n" +
		strings.Repeat("c", 64) + "  hf-oidc_v1.2.3_windows_amd64.zip\n"
	writeText(t, filepath.Join(dir, "VERSION"), "v1.2.3\n", 0o644)
	writeText(t, filepath.Join(dir, "checksums.txt"), sums, 0o644)
	r, err := readRelease(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := releaseBlock(r)
	want := "hf_oidc_release='v1.2.3'\nhf_oidc_sha256() {\n\tcase $1 in\n" +
		"\thf-oidc_v1.2.3_linux_amd64.tar.gz) echo " + strings.Repeat("b", 64) + " ;;\n" +
		"\thf-oidc_v1.2.3_darwin_arm64.tar.gz) echo " + strings.Repeat("a", 64) + " ;;\n" +
		"\t*) return 1 ;;\n\tesac\n}\n"
	if got != want {
		t.Errorf("release block:\n%s\nwant:\n%s", got, want)
	}
	if none, err := readRelease(filepath.Join(dir, "absent")); err != nil || none.Version != "" || releaseBlock(none) != "hf_oidc_release=''\nhf_oidc_sha256() {\n\tcase $1 in\n\t*) return 1 ;;\n\tesac\n}\n" {
		t.Errorf("no release: %+v, %v", none, err)
	}
}

func TestReadReleaseRejects(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ version, sums, want string }{
		"not a tag":        {"1.2.3", "", `version "1.2.3"`},
		"no checksums":     {"v1.2.3", "-", "reading the checksums of v1.2.3"},
		"bad checksums":    {"v1.2.3", "xyz  hf-oidc_v1.2.3_linux_amd64.tar.gz\n", "line 1"},
		"another release":  {"v1.2.3", strings.Repeat("b", 64) + "  hf-oidc_v1.2.2_linux_amd64.tar.gz\n", "no tar.gz archive of v1.2.3"},
		"only zip archive": {"v1.2.3", strings.Repeat("c", 64) + "  hf-oidc_v1.2.3_windows_amd64.zip\n", "no tar.gz archive of v1.2.3"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeText(t, filepath.Join(dir, "VERSION"), c.version+"\n", 0o644)
			if c.sums != "-" {
				writeText(t, filepath.Join(dir, "checksums.txt"), c.sums, 0o644)
			}
			if _, err := readRelease(dir); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestReplaceBetween(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, body, want, err string
	}{
		{"indents", "a\n  B\n  old\n  E\nz\n", "x\n\ty\n\nz\n", "a\n  B\n  x\n  \ty\n\n  z\n  E\nz\n", ""},
		{"empty body", "B\nold\nE\n", "", "B\nE\n", ""},
		{"no end", "B\nold\n", "x\n", "", `then the line "E"`},
		{"end first", "E\nB\n", "x\n", "", `then the line "E"`},
		{"twice", "B\nE\nB\nE\n", "x\n", "", "appears twice"},
	}
	for _, tt := range tests {
		got, err := replaceBetween(tt.text, "B", "E", tt.body)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

// FuzzReplaceBetween checks that whatever the text, a replacement keeps
// both markers and everything outside them, and that doing it twice
// changes nothing.
func FuzzReplaceBetween(f *testing.F) {
	f.Add("a\nB\nold\nE\nz\n", "x\ny\n")
	f.Add("  B\n  E\n", "")
	f.Fuzz(func(t *testing.T, text, body string) {
		for _, l := range strings.Split(body, "\n") {
			if l := strings.TrimSpace(l); l == "B" || l == "E" {
				return // a body holding a marker is a programming error
			}
		}
		got, err := replaceBetween(text, "B", "E", body)
		if err != nil {
			return
		}
		if !strings.Contains(got, "B") || !strings.Contains(got, "E") {
			t.Fatalf("a marker went missing: %q", got)
		}
		again, err := replaceBetween(got, "B", "E", body)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q, then %q (%v)", got, again, err)
		}
	})
}

// renderedTemplate is the GitLab template carrying the digests of r.
func renderedTemplate(t testing.TB, r releaseInfo) string {
	t.Helper()
	_, tmpl, err := stamp(testkit.ReadText(t, filepath.Join(root, installScript)), testkit.ReadText(t, filepath.Join(root, gitlabFile)), r)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// renderedInstall is the orb's install script carrying the digests of r.
func renderedInstall(t testing.TB, r releaseInfo) string {
	t.Helper()
	install, _, err := stamp(testkit.ReadText(t, filepath.Join(root, installScript)), testkit.ReadText(t, filepath.Join(root, gitlabFile)), r)
	if err != nil {
		t.Fatal(err)
	}
	return install
}

// TestOneDownloadProgram keeps the python3 download of the action's
// install.sh the install library's (the orb's, copied into the GitLab
// template): one program, so that a fix to one, such as refusing a
// download cut short, reaches every packaging.
func TestOneDownloadProgram(t *testing.T) {
	action := testkit.ReadText(t, filepath.Join(root, ".github", "action", "install.sh"))
	lib := testkit.ReadText(t, filepath.Join(root, installScript))
	a, err := between(action, "fetch_python='", "'")
	if err != nil {
		t.Fatalf(".github/action/install.sh: %v", err)
	}
	l, err := between(lib, "\t\tpython3 -c '", "' \"$1\" \"$2\" \"$3\"")
	if err != nil {
		t.Fatalf("%s: %v", installScript, err)
	}
	if a != l || !strings.Contains(a, "urllib.request.urlopen") {
		t.Errorf("the python3 download of .github/action/install.sh is not the install library's:\n--- action\n%s--- library\n%s", a, l)
	}
}
