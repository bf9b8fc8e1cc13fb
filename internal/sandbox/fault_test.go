package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaultStatus(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	s.Inject(PathToken,
		Fault{Status: 503, RetryAfter: "7", Body: "upstream unavailable"},
		Fault{Status: 429, RetryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"},
		Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"This operation was aborted"}`},
		Fault{Body: `{"access_token":`},
		Fault{Body: "<html>", ContentType: "text/html"},
	)
	tok := mint(t, s, nil)
	tests := []struct {
		status           int
		retryAfter, body string
		contentType      string
	}{
		{503, "7", "upstream unavailable", "text/plain; charset=utf-8"},
		{429, "Wed, 21 Oct 2026 07:28:00 GMT", "", ""},
		{400, "", `{"error":"invalid_grant","error_description":"This operation was aborted"}`, "application/json; charset=utf-8"},
		{200, "", `{"access_token":`, "application/json; charset=utf-8"},
		{200, "", "<html>", "text/html"},
	}
	for i, tt := range tests {
		a := exchange(t, s, tok, "acme/training")
		if a.status != tt.status || a.header.Get("Retry-After") != tt.retryAfter || a.raw != tt.body {
			t.Errorf("fault %d: %d, Retry-After %q, body %q; want %d, %q, %q", i, a.status, a.header.Get("Retry-After"), a.raw, tt.status, tt.retryAfter, tt.body)
		}
		if tt.contentType != "" && a.header.Get("Content-Type") != tt.contentType {
			t.Errorf("fault %d: Content-Type %q, want %q", i, a.header.Get("Content-Type"), tt.contentType)
		}
		if a.header.Get("x-request-id") == "" {
			t.Errorf("fault %d: no x-request-id", i)
		}
	}
	// The queue is used up: the real answer again.
	if a := exchange(t, s, tok, "acme/training"); a.status != 200 {
		t.Errorf("after the faults: %d %s", a.status, a.raw)
	}
	if st := s.Stats(); st.Exchanges != 6 || st.Issued != 1 {
		t.Errorf("Stats() = %+v, want 6 exchanges and 1 issued", st)
	}
}

func TestFaultPathsAreSeparate(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.Inject(PathWhoami, Fault{Status: 500})
	s.Inject(PathGitHubIDToken, Fault{Status: 502})
	if a := get(t, s.URL()+PathWhoami, ""); a.status != 500 {
		t.Errorf("whoami: %d, want 500", a.status)
	}
	env := envOf(t, s)
	if a := get(t, env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]); a.status != 502 {
		t.Errorf("ID token: %d, want 502", a.status)
	}
	requestIDToken(t, s, "https://huggingface.co") // the fault is used up
	if a := get(t, s.URL()+PathWhoami, ""); a.status != 401 {
		t.Errorf("whoami after its fault: %d, want 401", a.status)
	}
}

func TestFaultDelay(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	s.Inject(PathToken, Fault{Delay: 60 * time.Millisecond})
	begin := time.Now()
	a := exchange(t, s, mint(t, s, nil), "acme/training")
	if elapsed := time.Since(begin); elapsed < 60*time.Millisecond {
		t.Errorf("answered after %s, want at least the delay", elapsed)
	}
	if a.status != 200 {
		t.Errorf("delayed real answer: %d %s", a.status, a.raw)
	}
}

func TestFaultDelayEndsWhenClientLeaves(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.Inject(PathWhoami, Fault{Delay: time.Minute, Status: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+PathWhoami, nil)
	if _, err := noKeepAlive.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled request: %v, want the deadline", err)
	}
	// The stalled handler has returned, so shutting down does not wait.
	shut, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if err := s.srv.Shutdown(shut); err != nil {
		t.Errorf("Shutdown: %v (the stalled handler is still running)", err)
	}
}

func TestFaultReset(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.Inject(PathToken, Fault{Reset: true})
	s.Inject(PathGitHubIDToken, Fault{Delay: 10 * time.Millisecond, Reset: true})
	for _, req := range []*http.Request{
		mustRequest(t, http.MethodPost, s.URL()+PathToken, `{}`),
		mustRequest(t, http.MethodGet, s.URL()+PathGitHubIDToken+"?api-version=2.0", ""),
	} {
		resp, err := noKeepAlive.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: got status %d, want a broken connection", req.URL.Path, resp.StatusCode)
		}
	}
}

func mustRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestFaultTruncate(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	s.Inject(PathToken, Fault{Truncate: true, RetryAfter: "1"})
	b, _ := json.Marshal(exchangeFields(mint(t, s, nil), "acme/training"))
	req := mustRequest(t, http.MethodPost, s.URL()+PathToken, string(b))
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		t.Fatalf("truncated answer: %v, want its headers", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("x-request-id") == "" || resp.Header.Get("Retry-After") != "1" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers: %d %v", resp.StatusCode, resp.Header)
	}
	body, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the body: %v, want an unexpected EOF", err)
	}
	if len(body) == 0 || int64(len(body)) >= resp.ContentLength {
		t.Errorf("read %d of %d bytes, want about half", len(body), resp.ContentLength)
	}
	// The Hub did issue the token the client never fully got.
	if st := s.Stats(); st.Issued != 1 {
		t.Errorf("Issued = %d, want 1", st.Issued)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Latency: 40 * time.Millisecond})
	s.TrustGitHub("acme/training")
	tok := mint(t, s, nil)
	for _, path := range []string{PathWhoami, PathToken, "/nowhere"} {
		begin := time.Now()
		if path == PathToken {
			exchange(t, s, tok, "acme/training")
		} else {
			get(t, s.URL()+path, "")
		}
		if elapsed := time.Since(begin); elapsed < 40*time.Millisecond {
			t.Errorf("%s answered after %s, want at least the latency", path, elapsed)
		}
	}
}

// TestLatencySkipsKeyFetches: the exchange's own fetches of the issuer's
// documents skip the latency, so that one exchange costs one round trip.
func TestLatencySkipsKeyFetches(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Latency: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ks, err := s.fetchKeys(ctx, s.GitHubIssuer())
	if err != nil {
		t.Fatalf("fetchKeys: %v", err)
	}
	_, kid, _ := s.github.signingKey()
	if ks[kid] == nil {
		t.Errorf("fetched keys lack the issuer's kid")
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.GitHubIssuer()+jwksPath, nil)
	if _, err := noKeepAlive.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a client's JWKS request: %v, want it held by the latency", err)
	}
}
