package packagingtest

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// TestReleaseWorkflowOrder checks the release workflow's order, which
// actionlint cannot: the committed-checksum rebuild runs before anything
// else of the build job, every package is made by the dry run that checks
// it against packages.txt, and the major versions move only after every
// other job, so that `@v1`, `:1` and the orb's `@1` never name a release
// that is half published.
func TestReleaseWorkflowOrder(t *testing.T) {
	t.Parallel()
	var wf struct {
		Jobs map[string]struct {
			Needs any `json:"needs"`
			Steps []struct {
				Uses string `json:"uses"`
				Run  string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	text := testkit.ReadText(t, filepath.Join(root, ".github", "workflows", "release.yml"))
	if err := json.Unmarshal(testkit.YAMLDocs(t, text)[0], &wf); err != nil {
		t.Fatal(err)
	}
	majors, ok := wf.Jobs["majors"]
	if !ok {
		t.Fatal("no majors job")
	}
	var needs []string
	switch n := majors.Needs.(type) {
	case string:
		needs = []string{n}
	case []any:
		for _, x := range n {
			needs = append(needs, x.(string))
		}
	}
	for name := range wf.Jobs {
		if name != "majors" && name != "build" && !slices.Contains(needs, name) {
			t.Errorf("job %s is not in majors' needs: the major versions could move before it succeeded", name)
		}
	}
	var runs []string
	for _, s := range wf.Jobs["build"].Steps {
		if s.Run != "" {
			runs = append(runs, s.Run)
		}
	}
	verify := slices.IndexFunc(runs, func(r string) bool { return strings.Contains(r, "cmd/build -verify") })
	dry := slices.IndexFunc(runs, func(r string) bool {
		return strings.Contains(r, "cmd/dryrun -verify") && strings.Contains(r, "-archives dist")
	})
	if verify < 0 || dry < verify {
		t.Errorf("the build job must rebuild against the committed checksums, then make the packages from those archives with the dry run's -verify; it runs:\n%s", strings.Join(runs, "\n"))
	}
}
