package transport

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestWarmHandsTheConnectionToThePool: a warmed HTTP/2 connection joins
// the pool at once, so that the requests after it, and the next Warm,
// find it there. A warmed HTTP/1.1 connection waits for the first dial to
// its address, and one no dial took is closed at release, not left open
// for the server to time out.
func TestWarmHandsTheConnectionToThePool(t *testing.T) {
	t.Parallel()
	for _, h2 := range []bool{true, false} {
		t.Run(map[bool]string{true: "HTTP/2", false: "HTTP/1.1"}[h2], func(t *testing.T) {
			t.Parallel()
			var opened, closed atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.EnableHTTP2 = h2
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					opened.Add(1)
				case http.StateClosed, http.StateHijacked:
					closed.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			ca := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := New(func(k string) string {
				if k == CAFileVar {
					return ca
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(srv.URL)
			w := c.Transport.(*schemeGuard).warm
			get := func() {
				t.Helper()
				resp, err := c.Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			warmed := func() func() {
				t.Helper()
				_, release := Warm(context.Background(), c, u)
				w.mu.Lock()
				wc := w.pending[u.Host]
				w.mu.Unlock()
				if wc == nil {
					t.Fatal("Warm started no connection")
				}
				<-wc.done
				if wc.err != nil {
					t.Fatal(wc.err)
				}
				return release
			}

			warmed()()
			if h2 {
				get()
				_, release := Warm(context.Background(), c, u) // the pool holds one: a no-op
				release()
				get()
				if o, cl := opened.Load(), closed.Load(); o != 1 || cl != 0 {
					t.Errorf("a warmed connection, released, then two requests and a Warm: %d connections opened and %d closed, want 1 and 0", o, cl)
				}
				return
			}
			for deadline := time.Now().Add(5 * time.Second); closed.Load() != 1; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("released unclaimed: %d connections opened, %d closed", opened.Load(), closed.Load())
				}
			}
			release := warmed()
			get()
			release()
			_, release = Warm(context.Background(), c, u) // the pool holds one: a no-op
			release()
			get()
			if o, cl := opened.Load(), closed.Load(); o != 2 || cl != 1 {
				t.Errorf("after a claimed warm-up and two requests: %d connections opened and %d closed, want 2 and 1", o, cl)
			}
		})
	}
}

// TestWarmOnlyOwnHTTPS: Warm leaves alone clients that are not New's and
// URLs that are not https (plain http goes only to loopback, through the
// other transport).
func TestWarmOnlyOwnHTTPS(t *testing.T) {
	t.Parallel()
	c, err := New(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	w := c.Transport.(*schemeGuard).warm
	for _, tc := range []struct {
		name string
		c    *http.Client
		url  string
	}{
		{"another client", http.DefaultClient, "https://127.0.0.1:1/"},
		{"plain http", c, "http://127.0.0.1:1/"},
		{"refused scheme", c, "ftp://127.0.0.1:1/"},
	} {
		u, _ := url.Parse(tc.url)
		_, release := Warm(context.Background(), tc.c, u)
		w.mu.Lock()
		n := len(w.pending)
		w.mu.Unlock()
		release()
		if n != 0 {
			t.Errorf("%s: Warm started a connection", tc.name)
		}
	}
}
