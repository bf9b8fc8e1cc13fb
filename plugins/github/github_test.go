package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	reqToken = "REQTOKEN-1b6f0e52-secret-request-token"
	minted   = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2h1Z2dpbmdmYWNlLmNvIn0.c2lnbmF0dXJlLW1pbnRlZA"
	// querySecret stands for whatever the runtime puts in its query string:
	// errors may quote the request URL only without it.
	querySecret = "QUERYSECRET"
	path        = "/_apis/idtoken/plan/job"
)

// secrets are what no error may ever contain.
var secrets = []string{reqToken, minted, querySecret, "api-version"}

func checkNoLeak(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q leaks %q", err, s)
		}
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// actionsEnv is a GitHub Actions job whose runtime answers at base.
func actionsEnv(base string) map[string]string {
	return map[string]string{
		envActions: "true",
		envURL:     base + path + "?api-version=2.0&sig=" + querySecret,
		envToken:   reqToken,
	}
}

func newProvider(env map[string]string, client *http.Client) *Provider {
	p := New(plugins.WithGetenv(getenv(env)), plugins.WithHTTPClient(client))
	p.backoff = func(int, *http.Response) time.Duration { return 0 }
	return p
}

// server answers each request with the next of answers (the last one
// repeats) and counts the requests.
type answer struct {
	status int
	body   string
}

func server(t *testing.T, answers ...answer) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		a := answers[min(n, len(answers))-1]
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

var ok = answer{http.StatusOK, `{"count":1,"value":"` + minted + `"}`}

func TestIDTokenRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		query    string // the runtime URL's own query string
		audience string
		wantRaw  string // a substring the raw query must hold, if any
	}{
		{name: "hub", query: "api-version=2.0", audience: "https://huggingface.co", wantRaw: "audience=https%3A%2F%2Fhuggingface.co"},
		{name: "delimiters", query: "api-version=2.0", audience: "a&b=c;d#e?f", wantRaw: "audience=a%26b%3Dc%3Bd%23e%3Ff"},
		{name: "spaces are %20", query: "api-version=2.0", audience: "my audience", wantRaw: "audience=my%20audience"},
		{name: "plus stays a plus", query: "api-version=2.0", audience: "a+b", wantRaw: "audience=a%2Bb"},
		{name: "non-ASCII", query: "api-version=2.0", audience: "ünï", wantRaw: "audience=%C3%BCn%C3%AF"},
		{name: "existing audience replaced", query: "api-version=2.0&audience=old&audience=older", audience: "new"},
		{name: "no query yet", query: "", audience: "https://huggingface.co"},
		{name: "empty audience keeps query", query: "api-version=2.0&audience=default", audience: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				io.WriteString(w, ok.body)
			}))
			defer srv.Close()
			env := actionsEnv(srv.URL)
			env[envURL] = srv.URL + path
			if tt.query != "" {
				env[envURL] += "?" + tt.query
			}
			tok, err := newProvider(env, srv.Client()).IDToken(t.Context(), tt.audience)
			if err != nil || tok != minted {
				t.Fatalf("IDToken = %q, %v; want the minted token", tok, err)
			}

			if got.Method != http.MethodGet || got.URL.Path != path {
				t.Errorf("request = %s %s, want GET %s", got.Method, got.URL.Path, path)
			}
			if h := got.Header.Get("Authorization"); h != "Bearer "+reqToken {
				t.Errorf("Authorization = %q, want the bearer request token", h)
			}
			if h := got.Header.Get("Accept"); h != "application/json" {
				t.Errorf("Accept = %q, want application/json", h)
			}
			q := got.URL.Query()
			want, _ := url.ParseQuery(tt.query)
			if tt.audience != "" {
				want.Set("audience", tt.audience)
			}
			if fmt.Sprint(q) != fmt.Sprint(want) {
				t.Errorf("query = %v, want %v", q, want)
			}
			if !strings.Contains(got.URL.RawQuery, tt.wantRaw) {
				t.Errorf("raw query = %q, want it to hold %q", got.URL.RawQuery, tt.wantRaw)
			}
		})
	}
}

func TestIDTokenStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		answers   []answer
		wantCalls int32
		wantCode  int // 0: success
		wantErr   string
	}{
		{name: "401", answers: []answer{{401, `{"message":"Bad credentials"}`}}, wantCalls: 1, wantCode: 401, wantErr: `status 401 Unauthorized (not retried): {"message":"Bad credentials"}`},
		{name: "403", answers: []answer{{403, "forbidden"}}, wantCalls: 1, wantCode: 403},
		{name: "404", answers: []answer{{404, ""}}, wantCalls: 1, wantCode: 404, wantErr: "status 404 Not Found (not retried)"},
		{name: "400 not retried", answers: []answer{{400, "bad"}, ok}, wantCalls: 1, wantCode: 400},
		{name: "500 then success", answers: []answer{{500, "oops"}, ok}, wantCalls: 2},
		{name: "429 then success", answers: []answer{{429, "slow down"}, ok}, wantCalls: 2},
		{name: "502, 503 then success", answers: []answer{{502, ""}, {503, ""}, ok}, wantCalls: 3},
		{name: "500 persistent", answers: []answer{{500, "oops"}}, wantCalls: 4, wantCode: 500, wantErr: "giving up after 4 attempts: status 500 Internal Server Error: oops"},
		{name: "429 persistent", answers: []answer{{429, ""}}, wantCalls: 4, wantCode: 429},
		{name: "501 not retried", answers: []answer{{501, "not implemented"}, ok}, wantCalls: 1, wantCode: 501, wantErr: "status 501 Not Implemented (not retried): not implemented"},
		{name: "error body echoing the request token", answers: []answer{{401, "token " + reqToken + " is invalid"}}, wantCalls: 1, wantCode: 401, wantErr: "token [redacted] is invalid"},
		{name: "error body echoing a JWT", answers: []answer{{500, `{"value":"` + minted + `"}`}}, wantCalls: 4, wantCode: 500, wantErr: `{"value":"[redacted]"}`},
		// The query's values are shaped like no token: only redaction by
		// value keeps them out.
		{name: "error body echoing the query", answers: []answer{{400, "bad query: sig=" + querySecret + "&audience=https%3A%2F%2Fhuggingface.co"}}, wantCalls: 1, wantCode: 400, wantErr: "bad query: sig=[redacted]&audience=[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := server(t, tt.answers...)
			tok, err := newProvider(actionsEnv(srv.URL), srv.Client()).IDToken(t.Context(), "https://huggingface.co")
			checkNoLeak(t, err)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("made %d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantCode == 0 {
				if err != nil || tok != minted {
					t.Fatalf("IDToken = %q, %v; want the minted token", tok, err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.wantCode {
				t.Fatalf("IDToken error = %v, want a *StatusError with status %d", err, tt.wantCode)
			}
			if tok != "" {
				t.Errorf("IDToken returned a token along with an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to hold %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), srv.URL+path) {
				t.Errorf("error = %q, want it to name the URL without its query", err)
			}
		})
	}
}

func TestIDTokenBadAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantErr string
	}{
		{name: "not JSON", body: "value: " + minted, wantErr: "not a JSON object"},
		{name: "HTML", body: "<html>" + minted + "</html>", wantErr: "not a JSON object"},
		{name: "no value", body: `{"token":"` + minted + `"}`, wantErr: `no "value"`},
		{name: "null value", body: `{"value":null}`, wantErr: `no "value"`},
		{name: "empty value", body: `{"value":""}`, wantErr: `"value" is empty`},
		{name: "blank value", body: `{"value":"  "}`, wantErr: `"value" is empty`},
		{name: "number", body: `{"value":12}`, wantErr: "not a JSON object"},
		{name: "too large", body: `{"value":"` + minted + strings.Repeat("x", maxBody) + `"}`, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := server(t, answer{200, tt.body})
			tok, err := newProvider(actionsEnv(srv.URL), srv.Client()).IDToken(t.Context(), "aud")
			if err == nil || tok != "" {
				t.Fatalf("IDToken = %q, %v; want an error", tok, err)
			}
			checkNoLeak(t, err)
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to hold %q", err, tt.wantErr)
			}
			if calls.Load() != 1 {
				t.Errorf("made %d requests, want 1: a bad 200 is not transient", calls.Load())
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestIDTokenNetworkError(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, errors.New("connection reset by peer")
	})}
	_, err := newProvider(actionsEnv("https://runtime.example"), client).IDToken(t.Context(), "aud")
	checkNoLeak(t, err)
	if err == nil || !strings.Contains(err.Error(), "giving up after 4 attempts: connection reset by peer") {
		t.Errorf("error = %v, want the network error after 4 attempts", err)
	}
	if calls.Load() != 4 {
		t.Errorf("made %d requests, want 4", calls.Load())
	}
}

func TestIDTokenContextCanceled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		cancelInReply bool // cancel while the request is in flight, else while waiting to retry
	}{
		{name: "while waiting to retry"},
		{name: "during the request", cancelInReply: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if tt.cancelInReply {
					cancel()
					<-r.Context().Done()
					return
				}
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			p := newProvider(actionsEnv(srv.URL), srv.Client())
			p.backoff = func(int, *http.Response) time.Duration {
				cancel()
				return time.Hour
			}

			done := make(chan error, 1)
			go func() {
				_, err := p.IDToken(ctx, "aud")
				done <- err
			}()
			select {
			case err := <-done:
				checkNoLeak(t, err)
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "attempt 1") {
					t.Errorf("error = %v, want context.Canceled on attempt 1", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("IDToken kept going after its context was canceled")
			}
			if calls.Load() != 1 {
				t.Errorf("made %d requests, want 1", calls.Load())
			}
		})
	}
}

func TestIDTokenAttemptTimeout(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		io.WriteString(w, ok.body)
	}))
	defer srv.Close()
	p := newProvider(actionsEnv(srv.URL), srv.Client())
	p.attemptTimeout = 100 * time.Millisecond

	tok, err := p.IDToken(t.Context(), "aud")
	if err != nil || tok != minted {
		t.Fatalf("IDToken = %q, %v; want the minted token from the second attempt", tok, err)
	}
	if calls.Load() != 2 {
		t.Errorf("made %d requests, want 2", calls.Load())
	}
}

// TestIDTokenAttemptsTimeOut: attempts that all hang say how long each
// was given, not a bare context error.
func TestIDTokenAttemptsTimeOut(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	p := newProvider(actionsEnv(srv.URL), srv.Client())
	p.attemptTimeout = 100 * time.Millisecond
	_, err := p.IDToken(t.Context(), "aud")
	checkNoLeak(t, err)
	if err == nil || !strings.Contains(err.Error(), ": giving up after 4 attempts: no answer within 100ms: ") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v", err)
	}
	// On a loaded machine an attempt can run out before the server sees it.
	if n := calls.Load(); n < 1 || n > 4 {
		t.Errorf("made %d requests, want 4 at most", n)
	}
}

func TestIDTokenSetupError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        map[string]string
		wantInProb []string
		wantFix    string
	}{
		{
			name:       "both missing",
			env:        map[string]string{envActions: "true"},
			wantInProb: []string{"ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set"},
			wantFix:    "Give the job `permissions: { id-token: write, contents: read }`, on the job itself if it has a permissions: of its own (a job's permissions: replaces the workflow's). Pull requests from forks never get an ID token.",
		},
		{
			name:       "URL missing",
			env:        map[string]string{envActions: "true", envToken: reqToken},
			wantInProb: []string{"ACTIONS_ID_TOKEN_REQUEST_URL is not set"},
			wantFix:    "`permissions: { id-token: write, contents: read }`",
		},
		{
			name:       "token missing",
			env:        map[string]string{envActions: "true", envURL: "https://runtime.example/x?api-version=2.0&sig=" + querySecret},
			wantInProb: []string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"},
			wantFix:    "`permissions: { id-token: write, contents: read }`",
		},
		{
			name:       "not in Actions",
			env:        map[string]string{},
			wantInProb: []string{"not running in GitHub Actions", "are not set"},
			wantFix:    "GitHub Actions job",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				t.Error("sent a request without the request variables")
				return nil, errors.New("unreachable")
			})}
			_, err := newProvider(tt.env, client).IDToken(t.Context(), "aud")
			checkNoLeak(t, err)
			var se *plugins.SetupError
			if !errors.As(err, &se) {
				t.Fatalf("error = %v, want a *plugins.SetupError", err)
			}
			if se.Provider != "github" {
				t.Errorf("Provider = %q, want github", se.Provider)
			}
			for _, w := range tt.wantInProb {
				if !strings.Contains(se.Problem, w) {
					t.Errorf("Problem = %q, want it to hold %q", se.Problem, w)
				}
			}
			if !strings.Contains(se.Fix, tt.wantFix) {
				t.Errorf("Fix = %q, want it to hold %q", se.Fix, tt.wantFix)
			}
		})
	}
}

func TestIDTokenBadURL(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"not a url " + querySecret,
		"ftp://runtime.example/x?api-version=2.0&sig=" + querySecret,
		"/relative?api-version=2.0&sig=" + querySecret,
		"https://runtime.example/x?api-version=2.0&sig=%zz" + querySecret,
		"https://runtime.example/x?api-version=2.0;sig=" + querySecret,
		"https://[::1/x?sig=" + querySecret,
	} {
		t.Run(raw, func(t *testing.T) {
			t.Parallel()
			env := actionsEnv("")
			env[envURL] = raw
			_, err := newProvider(env, http.DefaultClient).IDToken(t.Context(), "aud")
			checkNoLeak(t, err)
			if err == nil || !strings.Contains(err.Error(), envURL) {
				t.Errorf("error = %v, want one naming %s", err, envURL)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  bool
	}{
		{"true", true},
		{"", false},
		{"false", false},
		{"TRUE", false},
		{"1", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			p := New(plugins.WithGetenv(getenv(map[string]string{envActions: tt.value})))
			if got := p.Detect(); got != tt.want {
				t.Errorf("Detect with GITHUB_ACTIONS=%q = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("github")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("plugins.New(github) = %T, want *Provider", p)
	}
	if p.Name() != "github" || !p.CanMint() {
		t.Errorf("Name, CanMint = %q, %v; want github, true", p.Name(), p.CanMint())
	}
}

func TestSnippet(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxSnippet)
	tests := []struct {
		name, body, want string
	}{
		{name: "short", body: "  not found\n", want: "not found"},
		{name: "exactly the limit", body: long, want: long},
		{name: "one over", body: long + "b", want: long + "…"},
		{name: "request token", body: "bad " + reqToken, want: "bad [redacted]"},
		{name: "request token across the cut", body: strings.Repeat("a", 95) + reqToken, want: strings.Repeat("a", 95) + "[reda…"},
		{name: "JWT", body: "got " + minted + " back", want: "got [redacted] back"},
		{name: "white space collapsed", body: "a\n\tb\r\n c", want: "a b c"},
		{name: "control characters", body: "a\x1b[31mb\x00", want: `a\x1B[31mb\x00`},
		{name: "bidi override", body: "a\u202eb", want: `a\u202Eb`},
		{name: "invalid UTF-8", body: "a\xffb", want: `a\xFFb`},
		{name: "escape across the cut", body: strings.Repeat("a", 97) + "\x1bzz", want: strings.Repeat("a", 97) + "…"},
		{name: "unicode kept", body: "ünï ✓", want: "ünï ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := snippet([]byte(tt.body), reqToken)
			if got != tt.want {
				t.Errorf("snippet(%q) = %q, want %q", tt.body, got, tt.want)
			}
			if body, _ := strings.CutSuffix(got, "…"); utf8.RuneCountInString(body) > maxSnippet {
				t.Errorf("snippet is %d runes, want at most %d and \"…\"", utf8.RuneCountInString(got), maxSnippet)
			}
		})
	}
}

func FuzzRequestURL(f *testing.F) {
	f.Add("https://runtime.example/x?api-version=2.0", "https://huggingface.co")
	f.Add("https://runtime.example/x?api-version=2.0&audience=old", "a&b=c d+e")
	f.Add("http://127.0.0.1:8080/x", "")
	f.Add("https://u:p@h/x?a=%zz#frag", "ünï")
	f.Add("ftp://h/x", "aud")
	f.Fuzz(func(t *testing.T, raw, audience string) {
		u, err := requestURL(raw, audience)
		if err != nil {
			// Errors are fixed text: nothing from the URL gets in.
			if msg := err.Error(); msg != "parsing "+envURL+": not an absolute http(s) URL" &&
				msg != "parsing the query string of "+envURL+": malformed" {
				t.Fatalf("unexpected error text %q", msg)
			}
			return
		}
		orig, _ := url.Parse(raw)
		back, err := url.Parse(u.String())
		if err != nil {
			t.Fatalf("built URL %q does not parse: %v", u, err)
		}
		if back.Host != orig.Host || back.Path != orig.Path {
			t.Fatalf("built URL %q changed the host or path of %q", u, raw)
		}
		if audience == "" {
			if back.RawQuery != orig.RawQuery {
				t.Fatalf("empty audience changed the query %q to %q", orig.RawQuery, back.RawQuery)
			}
			return
		}
		got, err := url.ParseQuery(back.RawQuery)
		if err != nil {
			t.Fatalf("built query %q does not parse: %v", back.RawQuery, err)
		}
		if a := got["audience"]; len(a) != 1 || a[0] != audience {
			t.Fatalf("audience in %q = %q, want just %q", back.RawQuery, a, audience)
		}
		want, _ := url.ParseQuery(orig.RawQuery)
		want.Set("audience", audience)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("query = %v, want %v", got, want)
		}
		if strings.Contains(redactURL(u), "?") {
			t.Fatalf("redacted URL %q keeps a query", redactURL(u))
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"value":"` + minted + `"}`))
	f.Add([]byte(`{"value":""}`))
	f.Add([]byte(`{"value":12}`))
	f.Add([]byte(`value: ` + minted))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := parseResponse(body)
		if err == nil {
			if strings.TrimSpace(tok) == "" {
				t.Fatalf("parseResponse(%q) returned an empty token", body)
			}
			return
		}
		// No part of a 200's body may reach an error: it may be a token.
		switch msg := err.Error(); msg {
		case fmt.Sprintf(`decoding the response: not a JSON object with a string "value" (%d bytes)`, len(body)),
			`decoding the response: no "value" in it`,
			`decoding the response: "value" is empty`:
		default:
			t.Fatalf("unexpected error text %q", msg)
		}
	})
}

// TestBackoff: the provider waits as package retry says, honouring a
// Retry-After.
func TestBackoff(t *testing.T) {
	t.Parallel()
	p := New()
	retryAfter := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"2"}}}
	tests := []struct {
		name     string
		attempt  int
		resp     *http.Response
		min, max time.Duration
	}{
		{"first retry", 0, nil, 250 * time.Millisecond, 500 * time.Millisecond},
		{"third retry", 2, &http.Response{StatusCode: 500}, 250 * time.Millisecond, 2 * time.Second},
		{"Retry-After", 0, retryAfter, 2 * time.Second, 2*time.Second + 250*time.Millisecond},
	}
	for _, tt := range tests {
		for range 200 {
			if d := p.backoff(tt.attempt, tt.resp); d < tt.min || d > tt.max {
				t.Fatalf("%s: backoff = %v, want within [%v, %v]", tt.name, d, tt.min, tt.max)
			}
		}
	}
}

// TestIDTokenRetryAfterTooLong: a Retry-After beyond the caller's deadline
// ends the round at once, saying so.
func TestIDTokenRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := newProvider(actionsEnv(srv.URL), srv.Client()).IDToken(ctx, "aud")
	checkNoLeak(t, err)
	if err == nil || !strings.Contains(err.Error(), "asked to wait 2m0s before retrying") {
		t.Errorf("error = %v, want the wait refused", err)
	}
	if calls.Load() != 1 {
		t.Errorf("made %d requests, want 1", calls.Load())
	}
}

// TestIDTokenErrorRedactsQueryValues pins that an error body echoing the
// request URL's query, as sent or decoded, quotes none of its values: the
// runtime's query may hold a signature shaped like no token, which only
// redaction by value keeps out of a message.
func TestIDTokenErrorRedactsQueryValues(t *testing.T) {
	t.Parallel()
	const (
		sigSent    = "s1g%2Fv4lue%2Bx%3D%3D" // as the runtime's URL holds it
		sigDecoded = "s1g/v4lue+x=="
	)
	tests := []struct {
		name string
		echo func(r *http.Request) string
		want string // what must stand in the error
	}{
		{"query as sent", func(r *http.Request) string { return "bad query " + r.URL.RawQuery }, "sig=[redacted]"},
		{"signature decoded", func(r *http.Request) string { return "bad signature " + r.URL.Query().Get("sig") }, "bad signature [redacted]"},
		{"query decoded", func(r *http.Request) string {
			q, err := url.QueryUnescape(r.URL.RawQuery)
			if err != nil {
				t.Error(err)
			}
			return "bad query " + q
		}, "sig=[redacted]"},
		{"audience decoded", func(r *http.Request) string { return "audience " + r.URL.Query().Get("audience") + " refused" }, "audience [redacted] refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.URL.Query().Get("sig"); got != sigDecoded {
					t.Errorf("sig = %q, want %q", got, sigDecoded)
				}
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, tt.echo(r))
			}))
			t.Cleanup(srv.Close)
			env := actionsEnv(srv.URL)
			env[envURL] = srv.URL + path + "?api-version=2.0&sig=" + sigSent
			_, err := newProvider(env, srv.Client()).IDToken(t.Context(), "https://huggingface.co")
			if err == nil {
				t.Fatal("IDToken succeeded")
			}
			// The keys ("api-version") are no secret; the values are.
			for _, s := range []string{sigSent, sigDecoded, "huggingface.co", reqToken} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes the query value %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to hold %q", err, tt.want)
			}
		})
	}
}
