//go:build unix

package e2e

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// hubFront is the Hub's host as git sees it: smart HTTP (git http-backend)
// for its repositories, behind Basic auth that takes only a live token the
// sandbox issued for that very repository, and the sandbox for everything
// else (the exchange), as one origin.
type hubFront struct {
	sb       *sandbox.Sandbox
	repos    []string // longest first
	backend  *cgi.Handler
	sandbox  *httputil.ReverseProxy
	accepted atomic.Int32
	refused  atomic.Int32
}

func newHubFront(t *testing.T, sb *sandbox.Sandbox, repos ...string) *hubFront {
	t.Helper()
	requireGit(t)
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, r := range repos {
		bare := filepath.Join(root, r+".git")
		gitOK(t, nil, root, "init", "-q", "--bare", "-b", "main", bare)
		gitOK(t, nil, root, "-C", bare, "config", "http.receivepack", "true")
	}
	sbURL, _ := url.Parse(sb.URL())
	sorted := append([]string(nil), repos...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	return &hubFront{
		sb:    sb,
		repos: sorted,
		backend: &cgi.Handler{
			Path:       filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
			Env:        []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
			InheritEnv: []string{"PATH"},
		},
		sandbox: httputil.NewSingleHostReverseProxy(sbURL),
	}
}

func (h *hubFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, repo := range h.repos {
		rest, ok := cutRepo(r.URL.Path, repo)
		if !ok {
			continue
		}
		user, password, ok := r.BasicAuth()
		info, issued := h.sb.Token(password)
		if !ok || user == "" || !issued || info.Resource != repo || !time.Now().Before(info.ExpiresAt) {
			h.refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="Hugging Face"`)
			http.Error(w, "Invalid credentials", http.StatusUnauthorized)
			return
		}
		h.accepted.Add(1)
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + repo + ".git" + rest
		h.backend.ServeHTTP(w, r2)
		return
	}
	h.sandbox.ServeHTTP(w, r)
}

// cutRepo splits a request path into the repository, with or without
// ".git" as the Hub takes it, and the rest.
func cutRepo(path, repo string) (string, bool) {
	for _, prefix := range []string{"/" + repo + ".git", "/" + repo} {
		if rest, ok := strings.CutPrefix(path, prefix); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			return rest, true
		}
	}
	return "", false
}

func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		requireTool(t, "git")
	}
}

// gitHome is an isolated git user: its own HOME and global configuration,
// no system one, never a prompt.
type gitHome struct {
	dir  string
	env  []string
	outs []string // every output, for the leak scan
	mu   sync.Mutex
}

func newGitHome(t *testing.T, extra ...string) *gitHome {
	dir := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + t.TempDir(),
		"GIT_CONFIG_GLOBAL=" + filepath.Join(dir, "gitconfig"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=CI", "GIT_AUTHOR_EMAIL=ci@example.com",
		"GIT_COMMITTER_NAME=CI", "GIT_COMMITTER_EMAIL=ci@example.com",
	}
	return &gitHome{dir: dir, env: withEnv(env, extra...)}
}

// withEnv is env with each NAME=value of set, in order, replacing NAME's
// value; an entry "NAME=" removes NAME.
func withEnv(env []string, set ...string) []string {
	last := map[string]string{}
	var order []string
	for _, kv := range set {
		name, _, _ := strings.Cut(kv, "=")
		if _, seen := last[name]; !seen {
			order = append(order, name)
		}
		last[name] = kv
	}
	var out []string
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); last[name] == "" {
			out = append(out, kv)
		}
	}
	for _, name := range order {
		if kv := last[name]; !strings.HasSuffix(kv, "=") {
			out = append(out, kv)
		}
	}
	return out
}

// git runs git in dir with stdin and fails the test if it fails.
func (g *gitHome) git(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	out, err := g.try(dir, stdin, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (g *gitHome) try(dir, stdin string, args ...string) (string, error) {
	out, err := g.unrecorded(dir, stdin, args...)
	g.mu.Lock()
	g.outs = append(g.outs, out)
	g.mu.Unlock()
	return out, err
}

// unrecorded runs git without keeping its output for the leak scan: for
// git credential fill, whose output is the credential.
func (g *gitHome) unrecorded(dir, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Env, cmd.Dir, cmd.Stdin = g.env, dir, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// hfOIDC runs hf-oidc as this git user.
func (g *gitHome) hfOIDC(t *testing.T, args ...string) run {
	t.Helper()
	r := runBin(t, g.env, args...)
	g.mu.Lock()
	g.outs = append(g.outs, r.stderr)
	g.mu.Unlock()
	return r
}

// outputs is everything git and hf-oidc printed, but the ::add-mask::
// lines (in GitHub Actions each new token is masked on stderr, which git
// passes on), and the git configuration, for assertNoLeak.
func (g *gitHome) outputs(t *testing.T) map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out, _ := stripMasks(strings.Join(g.outs, "\n"))
	m := map[string]string{"git and hf-oidc output": out}
	if b, err := os.ReadFile(filepath.Join(g.dir, "gitconfig")); err == nil {
		m["gitconfig"] = string(b)
	}
	return m
}

func gitOK(t *testing.T, env []string, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env, cmd.Dir = env, dir
	if env == nil {
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1"}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// commit adds a file named name to the repository in dir and commits it.
func (g *gitHome) commit(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.git(t, dir, "", "add", name)
	g.git(t, dir, "", "commit", "-q", "-m", name)
}

// waitExpiry sleeps until the token in file has expired on the sandbox.
func waitExpiry(t *testing.T, sb *sandbox.Sandbox, file string) string {
	t.Helper()
	tok := testkit.ReadText(t, file)
	info, ok := sb.Token(tok)
	if !ok {
		t.Fatalf("%s does not hold a token the sandbox issued", file)
	}
	time.Sleep(time.Until(info.ExpiresAt) + 100*time.Millisecond)
	return tok
}

// credential asks git for the Hub's credential with `git credential fill`
// and returns the password it got.
func (g *gitHome) credential(t *testing.T, u *url.URL, path string) string {
	t.Helper()
	out, err := g.unrecorded(g.dir, "protocol="+u.Scheme+"\nhost="+u.Host+"\npath="+path+"\n\n", "credential", "fill")
	if err != nil {
		t.Fatalf("git credential fill: %v", err) // not the output: it holds the token
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if pw, ok := strings.CutPrefix(sc.Text(), "password="); ok {
			return pw
		}
	}
	t.Fatal("git credential fill gave no password")
	return ""
}

// TestGitExchange: after exchange --git, real git pushes to and clones from
// a smart-HTTP server that demands the live token of each repository,
// through hf-oidc git-credential, also once the first token has expired;
// erase after a rejected token makes the next get exchange anew; other
// hosts get nothing.
func TestGitExchange(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime})
	sb.TrustGitHub("acme/model")
	sb.TrustGitHub("datasets/acme/data")
	front := newHubFront(t, sb, "acme/model", "datasets/acme/data")
	srv := httptest.NewServer(front)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	g := newGitHome(t, append(sb.GitHubEnv(), "HF_ENDPOINT="+srv.URL)...)
	tokens := filepath.Join(g.dir, "tokens")

	r := g.hfOIDC(t, "exchange", "--git", "--format", "json", "--resource", "acme/model,datasets/acme/data",
		"--token-dir", tokens, "--refresh-margin", shortMargin)
	if r.code != 0 {
		t.Fatalf("exchange --git: exit %d\n%s", r.code, r.stderr)
	}
	work := t.TempDir()
	src := filepath.Join(work, "src")
	g.git(t, work, "", "init", "-q", "-b", "main", src)
	g.commit(t, src, "one")
	g.git(t, src, "", "push", "-q", srv.URL+"/acme/model", "main")
	g.git(t, src, "", "push", "-q", srv.URL+"/datasets/acme/data.git", "main")
	g.git(t, work, "", "clone", "-q", srv.URL+"/acme/model", "clone")
	if _, err := os.Stat(filepath.Join(work, "clone", "one")); err != nil {
		t.Fatalf("the clone lacks the pushed file: %v", err)
	}

	// The first token expires; the helper exchanges a new one by itself.
	first := waitExpiry(t, sb, filepath.Join(tokens, "acme--model.token"))
	g.commit(t, src, "two")
	g.git(t, src, "", "push", "-q", srv.URL+"/acme/model", "main")
	g.git(t, filepath.Join(work, "clone"), "", "pull", "-q", "origin", "main")
	if _, err := os.Stat(filepath.Join(work, "clone", "two")); err != nil {
		t.Fatalf("the pull after expiry lacks the pushed file: %v", err)
	}
	if testkit.ReadText(t, filepath.Join(tokens, "acme--model.token")) == first {
		t.Error("the helper's cache still holds the expired token")
	}

	// erase: the rejected token is not offered again.
	cur := g.credential(t, u, "acme/model.git")
	g.git(t, g.dir, "protocol=http\nhost="+u.Host+"\npath=acme/model.git\nusername=acme\npassword="+cur+"\n\n", "credential", "reject")
	next := g.credential(t, u, "acme/model.git")
	if next == cur {
		t.Error("after erase the helper answered with the rejected token")
	}
	if info, ok := sb.Token(next); !ok || info.Resource != "acme/model" {
		t.Errorf("the new token is for %q", info.Resource)
	}
	if info, ok := sb.Token(g.credential(t, u, "datasets/acme/data")); !ok || info.Resource != "datasets/acme/data" {
		t.Errorf("the path datasets/acme/data got a token for %q", info.Resource)
	}
	if front.accepted.Load() == 0 || front.refused.Load() == 0 {
		t.Errorf("accepted %d, refused %d: git never went through the challenge", front.accepted.Load(), front.refused.Load())
	}

	// Another host: nothing, and no exchange.
	before := sb.Stats().Exchanges
	cmd := exec.Command(bin, "git-credential", "get")
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader("protocol=https\nhost=github.com\npath=acme/model.git\n\n")
	out, err := cmd.Output()
	if err != nil || len(out) != 0 || sb.Stats().Exchanges != before {
		t.Errorf("for github.com the helper said %q, %v, and exchanged %d times", out, err, sb.Stats().Exchanges-before)
	}
	testkit.NoLeak(t, sb, g.outputs(t))
}

// TestGitRefreshKeeper: with refresh --detach --git the helper answers
// from the files the keeper keeps fresh, across token lifetimes.
func TestGitRefreshKeeper(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime})
	sb.TrustGitHub("acme/model")
	front := newHubFront(t, sb, "acme/model")
	srv := httptest.NewServer(front)
	defer srv.Close()
	g := newGitHome(t, append(sb.GitHubEnv(), "HF_ENDPOINT="+srv.URL)...)
	tokens := filepath.Join(g.dir, "tokens")
	r := g.hfOIDC(t, "refresh", "--detach", "--git", "--format", "json", "--resource", "acme/model",
		"--token-dir", tokens, "--refresh-margin", shortMargin)
	if r.code != 0 {
		t.Fatalf("refresh --detach --git: exit %d\n%s", r.code, r.stderr)
	}
	st, _ := readStatus(t, tokens)
	t.Cleanup(func() { g.hfOIDC(t, "refresh", "--stop", "--token-dir", tokens) })

	work := t.TempDir()
	src := filepath.Join(work, "src")
	g.git(t, work, "", "init", "-q", "-b", "main", src)
	for i, name := range []string{"one", "two", "three"} {
		g.commit(t, src, name)
		g.git(t, src, "", "push", "-q", srv.URL+"/acme/model.git", "main")
		if i < 2 {
			waitExpiry(t, sb, filepath.Join(tokens, "acme--model.token"))
		}
	}
	g.git(t, work, "", "clone", "-q", srv.URL+"/acme/model", "clone")
	if _, err := os.Stat(filepath.Join(work, "clone", "three")); err != nil {
		t.Fatalf("clone: %v", err)
	}
	// The keeper owns the directory: the helper read, never wrote.
	if now, raw := readStatus(t, tokens); now.PID != st.PID || now.State != "running" {
		t.Errorf("status after the pushes: %s", raw)
	}
	testkit.NoLeak(t, sb, g.outputs(t))
}

// TestGitExec: exec --git configures git for the command alone.
func TestGitExec(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	front := newHubFront(t, sb, "acme/model")
	srv := httptest.NewServer(front)
	defer srv.Close()
	g := newGitHome(t, append(sb.GitHubEnv(), "HF_ENDPOINT="+srv.URL)...)
	work := t.TempDir()
	src := filepath.Join(work, "src")
	g.git(t, work, "", "init", "-q", "-b", "main", src)
	g.commit(t, src, "one")
	r := g.hfOIDC(t, "exec", "--git", "--resource", "acme/model", "--", "git", "-C", src, "push", "-q", srv.URL+"/acme/model", "main")
	if r.code != 0 {
		t.Fatalf("exec --git -- git push: exit %d\n%s", r.code, r.stderr)
	}
	if front.accepted.Load() == 0 {
		t.Error("the push never authenticated")
	}
	if _, err := os.Stat(filepath.Join(g.dir, "gitconfig")); !os.IsNotExist(err) {
		t.Errorf("exec --git wrote the global git configuration: %v", err)
	}
	// Without exec, git has no credentials.
	g.commit(t, src, "two")
	if out, err := g.try(src, "", "push", "-q", srv.URL+"/acme/model", "main"); err == nil {
		t.Errorf("a push outside exec worked:\n%s", out)
	}
	testkit.NoLeak(t, sb, g.outputs(t))
}

// TestGitSSHRemote: an SSH-style remote of the real Hub (git@hf.co:…,
// ssh://git@hf.co/…) is rewritten to https://huggingface.co and works with
// no key. The Hub's exact host is served with a certificate made here,
// reached through a loopback proxy (HTTPS_PROXY) that both git and hf-oidc
// use, so that nothing needs port 443 or /etc/hosts.
func TestGitSSHRemote(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TokenLifetime: shortLifetime})
	sb.TrustGitHub("acme/model")
	front := newHubFront(t, sb, "acme/model")
	hub := httptest.NewUnstartedServer(front)
	certFile := selfSigned(t, hub, "huggingface.co", "hf.co")
	hub.StartTLS()
	defer hub.Close()
	proxy, connects := connectProxy(t, map[string]string{"huggingface.co:443": hub.Listener.Addr().String()})

	g := newGitHome(t, append(sb.GitHubEnv(),
		"HF_ENDPOINT=", // the default: https://huggingface.co
		"HTTPS_PROXY="+proxy, "https_proxy="+proxy,
		"SSL_CERT_FILE="+certFile, "GIT_SSL_CAINFO="+certFile)...)
	tokens := filepath.Join(g.dir, "tokens")
	r := g.hfOIDC(t, "refresh", "--detach", "--git", "--format", "json", "--resource", "acme/model",
		"--token-dir", tokens, "--refresh-margin", shortMargin)
	if r.code != 0 {
		t.Fatalf("refresh --detach --git: exit %d\n%s", r.code, r.stderr)
	}
	t.Cleanup(func() { g.hfOIDC(t, "refresh", "--stop", "--token-dir", tokens) })

	work := t.TempDir()
	src := filepath.Join(work, "src")
	g.git(t, work, "", "init", "-q", "-b", "main", src)
	g.git(t, src, "", "remote", "add", "origin", "git@hf.co:acme/model")
	if got := strings.TrimSpace(g.git(t, src, "", "remote", "get-url", "origin")); got != "https://huggingface.co/acme/model" {
		t.Errorf("git@hf.co:acme/model is fetched from %s", got)
	}
	g.commit(t, src, "one")
	g.git(t, src, "", "push", "-q", "origin", "main")
	waitExpiry(t, sb, filepath.Join(tokens, "acme--model.token"))
	g.git(t, work, "", "clone", "-q", "ssh://git@hf.co/acme/model", "clone")
	if _, err := os.Stat(filepath.Join(work, "clone", "one")); err != nil {
		t.Fatalf("clone: %v", err)
	}
	g.commit(t, filepath.Join(work, "clone"), "two")
	g.git(t, filepath.Join(work, "clone"), "", "push", "-q", "origin", "main")
	if connects.Load() < 3 || front.accepted.Load() == 0 {
		t.Errorf("%d CONNECTs, %d accepted requests: the traffic did not go to the Hub's host", connects.Load(), front.accepted.Load())
	}
	testkit.NoLeak(t, sb, g.outputs(t))
}

// selfSigned gives srv a certificate for hosts (names or IP addresses)
// and returns the PEM file clients trust it with.
func selfSigned(t *testing.T, srv *httptest.Server, hosts ...string) string {
	t.Helper()
	cert, certPEM, err := sandbox.SelfSigned(time.Now(), hosts...)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	file := filepath.Join(t.TempDir(), "hub.pem")
	if err := os.WriteFile(file, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// connectProxy is an HTTPS proxy on loopback that tunnels CONNECT to the
// hosts in routes, to the addresses they map to, and refuses the rest.
func connectProxy(t *testing.T, routes map[string]string) (string, *atomic.Int32) {
	t.Helper()
	var connects atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to, ok := routes[r.Host]
		if r.Method != http.MethodConnect || !ok {
			http.Error(w, "no route", http.StatusForbidden)
			return
		}
		upstream, err := net.Dial("tcp", to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		connects.Add(1)
		conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() {
			io.Copy(upstream, buf)
			upstream.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(conn, upstream)
		conn.Close()
		upstream.Close()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &connects
}
