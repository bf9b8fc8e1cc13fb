package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
			seen := sampleBackoff(t, tt.lo, tt.hi, tt.attempt, tt.resp, now, tt.min, tt.max)
			// Full jitter: a range is actually spread over, not one point.
			if tt.max-tt.min > time.Millisecond && len(seen) < 100 {
				t.Errorf("only %d distinct waits in [%v, %v]", len(seen), tt.min, tt.max)
			}
		})
	}
}

// sampleBackoff calls Backoff 500 times, fails on a wait outside
// [min, max], and returns the distinct waits seen.
func sampleBackoff(t *testing.T, lo, hi time.Duration, attempt int, resp *http.Response, now time.Time, min, max time.Duration) map[time.Duration]bool {
	t.Helper()
	seen := map[time.Duration]bool{}
	for range 500 {
		got := Backoff(lo, hi, attempt, resp, now)
		if got < min || got > max {
			t.Fatalf("Backoff(%v, %v, %d) = %v, want within [%v, %v]", lo, hi, attempt, got, min, max)
		}
		seen[got] = true
	}
	return seen
}

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Now()
	soon, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel) // after the parallel subtests
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	tests := []struct {
		name     string
		ctx      context.Context
		resp     *http.Response
		want     bool
		wantErr  error
		wantWait bool
	}{
		{"503", soon, answer(503), true, nil, false},
		{"501", soon, answer(501), false, nil, false},
		{"400", soon, answer(400), false, nil, false},
		{"503, context done", done, answer(503), false, context.Canceled, false},
		{"400, context done", done, answer(400), false, nil, false},
		{"Retry-After within the deadline", soon, answer(429, "Retry-After", "30"), true, nil, false},
		{"Retry-After beyond the deadline", soon, answer(429, "Retry-After", "120"), false, nil, true},
		{"Retry-After date beyond the deadline", soon, answer(503, "Retry-After", now.Add(2*time.Minute).UTC().Format(http.TimeFormat)), false, nil, true},
		{"Retry-After without a deadline", context.Background(), answer(429, "Retry-After", "99999"), true, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Check(tt.ctx, 1, tt.resp, nil, now)
			var we *WaitError
			switch {
			case got != tt.want:
				t.Errorf("Check = %v, %v; want %v", got, err, tt.want)
			case tt.wantWait && !errors.As(err, &we):
				t.Errorf("Check error = %v, want a *WaitError", err)
			case !tt.wantWait && !errors.Is(err, tt.wantErr):
				t.Errorf("Check error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// FuzzRetryAfter: a Retry-After counts only on a 429 or a 503, is never a
// negative wait, is exactly the seconds given (capped) when it is a number,
// and is what Backoff waits.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"120", "0", " 7 ", "-1", "1.5", "99999999999999999999", "Fri, 02 Jan 2026 03:05:05 GMT",
		"Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Friday, 02-Jan-26 03:05:05 GMT", "soon", "+5", "0x10"} {
		f.Add(429, s, now.Unix())
		f.Add(503, s, now.Unix())
	}
	f.Add(500, "10", now.Unix())
	f.Fuzz(func(t *testing.T, status int, header string, nowUnix int64) {
		now := time.Unix(nowUnix%(1<<40), 0)
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {header}}}
		wait, ok := RetryAfter(resp, now)
		if !ok {
			if wait != 0 {
				t.Fatalf("RetryAfter(%q) = %v without ok", header, wait)
			}
			return
		}
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			t.Fatalf("Retry-After honoured on a %d", status)
		}
		if wait < 0 {
			t.Fatalf("RetryAfter(%q) = %v: negative", header, wait)
		}
		v := strings.TrimSpace(header)
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && wait != time.Duration(min(n, maxRetryAfter))*time.Second {
			t.Fatalf("RetryAfter(%q) = %v, want %d s", header, wait, min(n, maxRetryAfter))
		}
		if strings.TrimLeft(v, "0123456789") == "" {
			return // digits: checked above, also beyond uint64
		}
		if _, err := http.ParseTime(v); err != nil {
			t.Fatalf("RetryAfter(%q) = %v: neither seconds nor an HTTP date", header, wait)
		}
		if b := Backoff(time.Second, time.Minute, 3, resp, now); b < wait || (b-wait > max(time.Second, wait/10)) {
			t.Fatalf("Backoff = %v, want the Retry-After %v plus at most a tenth of it or 1s", b, wait)
		}
	})
}

// FuzzBackoff: without a Retry-After, the wait is within [lo, hi] whatever
// the bounds and the attempt, including absurd ones.
func FuzzBackoff(f *testing.F) {
	f.Add(int64(time.Second), int64(time.Minute), 0)
	f.Add(int64(time.Second), int64(time.Minute), 62)
	f.Add(int64(0), int64(0), 1)
	f.Add(int64(-5), int64(-10), -1)
	f.Add(int64(0), int64(math.MaxInt64), 3)
	f.Add(int64(1), int64(math.MaxInt64), 1000)
	f.Fuzz(func(t *testing.T, lo, hi int64, attempt int) {
		b := Backoff(time.Duration(lo), time.Duration(hi), attempt, nil, time.Time{})
		wantLo := max(time.Duration(lo), 0)
		wantHi := max(time.Duration(hi), wantLo)
		if b < wantLo || b > wantHi {
			t.Fatalf("Backoff(%v, %v, %d) = %v, outside [%v, %v]", time.Duration(lo), time.Duration(hi), attempt, b, wantLo, wantHi)
		}
	})
}

// TestBackoffAtTheEdges: the bounds Backoff promises hold where its
// arithmetic is tight: a zero or odd span, a ceiling of exactly half the
// cap, a cap too large to double, a Retry-After with no room left above
// it. Each case runs many draws: the wait is random.
func TestBackoffAtTheEdges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const maxD = time.Duration(math.MaxInt64)
	half := (maxD - 1) / 2 // half + (half+1) == math.MaxInt64
	tests := []struct {
		name     string
		lo, hi   time.Duration
		attempt  int
		resp     *http.Response
		min, max time.Duration
		distinct int // at least this many different waits over the draws
	}{
		{"Retry-After 0 with no minimum waits 0", 0, time.Second, 0, answer(429, "Retry-After", "0"), 0, 0, 1},
		{"Retry-After 0 with the largest minimum", maxD, maxD, 0, answer(503, "Retry-After", "0"), 0, maxD, 1},
		{"Retry-After with just room for the spread is still spread", maxD - time.Second - 1, maxD, 0, answer(429, "Retry-After", "1"), time.Second, maxD, 2},
		{"uncapped first retry waits at most twice the minimum", MinWait, maxD, 0, nil, MinWait, 2 * MinWait, 2},
		{"ceiling at half an odd cap doubles, not jumps to the cap", 1, 3, 0, nil, 1, 2, 2},
		{"span of one reaches both ends", 1, 2, 0, nil, 1, 2, 2},
		{"span of one summing to MaxInt64 reaches both ends", half, half + 1, 0, nil, half, half + 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seen := sampleBackoff(t, tt.lo, tt.hi, tt.attempt, tt.resp, now, tt.min, tt.max)
			if len(seen) < tt.distinct {
				t.Errorf("only %d distinct waits in [%v, %v], want at least %d", len(seen), tt.min, tt.max, tt.distinct)
			}
		})
	}
}

// TestCheckDistantDeadline: a Retry-After that falls before the caller's
// deadline is waited for, even when both lie further off than a
// time.Duration can count (both then read as the largest Duration).
func TestCheckDistantDeadline(t *testing.T) {
	t.Parallel()
	now := time.Now()
	far, cancel := context.WithDeadline(context.Background(), time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC))
	t.Cleanup(cancel)
	tests := []struct {
		name string
		resp *http.Response
	}{
		{"Retry-After date centuries away", answer(503, "Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")},
		{"largest Retry-After in seconds", answer(429, "Retry-After", "99999999999999999999")},
	}
	for _, tt := range tests {
		if got, err := Check(far, 1, tt.resp, nil, now); !got || err != nil {
			t.Errorf("%s: Check = %v, %v; want true, nil", tt.name, got, err)
		}
	}
}
