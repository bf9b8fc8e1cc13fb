package cli

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
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
		{&exchange.Error{Problem: "unexpected answer", Status: 404}, "unreachable"},
		{&exchange.Error{Err: context.DeadlineExceeded}, "unreachable"},
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
