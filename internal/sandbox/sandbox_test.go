package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injectable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is a whole second, so JWT times are exact.
var t0 = time.Unix(1_800_000_000, 0)

func start(t *testing.T, cfg Config) *Sandbox {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMain(m *testing.M) {
	// One key per issuer name, made once, shared by every sandbox: issuers
	// of one sandbox still have keys of their own, so a token of one never
	// verifies as another's.
	real := generateKey
	var mu sync.Mutex
	keys := map[string]func() (*rsa.PrivateKey, error){}
	generateKey = func(name string) (*rsa.PrivateKey, error) {
		mu.Lock()
		k, ok := keys[name]
		if !ok {
			k = sync.OnceValues(func() (*rsa.PrivateKey, error) { return real(name) })
			keys[name] = k
		}
		mu.Unlock()
		return k()
	}
	// Made now, so that no request waits for a key under a client timeout
	// on a busy machine.
	var wg sync.WaitGroup
	for _, p := range Providers() {
		wg.Go(func() {
			if _, err := generateKey(string(p)); err != nil {
				panic(err)
			}
		})
	}
	wg.Wait()
	os.Exit(m.Run())
}

// otherKey is an RSA key no issuer of any sandbox has.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// noKeepAlive sends every request on a new connection, so that the
// transport never retries a request on its own after a fault closed a
// reused connection.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", req.URL.Path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body) // not every answer is JSON; a.raw has it
	return a
}

func get(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func post(t *testing.T, url, contentType string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(t, req)
}

func exchangeFields(subjectToken, resource string) map[string]any {
	return map[string]any{
		"grant_type":         "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
		"subject_token":      subjectToken,
		"resource":           resource,
	}
}

func exchange(t *testing.T, s *Sandbox, subjectToken, resource string) answer {
	t.Helper()
	b, _ := json.Marshal(exchangeFields(subjectToken, resource))
	return post(t, s.URL()+PathToken, "application/json", b)
}

func mint(t *testing.T, s *Sandbox, claims map[string]any) string {
	t.Helper()
	tok, err := s.MintIDToken(claims)
	if err != nil {
		t.Fatalf("MintIDToken: %v", err)
	}
	return tok
}

var requestIDPattern = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)

func TestStartRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0", "nonsense"} {
		if s, err := Start(Config{Addr: addr}); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded, want an error", addr)
		}
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.Inject(PathToken, Fault{Status: 503}, Fault{Body: "{}"})
	seen := map[string]bool{}
	paths := []string{PathToken, PathToken, PathToken, PathWhoami, "/nowhere", "/github" + discoveryPath, PathGitHubIDToken}
	for i := 0; i < 30; i++ {
		p := paths[i%len(paths)]
		var a answer
		if p == PathToken {
			a = post(t, s.URL()+p, "application/json", []byte("{}"))
		} else {
			a = get(t, s.URL()+p, "")
		}
		id := a.header.Get("x-request-id")
		if !requestIDPattern.MatchString(id) {
			t.Fatalf("%s: x-request-id %q does not look like the Hub's", p, id)
		}
		if seen[id] {
			t.Fatalf("%s: x-request-id %q repeated", p, id)
		}
		seen[id] = true
	}
}

func TestMintedAndNoLeaks(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	idTok := mint(t, s, nil)
	ok := exchange(t, s, idTok, "acme/training")
	hfTok, _ := ok.body["access_token"].(string)
	if hfTok == "" {
		t.Fatalf("exchange failed: %d %s", ok.status, ok.raw)
	}
	bad := mint(t, s, map[string]any{"ref": "refs/heads/other"})
	if a := exchange(t, s, bad, "acme/training"); a.status != 400 {
		t.Fatalf("mismatched exchange: status %d, want 400", a.status)
	}
	fromEndpoint := requestIDToken(t, s, "https://huggingface.co")

	minted := s.Minted()
	for _, want := range []string{s.gitHubRequestToken, idTok, hfTok, bad, fromEndpoint} {
		if !contains(minted, want) {
			t.Errorf("Minted() lacks a secret it handed out")
		}
	}
	text := s.Describe()
	for _, r := range s.Rejections() {
		text += r.Reason
	}
	for _, secret := range minted {
		if strings.Contains(text, secret) {
			t.Errorf("a minted secret appears in Describe or a rejection reason")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	d := s.Describe()
	for _, want := range []string{
		s.URL(),
		s.URL() + PathToken,
		s.GitHubIssuer(),
		s.GitHubIssuer() + discoveryPath,
		s.URL() + PathGitHubIDToken + "?api-version=2.0",
		"acme/training <- " + s.GitHubIssuer() + " (branch=main, repository=acme/training, workflow=publish.yml)",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe() lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, s.gitHubRequestToken) {
		t.Error("Describe() shows the request token")
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	requestIDToken(t, s, "https://huggingface.co")
	exchange(t, s, mint(t, s, nil), "acme/training")
	exchange(t, s, "garbage", "acme/training")
	s.Inject(PathToken, Fault{Status: 500})
	exchange(t, s, "garbage", "acme/training")
	get(t, s.URL()+PathWhoami, "nope")

	st := s.Stats()
	want := Stats{IDTokenRequests: 1, Exchanges: 3, Issued: 1, Rejected: 1, KeyFetches: 1}
	if st.Connections == 0 {
		t.Error("Stats().Connections = 0 after requests")
	}
	st.Requests, want.Requests, st.Connections = nil, nil, 0
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Stats() = %+v, want %+v", st, want)
	}
	if n := s.Stats().Requests[PathWhoami]; n != 1 {
		t.Errorf("Requests[%s] = %d, want 1", PathWhoami, n)
	}
}

// TestTLS: with TLS the sandbox serves https and HTTP/2 to a client that
// trusts CertPEM, its issuers' URLs are https too, and the Hub side
// verifies ID tokens by fetching keys over that https.
func TestTLS(t *testing.T) {
	t.Parallel()
	s := start(t, Config{TLS: true})
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") || !strings.HasPrefix(s.IssuerURL(GitHub), "https://") {
		t.Fatalf("URL() = %s, issuer %s; want https", s.URL(), s.IssuerURL(GitHub))
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.CertPEM()) {
		t.Fatal("CertPEM() holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	s.TrustGitHub("acme/training")
	body, err := json.Marshal(map[string]string{
		"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
		"subject_token": mint(t, s, nil), "resource": "acme/training",
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(s.URL()+PathToken, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("exchange over TLS: %s %s, want 200 over HTTP/2", resp.Proto, resp.Status)
	}
	if st := s.Stats(); st.HTTP2 != 1 || st.Issued != 1 {
		t.Errorf("Stats() = %+v, want one HTTP/2 request and one token issued", st)
	}
	if _, err := http.Get(s.URL() + PathWhoami); err == nil {
		t.Error("a client that does not trust CertPEM got an answer")
	}
	if plain := start(t, Config{}); plain.CertPEM() != nil {
		t.Error("CertPEM() without TLS is not nil")
	}
}

// TestKeyFetchOnceForABurst: exchanges arriving together on a cold key
// cache make one fetch of the issuer's keys, not one each.
func TestKeyFetchOnceForABurst(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	tok := mint(t, s, nil)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() { exchange(t, s, tok, "acme/training") })
	}
	wg.Wait()
	if st := s.Stats(); st.KeyFetches != 1 || st.Issued != 32 {
		t.Errorf("32 concurrent exchanges: %d key fetches, %d tokens; want 1 and 32", st.KeyFetches, st.Issued)
	}
}
