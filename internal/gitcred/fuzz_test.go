package gitcred

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// fuzzSecret is a password the fuzzer cannot write by chance, to tell an
// error that quotes the input from one that does not.
const fuzzSecret = "hf_jwt_gitcredFuzzSecret0123456789"

// FuzzRequestRoundTrip: the fields git writes come back as written, and
// whatever surrounds a password, no error repeats it.
func FuzzRequestRoundTrip(f *testing.F) {
	f.Add("https", "huggingface.co", "acme/model.git", "acme", "before\n", "")
	f.Add("http", "127.0.0.1:8080", "", "", "x\x00y", "capability[]=authtype")
	f.Add("", "", "datasets/acme/d", "u=v", "", "url=http://[::1")
	f.Fuzz(func(t *testing.T, protocol, host, path, username, junk, extra string) {
		want := Request{Protocol: protocol, Host: host, Path: path, Username: username, Password: fuzzSecret}
		var b bytes.Buffer
		if extra != "" {
			b.WriteString(extra + "\n")
		}
		fmt.Fprintf(&b, "protocol=%s\nhost=%s\npath=%s\nusername=%s\npassword=%s\n%s\n\n", protocol, host, path, username, fuzzSecret, junk)
		got, err := ReadRequest(&b)
		if err != nil {
			if strings.Contains(err.Error(), fuzzSecret) || strings.Contains(err.Error(), "gitcredFuzz") {
				t.Fatalf("error %q repeats the password", err)
			}
			return
		}
		// Round trip, where the input is what git itself writes: one line
		// per field, and no field repeated by junk after them.
		oneLine := func(s string) bool { return !strings.ContainsAny(s, "\n\r\x00") }
		if junk != "" || !oneLine(protocol+host+path+username+extra) || strings.HasPrefix(extra, "url=") {
			return
		}
		if got != want {
			t.Fatalf("ReadRequest = %+v, want %+v", got, want)
		}
	})
}

// FuzzFor: a request is for the endpoint only over the endpoint's own
// scheme, and only for its host and port: a token for https never goes
// over http, nor to another host.
func FuzzFor(f *testing.F) {
	f.Add("https", "huggingface.co", "https://huggingface.co")
	f.Add("https", "HuggingFace.co:443", "https://huggingface.co")
	f.Add("http", "huggingface.co", "https://huggingface.co")
	f.Add("https", "huggingface.co.evil.example", "https://huggingface.co")
	f.Add("http", "127.0.0.1:8080", "http://127.0.0.1:8080")
	f.Add("https", "[::1]:443", "https://[::1]")
	f.Fuzz(func(t *testing.T, protocol, host, endpoint string) {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return
		}
		if !(Request{Protocol: protocol, Host: host}).For(u) {
			return
		}
		if !strings.EqualFold(protocol, u.Scheme) {
			t.Fatalf("%s://%s answered for %s", protocol, host, endpoint)
		}
		name := func(h string) string {
			h = strings.ToLower(h)
			if i := strings.LastIndex(h, ":"); i > strings.LastIndex(h, "]") {
				return h[:i]
			}
			return h
		}
		if name(host) != name(u.Host) {
			t.Fatalf("%s://%s answered for another host, %s", protocol, host, endpoint)
		}
	})
}
