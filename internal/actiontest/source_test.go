package actiontest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestActionBuildsFromSource uses the action at a branch, which has no
// release: it builds hf-oidc from the action's own source with the go on
// PATH, at each use, since a binary left in the job's temporary directory
// is not to be trusted (go's build cache makes the second build quick).
func TestActionBuildsFromSource(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, trusted...)
	r := newRepo(t, true)
	r.write(t, ".release/VERSION", testVersion+"\n")
	r.workflow(t, `      - id: hf
        uses: hf-oidc/hf-oidc@main
        with:
`+resources+`      - uses: hf-oidc/hf-oidc@main
        with:
          resources: acme/awesome-model
      - run: hf-oidc version
`+useTokens)
	run := runAct(t, r, sb, actOptions{refs: []string{"main"}})
	assertTokensWork(t, sb, run)
	assertContains(t, run.out,
		"hf-oidc: the action's ref 'main' is not a release (this source's release is "+testVersion+"); building it from source with go1.",
		"hf-oidc main-dev (commit unknown",
	)
	if n := strings.Count(run.out, "hf-oidc: built from source in "); n != 2 {
		t.Errorf("hf-oidc was built %d times, want once per use of the action (2)", n)
	}
}

// TestActionNeedsGoWithoutRelease: at a ref with no release and no go on
// PATH, the step fails and says what to do.
func TestActionNeedsGoWithoutRelease(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, trusted...)
	r := newRepo(t, true)
	r.write(t, ".release/VERSION", testVersion+"\n")
	r.workflow(t, `      - uses: ./
        with:
          resources: acme/awesome-model
`)
	runActFailing(t, r, sb, actOptions{path: pathWithout(t, "go")},
		"the action's ref '(a local path)' is not a release (this source's release is "+testVersion+"), and there is no go on PATH to build it from source.",
		"Next: pin the action at a release tag (uses: hf-oidc/hf-oidc@v1), set the version input to the release you want, or give a binary.",
	)
	if st := sb.Stats(); st.Exchanges != 0 {
		t.Errorf("the job exchanged without a binary")
	}
}

// pathWithout is $PATH less every directory that holds name.
func pathWithout(t testing.TB, name string) string {
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !isExecutable(filepath.Join(dir, name)) {
			keep = append(keep, dir)
		}
	}
	return strings.Join(keep, string(os.PathListSeparator))
}
