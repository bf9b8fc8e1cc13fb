package exchange

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/transport"
)

// Retryable reports whether an attempt that ended with resp or err is worth
// repeating: network errors, 429 and 5xx are; certificate errors, a
// cancelled or expired context, and any other answer (400 invalid_grant
// above all) are not, because a retry would get the same result.
func Retryable(resp *http.Response, err error) bool {
	if err != nil {
		return retryableError(err)
	}
	if resp == nil {
		return false
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests:
		return true
	case s == http.StatusNotImplemented:
		// The server says it will never do this.
		return false
	default:
		return s >= 500 && s <= 599
	}
}

func retryableError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var notTLS tls.RecordHeaderError
	return !transport.Untrusted(err) && !errors.As(err, &notTLS)
}

// maxRetryAfter keeps an absurd Retry-After within time.Duration; any real
// deadline is far shorter, so the round gives up at once.
const maxRetryAfter = 1 << 32 // seconds, about 136 years

// RetryAfter is the wait a 429 or 503 answer asks for in its Retry-After
// header, in seconds or as an HTTP date relative to now. ok is false when
// there is no usable header.
func RetryAfter(resp *http.Response, now time.Time) (wait time.Duration, ok bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	// On overflow ParseUint gives the largest value, which is what the
	// server meant. It reports the overflow before it reads the rest, so
	// digits only are checked first: "99999999999999999999x" is no wait.
	if strings.Trim(v, "0123456789") == "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err == nil || errors.Is(err, strconv.ErrRange) {
			return time.Duration(min(n, maxRetryAfter)) * time.Second, true
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Backoff is the wait before retry number attempt (0 for the first retry):
// the server's Retry-After where it gives one (not capped by hi: the round's
// deadline caps it) plus up to a tenth of it (at least lo) more, else
// exponential backoff with full jitter, uniform in
// [lo, min(hi, lo·2^(attempt+1))]. Either way, clients turned away at the
// same moment do not all come back at the same moment.
func Backoff(lo, hi time.Duration, attempt int, resp *http.Response, now time.Time) time.Duration {
	lo = max(lo, 0)
	if wait, ok := RetryAfter(resp, now); ok {
		spread := max(lo, wait/10)
		if wait > math.MaxInt64-spread-1 {
			return wait // no room left, and any real deadline is far shorter
		}
		return wait + rand.N(spread+1)
	}
	hi = max(hi, lo)
	ceiling := hi
	if lo > 0 {
		ceiling = lo
		for i := 0; i <= attempt && ceiling < hi; i++ {
			if ceiling > hi/2 {
				ceiling = hi
				break
			}
			ceiling *= 2
		}
		ceiling = min(ceiling, hi)
	}
	if ceiling <= lo {
		return lo
	}
	if ceiling-lo == math.MaxInt64 {
		// The inclusive span does not fit a Duration (found by FuzzBackoff).
		return lo + rand.N(ceiling-lo)
	}
	return lo + rand.N(ceiling-lo+1)
}
