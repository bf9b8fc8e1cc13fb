package packagingtest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestPinnedReferences checks that the READMEs name exactly what the
// committed release published, as the release dry run recorded it in
// .release/packages.txt at release time (and the release workflow checked
// again on the tag): the pipe's image by digest, the GitLab include at
// the tag with its integrity, the orb at its version. With no release
// committed, they name the unpinned major version: there is nothing yet
// to pin to. The dry run's -record writes the pins.
func TestPinnedReferences(t *testing.T) {
	t.Parallel()
	var p *release.Packages
	switch data, err := os.ReadFile(filepath.Join(root, ".release", "packages.txt")); {
	case errors.Is(err, fs.ErrNotExist):
		t.Log("no release is committed (.release/packages.txt is absent): the READMEs must name the unpinned major version")
	case err != nil:
		t.Fatal(err)
	default:
		parsed, err := release.ParsePackages(data)
		if err != nil {
			t.Fatal(err)
		}
		r, err := readRelease(filepath.Join(root, ".release"))
		if err != nil {
			t.Fatal(err)
		}
		if parsed.Version != r.Version {
			t.Fatalf(".release/packages.txt is for %s, .release/VERSION says %s: run the release dry run with -record", parsed.Version, r.Version)
		}
		p = &parsed
	}
	for _, f := range release.PinnedDocs {
		text := testkit.ReadText(t, filepath.Join(root, f))
		if want := release.Pin(text, p); text != want {
			t.Errorf("%s does not pin what .release/packages.txt records; go run ./internal/release/cmd/dryrun -record rewrites it:\n%s", f, lineDiff(text, want))
		}
	}
}

// lineDiff shows the lines of a that b changes, and b's.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
			if len(out) > 10 {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}
