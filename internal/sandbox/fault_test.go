package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
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

func TestFaultBodySize(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	var full, cut atomic.Int64
	s.Inject(PathWhoami,
		Fault{Status: 502, Body: "<html>", ContentType: "text/html", BodySize: 1 << 20, Written: &full},
		Fault{Body: `{"access_token":"`, BodySize: 1 << 30, Written: &cut},
	)
	a := get(t, s.URL()+PathWhoami, "")
	if a.status != 502 || len(a.raw) != 1<<20 || !strings.HasPrefix(a.raw, "<html>xxx") || strings.Trim(a.raw[6:], "x") != "" {
		t.Errorf("status %d, %d bytes starting %.10q; want 502 and 1 MiB of <html> and filler", a.status, len(a.raw), a.raw)
	}
	if a.header.Get("Content-Length") != "" || a.header.Get("Content-Type") != "text/html" {
		t.Errorf("headers %v: want no Content-Length (streamed) and the fault's Content-Type", a.header)
	}
	if n := full.Load(); n != 1<<20 {
		t.Errorf("Written = %d, want the whole body", n)
	}

	// A client that stops reading stops the stream: the sandbox never
	// writes the whole GiB.
	resp, err := noKeepAlive.Get(s.URL() + PathWhoami)
	if err != nil {
		t.Fatal(err)
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil || len(head) != 64<<10 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("read %d bytes (%v), Content-Type %q", len(head), err, resp.Header.Get("Content-Type"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for prev := int64(-1); cut.Load() != prev; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream did not stop after the client left")
		}
		prev = cut.Load()
	}
	if n := cut.Load(); n < 64<<10 || n > 256<<20 {
		t.Errorf("Written = %d after the client read 64 KiB and left; want at least that and far less than 1 GiB", n)
	}
}

func TestFaultStall(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	s.TrustGitHub("acme/training")
	tok := mint(t, s, nil)
	tests := []struct {
		name  string
		fault Fault
		want  string // the body before the stall
	}{
		{"after the headers", Fault{Status: 503, Body: "unavailable", Stall: time.Minute}, ""},
		{"mid-body", Fault{Status: 503, Body: "unavailable", Stall: time.Minute, StallAfter: 4}, "unav"},
		{"mid-body of the real answer", Fault{Stall: time.Minute, StallAfter: 10}, `{"access_t`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var written atomic.Int64
			tt.fault.Written = &written
			s.Inject(PathToken, tt.fault)
			b, _ := json.Marshal(exchangeFields(tok, "acme/training"))
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			req := mustRequest(t, http.MethodPost, s.URL()+PathToken, string(b)).WithContext(ctx)
			resp, err := noKeepAlive.Do(req)
			if err != nil {
				t.Fatalf("stalled answer: %v, want its headers", err)
			}
			defer resp.Body.Close()
			if resp.Header.Get("x-request-id") == "" {
				t.Error("no x-request-id")
			}
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != tt.want {
				t.Fatalf("body before the stall: %q, %v; want %q", got, err, tt.want)
			}
			// The rest is held back: a read waits until the client gives up.
			done := make(chan error, 1)
			go func() {
				_, err := resp.Body.Read(make([]byte, 1))
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("read past the stall point: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("read after cancel: %v", err)
			}
			if n := written.Load(); n != int64(len(tt.want)) {
				t.Errorf("Written = %d, want %d", n, len(tt.want))
			}
		})
	}
	// A stall that ends sends the rest.
	s.Inject(PathWhoami, Fault{Status: 500, Body: "slow error", Stall: 20 * time.Millisecond, StallAfter: 4})
	if a := get(t, s.URL()+PathWhoami, ""); a.status != 500 || a.raw != "slow error" {
		t.Errorf("after a short stall: %d %q", a.status, a.raw)
	}
}

func TestFaultTruncateWithReset(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	var written atomic.Int64
	s.Inject(PathWhoami, Fault{Status: 200, Body: `{"name":"acme","auth":{}}`, Truncate: true, Reset: true, Written: &written})
	resp, err := noKeepAlive.Get(s.URL() + PathWhoami)
	if err != nil {
		t.Fatalf("truncated answer: %v, want its headers", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil || len(body) > 12 {
		t.Errorf("reading the body: %d bytes, %v; want at most half of it and a broken connection", len(body), err)
	}
	if n := written.Load(); n != 12 {
		t.Errorf("Written = %d, want half of the 25-byte body", n)
	}
}
