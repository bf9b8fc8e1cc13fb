package actiontest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/release"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// testVersion is the release the tests publish: the action used at @v1
// installs it, as it would v1.4.2.
const testVersion = "v1.0.0-test"

// host is the platform act's jobs run on here.
var host = release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}

// archive packs an executable as the release build does.
func archive(t testing.TB, p release.Platform, exe []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := release.WriteArchive(&buf, p, []release.File{{Name: release.BinaryName(p), Mode: 0o755, Data: exe}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goodRelease is the host's archive that the release build made.
func goodRelease(t testing.TB, p release.Platform) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, release.AssetName(testVersion, p)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// commitRelease gives the repo the trust root the release build wrote, as
// a maintainer commits it, and returns the host's asset name.
func commitRelease(t testing.TB, r *repo, p release.Platform) string {
	t.Helper()
	for _, f := range []string{"VERSION", "checksums.txt", "go-version"} {
		b, err := os.ReadFile(filepath.Join(releaseDir, f))
		if err != nil {
			t.Fatal(err)
		}
		r.write(t, filepath.Join(".release", f), string(b))
	}
	return release.AssetName(testVersion, p)
}

// released is the action with the host's release of testVersion
// committed, and a release server that serves that release: the
// repository, the server, and the release archive's name.
func released(t testing.TB) (*repo, *testkit.ReleaseServer, string) {
	t.Helper()
	srv := testkit.StartReleaseServer(t)
	r := newRepo(t, false)
	asset := commitRelease(t, r, host)
	srv.Serve(testVersion, asset, goodRelease(t, host))
	return r, srv, asset
}

// quickStart is the README's GitHub Actions example, as a user copies it.
const quickStart = `      - id: hf
        uses: hf-oidc/hf-oidc@v1
        with:
` + resources

// TestActionDownloadsRelease runs the README's example: the action at @v1
// installs the release archive the action's committed checksums name,
// from a local server, then from the job's and the tool cache.
func TestActionDownloadsRelease(t *testing.T) {
	t.Parallel()
	p := host
	sb := startSandbox(t, trusted...)
	r, srv, asset := released(t)
	// Twice in one job: the second use finds the archive the first kept.
	r.workflow(t, quickStart+`      - uses: hf-oidc/hf-oidc@v1
        with:
          resources: acme/awesome-model
`+useTokens)
	cache := t.TempDir()
	opts := actOptions{refs: []string{"v1"}, cacheDir: cache, env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}}

	run := runAct(t, r, sb, opts)
	assertTokensWork(t, sb, run)
	assertContains(t, run.out,
		"hf-oidc: downloading "+srv.URL+"/"+testVersion+"/"+asset,
		asset+" SHA-256 verified against the action's committed checksums",
		asset+" downloaded earlier in this job, SHA-256 verified again",
	)
	if n := srv.Count(); n != 1 {
		t.Errorf("the release server was asked %d times, want once", n)
	}

	t.Run("tool cache", func(t *testing.T) {
		// A later job on the same runner finds the archive in the tool
		// cache, and checks it again.
		run := runAct(t, r, sb, opts)
		assertTokensWork(t, sb, run)
		// The first use copies it into the job's own directory before
		// checking it, so that what is checked is what is extracted
		// (another job may write the cache meanwhile): the second use
		// finds that copy.
		assertContains(t, run.out, asset+" from the tool cache, SHA-256 verified",
			asset+" downloaded earlier in this job, SHA-256 verified again")
		if n := srv.Count(); n != 1 {
			t.Errorf("the release server was asked %d times, want once", n)
		}
	})

	t.Run("tampered tool cache", func(t *testing.T) {
		cached := filepath.Join(cache, "tool_cache", "hf-oidc", testVersion, p.OS+"-"+p.Arch, asset)
		if err := os.WriteFile(cached, archive(t, p, []byte("#!/bin/sh\nexit 0\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		before := srv.Count()
		run := runAct(t, r, sb, opts)
		assertTokensWork(t, sb, run)
		assertContains(t, run.out, "the tool cache's "+asset+" does not match its committed SHA-256; removed, downloading it again")
		if n := srv.Count(); n != before+1 {
			t.Errorf("the release server was asked %d times, want %d", n, before+1)
		}
	})
}

// TestActionRefusesTamperedRelease serves an archive that is not the one
// the committed checksums name: a valid archive whose binary would run.
// The step must fail before running it, and not fall back to anything.
func TestActionRefusesTamperedRelease(t *testing.T) {
	t.Parallel()
	p := host
	sb := startSandbox(t, trusted...)
	srv := testkit.StartReleaseServer(t)
	r := newRepo(t, true) // with the source: a fallback to building it must not happen
	marker := filepath.Join(t.TempDir(), "tampered-binary-ran")
	evil := archive(t, p, []byte("#!/bin/sh\ntouch '"+marker+"'\n"))
	asset := commitRelease(t, r, p)
	srv.Serve(testVersion, asset, evil)
	r.workflow(t, quickStart+"      - run: echo \"the step after ran\"\n")
	cache := t.TempDir()
	run := runActFailing(t, r, sb, actOptions{refs: []string{"v1"}, cacheDir: cache, env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}},
		"SHA-256 mismatch for "+asset+" downloaded from "+srv.URL,
		"It was deleted and nothing was run",
		"troubleshooting.md#install",
	)
	for _, never := range []string{"building it from source", "the step after ran", "installed " + testVersion} {
		if strings.Contains(run.out, never) {
			t.Errorf("after a digest mismatch, act's output has %q", never)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the tampered binary ran")
	}
	if st := sb.Stats(); st.IDTokenRequests != 0 || st.Exchanges != 0 {
		t.Errorf("the job went on to exchange: %+v", st)
	}
	cached, _ := filepath.Glob(filepath.Join(cache, "tool_cache", "hf-oidc", "*", "*", "*"))
	if len(cached) > 0 {
		t.Errorf("the tampered archive was cached: %v", cached)
	}
}

func TestActionReleaseErrors(t *testing.T) {
	t.Parallel()
	p := host
	sb := startSandbox(t, trusted...)
	srv := testkit.StartReleaseServer(t)
	cases := []struct {
		name, with string
		refs       []string
		want       string
	}{
		{"version without a committed digest", "          version: v0.9.0\n", nil,
			"no SHA-256 for " + release.AssetName("v0.9.0", p) + " is committed in this action's .release/checksums.txt (it holds release " + testVersion + ")"},
		{"version not a tag", "          version: latest\n", nil, "the version input 'latest' is not a release tag like v1.2.3"},
		{"release not published", "", []string{"v1"}, "downloading " + srv.URL + "/" + testVersion + "/" + release.AssetName(testVersion, p) + " failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := newRepo(t, false)
			commitRelease(t, r, p)
			uses := "./"
			if c.refs != nil {
				uses = "hf-oidc/hf-oidc@v1"
			}
			r.workflow(t, "      - uses: "+uses+"\n        with:\n          resources: acme/awesome-model\n"+c.with)
			runActFailing(t, r, sb, actOptions{refs: c.refs, env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}}, c.want)
		})
	}
}
