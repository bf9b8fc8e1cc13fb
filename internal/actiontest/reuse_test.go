package actiontest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestActionReverifiesItsBinary uses the action three times in one job and,
// between the uses, replaces what the earlier ones left in the job's
// temporary directory ($RUNNER_TEMP, which every step of the job can write
// to) with a binary that would leave a marker file if it ran: first the
// unpacked binaries, then the kept archive and the tool cache's copy too.
// The tampered binary never runs: each use checks the archive against the
// committed digest again and extracts a new binary from it, or, when the
// archives no longer match, downloads the release again.
func TestActionReverifiesItsBinary(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, trusted...)
	r, srv, asset := released(t)
	marker := filepath.Join(t.TempDir(), "tampered-binary-ran")
	// tamper replaces every hf-oidc binary in the job's temporary
	// directory, and the files that more finds, with a script that leaves
	// the marker.
	tamper := func(what, more string) string {
		return `      - name: tamper with ` + what + `
        run: |
          n=0
          for f in $(find "$RUNNER_TEMP/hf-oidc" -type f -name hf-oidc) ` + more + `; do
            printf '#!/bin/sh\ntouch ` + marker + `\n' >"$f"
            n=$((n + 1))
          done
          echo "tampered with $n files"
`
	}
	archives := `$(find "$RUNNER_TEMP/hf-oidc" "$RUNNER_TOOL_CACHE/hf-oidc" -type f -name '*.tar.gz')`
	use := func(id string) string {
		return "      - id: " + id + "\n        uses: hf-oidc/hf-oidc@v1\n        with:\n" + resources
	}
	r.workflow(t, use("first")+tamper("the binary", "")+use("second")+tamper("the binaries and the archives", archives)+use("hf")+
		"      - run: hf-oidc version\n"+useTokens)
	run := runAct(t, r, sb, actOptions{refs: []string{"v1"}, cacheDir: t.TempDir(), env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}})
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("a tampered binary ran:\n%s", run.out)
	}
	assertTokensWork(t, sb, run)
	assertContains(t, run.out,
		"tampered with 1 files",
		asset+" downloaded earlier in this job, SHA-256 verified again",
		"tampered with 4 files", // the two binaries, the kept archive, the tool cache's
		asset+" kept earlier in this job no longer matches its committed SHA-256; removed, downloading it again",
		"the tool cache's "+asset+" does not match its committed SHA-256; removed, downloading it again",
		"hf-oidc "+testVersion+" (",
	)
	if n := strings.Count(run.out, "hf-oidc: installed "+testVersion); n != 3 {
		t.Errorf("hf-oidc was installed %d times, want once per use (3)", n)
	}
	if n := srv.Count(); n != 2 {
		t.Errorf("the release server was asked %d times, want twice (at first, and once the archives were tampered with)", n)
	}
	// Every exchange ran a verified binary: each use's own tokens work
	// (assertTokensWork), and the Hub saw one ID token per use.
	if st := sb.Stats(); st.IDTokenRequests != 3 {
		t.Errorf("%d ID-token requests, want one per use (3)", st.IDTokenRequests)
	}
}
