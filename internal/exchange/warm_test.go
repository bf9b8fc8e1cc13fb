package exchange

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// TestRoundWarmsTheHubWhileMinting: while the ID token is being minted,
// the round connects to the Hub (TCP, TLS and HTTP/2), sends nothing on
// that connection beyond its side of the handshakes, and once the token
// exists makes every exchange on it: one connection, one handshake, and no
// round trip for either after the mint.
func TestRoundWarmsTheHubWhileMinting(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingListener{Listener: ln}
	var mu sync.Mutex
	var released time.Time
	type arrival struct {
		at     time.Time
		remote string
		proto  int
	}
	var arrivals []arrival
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, arrival{time.Now(), r.RemoteAddr, r.ProtoMajor})
		mu.Unlock()
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad body", 500)
			return
		}
		grant(w, req)
	}))
	srv.Listener = rec
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The mint waits until the Hub has the client's TLS Finished, then a
	// little longer, so that anything sent right after it would be in
	// too.
	var duringMint []recordCounts
	ids := idSourceFunc(func(ctx context.Context) (*idtoken.Token, error) {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !rec.handshaken() {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		duringMint = rec.counts()
		released = time.Now()
		return &idtoken.Token{Raw: idTok}, nil
	})

	rs := make([]resource.Resource, 16)
	for i := range rs {
		rs[i] = res(fmt.Sprintf("acme/model-%d", i))
	}
	c := &Client{Endpoint: srv.URL, HTTPClient: hubClient(t, srv), Now: fixedNow}
	results, err := c.Round(t.Context(), ids, rs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.Err != nil || r.Token.AccessToken != accessToken(rs[i].Name) {
			t.Fatalf("result %d: %+v", i, r)
		}
	}

	if len(duringMint) != 1 {
		t.Fatalf("%d connections to the Hub while the ID token was minted, want 1", len(duringMint))
	}
	// Before the token the client had sent its TLS hello and Finished,
	// then HTTP/2's own handshake: the preface with its settings and a
	// window update (at most 94 bytes with eight settings), and the
	// acknowledgement of the server's settings (a bare 9-byte frame).
	// Nothing else: no request went (arrivals, below). A TLS 1.3 record
	// adds 17 bytes: the content type and the AEAD tag.
	const tlsOverhead = 17
	if m := duringMint[0]; m.hello != 1 || len(m.sizes) != 3 || m.sizes[1]-tlsOverhead > 24+9+6*8+13 || m.sizes[2]-tlsOverhead != 9 {
		t.Errorf("before the ID token existed the client sent %d handshake records and application-data records of %v bytes, want its hello, its Finished, the HTTP/2 preface and settings (at most %d bytes) and a settings acknowledgement (%d)",
			m.hello, m.sizes, 24+9+6*8+13+tlsOverhead, 9+tlsOverhead)
	}
	after := rec.counts()
	if len(after) != 1 {
		t.Errorf("the round opened %d connections, want the warmed one alone", len(after))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != len(rs) {
		t.Fatalf("%d exchanges reached the Hub, want %d", len(arrivals), len(rs))
	}
	for _, a := range arrivals {
		if t.Failed() {
			break
		}
		switch {
		case a.at.Before(released):
			t.Errorf("an exchange arrived %v before the ID token existed", released.Sub(a.at))
		case a.remote != rec.firstRemote():
			t.Errorf("an exchange came from %s, not over the warmed connection from %s", a.remote, rec.firstRemote())
		case a.proto != 2:
			t.Errorf("an exchange came over HTTP/%d, want HTTP/2", a.proto)
		}
	}
}

type idSourceFunc func(context.Context) (*idtoken.Token, error)

func (f idSourceFunc) Token(ctx context.Context) (*idtoken.Token, error) { return f(ctx) }

// recordingListener keeps what each accepted connection read, raw: TLS
// records, whose headers say what they carry.
type recordingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*recordingConn
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &recordingConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, rc)
	l.mu.Unlock()
	return rc, nil
}

// handshaken reports whether a connection has the client's Finished.
func (l *recordingListener) handshaken() bool {
	counts := l.counts()
	return len(counts) > 0 && counts[0].data > 0
}

func (l *recordingListener) counts() []recordCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []recordCounts
	for _, c := range l.conns {
		out = append(out, c.counts())
	}
	return out
}

func (l *recordingListener) firstRemote() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) == 0 {
		return ""
	}
	return l.conns[0].RemoteAddr().String()
}

type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	read []byte
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read = append(c.read, p[:n]...)
	c.mu.Unlock()
	return n, err
}

// recordCounts are the whole TLS records a client sent, by content type.
// In TLS 1.3 the client's hello is a handshake record (22), and everything
// after it, its Finished included, application data (23), apart from a
// change_cipher_spec (20) kept for middleboxes.
type recordCounts struct {
	hello, data int
	sizes       []int // of the application-data records
}

func (c *recordingConn) counts() recordCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rc recordCounts
	for b := c.read; len(b) >= 5; {
		n := 5 + (int(b[3])<<8 | int(b[4]))
		if len(b) < n {
			break
		}
		switch b[0] {
		case 22:
			rc.hello++
		case 23:
			rc.data++
			rc.sizes = append(rc.sizes, n-5)
		}
		b = b[n:]
	}
	return rc
}
