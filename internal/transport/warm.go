package transport

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync"
)

// Warm starts connecting to u's origin (TCP, TLS and, where the server
// speaks it, HTTP/2) in the background, so that the first request to it
// finds the connection made instead of paying for it: the exchange round
// warms the Hub's connection while the ID token is minted elsewhere.
// Nothing is sent on the connection but those handshakes until a request
// goes. The connection joins the transport's pool like any other it dials:
// an HTTP/2 one as soon as it is made, an HTTP/1.1 one when the first
// dial for its address claims it.
//
// Warm does nothing when c is not New's, when u is not https, when a proxy
// would carry requests to u (net/http sets up a proxied connection on the
// first request; warming it would mean speaking to the proxy ourselves),
// or when the transport already holds a connection to u's origin. Call
// ready before the first request: it waits until the connection is made
// (or has failed), for a request that set out while an HTTP/2 connection
// was on its way into the pool would not find it there and would dial a
// second one. Call release once the requests are made: it closes a
// connection no request claimed.
func Warm(ctx context.Context, c *http.Client, u *url.URL) (ready func(context.Context), release func()) {
	rt := c.Transport
	if o, ok := rt.(*observer); ok {
		rt = o.next // Observe's wrapper: the transport is still New's
	}
	g, ok := rt.(*schemeGuard)
	if !ok || g.warm == nil || u.Scheme != "https" || CheckURL(u) != nil {
		return func(context.Context) {}, func() {}
	}
	if p, err := proxy(&http.Request{URL: u, Header: http.Header{}}); p != nil || err != nil {
		return func(context.Context) {}, func() {}
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return g.warm.start(ctx, net.JoinHostPort(u.Hostname(), port))
}

// A warmer dials the https transport's connections (its DialTLSContext):
// it hands over the connection Warm made for an address when there is
// one, and otherwise connects as net/http itself would, through the
// transport's dialer, TLS configuration and handshake timeout. It counts
// the connections open to each address, so that Warm leaves alone an
// origin the pool can already reach.
type warmer struct {
	t *http.Transport
	// h2 puts an HTTP/2 connection into the transport's pool, which
	// sends the client's preface and settings and reads the server's.
	// Done during the mint, that handshake opens the flow-control window
	// past its first 64 KiB before the requests go, which 64 resources'
	// requests exceed: else they would wait a round trip for it.
	h2 func(authority string, c *tls.Conn) http.RoundTripper

	mu      sync.Mutex
	pending map[string]*warmConn // by address, until claimed or released
	open    map[string]int       // connections open, by address
}

// A warmConn is a connection on its way.
type warmConn struct {
	done chan struct{} // closed when conn or err is set
	conn *tls.Conn
	err  error

	mu      sync.Mutex
	claimed bool // a dial took it
	dropped bool // unclaimed at release: close it when it comes
}

func newWarmer(t *http.Transport) *warmer {
	return &warmer{t: t, pending: map[string]*warmConn{}, open: map[string]int{}}
}

func (w *warmer) start(ctx context.Context, addr string) (ready func(context.Context), release func()) {
	w.mu.Lock()
	if w.pending[addr] != nil || w.open[addr] > 0 {
		w.mu.Unlock()
		return func(context.Context) {}, func() {}
	}
	wc := &warmConn{done: make(chan struct{})}
	w.pending[addr] = wc
	w.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	go func() {
		conn, err := w.handshake(ctx, "tcp", addr)
		// Under the lock, so that drop either sees it done and closes
		// it, or leaves that to this goroutine.
		wc.mu.Lock()
		wc.conn, wc.err = conn, err
		pool := err == nil && w.h2 != nil && !wc.claimed && !wc.dropped && conn.ConnectionState().NegotiatedProtocol == "h2"
		wc.claimed = wc.claimed || pool
		if !pool {
			close(wc.done)
		}
		drop := wc.dropped
		wc.mu.Unlock()
		if pool {
			w.mu.Lock()
			if w.pending[addr] == wc {
				delete(w.pending, addr)
			}
			w.mu.Unlock()
			w.h2(addr, conn)
			close(wc.done) // claimed: only tests wait on it now
			return
		}
		if drop && conn != nil {
			conn.Close()
		}
	}()
	ready = func(ctx context.Context) {
		select {
		case <-wc.done:
		case <-ctx.Done():
		}
	}
	return ready, func() {
		w.mu.Lock()
		if w.pending[addr] == wc {
			delete(w.pending, addr)
		}
		w.mu.Unlock()
		wc.drop()
		cancel()
	}
}

// drop closes the connection unless a dial has claimed it, now or when
// it comes.
func (wc *warmConn) drop() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.claimed || wc.dropped {
		return
	}
	wc.dropped = true
	select {
	case <-wc.done:
		if wc.conn != nil {
			wc.conn.Close()
		}
	default:
	}
}

func (wc *warmConn) claim() bool {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	if wc.dropped || wc.claimed {
		return false
	}
	wc.claimed = true
	return true
}

func (w *warmer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	wc := w.pending[addr]
	delete(w.pending, addr)
	w.mu.Unlock()
	if wc != nil && wc.claim() {
		select {
		case <-wc.done:
			if wc.err != nil {
				return nil, wc.err
			}
			return wc.conn, nil
		case <-ctx.Done():
			wc.mu.Lock()
			wc.claimed = false
			wc.mu.Unlock()
			wc.drop()
			return nil, ctx.Err()
		}
	}
	return w.handshake(ctx, network, addr)
}

// handshake is what net/http does for an https connection without a
// proxy: dial, then a TLS handshake for the address's host within the
// transport's TLSHandshakeTimeout.
func (w *warmer) handshake(ctx context.Context, network, addr string) (*tls.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := w.t.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	raw = w.track(addr, raw)
	cfg := w.t.TLSClientConfig.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	conn := tls.Client(raw, cfg)
	hctx := ctx
	if d := w.t.TLSHandshakeTimeout; d > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeoutCause(ctx, d, errHandshakeTimeout)
		defer cancel()
	}
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		if ctx.Err() == nil && context.Cause(hctx) == errHandshakeTimeout {
			// Not a context error: those say the caller gave up, and are
			// not retried.
			return nil, errHandshakeTimeout
		}
		return nil, err
	}
	return conn, nil
}

var errHandshakeTimeout error = handshakeTimeoutError{}

// handshakeTimeoutError is net/http's own for the same case.
type handshakeTimeoutError struct{}

func (handshakeTimeoutError) Timeout() bool   { return true }
func (handshakeTimeoutError) Temporary() bool { return true }
func (handshakeTimeoutError) Error() string   { return "net/http: TLS handshake timeout" }

// track counts raw among the connections open to addr until it closes.
func (w *warmer) track(addr string, raw net.Conn) net.Conn {
	w.mu.Lock()
	w.open[addr]++
	w.mu.Unlock()
	return &trackedConn{Conn: raw, closed: sync.OnceFunc(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.open[addr]--; w.open[addr] == 0 {
			delete(w.open, addr)
		}
	})}
}

type trackedConn struct {
	net.Conn
	closed func()
}

func (c *trackedConn) Close() error {
	c.closed()
	return c.Conn.Close()
}
