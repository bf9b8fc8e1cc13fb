package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// halfBody announces a whole answer and sends half of it: the connection
// breaks mid-body.
func halfBody(t *testing.T, w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(body[:len(body)/2]))
	w.(http.Flusher).Flush()
	reset(t, w)
}

func TestBodyBreakRetried(t *testing.T) {
	t.Parallel()
	good := fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":3600}`, accessToken("acme/model"))
	t.Run("then success", func(t *testing.T) {
		t.Parallel()
		h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, req request) {
			if n == 1 {
				halfBody(t, w, good)
				return
			}
			grant(w, req)
		})
		tok, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
		if err != nil || tok.AccessToken != accessToken("acme/model") {
			t.Fatalf("Exchange = %v, %v", tok, err)
		}
		if h.requests.Load() != 2 {
			t.Errorf("%d requests, want 2", h.requests.Load())
		}
	})
	t.Run("always", func(t *testing.T) {
		t.Parallel()
		h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, req request) { halfBody(t, w, good) })
		_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
		e := asError(t, err)
		want := "exchanging token for acme/model: the connection broke while reading the answer from " + h.URL + "/oauth/token: "
		if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "(3 attempts; last answer: HTTP 200)") {
			t.Errorf("message\n%s\nwant it to start with\n%s", err, want)
		}
		if e.Attempts != 3 || h.requests.Load() != 3 || e.Err == nil {
			t.Errorf("%d requests, error %+v", h.requests.Load(), e)
		}
	})
}

// TestTimeoutSaysWhatWasSlow: each phase of an attempt that the round's
// timeout can cut short is named.
func TestTimeoutSaysWhatWasSlow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request, n int32)
		slow   bool // MinBackoff far beyond the timeout
		want   string
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request, _ int32) { <-r.Context().Done() }, false,
			"the --timeout of 300ms ran out while waiting for an answer from URL"},
		{"after the headers", func(w http.ResponseWriter, r *http.Request, _ int32) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, false, "the --timeout of 300ms ran out while reading the answer from URL (HTTP 200)"},
		{"mid-body", func(w http.ResponseWriter, r *http.Request, _ int32) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			w.Write([]byte(`{"access_token":"hf_`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, false, "the --timeout of 300ms ran out while reading the answer from URL (HTTP 200)"},
		{"backoff", func(w http.ResponseWriter, r *http.Request, _ int32) { reply(w, 502, "", "X-Request-Id", "r-502") }, true,
			"the --timeout of 300ms ran out while waiting to retry URL (HTTP 502, request ID r-502)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, n int32, _ request) { tt.handle(w, r, n) })
			c := h.client()
			c.Timeout = 300 * time.Millisecond
			if tt.slow {
				c.MinBackoff, c.MaxBackoff = time.Minute, time.Minute
			}
			_, err := c.Exchange(t.Context(), idTok, res("acme/model"))
			e := asError(t, err)
			want := "exchanging token for acme/model: " + strings.ReplaceAll(tt.want, "URL", h.URL+"/oauth/token")
			if err.Error() != want {
				t.Errorf("message\n%s\nwant\n%s", err, want)
			}
			if h.requests.Load() != 1 || e.Attempts != 1 {
				t.Errorf("%d requests, %d attempts; want 1", h.requests.Load(), e.Attempts)
			}
		})
	}
}

// TestEnormousAnswerNotRead: the client reads no further than its limit,
// however much the server would send.
func TestEnormousAnswerNotRead(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 400, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			var written atomic.Int64
			done := make(chan struct{}, 3)
			h := newHub(t, func(w http.ResponseWriter, r *http.Request, _ int32, _ request) {
				defer func() { done <- struct{}{} }()
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(status)
				chunk := []byte(strings.Repeat("<p>", 10<<10))
				for range (1 << 30) / len(chunk) {
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			_, err := h.client().Exchange(t.Context(), idTok, res("acme/model"))
			asError(t, err)
			if !strings.Contains(err.Error(), "larger than 64 KiB") {
				t.Errorf("message %q", err)
			}
			for range h.requests.Load() {
				<-done
			}
			// The kernel's socket buffers take some: far from the GiB.
			if n := written.Load(); n > 64<<20 {
				t.Errorf("the server got %d MiB out", n>>20)
			}
		})
	}
}

// stalledIDs is an ID-token source that never answers before ctx ends.
type stalledIDs struct{}

func (stalledIDs) Token(ctx context.Context) (*idtoken.Token, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("getting ID token: %w", ctx.Err())
}

func TestRoundIDTokenTimeout(t *testing.T) {
	t.Parallel()
	c := &Client{Endpoint: "http://127.0.0.1:1", Timeout: 50 * time.Millisecond}
	rs := []resource.Resource{res("acme/model")}
	_, err := c.Round(t.Context(), stalledIDs{}, rs)
	want := "the --timeout of 50ms ran out while getting the ID token: getting ID token: context deadline exceeded"
	if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Round = %v, want %q", err, want)
	}
	// The caller's own deadline is not ours to explain.
	c.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Round(ctx, stalledIDs{}, rs); err == nil || strings.Contains(err.Error(), "--timeout") {
		t.Errorf("Round past the caller's deadline = %v", err)
	}
}
