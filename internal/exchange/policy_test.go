package exchange

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

func answer(status int, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	urlErr := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://huggingface.co/oauth/token", Err: err}
	}
	tests := []struct {
		name string
		resp *http.Response
		err  error
		want bool
	}{
		{"429", answer(429), nil, true},
		{"500", answer(500), nil, true},
		{"502", answer(502), nil, true},
		{"503", answer(503), nil, true},
		{"504", answer(504), nil, true},
		{"599", answer(599), nil, true},
		{"501", answer(501), nil, false},
		{"200", answer(200), nil, false},
		{"302", answer(302), nil, false},
		{"400", answer(400), nil, false},
		{"401", answer(401), nil, false},
		{"403", answer(403), nil, false},
		{"404", answer(404), nil, false},
		{"600", answer(600), nil, false},
		{"no answer, no error", nil, nil, false},
		{"connection reset", nil, urlErr(syscall.ECONNRESET), true},
		{"connection refused", nil, urlErr(syscall.ECONNREFUSED), true},
		{"unexpected EOF", nil, urlErr(io.ErrUnexpectedEOF), true},
		{"cancelled", nil, urlErr(context.Canceled), false},
		{"deadline", nil, urlErr(fmt.Errorf("reading: %w", context.DeadlineExceeded)), false},
		{"unknown authority", nil, urlErr(x509.UnknownAuthorityError{}), false},
		{"wrong host name", nil, urlErr(x509.HostnameError{Host: "example.com"}), false},
		{"expired certificate", nil, urlErr(x509.CertificateInvalidError{Reason: x509.Expired}), false},
		{"verification", nil, urlErr(&tls.CertificateVerificationError{Err: errors.New("bad")}), false},
		{"not TLS", nil, urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Retryable(tt.resp, tt.err); got != tt.want {
				t.Errorf("Retryable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		resp   *http.Response
		want   time.Duration
		wantOK bool
	}{
		{"429 seconds", answer(429, "Retry-After", "7"), 7 * time.Second, true},
		{"503 seconds", answer(503, "Retry-After", " 120 "), 2 * time.Minute, true},
		{"zero", answer(429, "Retry-After", "0"), 0, true},
		{"beyond uint64", answer(429, "Retry-After", "99999999999999999999"), maxRetryAfter * time.Second, true},
		{"huge but parseable", answer(429, "Retry-After", "18446744073709551615"), maxRetryAfter * time.Second, true},
		{"HTTP date", answer(503, "Retry-After", date(30*time.Second)), 30 * time.Second, true},
		{"RFC 850 date", answer(503, "Retry-After", now.Add(time.Minute).Format(time.RFC850)), time.Minute, true},
		{"asctime date", answer(429, "Retry-After", now.Add(time.Hour).Format(time.ANSIC)), time.Hour, true},
		{"date in the past", answer(503, "Retry-After", date(-time.Hour)), 0, true},
		{"date now", answer(503, "Retry-After", date(0)), 0, true},
		{"negative", answer(429, "Retry-After", "-5"), 0, false},
		{"fraction", answer(429, "Retry-After", "1.5"), 0, false},
		{"garbage", answer(429, "Retry-After", "soon"), 0, false},
		{"absent", answer(429), 0, false},
		{"500 ignores it", answer(500, "Retry-After", "7"), 0, false},
		{"400 ignores it", answer(400, "Retry-After", "7"), 0, false},
		{"no answer", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := RetryAfter(tt.resp, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const lo, hi = 100 * time.Millisecond, time.Second
	tests := []struct {
		name     string
		lo, hi   time.Duration
		attempt  int
		resp     *http.Response
		min, max time.Duration
	}{
		{"first retry", lo, hi, 0, answer(503), lo, 2 * lo},
		{"second retry", lo, hi, 1, answer(503), lo, 4 * lo},
		{"third retry", lo, hi, 2, answer(500), lo, 8 * lo},
		{"capped", lo, hi, 4, answer(502), lo, hi},
		{"far on, no overflow", lo, hi, 1000, nil, lo, hi},
		{"huge bounds, no overflow", time.Hour, 1<<63 - 1, 80, nil, time.Hour, 1<<63 - 1},
		{"max below min", lo, lo / 2, 3, nil, lo, lo},
		{"no minimum", 0, hi, 0, nil, 0, hi},
		{"Retry-After seconds, spread by a tenth", lo, hi, 0, answer(429, "Retry-After", "3"), 3 * time.Second, 3*time.Second + 300*time.Millisecond},
		{"short Retry-After, spread by the minimum", lo, hi, 0, answer(429, "Retry-After", "1"), time.Second, time.Second + lo},
		{"Retry-After date", lo, hi, 2, answer(503, "Retry-After", now.Add(20*time.Second).Format(http.TimeFormat)), 20 * time.Second, 22 * time.Second},
		{"Retry-After in the past", lo, hi, 2, answer(503, "Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), 0, lo},
		{"Retry-After on 500 ignored", lo, hi, 0, answer(500, "Retry-After", "3"), lo, 2 * lo},
		{"unusable Retry-After", lo, hi, 1, answer(429, "Retry-After", "later"), lo, 4 * lo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seen := map[time.Duration]bool{}
			for range 500 {
				got := Backoff(tt.lo, tt.hi, tt.attempt, tt.resp, now)
				if got < tt.min || got > tt.max {
					t.Fatalf("Backoff = %v, want within [%v, %v]", got, tt.min, tt.max)
				}
				seen[got] = true
			}
			// Full jitter: a range is actually spread over, not one point.
			if tt.max-tt.min > time.Millisecond && len(seen) < 100 {
				t.Errorf("only %d distinct waits in [%v, %v]", len(seen), tt.min, tt.max)
			}
		})
	}
}
