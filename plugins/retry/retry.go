package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The bounds of the wait before a retry when the server gives no
// Retry-After: the first retry waits MinWait to twice that, each further
// one up to twice as long, never more than MaxWait.
const (
	MinWait = 250 * time.Millisecond
	MaxWait = 10 * time.Second
)

// Retryable reports whether an attempt that ended with resp or err is worth
// repeating at all: Budget allows more than one attempt. Network errors,
// 429 and 5xx but 501 are; certificate errors, a cancelled or expired
// context, and any other answer (400 invalid_grant above all) are not,
// because a retry would get the same result.
func Retryable(resp *http.Response, err error) bool {
	return Budget(resp, err) != 1
}

// RetryableStatus reports whether an answer with this status may pass if
// asked again: a rate limit or a server error other than 501, by which the
// server says it will never do this.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented:
		return false
	default:
		return status >= 500 && status <= 599
	}
}

// Untrusted reports whether err is a failed certificate verification,
// which no retry can fix.
func Untrusted(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &hostname)
}

// maxRetryAfter keeps an absurd Retry-After within time.Duration; any real
// deadline is far shorter, so the caller gives up at once.
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
// the server's Retry-After where it gives one (not capped by hi: the
// caller's deadline caps it, see Check) plus up to a tenth of it (at least
// lo) more, else exponential backoff with full jitter, uniform in
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

// Check decides, after attempt number attempts ended with resp or err,
// whether to retry, in the shape of go-retryablehttp's CheckRetry: false
// and nil when Budget allows no more attempts; false and ctx's error when
// ctx is done; false and a *WaitError when the server's Retry-After (an
// HTTP date counted from now) reaches past ctx's deadline; else true. The
// caller's own limit on attempts is the caller's to check.
func Check(ctx context.Context, attempts int, resp *http.Response, err error, now time.Time) (bool, error) {
	if b := Budget(resp, err); b > 0 && max(attempts, 1) >= b {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if wait, ok := RetryAfter(resp, now); ok {
		// The deadline is on the real clock, whatever now is.
		if deadline, ok := ctx.Deadline(); ok && wait > time.Until(deadline) {
			return false, &WaitError{Wait: wait, Left: time.Until(deadline)}
		}
	}
	return true, nil
}

// A WaitError is a Retry-After that the caller has no time left for.
type WaitError struct{ Wait, Left time.Duration }

func (e *WaitError) Error() string {
	return fmt.Sprintf("the server asked to wait %s before retrying, longer than the %s left before the timeout",
		e.Wait, e.Left.Round(time.Millisecond))
}
