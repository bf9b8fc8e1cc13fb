package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/retry"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// Bounds on the steps before a request is sent. A CI job's whole round has
// its own deadline (--timeout); these only stop one unreachable address from
// eating all of it.
const (
	ConnectTimeout      = 10 * time.Second
	TLSHandshakeTimeout = 10 * time.Second
)

// CAFileVar names a PEM bundle that replaces the system's roots, as it does
// for OpenSSL and curl. Go itself reads it only on Linux and the BSDs; New
// reads it on every platform so that a self-hosted runner behind a TLS
// inspecting proxy works the same on macOS and Windows.
const CAFileVar = "SSL_CERT_FILE"

// ExtraCAFileVar names a PEM bundle that hf-oidc trusts besides the
// system's roots (or CAFileVar's), and that nothing else reads: for a Hub
// behind a private CA, such as the sandbox's --tls, without changing whom
// every other program in the shell trusts.
const ExtraCAFileVar = "HF_OIDC_CA_FILE"

// New returns a client that
//   - speaks only https, except to loopback addresses (the local sandbox);
//   - takes proxies from HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and their
//     lower-case forms), as curl and the Hub's own client do;
//   - trusts the roots in SSL_CERT_FILE when it is set, else the system's,
//     as crypto/x509 finds them (on Linux it honours SSL_CERT_DIR too),
//     and those in HF_OIDC_CA_FILE besides;
//   - follows a redirect only to the same scheme, host and port (a POST only
//     on 307 and 308, which keep its body), so that neither the ID token in
//     an exchange's body nor a bearer header ever reaches another host.
//
// getenv reads SSL_CERT_FILE and HF_OIDC_CA_FILE (nil: os.Getenv); the proxy variables are read
// from the process environment by net/http.
func New(getenv func(string) string) (*http.Client, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	// A nil RootCAs makes crypto/tls verify with the system's roots, which
	// crypto/x509 reads at the first handshake.
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if file := getenv(CAFileVar); file != "" {
		pool, err := readCAFile(CAFileVar, file, x509.NewCertPool())
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	}
	if file := getenv(ExtraCAFileVar); file != "" {
		base := tlsConfig.RootCAs
		if base == nil {
			var err error
			if base, err = x509.SystemCertPool(); err != nil {
				base = x509.NewCertPool() // no system roots to add to
			}
		}
		pool, err := readCAFile(ExtraCAFileVar, file, base)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	}
	if tlsConfig.RootCAs == nil {
		preloadRoots()
	}
	t := &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// net/http reports a refused CONNECT as its bare status text, which
		// says neither that a proxy answered nor which.
		OnProxyConnectResponse: func(_ context.Context, proxy *url.URL, _ *http.Request, resp *http.Response) error {
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			_, text, _ := strings.Cut(resp.Status, " ")
			return &retry.ProxyError{Proxy: proxy.Host, Status: resp.StatusCode, Text: safetext.Clip(text, 60)}
		},
	}
	warm := newWarmer(t)
	t.DialTLSContext = warm.dialTLS
	// Plain http, which only loopback hosts may use, goes through a
	// transport with no proxy that dials nothing but loopback addresses:
	// "localhost" is resolved, and a resolver may say anything.
	plain := t.Clone()
	plain.Proxy = nil
	plain.DialTLSContext = nil
	plain.DialContext = (&net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second, Control: loopbackOnly}).DialContext
	// Clone has set up t's HTTP/2.
	warm.h2 = t.TLSNextProto["h2"]
	return &http.Client{Transport: &schemeGuard{next: t, plain: plain, warm: warm}, CheckRedirect: CheckRedirect}, nil
}

// preloadRoots has crypto/x509 read the system's roots in the background,
// once per process. Otherwise the first handshake reads them when the
// server's certificate arrives, after a round trip or two spent waiting,
// and every connection of the round waits for them.
var preloadRoots = sync.OnceFunc(func() {
	go x509.SystemCertPool() //nolint:errcheck // only the reading matters; a handshake reports what fails
})

// readCAFile adds file's certificates to pool as crypto/x509 reads a
// bundle, and fails unless it holds at least one; name is the variable
// that named file.
func readCAFile(name, file string, pool *x509.CertPool) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("reading %s=%s: %v; point it at a PEM bundle of the CAs to trust, or unset it to use the system's", name, file, err)
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("reading %s=%s: no PEM certificate in it; point it at a PEM bundle of the CAs to trust, or unset it to use the system's", name, file)
	}
	return pool, nil
}

// schemeGuard refuses plain http to anything but loopback, whatever asked
// for it: a variable, a redirect or a provider's URL.
type schemeGuard struct {
	next  http.RoundTripper // for https
	plain http.RoundTripper // for http: no proxy, loopback only
	warm  *warmer           // next's dialer, for Warm
}

// proxy is http.ProxyFromEnvironment, but never for a loopback host,
// however it is spelled: net/http knows only the lower-case "localhost",
// and would send a request for http://LOCALHOST, ID token and all, to the
// proxy in clear.
func proxy(r *http.Request) (*url.URL, error) {
	if IsLoopback(r.URL.Hostname()) {
		return nil, nil
	}
	return http.ProxyFromEnvironment(r)
}

// loopbackOnly refuses a connection to an address that is not loopback.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("refusing plain http to %s: it is not a loopback address, and tokens travel only over https elsewhere", address)
	}
	return nil
}

func (g *schemeGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := CheckURL(r.URL); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	if r.URL.Scheme == "http" {
		return g.plain.RoundTrip(r)
	}
	return g.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transports.
func (g *schemeGuard) CloseIdleConnections() {
	for _, t := range []http.RoundTripper{g.next, g.plain} {
		if c, ok := t.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
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

// IsLoopback reports whether host is "localhost" in any case, or a
// loopback IP address (an IPv4-mapped one too). Other names are not
// resolved: what a name resolves to can change between the check and the
// connection. "localhost." is not loopback: the resolver sends a name with
// a final dot to DNS, which may answer anything.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
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

// UntrustedHint is the next step after a certificate that did not verify
// (retry.Untrusted).
const UntrustedHint = "The server's certificate is not trusted. If a proxy inspects TLS on this runner, set " + CAFileVar + " to a PEM bundle of its CA; otherwise check that the URL points at the real server."
