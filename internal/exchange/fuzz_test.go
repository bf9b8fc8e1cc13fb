package exchange

import (
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

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

// FuzzCheckEndpoint: an accepted endpoint is one the ID token may be sent
// to (https, or http on loopback; no credentials, query or fragment) and
// is its own canonical form; a refusal never repeats a password.
func FuzzCheckEndpoint(f *testing.F) {
	for _, s := range []string{
		"https://huggingface.co", "https://huggingface.co/", "http://127.0.0.1:8080", "http://[::1]:1/x/", "http://localhost",
		"https://u:hunter2@hub.example", "ftp://x", "hub.example", "https://hub.example/?q#f", "http://example.com",
		"https://hub.example/%zz", "https://[::1", "  https://hub.example  ", "https://:443", "http://127.0.0.1.nip.io",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := CheckEndpoint(raw)
		if err != nil {
			msg := err.Error()
			if pu, perr := url.Parse(strings.TrimSpace(raw)); perr == nil && pu.User != nil {
				if pw, ok := pu.User.Password(); ok && len(pw) >= 6 && strings.Contains(msg, pw) {
					t.Fatalf("error %q repeats the password", msg)
				}
			}
			if !utf8.ValidString(msg) || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("error %q holds a control character", msg)
			}
			return
		}
		switch {
		case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			t.Fatalf("accepted %q with credentials, a query or a fragment: %#v", raw, u)
		case u.Scheme != "https" && !(u.Scheme == "http" && loopbackOracle(u.Hostname())):
			t.Fatalf("accepted %q: the ID token would go over %s to %s", raw, u.Scheme, u.Hostname())
		case strings.HasSuffix(u.Path, "/"):
			t.Fatalf("accepted %q with a trailing slash: %q", raw, u.Path)
		}
		again, err := CheckEndpoint(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("CheckEndpoint(%q) = %v, %v; want %q again", u.String(), again, err, u.String())
		}
	})
}

// loopbackOracle is the endpoint rule's loopback, written apart from the
// code it checks: "localhost" in any case, or an address in 127.0.0.0/8 or
// ::1, also IPv4-mapped.
func loopbackOracle(host string) bool {
	if strings.ToLower(host) == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().Is4() && ip.Unmap().As4()[0] == 127 || ip.WithZone("") == netip.IPv6Loopback()
}
