package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config tunes a sandbox. The zero value is usable.
type Config struct {
	Addr            string        // listen address, loopback only; default "127.0.0.1:0"
	TokenLifetime   time.Duration // lifetime of issued HF tokens, rounded to whole seconds (at least one); default time.Hour
	IDTokenLifetime time.Duration // lifetime of every issuer's ID tokens, rounded likewise; default: each provider's usual (GitHub and Buildkite 5 minutes, GitLab, CircleCI and Bitbucket an hour)
	Latency         time.Duration // added before every answer (benchmarks inject round-trip time)
	// TLS serves https (HTTP/2 and HTTP/1.1) with a certificate made at
	// start for the loopback names; clients trust it with CertPEM.
	TLS      bool
	Leeway   time.Duration    // clock leeway on exp/nbf/iat checks; default 0
	Audience string           // the audience the Hub requires; default "https://huggingface.co"
	Now      func() time.Time // default time.Now
	// Keys makes each issuer's signing key; default: a fresh 2048-bit RSA
	// key per issuer and sandbox, made on first use. Tests pass SharedKeys.
	Keys func(Provider) (*rsa.PrivateKey, error)
	// RateLimit answers exchanges beyond a rate with 429; nil: no limit.
	RateLimit *RateLimit
	// CertHosts are more names or addresses the TLS certificate covers,
	// such as those of a benchmark's proxies in front of the sandbox.
	CertHosts []string
}

// The paths the Hub side serves, for Inject.
const (
	PathToken  = "/oauth/token"
	PathWhoami = "/api/whoami-v2"
)

// A Sandbox is a running local Hub and its issuers. Its methods are safe for
// concurrent use.
type Sandbox struct {
	cfg    Config
	url    string
	ln     net.Listener
	srv    *http.Server
	mux    *http.ServeMux
	client *http.Client // fetches issuer keys, like the Hub does
	// internalKey marks the Hub side's own key fetches, which skip the
	// injected latency so that a benchmark's first exchange costs what the
	// others do.
	internalKey string
	certPEM     []byte // with TLS: the certificate clients trust

	github             *issuer
	gitHubRequestToken string
	// mintSecret guards the mint endpoints of the other providers' issuers,
	// which stand-ins for their CLIs call.
	mintSecret string
	// jobID is the job of the variables Env gives, as a CI names its job
	// (CI_JOB_ID, CIRCLE_WORKFLOW_JOB_ID, BUILDKITE_JOB_ID): one per
	// sandbox, so that tokens cached by one test's job are never another's.
	jobID int64
	// issuers by name; each serves under its own path prefix with its own key.
	issuers map[string]*issuer

	fetchMu    sync.Mutex // held while fetching an issuer's keys
	mu         sync.Mutex
	publishers map[string][]Publisher    // by resource
	keys       map[string]keySet         // fetched issuer keys, by issuer URL
	tokens     map[string]issued         // issued HF tokens
	faults     map[string][]Fault        // queued faults, by path
	requests   map[string]int            // by path
	minted     []string                  // every secret handed out
	rejections []Rejection               // every 400 of the exchange
	stats      Stats                     // counters kept by the handlers
	claims     map[string]map[string]any // default claims, by issuer name
}

// Stats counts what the sandbox has seen.
type Stats struct {
	IDTokenRequests int            // requests to an issuer's ID token endpoint
	Exchanges       int            // requests to /oauth/token
	Issued          int            // HF tokens issued
	Rejected        int            // exchanges answered 400
	KeyFetches      int            // JWKS fetches by the Hub side (cached per issuer)
	Requests        map[string]int // every request, by path
	// Connections counts the connections clients opened; HTTP2 the
	// requests that came over HTTP/2.
	Connections, HTTP2 int
}

// Start listens on cfg.Addr and serves until Close.
func Start(cfg Config) (*Sandbox, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.Audience == "" {
		cfg.Audience = "https://huggingface.co"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("starting sandbox: %w", err)
	}
	// The sandbox trusts anyone who can reach it; it must never listen
	// beyond this machine.
	if !isLoopback(host) {
		return nil, fmt.Errorf("starting sandbox: %s is not a loopback address", cfg.Addr)
	}

	s := &Sandbox{
		cfg:         cfg,
		mux:         http.NewServeMux(),
		internalKey: randomText(16),
		issuers:     map[string]*issuer{},
		publishers:  map[string][]Publisher{},
		keys:        map[string]keySet{},
		tokens:      map[string]issued{},
		faults:      map[string][]Fault{},
		requests:    map[string]int{},
		claims:      map[string]map[string]any{},
	}
	s.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("starting sandbox: %w", err)
	}
	s.url = "http://" + s.ln.Addr().String()
	var tlsConfig *tls.Config
	if cfg.TLS {
		cert, certPEM, err := SelfSigned(cfg.Now(), append([]string{"localhost", "127.0.0.1", "::1"}, cfg.CertHosts...)...)
		if err != nil {
			s.ln.Close()
			return nil, fmt.Errorf("starting sandbox: %w", err)
		}
		s.url, s.certPEM = "https://"+s.ln.Addr().String(), certPEM
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	}
	s.mintSecret = randomText(32)
	s.remember(s.mintSecret)
	s.jobID = int64(mathrand.Uint32())
	s.github = &issuer{name: string(GitHub), prefix: "/github", lifetime: 5 * time.Minute}
	s.addIssuer(s.github, defaultGitHubClaims())
	s.serveGitHub(s.github)
	s.addProviders()
	s.mux.HandleFunc("POST "+PathToken, s.handleToken)
	s.mux.HandleFunc("GET "+PathWhoami, s.handleWhoami)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.certPEM)
	s.client = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: roots}},
		// The Hub follows the issuer's own documents, nothing else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirect refused") },
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				s.mu.Lock()
				s.stats.Connections++
				s.mu.Unlock()
			}
		},
	}
	if tlsConfig != nil {
		s.srv.TLSConfig = tlsConfig
		go s.srv.ServeTLS(s.ln, "", "") //nolint:errcheck // ServeTLS returns ErrServerClosed after Close
	} else {
		go s.srv.Serve(s.ln) //nolint:errcheck // Serve returns ErrServerClosed after Close
	}
	return s, nil
}

// URL is the Hub endpoint, as HF_ENDPOINT: "http://127.0.0.1:PORT" (https
// with TLS).
func (s *Sandbox) URL() string { return s.url }

// Close stops the server and drops every connection, stalled ones included.
func (s *Sandbox) Close() error {
	err := s.srv.Close()
	s.client.CloseIdleConnections()
	return err
}

// ServeHTTP gives every answer a request id, then applies the latency and
// the next queued fault, then the real handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", s.requestID())
	s.count(r.URL.Path, r.ProtoMajor == 2)
	if r.Header.Get(internalHeader) != s.internalKey && !sleep(r.Context(), s.cfg.Latency) {
		return
	}
	if s.cfg.RateLimit.throttle(w, r, s.cfg.Now()) {
		return
	}
	if f, ok := s.nextFault(r.URL.Path); ok {
		s.applyFault(w, r, f)
		return
	}
	s.mux.ServeHTTP(w, r)
}

const internalHeader = "X-Sandbox-Internal"

func (s *Sandbox) count(path string, http2 bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[path]++
	if http2 {
		s.stats.HTTP2++
	}
	switch {
	case path == PathToken:
		s.stats.Exchanges++
	case s.isIDTokenPath(path):
		s.stats.IDTokenRequests++
	}
}

// requestID looks like the Hub's: "Root=1-<8 hex seconds>-<24 hex random>".
func (s *Sandbox) requestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return fmt.Sprintf("Root=1-%08x-%s", uint32(s.cfg.Now().Unix()), hex.EncodeToString(b))
}

// Stats returns the counters so far.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Requests = make(map[string]int, len(s.requests))
	for p, n := range s.requests {
		st.Requests[p] = n
	}
	return st
}

// Minted returns every secret the sandbox ever handed out (HF tokens, ID
// tokens, the GitHub request token), for leak checks.
func (s *Sandbox) Minted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.minted...)
}

func (s *Sandbox) remember(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minted = append(s.minted, secret)
}

// Describe says what is served where, in a few lines without secrets.
func (s *Sandbox) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hub endpoint (HF_ENDPOINT)  %s\n", s.url)
	fmt.Fprintf(&b, "  token exchange            POST %s%s\n", s.url, PathToken)
	fmt.Fprintf(&b, "  whoami                    GET  %s%s\n", s.url, PathWhoami)
	names := make([]string, 0, len(s.issuers))
	for name := range s.issuers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		is := s.issuers[name]
		fmt.Fprintf(&b, "%s issuer  %s\n", name, s.issuerURL(is))
		fmt.Fprintf(&b, "  discovery                 %s%s\n", s.issuerURL(is), discoveryPath)
		switch {
		case is == s.github:
			fmt.Fprintf(&b, "  ID tokens                 %s\n", s.gitHubRequestURL())
		case is.idTokenPath != "":
			fmt.Fprintf(&b, "  ID tokens                 GET %s%s?aud=… (Authorization: Bearer $%s)\n", s.url, is.idTokenPath, MintSecretVar)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resources := make([]string, 0, len(s.publishers))
	for r := range s.publishers {
		resources = append(resources, r)
	}
	sort.Strings(resources)
	for _, r := range resources {
		for _, p := range s.publishers[r] {
			fmt.Fprintf(&b, "trusted publisher  %s <- %s %s\n", r, p.Issuer, formatClaims(p.Claims))
		}
	}
	return b.String()
}

func formatClaims(c map[string]string) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + c[k]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// sleep waits d, or less when ctx ends first, and reports whether it waited
// the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// randomText is n random bytes, base64url without padding.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
