package e2e

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// transportResources are n resources the sandbox trusts.
func transportResources(sb *sandbox.Sandbox, n int) []string {
	rs := make([]string, n)
	for i := range rs {
		rs[i] = fmt.Sprintf("acme/model-%d", i)
		sb.TrustGitHub(rs[i])
	}
	return rs
}

func transportArgs(format string, resources []string) []string {
	args := []string{"exchange", "--format", format}
	for _, r := range resources {
		args = append(args, "--resource", r)
	}
	return args
}

// transportCAFile writes pem where SSL_CERT_FILE can name it.
func transportCAFile(t *testing.T, pemBytes []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// transportJSON runs a json-format exchange and returns its tokens by
// resource.
func transportJSON(t *testing.T, sb *sandbox.Sandbox, env []string, resources []string) (map[string]string, run) {
	t.Helper()
	r := runBin(t, env, transportArgs("json", resources)...)
	testkit.NoLeak(t, sb, map[string]string{"stderr without its mask commands": withoutMasks(t, sb, r.stderr)})
	if r.code != 0 {
		return nil, r
	}
	var j jsonTokens
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatalf("json output: %v", err)
	}
	got := map[string]string{}
	for _, tok := range j.Tokens {
		got[tok.Resource] = tok.Token
	}
	return got, r
}

// TestTransportHTTPS: against an https Hub and ID-token endpoint whose CA
// only SSL_CERT_FILE names, the exchange works, over one HTTP/2
// connection for the ID token and every resource; without the CA it fails
// before any request, saying what to do.
func TestTransportHTTPS(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{TLS: true})
	resources := transportResources(sb, 16)
	ca := transportCAFile(t, sb.CertPEM())
	env := append(sb.GitHubEnv(), "SSL_CERT_FILE="+ca)

	// The first exchange makes the Hub side fetch the issuer's keys.
	if _, r := transportJSON(t, sb, env, resources[:1]); r.code != 0 {
		t.Fatalf("warm-up exchange: exit %d\n%s", r.code, r.stderr)
	}
	before := sb.Stats()
	tokens, r := transportJSON(t, sb, env, resources)
	if r.code != 0 {
		t.Fatalf("exchange over https: exit %d\n%s", r.code, r.stderr)
	}
	after := sb.Stats()
	for _, res := range resources {
		if info, ok := sb.Token(tokens[res]); !ok || info.Resource != res {
			t.Errorf("token for %s: issued for %q", res, info.Resource)
		}
	}
	if n := after.Connections - before.Connections; n != 1 {
		t.Errorf("16 resources opened %d connections, want 1 (HTTP/2 shared by the ID-token fetch and every exchange)", n)
	}
	if n := after.HTTP2 - before.HTTP2; n != 17 {
		t.Errorf("%d requests over HTTP/2, want 17 (1 ID token, 16 exchanges)", n)
	}

	// Without the CA: no request gets past the handshake.
	step := testkit.NewGitHubStep(t, sb)
	before = sb.Stats()
	r = runBin(t, step.Env, transportArgs("github", resources[:2])...)
	if r.code != 1 || !strings.Contains(r.stderr, "certificate") || !strings.Contains(r.stderr, "Next: The server's certificate is not trusted") ||
		!strings.Contains(r.stderr, "SSL_CERT_FILE") || strings.Contains(r.stderr, "attempts") {
		t.Errorf("untrusted certificate: exit %d, want 1, no retry, and an error about the certificate that names SSL_CERT_FILE:\n%s", r.code, r.stderr)
	}
	if n := sb.Stats().Exchanges + sb.Stats().IDTokenRequests - before.Exchanges - before.IDTokenRequests; n != 0 {
		t.Errorf("%d requests reached the sandbox through an untrusted certificate", n)
	}
	if s := testkit.ReadText(t, step.EnvFile); s != "" {
		t.Errorf("a failed run exported:\n%s", s)
	}
	testkit.NoLeak(t, sb, map[string]string{"stdout without its mask commands": withoutMasks(t, sb, r.stdout), "stderr": r.stderr})

	// A broken SSL_CERT_FILE is bad input: exit 2, nothing sent.
	for name, file := range map[string]string{
		"missing":  filepath.Join(t.TempDir(), "nope.pem"),
		"not PEM":  transportCAFile(t, []byte("hello\n")),
		"key only": transportCAFile(t, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})),
	} {
		before := sb.Stats()
		r := runBin(t, append(sb.GitHubEnv(), "SSL_CERT_FILE="+file), transportArgs("json", resources[:1])...)
		if r.code != 2 || !strings.Contains(r.stderr, "SSL_CERT_FILE="+file) || r.stdout != "" {
			t.Errorf("SSL_CERT_FILE %s: exit %d, stdout %q, want 2 and an error naming it:\n%s", name, r.code, r.stdout, r.stderr)
		}
		if after := sb.Stats(); after.IDTokenRequests != before.IDTokenRequests || after.Exchanges != before.Exchanges {
			t.Errorf("SSL_CERT_FILE %s: requests were sent", name)
		}
	}
}

// TestTransportSystemRoots: without SSL_CERT_FILE the binary trusts the
// system's roots as crypto/x509 reads them, which on Linux include the
// directories SSL_CERT_DIR names; with SSL_CERT_FILE, that file's roots
// replace the system's, directories and all.
func TestTransportSystemRoots(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skipf("crypto/x509 reads SSL_CERT_DIR on Linux, not on %s", runtime.GOOS)
	}
	sb := startSandbox(t, sandbox.Config{TLS: true})
	resources := transportResources(sb, 2)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sandbox.pem"), sb.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	certDir := "SSL_CERT_DIR=" + dir + ":/etc/ssl/certs:/etc/pki/tls/certs"
	otherCA := transportCAFile(t, startSandbox(t, sandbox.Config{TLS: true}).CertPEM())

	tokens, r := transportJSON(t, sb, append(sb.GitHubEnv(), certDir), resources)
	if r.code != 0 {
		t.Fatalf("the sandbox's CA in SSL_CERT_DIR: exit %d\n%s", r.code, r.stderr)
	}
	for _, res := range resources {
		if info, ok := sb.Token(tokens[res]); !ok || info.Resource != res {
			t.Errorf("token for %s: issued for %q", res, info.Resource)
		}
	}

	before := sb.Stats()
	r = runBin(t, append(sb.GitHubEnv(), certDir, "SSL_CERT_FILE="+otherCA), transportArgs("json", resources)...)
	if r.code != 1 || !strings.Contains(r.stderr, "Next: The server's certificate is not trusted") {
		t.Errorf("SSL_CERT_FILE naming another CA, the sandbox's in SSL_CERT_DIR: exit %d, want 1 and the server untrusted:\n%s", r.code, r.stderr)
	}
	if n := sb.Stats().Exchanges + sb.Stats().IDTokenRequests - before.Exchanges - before.IDTokenRequests; n != 0 {
		t.Errorf("%d requests reached the sandbox through an untrusted certificate", n)
	}
	testkit.NoLeak(t, sb, map[string]string{"stderr without its mask commands": withoutMasks(t, sb, r.stderr)})
}

// transportFront is an https server with a certificate for the IP address
// 0.0.0.0, which a connection reaches on this machine's loopback but which
// is not a loopback address: unlike 127.0.0.1, net/http sends it through
// HTTPS_PROXY unless NO_PROXY says otherwise. It forwards to the sandbox,
// and counts the connections made to it.
func transportFront(t *testing.T, sb *sandbox.Sandbox) (endpoint, addr, caFile string, conns *atomic.Int32) {
	t.Helper()
	target, _ := url.Parse(sb.URL())
	front := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	caFile = selfSigned(t, front, "0.0.0.0")
	front.EnableHTTP2 = true
	front.Config.ErrorLog = log.New(io.Discard, "", 0)
	conns = new(atomic.Int32)
	front.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	front.StartTLS()
	t.Cleanup(front.Close)
	_, port, _ := net.SplitHostPort(front.Listener.Addr().String())
	return "https://0.0.0.0:" + port, front.Listener.Addr().String(), caFile, conns
}

// TestTransportProxy: HTTPS_PROXY carries the exchange (a CONNECT tunnel:
// the proxy never sees the ID token), NO_PROXY bypasses it, and loopback
// addresses (here the ID-token endpoint) never go through it. The Hub is
// reached over one connection either way: through a proxy, the connection
// is not warmed directly beside it.
func TestTransportProxy(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	resources := transportResources(sb, 3)
	endpoint, addr, ca, frontConns := transportFront(t, sb)
	_, port, _ := net.SplitHostPort(addr)
	proxy, connects := connectProxy(t, map[string]string{"0.0.0.0:" + port: addr})
	base := append(sb.GitHubEnv(), "HF_ENDPOINT="+endpoint, "SSL_CERT_FILE="+ca, "HTTPS_PROXY="+proxy, "HTTP_PROXY="+proxy)

	for _, tc := range []struct {
		name     string
		env      []string
		connects int32
	}{
		{"through HTTPS_PROXY", nil, 1},
		{"NO_PROXY names the host", []string{"NO_PROXY=example.org,0.0.0.0"}, 0},
		{"no_proxy names the host", []string{"no_proxy=0.0.0.0"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeFront := connects.Load(), frontConns.Load()
			tokens, r := transportJSON(t, sb, append(append([]string{}, base...), tc.env...), resources)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			for _, res := range resources {
				assertWorks(t, sb, res, tokens[res])
			}
			if !strings.Contains(r.stderr, "ID token at "+endpoint+" in ") {
				t.Errorf("the summary does not name the endpoint that received the ID token:\n%s", r.stderr)
			}
			if n := connects.Load() - before; n != tc.connects {
				t.Errorf("%d CONNECTs through the proxy, want %d", n, tc.connects)
			}
			if n := frontConns.Load() - beforeFront; n != 1 {
				t.Errorf("%d connections reached the Hub, want 1 for the ID token's %d exchanges", n, len(resources))
			}
		})
	}
}

// TestTransportRedirects: a redirect to another host, from the Hub's
// exchange or from the ID-token endpoint, is reported and never followed:
// the other host receives nothing. Plain http to a remote host is refused
// before anything is sent, even through a proxy that would take it.
func TestTransportRedirects(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	resources := transportResources(sb, 2)
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	target, _ := url.Parse(sb.URL())
	forward := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("redirect") != "" || (r.URL.Path == sandbox.PathToken && r.Header.Get("X-Test-Redirect") == "") {
			http.Redirect(w, r, other.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { proxied.Add(1) }))
	t.Cleanup(proxy.Close)

	gh := map[string]string{}
	for _, kv := range sb.GitHubEnv() {
		k, v, _ := strings.Cut(kv, "=")
		gh[k] = v
	}
	idURL, _ := url.Parse(gh["ACTIONS_ID_TOKEN_REQUEST_URL"])
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"exchange redirected to another port", []string{"HF_ENDPOINT=" + front.URL}, "redirected to " + other.URL + "/oauth/token"},
		{"ID-token endpoint redirected to another port", []string{"ACTIONS_ID_TOKEN_REQUEST_URL=" + front.URL + idURL.Path + "?" + idURL.RawQuery + "&redirect=1"}, "307"},
		{"ID-token endpoint over plain http to a remote host", []string{"ACTIONS_ID_TOKEN_REQUEST_URL=http://token.actions.example" + idURL.Path + "?" + idURL.RawQuery, "HTTP_PROXY=" + proxy.URL}, "refusing plain http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step := testkit.NewGitHubStep(t, sb)
			r := runBin(t, append(step.Env, tc.env...), transportArgs("github", resources)...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want 1 and %q in:\n%s", r.code, tc.want, r.stderr)
			}
			if s := testkit.ReadText(t, step.EnvFile); s != "" {
				t.Errorf("a failed run exported:\n%s", s)
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout without its mask commands": withoutMasks(t, sb, r.stdout), "stderr": r.stderr})
		})
	}
	if elsewhere.Load() != 0 || proxied.Load() != 0 {
		t.Errorf("%d requests reached the redirect's target and %d the proxy; want none", elsewhere.Load(), proxied.Load())
	}
}

// TestTransportHostileAnswers: what a malicious or broken endpoint says is
// shown, but can neither start a workflow command of its own nor move the
// terminal's cursor: a line of output starts with "::" only for the
// commands hf-oidc itself writes.
func TestTransportHostileAnswers(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{})
	resources := transportResources(sb, 1)
	hostile := "bad\n::add-path::/tmp/evil\r\n::set-env name=LD_PRELOAD::/tmp/evil.so\n%0A::warning::pwned \x1b[2J\x1b]0;title\x07 end"
	body, err := json.Marshal(map[string]string{"error": "invalid_grant\n::add-mask::x", "error_description": hostile})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"github", "json"} {
		t.Run(format, func(t *testing.T) {
			sb.Inject(sandbox.PathToken, sandbox.Fault{Status: http.StatusBadRequest, Body: string(body)})
			step := testkit.NewGitHubStep(t, sb)
			r := runBin(t, step.Env, transportArgs(format, resources)...)
			if r.code != 1 || !strings.Contains(r.stderr+r.stdout, "pwned") {
				t.Fatalf("exit %d, want 1 and the description shown:\n%s%s", r.code, r.stdout, r.stderr)
			}
			for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "step summary": testkit.ReadText(t, step.Summary)} {
				if strings.ContainsAny(out, "\x1b\x07\r") {
					t.Errorf("%s passes a terminal control character through: %q", name, out)
				}
				for _, line := range strings.Split(out, "\n") {
					if strings.HasPrefix(line, "::") && !strings.HasPrefix(line, "::add-mask::") && !strings.HasPrefix(line, "::error") {
						t.Errorf("%s has a workflow command hf-oidc did not write: %q", name, line)
					}
					if strings.HasPrefix(line, "::add-mask::") && strings.Contains(line, "evil") {
						t.Errorf("%s: %q", name, line)
					}
				}
			}
			for _, f := range []string{step.EnvFile, step.Output} {
				if s := testkit.ReadText(t, f); s != "" {
					t.Errorf("%s written after a rejection:\n%s", f, s)
				}
			}
		})
	}
}

// TestTransportLoopbackSpellings: every spelling of a loopback host that the
// endpoint rule accepts for plain http reaches the Hub directly, never the
// proxy that HTTP_PROXY and HTTPS_PROXY name (net/http exempts only the
// lower-case "localhost"), and every spelling the rule refuses is refused
// before anything is sent: "localhost." goes to DNS, which may answer
// anything.
func TestTransportLoopbackSpellings(t *testing.T) {
	t.Parallel()
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		http.Error(w, "the proxy got it", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	proxyEnv := []string{"HTTP_PROXY=" + proxy.URL, "http_proxy=" + proxy.URL, "HTTPS_PROXY=" + proxy.URL, "https_proxy=" + proxy.URL}

	sandboxAt := func(t *testing.T, addr string) (*sandbox.Sandbox, string) {
		sb, err := sandbox.Start(sandbox.Config{Addr: addr})
		if err != nil {
			return nil, ""
		}
		t.Cleanup(func() { sb.Close() })
		sb.TrustGitHub("acme/model")
		u, _ := url.Parse(sb.URL())
		return sb, u.Port()
	}
	v4, port4 := sandboxAt(t, "127.0.0.1:0")
	if v4 == nil {
		t.Fatal("no sandbox on 127.0.0.1")
	}
	other, portOther := sandboxAt(t, "127.0.0.2:0")
	if other == nil {
		t.Fatal("no sandbox on 127.0.0.2: Linux routes all of 127.0.0.0/8 to lo")
	}
	v6, port6 := sandboxAt(t, "[::1]:0")

	for _, tc := range []struct {
		host string
		sb   *sandbox.Sandbox
		port string
	}{
		{"localhost", v4, port4},
		{"LOCALHOST", v4, port4},
		{"LocalHost", v4, port4},
		{"127.0.0.1", v4, port4},
		{"[::ffff:127.0.0.1]", v4, port4},
		{"127.0.0.2", other, portOther},
		{"[::1]", v6, port6},
	} {
		t.Run("accepted "+tc.host, func(t *testing.T) {
			if tc.sb == nil {
				t.Skip("this machine has no IPv6 loopback to listen on")
			}
			before := proxied.Load()
			tok, err := tc.sb.MintIDToken(nil)
			if err != nil {
				t.Fatal(err)
			}
			env := append([]string{"HF_ENDPOINT=http://" + tc.host + ":" + tc.port, "HF_OIDC_ID_TOKEN=" + tok}, proxyEnv...)
			r := runBin(t, env, "exchange", "--format", "json", "--resource", "acme/model", "--timeout", "5s")
			if r.code != 0 {
				t.Errorf("exit %d\n%s", r.code, r.stderr)
			}
			if n := proxied.Load() - before; n != 0 {
				t.Errorf("%d requests went to the proxy", n)
			}
			testkit.NoLeak(t, tc.sb, map[string]string{"stderr": r.stderr})
		})
	}
	for _, host := range []string{"localhost.", "LOCALHOST.", "app.localhost", "127.0.0.1.nip.io", "0x7f000001", "2130706433", "127.1"} {
		t.Run("refused "+host, func(t *testing.T) {
			before := proxied.Load()
			tok, _ := v4.MintIDToken(nil)
			env := append([]string{"HF_ENDPOINT=http://" + host + ":" + port4, "HF_OIDC_ID_TOKEN=" + tok}, proxyEnv...)
			r := runBin(t, env, "exchange", "--format", "json", "--resource", "acme/model", "--timeout", "5s")
			if r.code != 2 || !holds(r.stderr, "not a loopback address") {
				t.Errorf("exit %d, want 2 and the endpoint rule:\n%s", r.code, r.stderr)
			}
			if n := proxied.Load() - before; n != 0 {
				t.Errorf("%d requests went to the proxy", n)
			}
			testkit.NoLeak(t, v4, map[string]string{"stderr": r.stderr, "stdout": r.stdout})
		})
	}
}
