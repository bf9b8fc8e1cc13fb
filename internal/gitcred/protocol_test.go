package gitcred

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestReadRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     Request
		wantErr  string
	}{
		{"get", "protocol=https\nhost=huggingface.co\npath=acme/model.git\n\n", Request{Protocol: "https", Host: "huggingface.co", Path: "acme/model.git"}, ""},
		{"no blank line", "protocol=https\nhost=huggingface.co", Request{Protocol: "https", Host: "huggingface.co"}, ""},
		{"stops at the blank line", "host=a\n\nhost=b\n", Request{Host: "a"}, ""},
		{"erase", "protocol=https\nhost=h\nusername=acme\npassword=hf_x=y\n", Request{Protocol: "https", Host: "h", Username: "acme", Password: "hf_x=y"}, ""},
		{"CRLF", "protocol=https\r\nhost=h\r\n\r\n", Request{Protocol: "https", Host: "h"}, ""},
		{"unknown keys skipped", "capability[]=authtype\nwwwauth[]=Basic realm=x\nhost=h\n", Request{Host: "h"}, ""},
		{"url", "url=https://u@huggingface.co:8443/datasets/acme/d.git\n", Request{Protocol: "https", Host: "huggingface.co:8443", Path: "datasets/acme/d.git", Username: "u"}, ""},
		{"empty", "", Request{}, ""},
		{"no equals", "protocol https\n", Request{}, `line 1 has no "="`},
		{"NUL", "host=a\x00b\n", Request{}, "NUL byte"},
		{"bad url", "url=http://[::1\n", Request{}, "not a URL"},
		{"url path with an escaped NUL", "url=https://h/%00x\n", Request{}, "url attribute's path holds a line break or NUL"},
		{"url password with an escaped line break", "url=https://u:a%0Ab@h/x\n", Request{}, "url attribute's password holds a line break or NUL"},
		{"huge", strings.Repeat("x=y\n", maxInput), Request{}, "longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadRequest(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadRequest = %+v, %v; want an error containing %q", got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hf_") {
					t.Errorf("error quotes the input: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReadRequest = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add("protocol=https\nhost=huggingface.co\npath=acme/model.git\n\n")
	f.Add("url=https://u:p@h/x\n")
	f.Add("a\n")
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ReadRequest(strings.NewReader(in))
		if err != nil {
			if req != (Request{}) {
				t.Fatalf("a request with an error: %+v", req)
			}
			return
		}
		for _, v := range []string{req.Protocol, req.Host, req.Path, req.Username, req.Password} {
			if strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("a field holds a line break or NUL: %q", v)
			}
		}
		RepoName(req.Path, "")
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestAnswerWrite(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	exp := time.Unix(1900000000, 0)
	if err := (Answer{Username: "acme", Password: "hf_jwt_x", Expiry: exp}).Write(&b); err != nil {
		t.Fatal(err)
	}
	if b.String() != "username=acme\npassword=hf_jwt_x\npassword_expiry_utc=1900000000\n" {
		t.Errorf("answer: %q", b.String())
	}
	for _, a := range []Answer{{Username: "a", Password: "x\nusername=evil"}, {Username: "", Password: "x"}, {Username: "a\r", Password: "x"}} {
		var b bytes.Buffer
		err := a.Write(&b)
		if err == nil || b.Len() > 0 {
			t.Errorf("Write(%q) = %v, wrote %q", a.Username, err, b.String())
		}
		if err != nil && strings.Contains(err.Error(), "evil") {
			t.Errorf("error quotes the password: %v", err)
		}
	}
	if err := (Answer{Username: "a", Password: "x"}).Write(failWriter{}); err == nil {
		t.Error("no error from a failed write")
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	hub, _ := url.Parse("https://huggingface.co")
	local, _ := url.Parse("http://127.0.0.1:8080")
	tests := []struct {
		endpoint *url.URL
		protocol string
		host     string
		want     bool
	}{
		{hub, "https", "huggingface.co", true},
		{hub, "https", "HuggingFace.co", true},
		{hub, "https", "huggingface.co:443", true},
		{hub, "HTTPS", "huggingface.co", true},
		{hub, "http", "huggingface.co", false}, // never a token over http
		{hub, "https", "huggingface.co:8443", false},
		{hub, "https", "github.com", false},
		{hub, "https", "hf.co", false},
		{hub, "https", "huggingface.co.evil.example", false},
		{hub, "https", "", false},
		{local, "http", "127.0.0.1:8080", true},
		{local, "http", "127.0.0.1", false},
		{local, "https", "127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		if got := (Request{Protocol: tt.protocol, Host: tt.host}).For(tt.endpoint); got != tt.want {
			t.Errorf("%s://%s for %s = %v, want %v", tt.protocol, tt.host, tt.endpoint, got, tt.want)
		}
	}
}

func TestRepoName(t *testing.T) {
	t.Parallel()
	tests := []struct{ path, prefix, want string }{
		{"acme/model", "", "acme/model"},
		{"acme/model.git", "", "acme/model"},
		{"/acme/model.git/", "", "acme/model"},
		{"acme/model.git/info/lfs", "", "acme/model"},
		{"acme/model/info/lfs/objects/batch", "", "acme/model"},
		{"datasets/acme/data.git", "", "datasets/acme/data"},
		{"spaces/acme/demo", "", "spaces/acme/demo"},
		{"kernels/acme/flash.git", "", "kernels/acme/flash"},
		{"datasets/acme", "", ""},
		{"acme", "", ""},
		{"", "", ""},
		{"acme/..", "", ""},
		{"hub/acme/model.git", "/hub", "acme/model"},
		{"acme/model.git", "/hub", ""},
	}
	for _, tt := range tests {
		if got := RepoName(tt.path, tt.prefix); got != tt.want {
			t.Errorf("RepoName(%q, %q) = %q, want %q", tt.path, tt.prefix, got, tt.want)
		}
	}
}

func FuzzRepoName(f *testing.F) {
	f.Add("datasets/acme/data.git/info/lfs", "")
	f.Add("hub/acme/m", "hub")
	f.Fuzz(func(t *testing.T, path, prefix string) {
		got := RepoName(path, prefix)
		if got == "" {
			return
		}
		parts := strings.Split(got, "/")
		if len(parts) < 2 || len(parts) > 3 {
			t.Fatalf("RepoName(%q) = %q", path, got)
		}
		for _, p := range parts {
			if p == "" || p == "." || p == ".." {
				t.Fatalf("RepoName(%q) = %q", path, got)
			}
		}
	})
}

// TestForHostIsEqualNotSimilar pins that For compares hosts for equality:
// a host that merely ends or starts with the endpoint's (a suffix or prefix
// match) must not get the Hub's token, and only a colon after an IPv6
// literal's closing bracket starts a port.
func TestForHostIsEqualNotSimilar(t *testing.T) {
	t.Parallel()
	mustParse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name     string
		endpoint string
		protocol string
		host     string
		want     bool
	}{
		{"a longer name ending in the host", "https://huggingface.co", "https", "evilhuggingface.co", false},
		{"a subdomain of the host", "https://huggingface.co", "https", "api.huggingface.co", false},
		{"the host as a subdomain elsewhere", "https://huggingface.co", "https", "huggingface.co.evil.example", false},
		{"a subdomain with the default port", "https://huggingface.co", "https", "api.huggingface.co:443", false},
		{"a longer name, endpoint with a port", "https://hub.example:8443", "https", "evilhub.example:8443", false},
		{"the host itself", "https://huggingface.co", "https", "huggingface.co", true},

		{"IPv6 literal, default port made explicit", "http://[::1]:80", "http", "[::1]", true},
		{"IPv6 literal, endpoint's default port explicit", "http://[::1]", "http", "[::1]:80", true},
		{"IPv6 literal on https", "https://[2001:db8::1]", "https", "[2001:db8::1]:443", true},
		{"IPv6 literal, same port", "http://[::1]:8080", "http", "[::1]:8080", true},
		{"IPv6 literal, another port", "http://[::1]", "http", "[::1]:8080", false},
		{"IPv6 literal, no port for a port", "http://[::1]:8080", "http", "[::1]", false},
		{"IPv6 literal without brackets", "http://[::1]", "http", "::1", false},
		{"IPv6 literal without brackets, port given", "http://[::1]:80", "http", "::1", false},
		{"another IPv6 literal", "http://[::1]:8080", "http", "[::2]:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			endpoint := mustParse(tt.endpoint)
			if got := (Request{Protocol: tt.protocol, Host: tt.host}).For(endpoint); got != tt.want {
				t.Errorf("%s://%s for %s = %v, want %v", tt.protocol, tt.host, endpoint, got, tt.want)
			}
		})
	}
}
