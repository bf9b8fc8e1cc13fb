package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

// netErrors are the errors of failed requests as net/http returns them,
// by what happened.
func netErrors() map[string]error {
	post := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://huggingface.co/oauth/token", Err: err}
	}
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	return map[string]error{
		"refused":           post(dial(os.NewSyscallError("connect", syscall.ECONNREFUSED))),
		"no such host":      post(dial(&net.DNSError{Err: "no such host", Name: "hugingface.co", IsNotFound: true})),
		"resolver failed":   post(dial(&net.DNSError{Err: "server misbehaving", Name: "huggingface.co", IsTemporary: true})),
		"resolver timeout":  post(dial(&net.DNSError{Err: "i/o timeout", Name: "huggingface.co", IsTimeout: true})),
		"unknown authority": post(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
		"expired":           post(x509.CertificateInvalidError{Reason: x509.Expired}),
		"another host":      post(&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "10.0.0.5"}}),
		"plain HTTP":        post(http.ErrSchemeMismatch),
		"not TLS":           post(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}),
		"TLS alert":         post(tls.AlertError(40)),
		"connect timeout":   post(dial(&timeoutError{})),
		"deadline":          post(context.DeadlineExceeded),
		"proxy refused":     post(&net.OpError{Op: "proxyconnect", Net: "tcp", Err: dial(syscall.ECONNREFUSED)}),
		"proxy 407":         post(&ProxyError{Proxy: "proxy:3128", Status: 407, Text: "Proxy Authentication Required"}),
		"proxy 502":         post(&ProxyError{Proxy: "proxy:3128", Status: 502, Text: "Bad Gateway"}),
		"reset":             post(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}),
		"EOF":               post(io.ErrUnexpectedEOF),
		"cancelled":         post(context.Canceled),
	}
}

type timeoutError struct{}

func (*timeoutError) Error() string   { return "i/o timeout" }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	t.Parallel()
	want := map[string]Kind{
		"refused":           KindRefused,
		"no such host":      KindNoHost,
		"resolver failed":   KindDNS,
		"resolver timeout":  KindTimeout,
		"unknown authority": KindUntrusted,
		"expired":           KindUntrusted,
		"another host":      KindHostname,
		"plain HTTP":        KindTLS,
		"not TLS":           KindTLS,
		"TLS alert":         KindTLS,
		"connect timeout":   KindTimeout,
		"deadline":          KindTimeout,
		"proxy refused":     KindProxy,
		"proxy 407":         KindProxy,
		"proxy 502":         KindProxy,
		"reset":             KindOther,
		"EOF":               KindOther,
		"cancelled":         KindOther,
	}
	for name, err := range netErrors() {
		if got := Classify(err); got != want[name] {
			t.Errorf("%s: Classify = %d, want %d", name, got, want[name])
		}
	}
	if got := Classify(nil); got != KindOther {
		t.Errorf("Classify(nil) = %d", got)
	}
}

// TestBudget: what waiting cannot change gets at most one retry; what it
// may gets every attempt the caller allows.
func TestBudget(t *testing.T) {
	t.Parallel()
	want := map[string]int{
		"refused":           2,
		"no such host":      2,
		"TLS alert":         2,
		"unknown authority": 1,
		"expired":           1,
		"another host":      1,
		"plain HTTP":        1,
		"not TLS":           1,
		"proxy 407":         1,
		"cancelled":         1,
		"deadline":          1,
		"resolver failed":   0,
		"resolver timeout":  0,
		"connect timeout":   0,
		"proxy refused":     0,
		"proxy 502":         0,
		"reset":             0,
		"EOF":               0,
	}
	for name, err := range netErrors() {
		if got := Budget(nil, err); got != want[name] {
			t.Errorf("%s: Budget = %d, want %d", name, got, want[name])
		}
	}
	for status, want := range map[int]int{200: 1, 302: 1, 400: 1, 404: 1, 408: 1, 429: 0, 500: 0, 501: 1, 502: 0, 503: 0} {
		if got := Budget(answer(status), nil); got != want {
			t.Errorf("HTTP %d: Budget = %d, want %d", status, got, want)
		}
	}
}

// TestCheckBudget: Check stops at the failure's budget, counting the
// attempts made, and lets through what has none of its own.
func TestCheckBudget(t *testing.T) {
	t.Parallel()
	now := time.Now()
	errs := netErrors()
	for _, tt := range []struct {
		name     string
		attempts int
		want     bool
	}{
		{"refused", 1, true},
		{"refused", 2, false},
		{"no such host", 1, true},
		{"no such host", 2, false},
		{"unknown authority", 1, false},
		{"proxy 407", 1, false},
		{"reset", 1, true},
		{"reset", 4, true},
		{"proxy refused", 9, true},
	} {
		if got, err := Check(t.Context(), tt.attempts, nil, errs[tt.name], now); got != tt.want || err != nil {
			t.Errorf("%s after %d attempts: Check = %v, %v; want %v", tt.name, tt.attempts, got, err, tt.want)
		}
	}
}

func TestAttemptLabel(t *testing.T) {
	t.Parallel()
	if _, ok := AttemptOf(t.Context()); ok {
		t.Error("an unlabelled context has an attempt")
	}
	a := &Attempt{N: 1, Max: 5}
	ctx := WithAttempt(t.Context(), a)
	a.N = 2
	if got, ok := AttemptOf(ctx); !ok || got != (Attempt{N: 2, Max: 5}) {
		t.Errorf("AttemptOf = %+v, %v; want the label as it is now", got, ok)
	}
	if _, ok := AttemptOf(WithAttempt(t.Context(), nil)); ok {
		t.Error("a nil label counts as one")
	}
}

func TestProxyError(t *testing.T) {
	t.Parallel()
	err := error(&ProxyError{Proxy: "proxy:3128", Status: 407, Text: "Proxy Authentication Required"})
	if got, want := err.Error(), "the proxy proxy:3128 refused the tunnel: 407 Proxy Authentication Required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.As(&url.Error{Err: err}, new(*ProxyError)) {
		t.Error("not found under a *url.Error")
	}
}
