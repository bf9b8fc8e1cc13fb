package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// A RateLimit makes the exchange answer 429 Too Many Requests beyond a
// sustained rate, as a busy Hub would: a token bucket of Burst exchanges
// that refills at PerSecond, full at the start. Set it in Config.RateLimit;
// its state lives in it, so one RateLimit shared by two sandboxes limits
// them together. Only POST /oauth/token is limited; a 429 is answered after
// Config.Latency, before any injected fault.
type RateLimit struct {
	PerSecond  float64 // exchanges let through per second, sustained; zero or less: none after the burst
	Burst      int     // exchanges let through at once from a full bucket; zero means PerSecond rounded up, at least 1
	RetryAfter string  // the 429s' Retry-After header; empty sends none

	mu       sync.Mutex
	full     time.Time // when the bucket is full again
	used     int       // without a rate: exchanges let through
	arrivals []Arrival
}

// An Arrival is one request to the exchange that a RateLimit saw.
type Arrival struct {
	Resource string    // as the body names it, if that is a well-formed resource; else empty
	At       time.Time // by Config.Now
	Limited  bool      // answered 429
}

// Arrivals returns every request to the exchange in the order they came,
// while a RateLimit is set (nil otherwise): the tests read the clients'
// retry timing from it.
func (s *Sandbox) Arrivals() []Arrival {
	l := s.cfg.RateLimit
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Arrival(nil), l.arrivals...)
}

// throttle answers r with 429, and reports so, when the bucket is empty.
// A nil RateLimit lets everything through.
func (l *RateLimit) throttle(w http.ResponseWriter, r *http.Request, now time.Time) bool {
	if l == nil || r.Method != http.MethodPost || r.URL.Path != PathToken {
		return false
	}
	// The handler reads the body again: give it back whole.
	head, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	a := Arrival{Resource: arrivalResource(head), At: now, Limited: !l.take(now)}
	l.mu.Lock()
	l.arrivals = append(l.arrivals, a)
	l.mu.Unlock()
	if !a.Limited {
		return false
	}
	if l.RetryAfter != "" {
		w.Header().Set("Retry-After", l.RetryAfter)
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]string{
		"error":             "too_many_requests",
		"error_description": "Too many token exchanges; retry later",
	})
	return true
}

// take takes one exchange from the bucket, if it holds one. The bucket is
// kept as the time at which it will be full again (GCRA), in whole
// nanoseconds, so that the edge of a refill is exact.
func (l *RateLimit) take(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	burst := l.burst()
	if l.PerSecond <= 0 {
		if l.used >= burst {
			return false
		}
		l.used++
		return true
	}
	interval := max(time.Duration(math.Round(float64(time.Second)/l.PerSecond)), 1)
	// full is when the bucket is full again; a clock that steps back sees
	// it further away, and so refills nothing.
	full := l.full
	if full.Before(now) {
		full = now
	}
	if full.Sub(now) > time.Duration(burst-1)*interval {
		return false
	}
	l.full = full.Add(interval)
	return true
}

func (l *RateLimit) burst() int {
	if l.Burst > 0 {
		return l.Burst
	}
	return max(1, int(math.Ceil(l.PerSecond)))
}

// arrivalResource is the resource an exchange body names, or "" when the
// body is not JSON with a well-formed resource.
func arrivalResource(body []byte) string {
	var req struct {
		Resource string `json:"resource"`
	}
	if json.Unmarshal(body, &req) != nil {
		return ""
	}
	if _, ok := parseResource(req.Resource); !ok {
		return ""
	}
	return req.Resource
}

// readCloser reads from one reader and closes another: the request body
// with what was read of it put back in front.
type readCloser struct {
	io.Reader
	io.Closer
}
