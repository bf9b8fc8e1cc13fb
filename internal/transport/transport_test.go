package transport

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want string // "" for allowed, else a part of the error
	}{
		{"https://huggingface.co/oauth/token", ""},
		{"https://10.0.0.1:8443/x", ""},
		{"http://127.0.0.1:8080/oauth/token", ""},
		{"http://127.9.9.9/x", ""},
		{"http://[::1]:80/x", ""},
		{"http://localhost:1/x", ""},
		{"http://LOCALHOST/x", ""},
		{"http://huggingface.co/oauth/token", "refusing plain http to huggingface.co"},
		{"http://localhost.evil.example/x", "refusing plain http"},
		{"http://127.0.0.1.nip.io/x", "refusing plain http"},
		{"http://0.0.0.0/x", "refusing plain http"},
		{"ftp://huggingface.co/x", `refusing the scheme "ftp"`},
		{"ws://127.0.0.1/x", `refusing the scheme "ws"`},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckURL(u)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckURL(%s) = %v, want allowed", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckURL(%s) = %v, want an error with %q", tc.url, err, tc.want)
		}
	}
}

func TestCheckRedirect(t *testing.T) {
	t.Parallel()
	req := func(method, raw string, status int) *http.Request {
		u, _ := url.Parse(raw)
		r := &http.Request{Method: method, URL: u}
		if status != 0 {
			r.Response = &http.Response{StatusCode: status}
		}
		return r
	}
	const origin = "https://huggingface.co/oauth/token"
	for _, tc := range []struct {
		name   string
		method string
		to     string
		status int
		via    int
		follow bool
	}{
		{"post 307 same origin", "POST", "https://huggingface.co/v2/oauth/token", 307, 1, true},
		{"post 308 same origin, explicit port", "POST", "https://huggingface.co:443/oauth/token", 308, 1, true},
		{"post 302 same origin", "POST", "https://huggingface.co/x", 302, 1, false},
		{"post 303 same origin", "POST", "https://huggingface.co/x", 303, 1, false},
		{"post 307 other host", "POST", "https://evil.example/oauth/token", 307, 1, false},
		{"post 307 subdomain", "POST", "https://api.huggingface.co/oauth/token", 307, 1, false},
		{"post 307 other port", "POST", "https://huggingface.co:8443/oauth/token", 307, 1, false},
		{"post 307 downgrade to http", "POST", "http://huggingface.co/oauth/token", 307, 1, false},
		{"get 302 same origin", "GET", "https://huggingface.co/other", 302, 1, true},
		{"get 302 other host", "GET", "https://evil.example/", 302, 1, false},
		{"sixth redirect", "GET", "https://huggingface.co/again", 302, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			via := make([]*http.Request, tc.via)
			for i := range via {
				via[i] = req(tc.method, origin, 0)
			}
			err := CheckRedirect(req(tc.method, tc.to, tc.status), via)
			if got := err == nil; got != tc.follow {
				t.Errorf("follow = %v (err %v), want %v", got, err, tc.follow)
			}
			if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
				t.Errorf("err = %v, want http.ErrUseLastResponse so the caller reports the redirect", err)
			}
		})
	}
}

// TestRedirectToAnotherHost: a real server redirecting a POST elsewhere
// gets its own answer back, and the other server never sees the body.
func TestRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var same atomic.Int32
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/oauth/token", http.StatusTemporaryRedirect)
		case "/moved":
			http.Redirect(w, r, "/oauth/token", http.StatusPermanentRedirect)
		case "/oauth/token":
			b, _ := io.ReadAll(r.Body)
			if string(b) == "secret body" {
				same.Add(1)
			}
		}
	}))
	defer endpoint.Close()
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(endpoint.URL+"/away", "text/plain", strings.NewReader("secret body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
		t.Errorf("redirect to another port: status %d, %d requests elsewhere; want the 307 back and none", resp.StatusCode, elsewhere.Load())
	}
	resp, err = c.Post(endpoint.URL+"/moved", "text/plain", strings.NewReader("secret body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || same.Load() != 1 {
		t.Errorf("308 to the same origin: status %d, %d bodies received; want 200 and the body re-sent once", resp.StatusCode, same.Load())
	}
}

// TestPlainHTTPRefusedBeforeDialing: the guard answers before the
// transport is asked to connect anywhere.
func TestPlainHTTPRefusedBeforeDialing(t *testing.T) {
	t.Parallel()
	var dialed atomic.Int32
	g := &schemeGuard{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
		dialed.Add(1)
		return nil, errors.New("dialed")
	})}
	c := &http.Client{Transport: g, CheckRedirect: CheckRedirect}
	_, err := c.Post("http://huggingface.co/oauth/token", "application/json", strings.NewReader(`{"subject_token":"x"}`))
	if err == nil || !strings.Contains(err.Error(), "only over https") || dialed.Load() != 0 {
		t.Errorf("plain http to a remote host: err %v, %d dials; want a refusal and no dial", err, dialed.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCAFile: SSL_CERT_FILE's certificates replace the system's roots on
// every platform, read as crypto/x509 reads a bundle; without it the
// system's roots are left to crypto/x509, and do not vouch for a test
// server's own certificate. A file with no certificate is refused at once,
// naming it.
func TestCAFile(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	file := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, block := range blocks {
			b = append(b, pem.EncodeToMemory(block)...)
		}
		if len(blocks) == 0 {
			b = []byte("not a certificate\n")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	server := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	// Blocks crypto/x509 skips: not a certificate, a certificate with
	// headers (encrypted), a certificate that does not parse.
	key := &pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}
	encrypted := &pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: srv.Certificate().Raw}
	notDER := &pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")}
	env := func(file string) func(string) string {
		return func(k string) string {
			if k == CAFileVar {
				return file
			}
			return ""
		}
	}

	for _, tc := range []struct {
		name, file string
		trusted    bool
	}{
		{"the server's CA", file("ca.pem", server), true},
		{"the server's CA among blocks that are skipped", file("mixed.pem", key, encrypted, notDER, server), true},
		{"unset: the system's roots", "", false},
	} {
		c, err := New(env(tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if roots := c.Transport.(*schemeGuard).next.(*http.Transport).TLSClientConfig.RootCAs; (roots == nil) != (tc.file == "") {
			t.Errorf("%s: RootCAs %v; want nil (crypto/x509's system roots) exactly when %s is unset", tc.name, roots, CAFileVar)
		}
		resp, err := c.Get(srv.URL)
		if !tc.trusted {
			if err == nil || !retry.Untrusted(err) {
				t.Errorf("%s: %v, want the server's certificate untrusted", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "HTTP/2.0" {
			t.Errorf("%s: protocol %q, want HTTP/2.0 (the Hub's)", tc.name, body)
		}
	}

	// HF_OIDC_CA_FILE adds to the system's roots, or to SSL_CERT_FILE's.
	for _, tc := range []struct {
		name  string
		vars  map[string]string
		trust bool
	}{
		{"HF_OIDC_CA_FILE alone", map[string]string{ExtraCAFileVar: file("extra.pem", server)}, true},
		{"HF_OIDC_CA_FILE and an SSL_CERT_FILE without the server", map[string]string{ExtraCAFileVar: file("extra2.pem", server), CAFileVar: writeFile(t, filepath.Join(dir, "other.pem"), otherCA(t))}, true},
	} {
		c, err := New(func(k string) string { return tc.vars[k] })
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		roots := c.Transport.(*schemeGuard).next.(*http.Transport).TLSClientConfig.RootCAs
		if sys, err := x509.SystemCertPool(); err == nil && tc.vars[CAFileVar] == "" && !subjectsWithin(sys, roots) {
			t.Errorf("%s: the roots lack the system's", tc.name)
		}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		resp.Body.Close()
	}
	if _, err := New(func(k string) string {
		return map[string]string{ExtraCAFileVar: file("junk.pem")}[k]
	}); err == nil || !strings.Contains(err.Error(), ExtraCAFileVar+"=") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("%s with no certificate: %v, want an error naming it", ExtraCAFileVar, err)
	}

	for file, want := range map[string]string{
		filepath.Join(dir, "missing.pem"):           "no such file",
		file("empty.pem"):                           "no PEM certificate",
		file("skipped.pem", key, encrypted, notDER): "no PEM certificate",
	} {
		_, err := New(env(file))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), CAFileVar+"="+file) || !strings.Contains(err.Error(), "unset it") {
			t.Errorf("%s=%s: %v, want an error naming the variable and file, saying %q and what to do", CAFileVar, file, err, want)
		}
	}
}

// TestTLSHandshakeBounded: a server that accepts and never answers the
// TLS hello fails the request after the handshake timeout, not never.
func TestTLSHandshakeBounded(t *testing.T) {
	t.Parallel()
	addr := serveTCP(t, func(net.Conn) {}) // held open, silent
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport.(*schemeGuard).next.(*http.Transport)
	if tr.TLSHandshakeTimeout != TLSHandshakeTimeout || tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
		t.Fatalf("transport: handshake timeout %s, proxy set %v, HTTP/2 %v", tr.TLSHandshakeTimeout, tr.Proxy != nil, tr.ForceAttemptHTTP2)
	}
	tr.TLSHandshakeTimeout = 200 * time.Millisecond // the real bound is 10 s
	done := make(chan error, 1)
	go func() {
		_, err := c.Get("https://" + addr + "/")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "TLS handshake timeout") {
			t.Errorf("silent server: %v, want a TLS handshake timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a silent TLS server held the request for 30 s")
	}
}

// TestLoopbackNeverProxied: a loopback host, however spelled, is never
// sent to a proxy, and plain http dials nothing but loopback addresses,
// whatever "localhost" resolves to.
func TestLoopbackNeverProxied(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"localhost", "LOCALHOST", "LocalHost", "127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"} {
		if !IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = false", host)
		}
		u := &url.URL{Scheme: "http", Host: net.JoinHostPort(host, "8080")}
		if p, err := proxy(&http.Request{URL: u}); p != nil || err != nil {
			t.Errorf("proxy for %s = %v, %v; want none", u, p, err)
		}
	}
	for _, host := range []string{"localhost.", "app.localhost", "127.0.0.1.nip.io", "2130706433", "0x7f000001", "10.0.0.1", "::2", ""} {
		if IsLoopback(host) {
			t.Errorf("IsLoopback(%q) = true", host)
		}
	}
	for _, addr := range []string{"127.0.0.1:80", "127.0.0.2:80", "[::1]:80", "[::ffff:127.0.0.1]:80"} {
		if err := loopbackOnly("tcp", addr, nil); err != nil {
			t.Errorf("loopbackOnly(%s) = %v", addr, err)
		}
	}
	for _, addr := range []string{"10.0.0.1:80", "192.168.1.1:80", "[::2]:80", "[fe80::1]:80", "8.8.8.8:53", "nonsense"} {
		if err := loopbackOnly("tcp", addr, nil); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("loopbackOnly(%s) = %v, want a refusal", addr, err)
		}
	}
}

// TestPlainHTTPOnlyToLoopback pins that plain http reaches loopback
// addresses only: private ranges, link-local addresses (169.254.169.254 is
// the cloud metadata service), unique local IPv6 and the unspecified
// address are as far from the sandbox as any host on the Internet, and an
// ID token sent there in clear can be read on the way.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		host     string // as in a URL's Hostname: no brackets
		loopback bool
	}{
		{"IPv4 loopback", "127.0.0.1", true},
		{"IPv4 loopback, not .1", "127.1.2.3", true},
		{"IPv4 loopback, top of the block", "127.255.255.255", true},
		{"IPv6 loopback", "::1", true},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1", true},
		{"private 10/8", "10.0.0.1", false},
		{"private 172.16/12", "172.16.0.1", false},
		{"private 172.16/12, top", "172.31.255.254", false},
		{"private 192.168/16", "192.168.1.1", false},
		{"shared address space 100.64/10", "100.64.0.1", false},
		{"link-local, cloud metadata", "169.254.169.254", false},
		{"IPv6 link-local", "fe80::1", false},
		{"IPv6 unique local fc00::/7", "fc00::1", false},
		{"IPv6 unique local fd00::/8", "fd12:3456::1", false},
		{"IPv4-mapped private", "::ffff:10.0.0.1", false},
		{"IPv4-mapped link-local", "::ffff:169.254.169.254", false},
		{"IPv4 unspecified", "0.0.0.0", false},
		{"IPv6 unspecified", "::", false},
		{"next to 127/8", "128.0.0.1", false},
		{"just below 127/8", "126.255.255.255", false},
		{"public IPv4", "8.8.8.8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsLoopback(tt.host); got != tt.loopback {
				t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.loopback)
			}
			hostPort := net.JoinHostPort(tt.host, "8080")
			u := &url.URL{Scheme: "http", Host: hostPort, Path: "/oauth/token"}
			err := CheckURL(u)
			switch {
			case tt.loopback && err != nil:
				t.Errorf("CheckURL(%s) = %v, want allowed", u, err)
			case !tt.loopback && (err == nil || !strings.Contains(err.Error(), "refusing plain http")):
				t.Errorf("CheckURL(%s) = %v, want a refusal of plain http", u, err)
			}
			err = loopbackOnly("tcp", hostPort, nil)
			switch {
			case tt.loopback && err != nil:
				t.Errorf("loopbackOnly(%s) = %v, want allowed", hostPort, err)
			case !tt.loopback && err == nil:
				t.Errorf("loopbackOnly(%s) = nil, want a refusal", hostPort)
			}
			// https goes anywhere: the refusal is about plain http only.
			if err := CheckURL(&url.URL{Scheme: "https", Host: hostPort}); err != nil {
				t.Errorf("CheckURL(https://%s) = %v, want allowed", hostPort, err)
			}
		})
	}
}

// closeRecorder is a request body that remembers being closed.
type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return nil
}

// TestRefusedRequestClosesBody: a RoundTripper must close the body even
// when it refuses the request, or a caller's body (an exchange's ID
// token, a pipe) is left open; a request with no body is refused too.
func TestRefusedRequestClosesBody(t *testing.T) {
	t.Parallel()
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body *closeRecorder
	}{
		{"with a body", &closeRecorder{Reader: strings.NewReader(`{"subject_token":"x"}`)}},
		{"without a body", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := http.NewRequest(http.MethodPost, "http://huggingface.co/oauth/token", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != nil {
				r.Body = tt.body
			}
			resp, err := c.Transport.RoundTrip(r)
			if resp != nil {
				resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "only over https") {
				t.Fatalf("RoundTrip = %v, want a refusal", err)
			}
			if tt.body != nil && !tt.body.closed.Load() {
				t.Error("the refused request's body was left open")
			}
		})
	}
}

// TestIdleConnectionsExpire: idle connections, to https and to loopback
// alike, are closed after 90 seconds rather than kept for ever.
func TestIdleConnectionsExpire(t *testing.T) {
	t.Parallel()
	for name, ht := range newTransports(t) {
		if ht.IdleConnTimeout != 90*time.Second {
			t.Errorf("%s: IdleConnTimeout = %v, want 90s", name, ht.IdleConnTimeout)
		}
	}
}

// newTransports are the two transports of a New client, by what they
// carry: https, and plain http to loopback.
func newTransports(t *testing.T) map[string]*http.Transport {
	t.Helper()
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	g, ok := c.Transport.(*schemeGuard)
	if !ok {
		t.Fatalf("transport is %T, want *schemeGuard", c.Transport)
	}
	out := map[string]*http.Transport{}
	for name, rt := range map[string]http.RoundTripper{"https": g.next, "plain http to loopback": g.plain} {
		ht, ok := rt.(*http.Transport)
		if !ok {
			t.Fatalf("%s: transport is %T, want *http.Transport", name, rt)
		}
		out[name] = ht
	}
	return out
}

// TestSchemeGuardRoutesByScheme: plain http, once allowed, goes only
// through the transport that has no proxy and dials nothing but loopback;
// https goes through the other, which may use a proxy and any address.
func TestSchemeGuardRoutesByScheme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, want string
	}{
		{"plain http to loopback", "http://127.0.0.1:8080/oauth/token", "plain"},
		{"plain http to localhost", "http://localhost:8080/oauth/token", "plain"},
		{"https to a remote host", "https://huggingface.co/oauth/token", "next"},
		{"https to loopback", "https://127.0.0.1:8443/oauth/token", "next"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			record := func(name string) http.RoundTripper {
				return roundTripFunc(func(*http.Request) (*http.Response, error) {
					got = append(got, name)
					return nil, errors.New("recorded")
				})
			}
			g := &schemeGuard{next: record("next"), plain: record("plain")}
			r, err := http.NewRequest(http.MethodGet, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.RoundTrip(r); err == nil || err.Error() != "recorded" {
				t.Fatalf("RoundTrip = %v, want it passed on", err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("went through %v, want [%s]", got, tt.want)
			}
		})
	}
}

// otherCA is the PEM of a CA that signed nothing the tests serve.
func otherCA(t *testing.T) []byte {
	t.Helper()
	_, pemBytes, err := sandbox.SelfSigned(time.Now(), "other.example")
	if err != nil {
		t.Fatal(err)
	}
	return pemBytes
}

// subjectsWithin reports whether every subject of a is in b.
func subjectsWithin(a, b *x509.CertPool) bool {
	in := map[string]bool{}
	//lint:ignore SA1019 the subjects are all a test can compare pools by
	for _, s := range b.Subjects() {
		in[string(s)] = true
	}
	//lint:ignore SA1019 as above
	for _, s := range a.Subjects() {
		if !in[string(s)] {
			return false
		}
	}
	return true
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveTCP accepts connections on a loopback port until the test ends and
// hands each to handle; when the test ends, it closes the port and every
// connection handle left open. It returns the port's address.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			handle(c)
		}
	}()
	return ln.Addr().String()
}
