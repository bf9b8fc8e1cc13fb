package exchange

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

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
