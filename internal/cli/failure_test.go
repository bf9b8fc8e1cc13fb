package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

func TestFailureKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&exchange.Error{Code: "invalid_grant", Status: 400}, "invalid_grant"},
		{&exchange.Error{Code: "invalid_request", Status: 400}, "invalid_request"},
		{&exchange.Error{Code: "unsupported_grant_type", Status: 400}, "invalid_request"},
		{&exchange.Error{Problem: "rate limited", Status: 429}, "unavailable"},
		{&exchange.Error{Problem: "server error", Status: 503}, "unavailable"},
		{&exchange.Error{Code: "server_error", Status: 500}, "unavailable"},
		{&exchange.Error{Problem: "unexpected answer", Status: 404}, "not-hub"},
		{&exchange.Error{Problem: "redirected to …", Status: 302}, "not-hub"},
		{&exchange.Error{Problem: "unusable answer: the body is not JSON", Status: 200}, "not-hub"},
		{&exchange.Error{Err: context.DeadlineExceeded}, "timeout"},
		{&exchange.Error{Err: context.DeadlineExceeded, Status: 200}, "timeout"},
		{&exchange.Error{Err: &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}}, "refused"},
		{&exchange.Error{Err: &net.DNSError{Err: "no such host", Name: "hub.invalid", IsNotFound: true}}, "no-host"},
		{&exchange.Error{Err: &net.DNSError{Err: "server misbehaving", Name: "hub.example", IsTemporary: true}}, "dns"},
		{&exchange.Error{Err: &net.OpError{Op: "proxyconnect", Err: syscall.ECONNREFUSED}}, "proxy"},
		{&exchange.Error{Err: &retry.ProxyError{Proxy: "proxy:3128", Status: 407}}, "proxy"},
		{&exchange.Error{Err: x509.UnknownAuthorityError{}}, "untrusted"},
		{&exchange.Error{Err: &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "10.0.0.5"}}}, "hostname"},
		{&exchange.Error{Err: http.ErrSchemeMismatch}, "tls"},
		{&exchange.Error{Err: syscall.ECONNRESET}, "unreachable"},
		{errors.New("anything else"), "unreachable"},
	}
	for _, tt := range tests {
		if got := failureKind(tt.err); got != tt.want {
			t.Errorf("failureKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		4*time.Minute + 57*time.Second: "in 4m57s",
		-3 * time.Second:               "3s ago",
		400 * time.Millisecond:         "now",
		-600 * time.Millisecond:        "1s ago",
	} {
		if got := relative(now.Add(d), now); got != want {
			t.Errorf("relative(%s) = %q, want %q", d, got, want)
		}
	}
}
