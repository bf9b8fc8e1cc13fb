package testkit

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestTokenShaped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ out, want string }{
		{"token hf_jwt_abcdefgh12 here", "hf_jwt_abcdefgh12"},
		{"hf_oauth_ABCDEFGH-_", "hf_oauth_ABCDEFGH-_"},
		{"a.eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0."},
		{"the JWT header alone: eyJhbGciOiJSUzI1NiJ9", ""},
		{"HF_TOKEN=[] hf_oidc_install hf_stale_from_a_secret", ""},
	} {
		if got := TokenShaped(tt.out); got != tt.want {
			t.Errorf("TokenShaped(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

func TestCommandFile(t *testing.T) {
	t.Parallel()
	got := CommandFile(t, "HF_TOKEN<<EOF_1\nhf_x\nEOF_1\n\nMULTI<<D\na\nb\nD\nEMPTY<<E\nE\n")
	want := map[string]string{"HF_TOKEN": "hf_x", "MULTI": "a\nb", "EMPTY": ""}
	if len(got) != len(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// TestReleaseServerStall: a stalled download gets half the asset and then
// nothing, and the next one gets it whole; every request counts.
func TestReleaseServerStall(t *testing.T) {
	t.Parallel()
	s := StartReleaseServer(t)
	data := []byte("0123456789")
	s.Serve("v1", "a.tar.gz", data)
	s.Stall(1)
	get := func(path string) (int, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	if code, body, err := get("/v1/a.tar.gz"); err == nil || body != "01234" {
		t.Errorf("the stalled download: %d %q, %v; want half, then a timeout", code, body, err)
	}
	if code, body, err := get("/v1/a.tar.gz"); err != nil || code != http.StatusOK || body != string(data) {
		t.Errorf("the next download: %d %q, %v", code, body, err)
	}
	if code, _, err := get("/v2/a.tar.gz"); err != nil || code != http.StatusNotFound {
		t.Errorf("an asset not served: %d, %v", code, err)
	}
	if n := s.Count(); n != 3 {
		t.Errorf("Count() = %d, want 3", n)
	}
}
