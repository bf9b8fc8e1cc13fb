package exchange

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// idTok is shaped like a real ID token so that redaction by shape is tested
// too; the client never parses it.
const idTok = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoiam9iIn0.c2lnbmF0dXJlLW9mLXRoZS1pZC10b2tlbg"

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return epoch }

// accessToken is the token the fake Hub issues for a resource.
func accessToken(res string) string {
	return "hf_jwt_" + strings.NewReplacer("/", "_", "-", "_").Replace(res) + "_s3cr3t"
}

// secrets are what no error or printed value may contain.
var secrets = []string{idTok, strings.Split(idTok, ".")[1], strings.Split(idTok, ".")[2], "hf_jwt_", "hf_oauth_", "s3cr3t"}

func assertNoSecrets(t testing.TB, texts ...string) {
	t.Helper()
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Fatalf("%q contains the secret %q", text, s)
			}
		}
	}
}

func res(name string) resource.Resource { return resource.Resource{Name: name} }

// hub is a fake exchange endpoint: handle decides each answer.
type hub struct {
	*httptest.Server
	requests atomic.Int32
}

func newHub(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int32, req request)) *hub {
	t.Helper()
	h := &hub{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.requests.Add(1)
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad body", 500)
			return
		}
		handle(w, r, n, req)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hub) client() *Client {
	return &Client{
		Endpoint:    h.URL,
		HTTPClient:  h.Client(),
		Timeout:     5 * time.Second,
		MaxAttempts: 3,
		MinBackoff:  time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
		Now:         fixedNow,
	}
}

func reply(w http.ResponseWriter, status int, body string, header ...string) {
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func grant(w http.ResponseWriter, req request) {
	reply(w, 200, fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":3600,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}`,
		accessToken(req.Resource)), "X-Request-Id", "Root=1-ok-"+req.Resource)
}

// staticIDs hands out one ID token and counts the calls.
type staticIDs struct {
	calls atomic.Int32
	err   error
}

func (s *staticIDs) Token(context.Context) (*idtoken.Token, error) {
	s.calls.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	return &idtoken.Token{Raw: idTok}, nil
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *Error", err, err)
	}
	assertNoSecrets(t, err.Error())
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	return e
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		grant(w, request{Resource: "datasets/acme/data"})
	}))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL + "/hub/", HTTPClient: srv.Client(), UserAgent: "hf-oidc/test", Now: fixedNow}
	tok, err := c.Exchange(t.Context(), idTok, res("datasets/acme/data"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/hub/oauth/token" || got.URL.RawQuery != "" {
		t.Errorf("request %s %s", got.Method, got.URL)
	}
	for name, want := range map[string]string{"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "hf-oidc/test"} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	want := `{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange",` +
		`"subject_token_type":"urn:ietf:params:oauth:token-type:id_token",` +
		`"subject_token":"` + idTok + `","resource":"datasets/acme/data"}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	wantTok := Token{
		Resource:    "datasets/acme/data",
		AccessToken: accessToken("datasets/acme/data"),
		TokenType:   "bearer",
		ExpiresAt:   epoch.Add(time.Hour),
		RequestID:   "Root=1-ok-datasets/acme/data",
	}
	if tok != wantTok {
		t.Errorf("token %+v, want %+v", tok, wantTok)
	}
}

func TestDefaultUserAgentAndHTTPClient(t *testing.T) {
	t.Parallel()
	var ua string
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
		ua = r.Header.Get("User-Agent")
		grant(w, req)
	})
	c := &Client{Endpoint: h.URL} // nil HTTPClient: the default one
	if _, err := c.Exchange(t.Context(), idTok, res("acme/model")); err != nil {
		t.Fatal(err)
	}
	if ua != "hf-oidc" {
		t.Errorf("User-Agent = %q", ua)
	}
}

func TestRoundConcurrent(t *testing.T) {
	t.Parallel()
	names := []string{"acme/model", "datasets/acme/data", "spaces/acme/demo", "kernels/acme/k", "acme-user", "acme/model-2", "acme/model-3", "acme/model-4"}
	// The barrier only opens when every request is in flight at once: a
	// client that exchanged one after another would time out on it.
	var inFlight atomic.Int32
	all := make(chan struct{})
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
		if inFlight.Add(1) == int32(len(names)) {
			close(all)
		}
		select {
		case <-all:
			grant(w, req)
		case <-time.After(3 * time.Second):
			reply(w, 400, `{"error":"invalid_request","error_description":"barrier never opened"}`)
		}
	})
	var rs []resource.Resource
	for _, n := range names {
		rs = append(rs, res(n))
	}
	ids := &staticIDs{}
	c := h.client()
	results, err := c.Round(t.Context(), ids, rs)
	if err != nil {
		t.Fatal(err)
	}
	if n := ids.calls.Load(); n != 1 {
		t.Errorf("fetched %d ID tokens, want 1", n)
	}
	if len(results) != len(names) {
		t.Fatalf("%d results", len(results))
	}
	for i, r := range results {
		if r.Err != nil || r.Resource.Name != names[i] || r.Token.Resource != names[i] ||
			r.Token.AccessToken != accessToken(names[i]) || !r.Token.ExpiresAt.Equal(epoch.Add(time.Hour)) {
			t.Errorf("result %d: %+v, %v", i, r, r.Err)
		}
	}
	// Printing results shows no token.
	assertNoSecrets(t, fmt.Sprint(results), fmt.Sprintf("%+v", results), fmt.Sprintf("%#v", results))
}

// Rounds of a long job reuse the client's connection rather than dialing
// again. Over HTTP/2, which the Hub speaks, that is exact: one connection
// for every round. Over HTTP/1.1 Go puts a connection back in its idle pool
// only after the caller has read the body, asynchronously, so a round that
// starts at once may dial a few more; all that is asserted there is reuse.
func TestRoundsReuseConnections(t *testing.T) {
	t.Parallel()
	const rounds = 5
	for _, tc := range []struct {
		name    string
		tls     bool
		maxConn int32
	}{
		{"http2", true, 1},
		{"http1", false, rounds * 4 / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newGrantingHub(t, tc.tls)
			hc := hubClient(t, srv.Server)
			rs := []resource.Resource{res("acme/a"), res("acme/b"), res("acme/c"), res("acme/d")}
			c := &Client{Endpoint: srv.URL, HTTPClient: hc}
			for range rounds {
				if _, err := c.Round(t.Context(), &staticIDs{}, rs); err != nil {
					t.Fatal(err)
				}
			}
			if n := srv.conns.Load(); n > tc.maxConn {
				t.Errorf("%d connections for %d rounds of %d resources, want at most %d", n, rounds, len(rs), tc.maxConn)
			}
		})
	}
}

func TestRoundPartialFailure(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
		if req.Resource == "acme/locked" {
			reply(w, 400, `{"error":"invalid_grant","error_description":"Invalid grant"}`, "X-Request-Id", "r-locked")
			return
		}
		grant(w, req)
	})
	results, err := h.client().Round(t.Context(), &staticIDs{}, []resource.Resource{res("acme/a"), res("acme/locked"), res("acme/b")})
	if err == nil {
		t.Fatal("no error")
	}
	e := asError(t, err)
	if e.Resource != "acme/locked" || e.Code != "invalid_grant" {
		t.Errorf("error %+v", e)
	}
	if err.Error() != "exchanging token for acme/locked: invalid_grant: Invalid grant (HTTP 400, request ID r-locked)" {
		t.Errorf("message %q", err)
	}
	if results[0].Err != nil || results[1].Err == nil || results[2].Err != nil {
		t.Errorf("results %+v", results)
	}
}

func TestRoundWithoutIDToken(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) { grant(w, req) })
	boom := errors.New("getting an ID token: no permission")
	results, err := h.client().Round(t.Context(), &staticIDs{err: boom}, []resource.Resource{res("acme/a")})
	if !errors.Is(err, boom) || results != nil {
		t.Errorf("Round = %v, %v", results, err)
	}
	if h.requests.Load() != 0 {
		t.Error("exchanged without an ID token")
	}
}

func TestRoundRefusesBadInput(t *testing.T) {
	t.Parallel()
	ids := &staticIDs{}
	c := &Client{Endpoint: "http://huggingface.co"}
	if _, err := c.Round(t.Context(), ids, []resource.Resource{res("acme/a")}); err == nil || !strings.Contains(err.Error(), "HF_ENDPOINT") {
		t.Errorf("bad endpoint: %v", err)
	}
	if _, err := c.Round(t.Context(), ids, nil); err == nil || !strings.Contains(err.Error(), "no resources") {
		t.Errorf("no resources: %v", err)
	}
	if _, err := c.Exchange(t.Context(), idTok, res("acme/a")); err == nil || !strings.Contains(err.Error(), "exchanging token for acme/a: the endpoint") {
		t.Errorf("Exchange with bad endpoint: %v", err)
	}
	if n := ids.calls.Load(); n != 0 {
		t.Errorf("fetched %d ID tokens before checking the input", n)
	}
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) { grant(w, req) })
	for _, tt := range []struct{ id, name, want string }{{"", "acme/a", "no ID token"}, {idTok, "", "resource name is empty"}} {
		_, err := h.client().Exchange(t.Context(), tt.id, res(tt.name))
		if e := asError(t, err); !strings.Contains(e.Problem, tt.want) {
			t.Errorf("Exchange(%q, %q) = %v", tt.id, tt.name, err)
		}
	}
	if h.requests.Load() != 0 {
		t.Error("sent a request for bad input")
	}
}

func TestRetriedThenSuccess(t *testing.T) {
	t.Parallel()
	for _, status := range []int{429, 500, 502, 503, 504} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, req request) {
				if n < 3 {
					reply(w, status, `<html>busy</html>`, "Content-Type", "text/html")
					return
				}
				grant(w, req)
			})
			tok, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != accessToken("acme/model") || h.requests.Load() != 3 {
				t.Errorf("token %v after %d requests", tok, h.requests.Load())
			}
		})
	}
}

func TestNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status      int
		body        string
		code, desc  string
		wantMessage string
	}{
		{400, `{"error":"invalid_grant","error_description":"No matching publisher"}`, "invalid_grant", "No matching publisher",
			"exchanging token for acme/model: invalid_grant: No matching publisher (HTTP 400, request ID Root=1-abc)"},
		{400, `{"error":"invalid_request","error_description":"Invalid resource"}`, "invalid_request", "Invalid resource",
			"exchanging token for acme/model: invalid_request: Invalid resource (HTTP 400, request ID Root=1-abc)"},
		{400, `{"error":"invalid_grant"}`, "invalid_grant", "",
			"exchanging token for acme/model: invalid_grant (HTTP 400, request ID Root=1-abc)"},
		{401, `{"error":"unauthorized"}`, "unauthorized", "",
			"exchanging token for acme/model: unauthorized (HTTP 401, request ID Root=1-abc)"},
		{403, `forbidden`, "", "",
			`exchanging token for acme/model: unexpected answer, not JSON but text/plain: "forbidden" (HTTP 403, request ID Root=1-abc)`},
		{404, `<!DOCTYPE html><html><body>Not found</body></html>`, "", "",
			`exchanging token for acme/model: unexpected answer, not JSON but text/html: "<!DOCTYPE html><html><body>Not found</body></html>" (HTTP 404, request ID Root=1-abc)`},
		{501, ``, "", "", "exchanging token for acme/model: server error (HTTP 501, request ID Root=1-abc)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.code), func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
				ct := "application/json"
				if strings.HasPrefix(tt.body, "<") {
					ct = "text/html; charset=utf-8"
				} else if !json.Valid([]byte(tt.body)) {
					ct = "text/plain"
				}
				reply(w, tt.status, tt.body, "Content-Type", ct, "X-Request-Id", "Root=1-abc")
			})
			_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
			e := asError(t, err)
			if h.requests.Load() != 1 || e.Attempts != 1 {
				t.Errorf("%d requests, %d attempts; want 1", h.requests.Load(), e.Attempts)
			}
			if e.Status != tt.status || e.Code != tt.code || e.Description != tt.desc || e.RequestID != "Root=1-abc" {
				t.Errorf("error %+v", e)
			}
			if err.Error() != tt.wantMessage {
				t.Errorf("message\n%s\nwant\n%s", err, tt.wantMessage)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, req request) {
		reply(w, 503, `{"message":"down for maintenance"}`, "X-Request-Id", fmt.Sprint("r-", n))
	})
	_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
	e := asError(t, err)
	want := `exchanging token for acme/model: server error: "{\"message\":\"down for maintenance\"}" (3 attempts; last answer: HTTP 503, request ID r-3)`
	if err.Error() != want || e.Attempts != 3 || h.requests.Load() != 3 {
		t.Errorf("after %d requests:\n%s\nwant\n%s", h.requests.Load(), err, want)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	var first time.Time
	var waited time.Duration
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, req request) {
		if n == 1 {
			first = time.Now()
			reply(w, 429, `{"error":"slow_down"}`, "Retry-After", "1")
			return
		}
		waited = time.Since(first)
		grant(w, req)
	})
	if _, err := h.client().Exchange(t.Context(), idTok, res("acme/model")); err != nil {
		t.Fatal(err)
	}
	// MaxBackoff is 5ms: only Retry-After makes it wait a second.
	if waited < time.Second {
		t.Errorf("retried after %v, want at least 1s", waited)
	}
}

func TestRetryAfterBeyondDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status, retryAfter, want string
	}{
		{"seconds", "429", "120", "the server asked to wait 2m0s before retrying, longer than the"},
		{"HTTP date", "503", epoch.Add(time.Hour).Format(http.TimeFormat), "the server asked to wait 1h0m0s before retrying"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
				var status int
				fmt.Sscan(tt.status, &status)
				reply(w, status, ``, "Retry-After", tt.retryAfter, "X-Request-Id", "r-wait")
			})
			c := h.client()
			c.Timeout = 3 * time.Second
			start := time.Now()
			_, err := c.Exchange(t.Context(), idTok, res("acme/model"))
			e := asError(t, err)
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "left before the timeout (HTTP "+tt.status+", request ID r-wait)") {
				t.Errorf("message %q", err)
			}
			if h.requests.Load() != 1 || e.Attempts != 1 {
				t.Errorf("%d requests", h.requests.Load())
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("gave up after %v, want at once", took)
			}
		})
	}
}

func TestRoundTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   int // 503s before stalling
		wantParen string
	}{
		{"stalls at once", 0, ""},
		{"stalls after a 503", 1, " (2 attempts; last answer: HTTP 503, request ID r-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, req request) {
				if int(n) <= tt.answers {
					reply(w, 503, ``, "X-Request-Id", fmt.Sprint("r-", n))
					return
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			defer close(release)
			c := h.client()
			c.Timeout = 200 * time.Millisecond
			start := time.Now()
			results, err := c.Round(t.Context(), &staticIDs{}, []resource.Resource{res("acme/model")})
			took := time.Since(start)
			e := asError(t, err)
			if !errors.Is(err, context.DeadlineExceeded) || results[0].Err == nil {
				t.Errorf("err = %v", err)
			}
			want := "exchanging token for acme/model: the --timeout of 200ms ran out while waiting for an answer from " + h.URL + "/oauth/token" + tt.wantParen
			if err.Error() != want {
				t.Errorf("message\n%s\nwant\n%s", err, want)
			}
			if e.Status == 0 && tt.answers > 0 {
				t.Error("lost the status of the last answer")
			}
			if took < 200*time.Millisecond || took > 2*time.Second {
				t.Errorf("took %v for a 200ms timeout", took)
			}
		})
	}
}

func TestCallerCancels(t *testing.T) {
	t.Parallel()
	// Cancelled once the request has arrived, not after a guess at when.
	arrived := make(chan struct{}, 1)
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-arrived; cancel() }()
	_, err := h.client().Exchange(ctx, idTok, res("acme/model"))
	asError(t, err)
	if !errors.Is(err, context.Canceled) || h.requests.Load() != 1 {
		t.Errorf("err = %v after %d requests", err, h.requests.Load())
	}
}

// reset hijacks the connection and closes it with a TCP RST.
func reset(t *testing.T, w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

func TestConnectionReset(t *testing.T) {
	t.Parallel()
	t.Run("then success", func(t *testing.T) {
		t.Parallel()
		h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, req request) {
			if n < 3 {
				reset(t, w)
				return
			}
			grant(w, req)
		})
		if _, err := h.client().Exchange(t.Context(), idTok, res("acme/model")); err != nil {
			t.Fatal(err)
		}
		if h.requests.Load() != 3 {
			t.Errorf("%d requests, want 3", h.requests.Load())
		}
	})
	t.Run("always", func(t *testing.T) {
		t.Parallel()
		h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) { reset(t, w) })
		_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
		e := asError(t, err)
		if e.Err == nil || e.Status != 0 || e.Attempts != 3 || !strings.HasSuffix(err.Error(), "(after 3 attempts)") {
			t.Errorf("error %+v: %v", e, err)
		}
		if !strings.HasPrefix(err.Error(), `exchanging token for acme/model: Post "`+h.URL+`/oauth/token": `) {
			t.Errorf("message %q", err)
		}
	})
}

func TestSizeLimit(t *testing.T) {
	t.Parallel()
	valid := fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":3600}`, accessToken("acme/model"))
	tests := []struct {
		name   string
		status int
		body   string
		want   string // part of the error; "" for success
	}{
		{"success at the limit", 200, valid + strings.Repeat(" ", maxBody-len(valid)), ""},
		{"success over the limit", 200, valid + strings.Repeat(" ", maxBody-len(valid)+1), "unusable answer: larger than 64 KiB (HTTP 200"},
		{"error over the limit", 400, `{"error":"invalid_grant","error_description":"` + strings.Repeat("x", maxBody) + `"}`,
			`unexpected answer, larger than 64 KiB: "{\"error\":\"invalid_grant\",\"error_description\":\"xxxxxxxx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) { reply(w, tt.status, tt.body) })
			tok, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
			if tt.want == "" {
				if err != nil || tok.AccessToken != accessToken("acme/model") {
					t.Fatalf("Exchange = %v, %v", tok, err)
				}
				return
			}
			asError(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("message %q does not contain %q", err, tt.want)
			}
			if len(err.Error()) > 300 {
				t.Errorf("message is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestMalformedSuccess(t *testing.T) {
	t.Parallel()
	tok := accessToken("acme/model")
	body := func(fields string) string { return "{" + fields + "}" }
	at := fmt.Sprintf(`"access_token":%q`, tok)
	tests := []struct {
		name, contentType, body, want string // want "" is success
	}{
		{"valid", "", body(at + `,"token_type":"bearer","expires_in":3600`), ""},
		{"Bearer in capitals", "", body(at + `,"token_type":"Bearer","expires_in":3600`), ""},
		{"fractional expires_in", "", body(at + `,"token_type":"bearer","expires_in":3600.5`), ""},
		{"expires_in of 24h", "", body(at + `,"token_type":"bearer","expires_in":86400`), ""},
		{"HTML", "text/html", `<html><body>` + tok + `</body></html>`, "the body is not JSON (at byte 1) (Content-Type text/html)"},
		{"empty", "", ``, "the body is empty"},
		{"truncated", "", `{"access_token":"` + tok, "the body is truncated JSON"},
		{"trailing garbage", "", body(at+`,"token_type":"bearer","expires_in":3600`) + "x", "the body has data after its JSON object"},
		{"array", "", `["` + tok + `"]`, "the body is JSON array, not an object"},
		{"string", "", `"` + tok + `"`, "the body is JSON string, not an object"},
		{"null", "", `null`, "the body is JSON null, not an object"},
		{"no access_token", "", body(`"token_type":"bearer","expires_in":3600`), "access_token is missing"},
		{"access_token null", "", body(`"access_token":null,"token_type":"bearer","expires_in":3600`), "access_token is not a string"},
		{"access_token number", "", body(`"access_token":12345678901,"token_type":"bearer","expires_in":3600`), "access_token is not a string"},
		{"access_token empty", "", body(`"access_token":"","token_type":"bearer","expires_in":3600`), "access_token is empty"},
		{"access_token with a space", "", body(`"access_token":"` + tok + ` x","token_type":"bearer","expires_in":3600`), "access_token has a character outside RFC 6750's token alphabet (at byte 24)"},
		{"access_token with a newline", "", body(`"access_token":"` + tok + `\n","token_type":"bearer","expires_in":3600`), "access_token has a character outside RFC 6750's token alphabet"},
		{"access_token too long", "", body(`"access_token":"` + tok + strings.Repeat("a", maxTokenLen) + `","token_type":"bearer","expires_in":3600`), "access_token is 8216 bytes long, more than 8192"},
		{"no token_type", "", body(at + `,"expires_in":3600`), "token_type is missing"},
		{"token_type mac", "", body(at + `,"token_type":"mac","expires_in":3600`), `token_type is not "bearer"`},
		{"token_type number", "", body(at + `,"token_type":1,"expires_in":3600`), "token_type is not a string"},
		{"no expires_in: the documented hour", "", body(at + `,"token_type":"bearer"`), ""},
		{"expires_in zero", "", body(at + `,"token_type":"bearer","expires_in":0`), "expires_in is 0: not positive"},
		{"expires_in negative", "", body(at + `,"token_type":"bearer","expires_in":-60`), "expires_in is -60: not positive"},
		{"expires_in string", "", body(at + `,"token_type":"bearer","expires_in":"3600"`), "expires_in is not a number"},
		{"expires_in null", "", body(at + `,"token_type":"bearer","expires_in":null`), "expires_in is not a number"},
		{"expires_in bool", "", body(at + `,"token_type":"bearer","expires_in":true`), "expires_in is not a number"},
		{"expires_in over 24h: the documented hour", "", body(at + `,"token_type":"bearer","expires_in":86401`), ""},
		{"expires_in overflows", "", body(at + `,"token_type":"bearer","expires_in":1e400`), "expires_in is not a usable number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
				reply(w, 200, tt.body, "Content-Type", tt.contentType, "X-Request-Id", "r-200")
			})
			got, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
			if tt.want == "" {
				if err != nil || got.AccessToken != tok || got.ExpiresAt.Sub(epoch) < time.Hour {
					t.Fatalf("Exchange = %v, %v", got, err)
				}
				return
			}
			e := asError(t, err)
			want := "exchanging token for acme/model: unusable answer: " + tt.want
			if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "(HTTP 200, request ID r-200)") {
				t.Errorf("message\n%s\nwant it to start with\n%s", err, want)
			}
			if h.requests.Load() != 1 || e.Attempts != 1 {
				t.Errorf("%d requests", h.requests.Load())
			}
		})
	}
}

func TestOtherSuccessStatus(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) { grant201(w, req) })
	_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
	asError(t, err)
	if !strings.Contains(err.Error(), "unexpected answer: want HTTP 200 (HTTP 201") {
		t.Errorf("message %q", err)
	}
}

func grant201(w http.ResponseWriter, req request) {
	reply(w, 201, fmt.Sprintf(`{"access_token":%q}`, accessToken(req.Resource)))
}

// A server that echoes what it was sent must not get it into our errors.
func TestErrorsRedactEchoedTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"description", "application/json", `{"error":"invalid_grant","error_description":"bad token ` + idTok + ` hf_oauth_abcdefghijkl"}`, 400},
		{"code", "application/json", `{"error":"` + idTok + `"}`, 400},
		{"HTML", "text/html", `<p>` + idTok + `</p>`, 500},
		{"other JWT", "text/plain", `token eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. rejected`, 403},
		{"JSON without error", "application/json", `{"subject_token":"` + idTok + `"}`, 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
				reply(w, tt.status, tt.body, "Content-Type", tt.contentType)
			})
			c := h.client()
			c.MaxAttempts = 1
			_, err := c.Exchange(t.Context(), idTok, res("acme/model"))
			asError(t, err) // checks for secrets
			if !strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("message %q redacts nothing", err)
			}
			if strings.Contains(err.Error(), "eyJhbGciOiJub25lIn0") {
				t.Errorf("message %q quotes a JWT", err)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("followed a redirect to another host")
	}))
	defer other.Close()
	h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
		switch r.URL.Path {
		case "/same/oauth/token":
			http.Redirect(w, r, "/moved/oauth/token", http.StatusPermanentRedirect)
		case "/moved/oauth/token":
			grant(w, req)
		case "/other/oauth/token":
			http.Redirect(w, r, other.URL+"/oauth/token?code=secretvalue", http.StatusTemporaryRedirect)
		case "/found/oauth/token":
			// A 302 would turn the POST into a GET without its body.
			http.Redirect(w, r, "/moved/oauth/token", http.StatusFound)
		}
	})
	c := &Client{Endpoint: h.URL + "/same", Now: fixedNow} // the default HTTP client
	if tok, err := c.Exchange(t.Context(), idTok, res("acme/model")); err != nil || tok.AccessToken != accessToken("acme/model") {
		t.Errorf("same-host 308: %v, %v", tok, err)
	}
	for _, tt := range []struct{ path, want string }{
		{"/other", "redirected to " + other.URL + "/oauth/token; the endpoint must be the Hub's own URL (HTTP 307)"},
		{"/found", "redirected to " + h.URL + "/moved/oauth/token; the endpoint must be the Hub's own URL (HTTP 302)"},
	} {
		c := &Client{Endpoint: h.URL + tt.path}
		_, err := c.Exchange(t.Context(), idTok, res("acme/model"))
		asError(t, err)
		if !strings.HasSuffix(err.Error(), tt.want) || strings.Contains(err.Error(), "secretvalue") {
			t.Errorf("%s: message %q", tt.path, err)
		}
	}
}

func TestErrorSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Resource: "r", Code: "invalid_grant", Description: "d", Status: 400, RequestID: "id", Attempts: 1}, "invalid_grant: d (HTTP 400, request ID id)"},
		{Error{Resource: "r", Code: "invalid_grant", Status: 400, Attempts: 2}, "invalid_grant (2 attempts; last answer: HTTP 400)"},
		{Error{Resource: "r", Problem: "p", Attempts: 5, Err: errors.New("e")}, "p (after 5 attempts)"},
		{Error{Resource: "r", Err: errors.New("dial tcp: refused")}, "dial tcp: refused"},
		{Error{Resource: "r"}, "unexpected answer"},
	}
	for _, tt := range tests {
		if got := tt.e.Summary(); got != tt.want {
			t.Errorf("Summary = %q, want %q", got, tt.want)
		}
		if got := tt.e.Error(); got != "exchanging token for r: "+tt.want {
			t.Errorf("Error = %q", got)
		}
	}
}

func TestTokenString(t *testing.T) {
	t.Parallel()
	tok := Token{Resource: "acme/model", AccessToken: accessToken("acme/model"), TokenType: "bearer", ExpiresAt: epoch, RequestID: "r1"}
	want := "token for acme/model, expires 2026-03-01T12:00:00Z (request ID r1)"
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		if got := fmt.Sprintf(format, tok); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", format, got, want)
		}
	}
	assertNoSecrets(t, fmt.Sprintf("%+v %#v", []Token{tok}, Result{Token: tok}))
}

// grantingHub is a Hub that grants every exchange, over TLS and HTTP/2 or
// plain HTTP/1.1, counting its connections and its HTTP/2 requests.
type grantingHub struct {
	*httptest.Server
	conns, http2 atomic.Int32
}

func newGrantingHub(t testing.TB, tls bool) *grantingHub {
	h := &grantingHub{}
	h.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h.http2.Add(1)
		}
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad body", 500)
			return
		}
		grant(w, req)
	}))
	h.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			h.conns.Add(1)
		}
	}
	if tls {
		h.EnableHTTP2 = true
		h.StartTLS()
	} else {
		h.Start()
	}
	t.Cleanup(h.Close)
	return h
}

// hubClient is the client every command uses (transport.New), trusting
// srv's certificate when it serves TLS.
func hubClient(t testing.TB, srv *httptest.Server) *http.Client {
	t.Helper()
	getenv := func(string) string { return "" }
	if srv.TLS != nil {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(ca, pemCert, 0o600); err != nil {
			t.Fatal(err)
		}
		getenv = func(k string) string {
			if k == transport.CAFileVar {
				return ca
			}
			return ""
		}
	}
	hc, err := transport.New(getenv)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

// BenchmarkRound is one round over a warm HTTP/2 connection, as the Hub
// speaks it; the server does next to nothing, so this is the client's cost.
func BenchmarkRound(b *testing.B) {
	srv := newGrantingHub(b, true)
	c := &Client{Endpoint: srv.URL, HTTPClient: hubClient(b, srv.Server)}
	for _, n := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			rs := make([]resource.Resource, n)
			for i := range rs {
				rs[i] = res(fmt.Sprintf("acme/model-%d", i))
			}
			ids := &staticIDs{}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Round(b.Context(), ids, rs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRoundSharesOneHTTP2Connection: a round that starts with no
// connection (the ID token came from elsewhere) opens one and multiplexes
// every resource on it, paying one TLS handshake, not one each, also past
// the 100 streams Go's client allows before the server's settings arrive.
func TestRoundSharesOneHTTP2Connection(t *testing.T) {
	t.Parallel()
	for _, n := range []int{16, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			srv := newGrantingHub(t, true)
			rs := make([]resource.Resource, n)
			for i := range rs {
				rs[i] = res(fmt.Sprintf("acme/m%d", i))
			}
			c := &Client{Endpoint: srv.URL, HTTPClient: srv.Client(), Now: fixedNow}
			if _, err := c.Round(t.Context(), &staticIDs{}, rs); err != nil {
				t.Fatal(err)
			}
			if got, h2 := srv.conns.Load(), srv.http2.Load(); got != 1 || h2 != int32(n) {
				t.Errorf("%d resources: %d connections and %d requests over HTTP/2, want 1 and %d", n, got, h2, n)
			}
		})
	}
}

// opaqueIDs hands out an ID token that is not shaped like a JWT, so that
// only redaction by value can keep it out of a message.
type opaqueIDs struct{ raw string }

func (o opaqueIDs) Token(context.Context) (*idtoken.Token, error) {
	return &idtoken.Token{Raw: o.raw}, nil
}

// TestErrorsRedactTheSubjectTokenByValue pins that the ID token sent is
// itself one of the secrets an error may not quote: a Hub that echoes it
// back must not get it into a message even when it looks like no token the
// redaction pattern knows.
func TestErrorsRedactTheSubjectTokenByValue(t *testing.T) {
	t.Parallel()
	const subject = "opaque-subject-token-1234567890"
	if safetext.TokenLike(subject) {
		t.Fatalf("%q is token-shaped: it tests nothing", subject)
	}
	tests := []struct {
		name, contentType, body string
		status                  int
		requestID               string
	}{
		{"OAuth description", "application/json", `{"error":"invalid_grant","error_description":"subject_token ` + subject + ` is not a JWT"}`, 400, ""},
		{"OAuth code", "application/json", `{"error":"` + subject + `"}`, 400, ""},
		{"JSON without error", "application/json", `{"subject_token":"` + subject + `"}`, 422, ""},
		{"plain text", "text/plain", "refused " + subject, 403, ""},
		{"HTML from a proxy", "text/html", "<p>" + subject + "</p>", 502, ""},
		{"rate limited", "text/plain", "slow down, " + subject, 429, ""},
		{"request ID", "application/json", `{"error":"invalid_grant"}`, 400, "req-" + subject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
				if req.SubjectToken != subject {
					t.Errorf("subject_token = %q, want %q", req.SubjectToken, subject)
				}
				if tt.requestID != "" {
					w.Header().Set("X-Request-Id", tt.requestID)
				}
				reply(w, tt.status, tt.body, "Content-Type", tt.contentType)
			})
			c := h.client()
			c.MaxAttempts = 1
			// Round is how the commands call the exchange: through an ID
			// token source.
			_, err := c.Round(t.Context(), opaqueIDs{subject}, []resource.Resource{res("acme/model")})
			if err == nil {
				t.Fatal("Round succeeded")
			}
			if strings.Contains(err.Error(), subject) {
				t.Errorf("message %q quotes the ID token", err)
			}
			if !strings.Contains(err.Error(), safetext.Marker) {
				t.Errorf("message %q redacts nothing", err)
			}
		})
	}
}

// TestOtherSuccessStatusNeverQuoted pins that a 2xx other than 200 stays
// out of the failure path, which quotes the body: a success body may hold a
// token that no pattern recognises. 299, the last 2xx, is the edge.
func TestOtherSuccessStatusNeverQuoted(t *testing.T) {
	t.Parallel()
	const opaque = "opaque-access-token-abcdef123456"
	for _, status := range []int{201, 202, 204, 206, 299} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) {
				reply(w, status, `{"access_token":"`+opaque+`","error":"`+opaque+`"}`)
			})
			_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
			e := asError(t, err)
			want := fmt.Sprintf("unexpected answer: want HTTP 200 (HTTP %d", status)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q, want it to contain %q", err, want)
			}
			if strings.Contains(err.Error(), opaque) || e.Code != "" || e.Description != "" {
				t.Errorf("message %q (code %q, description %q) quotes the body", err, e.Code, e.Description)
			}
			if n := h.requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1: a 2xx is not retried", n)
			}
		})
	}
}
