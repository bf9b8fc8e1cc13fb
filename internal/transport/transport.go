package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Bounds on the steps before a request is sent. A CI job's whole round has
// its own deadline (--timeout); these only stop one unreachable address from
// eating all of it.
const (
	ConnectTimeout      = 10 * time.Second
	TLSHandshakeTimeout = 10 * time.Second
)

// EnvCAFile names a PEM bundle that replaces the system's roots, as it does
// for OpenSSL and curl. Go itself reads it only on Linux and the BSDs; New
// reads it on every platform so that a self-hosted runner behind a TLS
// inspecting proxy works the same on macOS and Windows.
const EnvCAFile = "SSL_CERT_FILE"

// EnvCADir adds directories of CA certificates (colon-separated) to the
// system's bundle, replacing its default directories, as crypto/x509 and
// OpenSSL read it on Linux.
const EnvCADir = "SSL_CERT_DIR"

// New returns a client that
//   - speaks only https, except to loopback addresses (the local sandbox);
//   - takes proxies from HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and their
//     lower-case forms), as curl and the Hub's own client do;
//   - trusts the roots in SSL_CERT_FILE when it is set, else the system's
//     (read in the background from the start, and on Linux each distinct
//     certificate parsed once: see rootStore);
//   - follows a redirect only to the same scheme, host and port (a POST only
//     on 307 and 308, which keep its body), so that neither the ID token in
//     an exchange's body nor a bearer header ever reaches another host.
//
// getenv reads SSL_CERT_FILE (nil: os.Getenv); the proxy variables are read
// from the process environment by net/http.
func New(getenv func(string) string) (*http.Client, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	var roots *rootsFuture
	if file := getenv(EnvCAFile); file != "" {
		pool, err := loadRoots(file)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	} else if store, ok := systemStore(getenv); ok {
		roots = loadInBackground(store)
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	g := &schemeGuard{next: t}
	if roots != nil {
		// Set before the first https request dials, never after: every
		// request passes through the guard's once.
		g.prepare = func() {
			if pool := roots.wait(); pool != nil {
				tlsConfig.RootCAs = pool
			}
		}
	}
	return &http.Client{Transport: g, CheckRedirect: CheckRedirect}, nil
}

func loadRoots(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s=%s: %v; point it at a PEM bundle of the CAs to trust, or unset it to use the system's", EnvCAFile, file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading %s=%s: no PEM certificate in it; point it at a PEM bundle of the CAs to trust, or unset it to use the system's", EnvCAFile, file)
	}
	return pool, nil
}

// schemeGuard refuses plain http to anything but loopback, whatever asked
// for it: a variable, a redirect or a provider's URL.
// It also runs prepare, once, before the first https request.
type schemeGuard struct {
	next    http.RoundTripper
	prepare func()
	once    sync.Once
}

func (g *schemeGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := CheckURL(r.URL); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	if g.prepare != nil && r.URL.Scheme == "https" {
		g.once.Do(g.prepare)
	}
	return g.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (g *schemeGuard) CloseIdleConnections() {
	if c, ok := g.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// CheckURL allows https anywhere and http only to a loopback host.
func CheckURL(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("refusing plain http to %s: tokens travel only over https (http is allowed for loopback addresses)", u.Host)
	default:
		return fmt.Errorf("refusing the scheme %q for %s: only https (and http to loopback) is allowed", u.Scheme, u.Host)
	}
}

// IsLoopback reports whether host is "localhost" or a loopback IP address.
// Other names are not resolved: what a name resolves to can change between
// the check and the connection.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckRedirect follows a redirect only to the same origin, at most 5
// times, and a POST only on 307 or 308. Anything else comes back to the
// caller as the redirect answer itself, which it reports.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if len(via) >= 5 || req.Response == nil || !sameOrigin(req.URL, first) {
		return http.ErrUseLastResponse
	}
	if via[0].Method != http.MethodGet && via[0].Method != http.MethodHead {
		if code := req.Response.StatusCode; code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect {
			return http.ErrUseLastResponse
		}
	}
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// Untrusted reports whether err is a failure to verify the server's
// certificate: trying again cannot help, trusting its CA can.
func Untrusted(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname)
}

// UntrustedHint is the next step after an Untrusted error.
const UntrustedHint = "The server's certificate is not trusted. If a proxy inspects TLS on this runner, set " + EnvCAFile + " to a PEM bundle of its CA; otherwise check that the URL points at the real server."
