package exchange

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

func answer(status int, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h}
}

// TestBackoff: with its defaults, the exchange waits from 250 ms to 500 ms
// before its first retry, then up to twice as long each time, at most 10 s,
// and a Retry-After plus up to a tenth of it.
func TestBackoff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &Client{Now: func() time.Time { return now }}
	ms := time.Millisecond
	tests := []struct {
		name     string
		attempt  int
		resp     *http.Response
		min, max time.Duration
	}{
		{"first retry", 0, answer(503), 250 * ms, 500 * ms},
		{"second retry", 1, answer(429), 250 * ms, time.Second},
		{"third retry", 2, nil, 250 * ms, 2 * time.Second},
		{"capped", 10, answer(500), 250 * ms, 10 * time.Second},
		{"Retry-After", 0, answer(429, "Retry-After", "3"), 3 * time.Second, 3*time.Second + 300*ms},
		{"Retry-After date", 3, answer(503, "Retry-After", now.Add(20*time.Second).Format(http.TimeFormat)), 20 * time.Second, 22 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A client of its own, as each request has: one records its
			// attempts' phases.
			rc := c.retrying(http.DefaultClient, &attempts{attempted: func() {}})
			seen := map[time.Duration]bool{}
			for range 500 {
				got := rc.Backoff(rc.RetryWaitMin, rc.RetryWaitMax, tt.attempt, tt.resp)
				if got < tt.min || got > tt.max {
					t.Fatalf("Backoff = %v, want within [%v, %v]", got, tt.min, tt.max)
				}
				seen[got] = true
			}
			if len(seen) < 100 {
				t.Errorf("only %d distinct waits in [%v, %v]: not jittered", len(seen), tt.min, tt.max)
			}
		})
	}
}

// FuzzRetryAfter: whatever an answer's Retry-After, the exchange retries
// only what package retry calls retryable, never sooner than asked, and
// refuses at once a wait longer than the time it has left.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"120", "0", " 7 ", "30", "-1", "1.5", "99999999999999999999", "Fri, 02 Jan 2026 03:05:05 GMT",
		"Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "soon"} {
		f.Add(429, s, now.Unix())
		f.Add(503, s, now.Unix())
	}
	f.Add(500, "10", now.Unix())
	f.Add(501, "10", now.Unix())
	f.Fuzz(func(t *testing.T, status int, header string, nowUnix int64) {
		now := time.Unix(nowUnix%(1<<40), 0)
		c := &Client{Now: func() time.Time { return now }}
		rc := c.retrying(http.DefaultClient, &attempts{attempted: func() {}})
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {header}}}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		ok, err := rc.CheckRetry(ctx, resp, nil)
		wait, asked := retry.RetryAfter(resp, now)
		var we *retry.WaitError
		switch {
		case !retry.Retryable(resp, nil):
			if ok || err != nil {
				t.Fatalf("status %d: CheckRetry = %v, %v; want no retry", status, ok, err)
			}
		case asked && wait > 61*time.Second:
			if ok || !errors.As(err, &we) || we.Wait != wait {
				t.Fatalf("Retry-After %q: CheckRetry = %v, %v; want a *retry.WaitError for %v", header, ok, err, wait)
			}
		case asked && wait < 59*time.Second, !asked:
			if !ok || err != nil {
				t.Fatalf("status %d, Retry-After %q: CheckRetry = %v, %v; want a retry", status, header, ok, err)
			}
			if b := rc.Backoff(rc.RetryWaitMin, rc.RetryWaitMax, 2, resp); b < wait {
				t.Fatalf("Retry-After %q: waits %v, less than the %v asked", header, b, wait)
			}
		}
	})
}
