package transport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

// TestObserve: the observer hears of each request before and after it,
// with its attempt label, status and request ID, or its error, and never
// the URL's query or user info.
func TestObserve(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "Root=1-abc")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []Event
	)
	o := Observe(c, func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
	})
	u := strings.Replace(srv.URL, "http://", "http://user:pass@", 1) + "/path?token=secret"
	ctx := retry.WithAttempt(context.Background(), &retry.Attempt{N: 2, Max: 5, For: "acme/model"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	resp, err := o.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	refused, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	if _, err := o.Do(refused); err == nil {
		t.Fatal("a request to a closed port succeeded")
	}

	if len(events) != 4 {
		t.Fatalf("%d events, want 4: %+v", len(events), events)
	}
	start, done := events[0], events[1]
	if start.Done || !done.Done {
		t.Errorf("Done: %v then %v, want false then true", start.Done, done.Done)
	}
	want := srv.URL + "/path"
	for _, ev := range events[:2] {
		if ev.Method != http.MethodPost || ev.URL != want || ev.Attempt != (retry.Attempt{N: 2, Max: 5, For: "acme/model"}) {
			t.Errorf("event %+v, want POST %s, attempt 2/5 for acme/model", ev, want)
		}
	}
	if done.Status != http.StatusTeapot || done.RequestID != "Root=1-abc" || done.Err != nil || done.Took <= 0 {
		t.Errorf("the answer's event: %+v", done)
	}
	if ev := events[3]; !ev.Done || !errors.Is(ev.Err, syscall.ECONNREFUSED) || ev.Status != 0 || ev.Attempt != (retry.Attempt{}) {
		t.Errorf("the refused request's event: %+v", ev)
	}
	if c.CloseIdleConnections(); o.Transport.(*observer).next != c.Transport {
		t.Error("Observe does not wrap the client's own transport")
	}
}

// TestObserveKeepsWarm: an observed client is still New's to Warm, which
// connects ahead of the first request through it.
func TestObserveKeepsWarm(t *testing.T) {
	t.Parallel()
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	o := Observe(c, func(Event) {})
	u, _ := url.Parse("https://127.0.0.1:1/")
	_, release := Warm(context.Background(), o, u)
	defer release()
	w := c.Transport.(*schemeGuard).warm
	w.mu.Lock()
	n := len(w.pending)
	w.mu.Unlock()
	if n != 1 {
		t.Errorf("Warm through an observed client started %d connections, want 1", n)
	}
}
