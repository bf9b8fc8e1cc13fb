//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// concClient calls whoami from many goroutines at once.
var concClient = &http.Client{Timeout: 10 * time.Second}

// concWhoami is whoami's status for tok, without failing from a goroutine
// that is not the test's.
func concWhoami(sb *sandbox.Sandbox, tok string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, sb.URL()+sandbox.PathWhoami, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := concClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// concKeepers returns the live keepers (hf-oidc refresh --keeper) of dir,
// found in /proc by their command line and environment.
func concKeepers(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if args[0] != bin || !slices.Contains(args, "--keeper") {
			continue
		}
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !slices.Contains(strings.Split(string(environ), "\x00"), "HF_OIDC_TOKEN_DIR="+dir) {
			continue
		}
		if !processGone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestConcReadersDuringRefresh: 16 readers read a keeper's token files in
// a tight loop while it refreshes them every second; half call whoami
// with what they read. No read is ever empty, partial or another
// resource's token, and every token works on whoami when read, or expired
// only after it was read. Two more read status.json, which is always
// whole JSON naming both files.
func TestConcReadersDuringRefresh(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: 2 * time.Second, IDTokenLifetime: 10 * time.Second})
	sb.TrustGitHub("acme/model")
	sb.TrustGitHub("datasets/acme/data")
	dir := filepath.Join(t.TempDir(), "tokens")
	pid, _ := startKeeper(t, sb, dir, "--resource", "datasets/acme/data")
	files := map[string]string{
		"acme/model":         filepath.Join(dir, "acme--model.token"),
		"datasets/acme/data": filepath.Join(dir, "datasets--acme--data.token"),
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, whoamis, edge atomic.Int64
	var mu sync.Mutex
	seen := map[string]map[string]bool{}
	for i := range 16 {
		res := []string{"acme/model", "datasets/acme/data"}[i%2]
		check := i%4 < 2 // half of the readers call whoami
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(files[res])
				readAt := time.Now()
				if err != nil {
					t.Errorf("reading %s: %v", filepath.Base(files[res]), err)
					return
				}
				tok := string(b)
				info, ok := sb.Token(tok)
				if !ok || info.Resource != res {
					t.Errorf("a read of %s saw %d bytes that are not a whole token for %s (issued for %q)", filepath.Base(files[res]), len(b), res, info.Resource)
					return
				}
				reads.Add(1)
				mu.Lock()
				if seen[res] == nil {
					seen[res] = map[string]bool{}
				}
				seen[res][tok] = true
				mu.Unlock()
				if !check {
					continue
				}
				code, err := concWhoami(sb, tok)
				switch {
				case err != nil:
					t.Errorf("whoami: %v", err)
					return
				case code == http.StatusOK:
					whoamis.Add(1)
				case info.ExpiresAt.After(readAt):
					edge.Add(1) // valid when read, expired by the call
				default:
					t.Errorf("%s held a token that had expired %v before it was read (whoami %d)", filepath.Base(files[res]), readAt.Sub(info.ExpiresAt), code)
					return
				}
			}
		})
	}
	var statusReads atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				raw, err := os.ReadFile(filepath.Join(dir, "status.json"))
				var st keeperStatus
				if err == nil {
					err = json.Unmarshal(raw, &st)
				}
				if err != nil || len(st.Tokens) != 2 {
					t.Errorf("status.json read %d: %v, %d tokens", statusReads.Load(), err, len(st.Tokens))
					return
				}
				statusReads.Add(1)
			}
		})
	}
	// Four lifetimes: at least six refreshes of each file.
	time.Sleep(8 * time.Second)
	close(stop)
	wg.Wait()

	if r := runBin(t, sb.GitHubEnv(), "refresh", "--stop", "--token-dir", dir); r.code != 0 {
		t.Errorf("--stop: exit %d\n%s", r.code, r.stderr)
	}
	waitGone(t, pid, 10*time.Second)
	for res, toks := range seen {
		if len(toks) < 4 {
			t.Errorf("the readers saw %d tokens of %s in four lifetimes: the keeper did not refresh under them", len(toks), res)
		}
	}
	if reads.Load() < 1000 || whoamis.Load() < 100 || statusReads.Load() < 100 {
		t.Errorf("only %d reads, %d whoami calls, %d status reads", reads.Load(), whoamis.Load(), statusReads.Load())
	}
	log := testkit.ReadText(t, filepath.Join(dir, "keeper.log"))
	st, raw := readStatus(t, dir)
	if st.State != "stopped" {
		t.Errorf("status after --stop: %s", raw)
	}
	testkit.NoLeak(t, sb, map[string]string{"keeper.log": log, "status.json": raw})
	t.Logf("readers: %d reads (%d checked on whoami, %d just expired by the call), %d status reads; tokens seen: %d and %d",
		reads.Load(), whoamis.Load(), edge.Load(), statusReads.Load(), len(seen["acme/model"]), len(seen["datasets/acme/data"]))
}

// TestConcRefreshStarts: 2, then 8, refresh --detach started at the same
// moment for one directory: exactly one keeper runs (one in /proc, named
// by status.json and by every start), one exchange is made, every start
// exits 0 exporting the same file, all but one saying they started no
// other keeper; after --stop no keeper of the directory remains.
func TestConcRefreshStarts(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 8} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, sandbox.Config{})
			sb.TrustGitHub("acme/model")
			dir := filepath.Join(t.TempDir(), "tokens")
			// Started together: each start takes about a millisecond, the
			// exchange before a keeper is ready far longer.
			runs := make([]*started, n)
			for i := range runs {
				runs[i] = startBin(t, sb.GitHubEnv(), "refresh", "--detach", "--format", "shell", "--resource", "acme/model", "--token-dir", dir)
			}
			t.Cleanup(func() {
				for _, pid := range concKeepers(t, dir) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			for _, r := range runs {
				r.wait(t, 30*time.Second)
			}
			st, raw := readStatus(t, dir)
			keepers := concKeepers(t, dir)
			if len(keepers) != 1 || keepers[0] != st.PID || st.State != "running" {
				t.Fatalf("keepers running: %v; status: %s", keepers, raw)
			}
			started, file := 0, filepath.Join(dir, "acme--model.token")
			outputs := map[string]string{"status.json": raw}
			for i, r := range runs {
				stderr, _ := stripMasks(r.stderr.String())
				outputs[fmt.Sprintf("stderr of start %d", i)] = stderr
				if r.code != 0 {
					t.Errorf("start %d: exit %d\n%s", i, r.code, stderr)
					continue
				}
				if v := evalShell(t, r.stdout.String()); v["HF_TOKEN_PATH"] != file {
					t.Errorf("start %d exports HF_TOKEN_PATH=%q", i, v["HF_TOKEN_PATH"])
				}
				switch {
				case strings.Contains(stderr, fmt.Sprintf("(pid %d) keeps the tokens in %s fresh already; exported its token files and started no other keeper", st.PID, dir)):
				case strings.Contains(stderr, fmt.Sprintf("by a background keeper (pid %d)", st.PID)):
					started++
				default:
					t.Errorf("start %d names neither the keeper it started nor the one it found (pid %d):\n%s", i, st.PID, stderr)
				}
			}
			if started != 1 {
				t.Errorf("%d starts say they started the keeper, want 1", started)
			}
			if ex := sb.Stats().Exchanges; ex != 1 {
				t.Errorf("%d exchanges for %d starts, want 1: the others must take the keeper's files", ex, n)
			}
			if code, _ := concWhoami(sb, testkit.ReadText(t, file)); code != http.StatusOK {
				t.Errorf("the token file's token: whoami %d", code)
			}
			testkit.NoLeak(t, sb, outputs)

			if r := runBin(t, sb.GitHubEnv(), "refresh", "--stop", "--token-dir", dir); r.code != 0 {
				t.Fatalf("--stop: exit %d\n%s", r.code, r.stderr)
			}
			waitGone(t, st.PID, 10*time.Second)
			if left := concKeepers(t, dir); len(left) != 0 {
				t.Errorf("keepers left after --stop: %v", left)
			}
		})
	}
}

// TestConcGitCredential: 16 real git processes ask hf-oidc git-credential
// for credentials at once, half for a model, half for a dataset, with no
// keeper: each gets a working token for its repository; exactly one
// exchange is made per resource, because the helpers of one token
// directory take turns (a lock) and the first one's token serves the rest;
// the cache records both (no lost update). Then 16 at once report both
// tokens rejected, and 16 at once ask again: each resource is exchanged
// exactly once more, and no one gets a rejected token.
func TestConcGitCredential(t *testing.T) {
	t.Parallel()
	requireGit(t)
	sb := startSandbox(t, sandbox.Config{})
	resources := []string{"acme/model", "datasets/acme/data"}
	for _, r := range resources {
		sb.TrustGitHub(r)
	}
	u, _ := url.Parse(sb.URL())
	g := newGitHome(t, sb.GitHubEnv()...)
	tokens := filepath.Join(g.dir, "tokens")
	helper := fmt.Sprintf("!%s git-credential --resource=acme/model --resource=datasets/acme/data --token-dir=%s", bin, tokens)
	g.git(t, g.dir, "", "config", "--global", "credential."+sb.URL()+".helper", helper)
	g.git(t, g.dir, "", "config", "--global", "credential."+sb.URL()+".useHttpPath", "true")

	// parallel runs git credential action for each path at once and
	// returns the passwords git got, by path.
	var stderrs []string
	parallel := func(action string, paths []string, password map[string]string) map[string][]string {
		t.Helper()
		got := map[string][]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range paths {
			wg.Go(func() {
				in := "protocol=" + u.Scheme + "\nhost=" + u.Host + "\npath=" + p + ".git\n"
				if pw := password[p]; pw != "" {
					in += "username=x\npassword=" + pw + "\n"
				}
				cmd := exec.Command("git", "credential", action)
				cmd.Env, cmd.Dir, cmd.Stdin = g.env, g.dir, strings.NewReader(in+"\n")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				mu.Lock()
				defer mu.Unlock()
				stderrs = append(stderrs, stderr.String())
				if err != nil {
					t.Errorf("git credential %s for %s: %v", action, p, err) // not stdout: it holds the token
					return
				}
				sc := bufio.NewScanner(&stdout)
				for sc.Scan() {
					if pw, ok := strings.CutPrefix(sc.Text(), "password="); ok {
						got[p] = append(got[p], pw)
					}
				}
			})
		}
		wg.Wait()
		return got
	}
	paths := make([]string, 16)
	for i := range paths {
		paths[i] = resources[i%2]
	}
	// one checks that all 8 answers for each resource are one working
	// token for it, and returns it.
	one := func(round string, got map[string][]string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range resources {
			pws := got[r]
			if len(pws) != len(paths)/2 || slices.ContainsFunc(pws, func(pw string) bool { return pw != pws[0] }) {
				t.Fatalf("%s: %d answers for %s, not all the same token", round, len(pws), r)
			}
			if info, ok := sb.Token(pws[0]); !ok || info.Resource != r {
				t.Fatalf("%s: the token for %s was issued for %q", round, r, info.Resource)
			}
			if code, _ := concWhoami(sb, pws[0]); code != http.StatusOK {
				t.Errorf("%s: the token for %s: whoami %d", round, r, code)
			}
			out[r] = pws[0]
		}
		return out
	}

	first := one("first gets", parallel("fill", paths, nil))
	if st := sb.Stats(); st.Exchanges != 2 {
		t.Errorf("%d exchanges (%d tokens issued) for 16 gets of 2 resources, want 2", st.Exchanges, st.Issued)
	}
	st, raw := readStatus(t, tokens)
	if len(st.Tokens) != 2 {
		t.Errorf("the cache lists %d tokens, want both resources': %s", len(st.Tokens), raw)
	}
	for _, r := range resources {
		if f := testkit.ReadText(t, filepath.Join(tokens, strings.ReplaceAll(r, "/", "--")+".token")); f != first[r] {
			t.Errorf("the cache file of %s does not hold the token git got", r)
		}
	}

	parallel("reject", paths, first)
	again := one("gets after reject", parallel("fill", paths, nil))
	for _, r := range resources {
		if again[r] == first[r] {
			t.Errorf("after reject, %s still gets the rejected token", r)
		}
	}
	if st := sb.Stats(); st.Exchanges != 4 {
		t.Errorf("%d exchanges after 16 rejects and 16 more gets, want 4: one per resource per rejected token", st.Exchanges)
	}
	out, _ := stripMasks(strings.Join(stderrs, "\n"))
	testkit.NoLeak(t, sb, map[string]string{"git's stderr": out, "gitconfig": testkit.ReadText(t, filepath.Join(g.dir, "gitconfig"))})
}
