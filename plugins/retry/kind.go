package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// A Kind is what a failed request ran into, as far as its error tells:
// the retry policy (Budget) and the causes a message gives depend on it.
type Kind int

const (
	KindOther     Kind = iota // a broken connection, or anything below does not name
	KindRefused               // the server's address refused the connection
	KindNoHost                // DNS says the host does not exist (NXDOMAIN)
	KindDNS                   // the resolver failed to answer
	KindUntrusted             // the certificate did not verify: unknown authority, expired
	KindHostname              // the certificate is for another host
	KindTLS                   // no TLS handshake: plain HTTP on the port, or a TLS alert
	KindTimeout               // a connect, handshake or answer took too long
	KindProxy                 // the proxy was unreachable or refused the tunnel
)

// Classify sorts err, the error of one request, into its Kind. A proxy's
// failure is KindProxy whatever it was (refused, no such host), since the
// proxy is what to fix.
func Classify(err error) Kind {
	var (
		op    *net.OpError
		proxy *ProxyError
		dns   *net.DNSError
		alert tls.AlertError
		plain tls.RecordHeaderError
		to    interface{ Timeout() bool }
	)
	switch {
	case err == nil:
		return KindOther
	case errors.As(err, &proxy), errors.As(err, &op) && op.Op == "proxyconnect":
		return KindProxy
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.As(err, &dns) && dns.IsNotFound:
		return KindNoHost
	case errors.As(err, &dns) && !dns.IsTimeout:
		return KindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case hostnameMismatch(err):
		return KindHostname
	case Untrusted(err):
		return KindUntrusted
	case errors.As(err, &plain), errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &alert):
		return KindTLS
	case errors.As(err, &to) && to.Timeout():
		return KindTimeout
	}
	return KindOther
}

// Budget is the most attempts a request that ended with resp or err
// deserves, whatever the caller allows: 1 where no retry can help (a
// certificate that does not verify, plain HTTP on a TLS port, an answer
// other than 429 or 5xx but 501, a proxy that turns the tunnel down); 2
// where one quick retry covers a blip but waiting longer would not (a
// refused connection, a host DNS says does not exist, a TLS alert); 0, no
// bound of its own, where waiting may help (timeouts, broken connections,
// a resolver or proxy that failed, 429 and 5xx).
//
// A refused connection is retried once, not more: the Hub's address does
// not refuse connections while it is up, and nothing listens where an
// endpoint names a wrong port. Through a proxy, it is the proxy that
// refused, which a restart of it explains: that gets every attempt.
func Budget(resp *http.Response, err error) int {
	if err == nil {
		if resp != nil && RetryableStatus(resp.StatusCode) {
			return 0
		}
		return 1
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 1
	}
	var proxy *ProxyError
	if errors.As(err, &proxy) {
		if RetryableStatus(proxy.Status) {
			return 0
		}
		return 1
	}
	var plain tls.RecordHeaderError
	switch Classify(err) {
	case KindUntrusted, KindHostname:
		return 1
	case KindTLS:
		if errors.As(err, &plain) || errors.Is(err, http.ErrSchemeMismatch) {
			return 1 // plain HTTP where TLS was expected
		}
		return 2
	case KindRefused, KindNoHost:
		return 2
	}
	return 0
}

// A ProxyError is a proxy's answer other than 200 to the CONNECT that
// asks it for a tunnel to the server.
type ProxyError struct {
	Proxy  string // the proxy's host and port
	Status int
	Text   string // the status text the proxy sent, e.g. "Proxy Authentication Required"
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("the proxy %s refused the tunnel: %d %s", e.Proxy, e.Status, e.Text)
}

func hostnameMismatch(err error) bool {
	var hostname x509.HostnameError
	return errors.As(err, &hostname)
}

// An Attempt is a request's place in its retry loop, for whatever traces
// requests to show. The loop puts it in the request's context; where it
// sends one request again and again (go-retryablehttp does), it sets N
// before each send, from the goroutine that sends.
type Attempt struct {
	N, Max int
	For    string // what the request is for, fit to show (a resource's name): never a secret
}

type attemptKey struct{}

// WithAttempt labels the requests made with ctx as attempt a.
func WithAttempt(ctx context.Context, a *Attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

// AttemptOf is the label WithAttempt put on ctx, if any.
func AttemptOf(ctx context.Context) (Attempt, bool) {
	a, ok := ctx.Value(attemptKey{}).(*Attempt)
	if !ok || a == nil {
		return Attempt{}, false
	}
	return *a, true
}
