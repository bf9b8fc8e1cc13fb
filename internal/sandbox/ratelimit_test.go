package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRateLimit: a full bucket lets Burst exchanges through, then 429s
// come (with the configured Retry-After, or none) until the bucket has
// refilled one exchange: not a nanosecond before, and then exactly one.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		perSecond  float64
		burstSet   int
		retryAfter string
		burst      int           // what the bucket holds when full
		refill     time.Duration // time for one exchange to come back
	}{
		{"with Retry-After", 4, 3, "1", 3, 250 * time.Millisecond},
		{"without Retry-After", 2, 2, "", 2, 500 * time.Millisecond},
		{"default burst", 2.5, 0, "", 3, 400 * time.Millisecond},
		{"fractional rate", 0.5, 1, "", 1, 2 * time.Second},
		{"inexact interval", 3, 1, "", 1, 333333333 * time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			s := start(t, Config{Now: clk.Now, RateLimit: &RateLimit{PerSecond: tt.perSecond, Burst: tt.burstSet, RetryAfter: tt.retryAfter}})
			s.TrustGitHub("acme/model")
			id := mint(t, s, nil)
			want := func(status int, when string) {
				t.Helper()
				a := exchange(t, s, id, "acme/model")
				if a.status != status {
					t.Fatalf("%s: status %d, want %d: %s", when, a.status, status, a.raw)
				}
				if a.header.Get("X-Request-Id") == "" {
					t.Errorf("%s: no x-request-id", when)
				}
				if status != http.StatusTooManyRequests {
					return
				}
				if got := a.header.Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("%s: Retry-After %q, want %q", when, got, tt.retryAfter)
				}
				if a.body["error"] != "too_many_requests" {
					t.Errorf("%s: body %s", when, a.raw)
				}
			}
			for i := range tt.burst {
				want(http.StatusOK, fmt.Sprintf("burst exchange %d", i+1))
			}
			want(http.StatusTooManyRequests, "past the burst")
			clk.Set(t0.Add(tt.refill - time.Nanosecond))
			want(http.StatusTooManyRequests, "just before the refill")
			clk.Set(t0.Add(tt.refill))
			want(http.StatusOK, "at the refill")
			want(http.StatusTooManyRequests, "after the one refilled exchange")
			// A long pause (within the ID token's life) refills the bucket
			// to Burst, not beyond.
			clk.Set(t0.Add(time.Minute))
			for range tt.burst {
				want(http.StatusOK, "after a long pause")
			}
			want(http.StatusTooManyRequests, "past the refilled burst")

			arr := s.Arrivals()
			if n := 2*tt.burst + 5; len(arr) != n {
				t.Fatalf("%d arrivals recorded, want %d", len(arr), n)
			}
			limited := 0
			for _, a := range arr {
				if a.Resource != "acme/model" {
					t.Errorf("arrival for %q", a.Resource)
				}
				if a.Limited {
					limited++
				}
			}
			if limited != 4 || !arr[tt.burst].Limited || arr[tt.burst].At != t0 || arr[len(arr)-1].At != t0.Add(time.Minute) {
				t.Errorf("arrivals: %d limited, %+v", limited, arr)
			}
			if st := s.Stats(); st.Issued != 2*tt.burst+1 || st.Exchanges != len(arr) {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

// TestRateLimitScope: only the exchange is limited; whoami and the issuers
// answer whatever the bucket holds, and a clock stepping back refills
// nothing.
func TestRateLimitScope(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	s := start(t, Config{Now: clk.Now, RateLimit: &RateLimit{PerSecond: 1, Burst: 1}})
	s.TrustGitHub("acme/model")
	id := mint(t, s, nil)
	a := exchange(t, s, id, "acme/model")
	if a.status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", a.status, a.raw)
	}
	tok := a.body["access_token"].(string)
	for range 3 {
		if who := get(t, s.URL()+PathWhoami, tok); who.status != http.StatusOK {
			t.Errorf("whoami under the limit: %d", who.status)
		}
		if d := get(t, s.GitHubIssuer()+discoveryPath, ""); d.status != http.StatusOK {
			t.Errorf("discovery under the limit: %d", d.status)
		}
	}
	clk.Set(t0.Add(-time.Hour))
	if a := exchange(t, s, id, "acme/model"); a.status != http.StatusTooManyRequests {
		t.Errorf("after the clock stepped back: %d, want 429", a.status)
	}
	// The refill counts from the latest time seen, not the stepped-back one.
	clk.Set(t0.Add(time.Second - time.Nanosecond))
	if a := exchange(t, s, id, "acme/model"); a.status != http.StatusTooManyRequests {
		t.Errorf("before a second since the last exchange: %d, want 429", a.status)
	}
	clk.Set(t0.Add(time.Second))
	if a := exchange(t, s, id, "acme/model"); a.status != http.StatusOK {
		t.Errorf("a second after: %d, want 200", a.status)
	}
	// An unreadable body is still limited, and recorded without a resource.
	clk.Set(t0.Add(time.Second))
	if a := post(t, s.URL()+PathToken, "application/json", []byte("{")); a.status != http.StatusTooManyRequests {
		t.Errorf("a bad body past the limit: %d, want 429", a.status)
	}
	if arr := s.Arrivals(); len(arr) != 5 || arr[4].Resource != "" || !arr[4].Limited {
		t.Errorf("arrivals: %+v", arr)
	}
	if start(t, Config{}).Arrivals() != nil {
		t.Error("a sandbox without a limit records arrivals")
	}
}

// TestRateLimitBodyPassesThrough: the limiter reads the body to learn the
// resource; the exchange still gets all of it, and still refuses one that
// is too large.
func TestRateLimitBodyPassesThrough(t *testing.T) {
	t.Parallel()
	s := start(t, Config{RateLimit: &RateLimit{PerSecond: 1000, Burst: 1000}})
	s.TrustGitHub("acme/model")
	fields := exchangeFields(mint(t, s, nil), "acme/model")
	fields["padding"] = strings.Repeat("x", maxBody/2)
	b, _ := json.Marshal(fields)
	if a := post(t, s.URL()+PathToken, "application/json", b); a.status != http.StatusOK {
		t.Errorf("a large body under the limit: %d %s", a.status, a.raw)
	}
	fields["padding"] = strings.Repeat("x", maxBody)
	b, _ = json.Marshal(fields)
	if a := post(t, s.URL()+PathToken, "application/json", b); a.status != http.StatusBadRequest {
		t.Errorf("a body over the exchange's limit: %d, want 400", a.status)
	}
	if arr := s.Arrivals(); len(arr) != 2 || arr[0].Resource != "acme/model" || arr[1].Resource != "" {
		t.Errorf("arrivals: %+v", arr)
	}
}

func FuzzArrivalResource(f *testing.F) {
	for _, seed := range []string{
		`{"resource":"acme/model"}`, `{"resource":"datasets/acme/data","subject_token":"x"}`,
		`{"resource":1}`, `{"resource":"a/b/c/d"}`, `[]`, `{`, ``, `{"resource":"../etc"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := arrivalResource(body)
		if _, ok := parseResource(r); r != "" && !ok {
			t.Errorf("arrivalResource(%q) = %q, not a resource", body, r)
		}
	})
}
