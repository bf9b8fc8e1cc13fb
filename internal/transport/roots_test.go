package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testCA returns a self-signed CA certificate's DER.
func testCA(t testing.TB, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemOf(ders ...[]byte) []byte {
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func poolOf(t *testing.T, ders ...[]byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		p.AddCert(c)
	}
	return p
}

// TestRootStoreReadsAsGoDoes builds a store laid out like Debian's: the
// first readable bundle wins, every file of every directory is read, links
// within a directory are skipped, links out of it followed, and PEM blocks
// that are not plain certificates are ignored.
func TestRootStoreReadsAsGoDoes(t *testing.T) {
	t.Parallel()
	a, b, c, d, e := testCA(t, "A"), testCA(t, "B"), testCA(t, "C"), testCA(t, "D"), testCA(t, "E")
	root := t.TempDir()
	bundle := filepath.Join(root, "etc/ca-certificates.crt")
	junk := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: e})...)
	junk = append(junk, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})...)
	writeFile(t, bundle, append(append(pemOf(a), junk...), pemOf(b)...))
	writeFile(t, filepath.Join(root, "etc/second-bundle.crt"), pemOf(e)) // not read: the first one was
	certs := filepath.Join(root, "etc/certs")
	writeFile(t, filepath.Join(certs, "ca-certificates.crt"), pemOf(a, b)) // the bundle again, as on Debian
	writeFile(t, filepath.Join(certs, "a.pem"), pemOf(a))
	writeFile(t, filepath.Join(certs, "c.pem"), pemOf(c))
	writeFile(t, filepath.Join(root, "share/d.crt"), pemOf(d))
	if err := os.Symlink("../../share/d.crt", filepath.Join(certs, "d.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("c.pem", filepath.Join(certs, "5ad8a5d6.0")); err != nil {
		t.Fatal(err)
	}
	s := rootStore{
		files: []string{filepath.Join(root, "missing.crt"), bundle, filepath.Join(root, "etc/second-bundle.crt")},
		dirs:  []string{filepath.Join(root, "missing-dir"), certs},
	}
	if got, want := s.load(), poolOf(t, a, b, c, d); !got.Equal(want) {
		t.Errorf("loaded pool is not {A, B, C, D}: %d certificates", len(got.Subjects()))
	}
	if got := (rootStore{files: []string{filepath.Join(root, "missing.crt")}, dirs: []string{filepath.Join(root, "share-none")}}).load(); got != nil {
		t.Errorf("a store with no certificate: %v, want nil (left to crypto/x509)", got)
	}
}

// TestRootStoreIsTheSystemPool: on this machine, the same roots as
// crypto/x509 loads itself, from where it looks (New reads SSL_CERT_FILE
// alone when it is set; crypto/x509 takes it for the bundle).
func TestRootStoreIsTheSystemPool(t *testing.T) {
	s, ok := systemStore(os.Getenv)
	if !ok {
		t.Skipf("on %s crypto/x509 asks the platform", runtime.GOOS)
	}
	if f := os.Getenv(EnvCAFile); f != "" {
		s.files = []string{f}
	}
	sys, err := x509.SystemCertPool()
	if err != nil {
		t.Fatal(err)
	}
	got := s.load()
	if got == nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no system roots on the CI machine: install ca-certificates")
		}
		t.Skip("no system roots on this machine")
	}
	if !got.Equal(sys) {
		t.Error("the roots loaded differ from crypto/x509's SystemCertPool")
	}
}

// TestSystemRootsTrusted: with no SSL_CERT_FILE the client trusts the
// system's roots and the directories SSL_CERT_DIR names, and nothing else.
func TestSystemRootsTrusted(t *testing.T) {
	t.Parallel()
	if _, ok := systemStore(os.Getenv); !ok {
		t.Skipf("on %s crypto/x509 asks the platform", runtime.GOOS)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sandbox.pem"), pemOf(srv.Certificate().Raw))
	for _, tc := range []struct {
		name, certDir string
		trusted       bool
	}{
		{"its CA in SSL_CERT_DIR", dir + ":/etc/ssl/certs", true},
		{"the system's roots alone", "", false},
	} {
		c, err := New(func(k string) string {
			if k == EnvCADir {
				return tc.certDir
			}
			return ""
		})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		if tc.trusted && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.trusted && (err == nil || !Untrusted(err)) {
			t.Errorf("%s: %v, want the server untrusted", tc.name, err)
		}
	}
}

// TestSystemRootsBundleFirst: the bundle is read first and the directories
// only when a server is not trusted without them; then the request is sent
// again, body and all, and everything crypto/x509 would read is trusted.
func TestSystemRootsBundleFirst(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	var bodies []string
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	server, other := pemOf(srv.Certificate().Raw), pemOf(testCA(t, "other"))

	for _, tc := range []struct {
		name               string
		bundle, inDir      []byte
		trusted, readsDirs bool
		conns              int32 // for two requests
	}{
		{"in the bundle", append(other, server...), other, true, false, 1},
		{"in a directory only", other, server, true, true, 2},
		{"nowhere", other, other, false, true, 2},
		{"nowhere, a directory adding another root", other, pemOf(testCA(t, "more")), false, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, "bundle.crt"), tc.bundle)
			writeFile(t, filepath.Join(root, "certs/x.pem"), tc.inDir)
			store := func(func(string) string) (rootStore, bool) {
				return rootStore{files: []string{filepath.Join(root, "bundle.crt")}, dirs: []string{filepath.Join(root, "certs")}}, true
			}
			c, err := newClient(func(string) string { return "" }, store)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			before := conns.Load()
			mu.Lock()
			bodies = nil
			mu.Unlock()
			for range 2 {
				resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("the body"))
				if err == nil {
					resp.Body.Close()
				}
				if tc.trusted != (err == nil) || (err != nil && !Untrusted(err)) {
					t.Fatalf("request: %v, want trusted %v", err, tc.trusted)
				}
			}
			roots := c.Transport.(*schemeGuard).roots
			if roots.widened != tc.readsDirs {
				t.Errorf("directories read: %v, want %v", roots.widened, tc.readsDirs)
			}
			if n := conns.Load() - before; n != tc.conns {
				t.Errorf("%d connections for two requests, want %d", n, tc.conns)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.trusted && (len(bodies) != 2 || bodies[0] != "the body" || bodies[1] != "the body") {
				t.Errorf("the server received %q, want the body twice", bodies)
			}
		})
	}
}

// BenchmarkSystemRoots compares loading this machine's roots as crypto/x509
// does (every file, each certificate parsed where it is found) with
// rootStore.load.
func BenchmarkSystemRoots(b *testing.B) {
	s, ok := systemStore(os.Getenv)
	if !ok || s.load() == nil {
		b.Skip("no system roots read by path here")
	}
	b.Run("crypto-x509", func(b *testing.B) {
		for b.Loop() {
			asGoDoes(s)
		}
	})
	b.Run("hf-oidc", func(b *testing.B) {
		for b.Loop() {
			s.load()
		}
	})
}

// asGoDoes is crypto/x509's loadSystemRoots (root_unix.go) over s.
func asGoDoes(s rootStore) *x509.CertPool {
	roots := x509.NewCertPool()
	for _, f := range s.files {
		if data, err := os.ReadFile(f); err == nil {
			roots.AppendCertsFromPEM(data)
			break
		}
	}
	for _, dir := range s.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !isSameDirSymlink(dir + "/" + e.Name()) {
				if data, err := os.ReadFile(dir + "/" + e.Name()); err == nil {
					roots.AppendCertsFromPEM(data)
				}
			}
		}
	}
	return roots
}

// FuzzRootStore: whatever a bundle and a directory's file hold, the store
// trusts what crypto/x509's own reading of them would.
func FuzzRootStore(f *testing.F) {
	a, b := testCA(f, "A"), testCA(f, "B")
	pa, pb := string(pemOf(a)), string(pemOf(b))
	for _, seed := range [][2]string{
		{pa + pb, pa},
		{pa + pb, pa + pb},
		{pa, pb},
		{pa, strings.TrimSuffix(pa, "\n")},
		{pa, "junk\n" + pa},
		{"  " + pa, pa},
		{pa, "  " + pa},
		{strings.Replace(pa, "-----\n", "-----\r\r\n", -1), pa},
		{pa, strings.Replace(pa, "-----\n", "-----\r\r\n", -1)},
		{"-----END FOO-----\n" + pa, pa},
		{pa + "-----END CERTIFICATE-----\n", pb + pa},
		{strings.Replace(pa, "\n-----END", "-----END CERTIFICATE-----\n-----END", 1), pa},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, bundle, file string) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "bundle.crt"), []byte(bundle))
		writeFile(t, filepath.Join(dir, "certs", "x.pem"), []byte(file))
		s := rootStore{files: []string{filepath.Join(dir, "bundle.crt")}, dirs: []string{filepath.Join(dir, "certs")}}
		got, want := s.load(), asGoDoes(s)
		if got == nil {
			got = x509.NewCertPool()
		}
		if !got.Equal(want) {
			t.Errorf("trusts %d certificates, crypto/x509 %d", len(got.Subjects()), len(want.Subjects()))
		}
	})
}
