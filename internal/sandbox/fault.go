package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A Fault replaces or disturbs the answer to one request.
type Fault struct {
	Status      int    // answer with this status instead of the real answer
	RetryAfter  string // Retry-After header value
	Body        string // body to send (with Status, or 200 when Status is 0)
	ContentType string // default: JSON when Body looks like JSON, else plain text
	// Delay stalls before answering (or before the real answer, if nothing
	// else is set); it ends early when the client goes away.
	Delay time.Duration
	// Reset closes the connection with a TCP reset, without answering, or
	// with Truncate, mid-body.
	Reset bool
	// Truncate sends the answer's headers, announcing its whole body, and
	// half the body (of a BodySize body, half its first MiB), then closes.
	Truncate bool
	// BodySize makes the body this many bytes long: Body, then filler,
	// streamed without a Content-Length and never held in memory, so that
	// a test can send far more than a client should read.
	BodySize int64
	// Stall holds the answer for this long after its headers and the first
	// StallAfter bytes of its body (Body's or the real answer's), then sends
	// the rest; it ends early when the client goes away.
	Stall      time.Duration
	StallAfter int
	// Written, when set, counts the body bytes the sandbox got onto the
	// connection: how far a client let an enormous or stalled body go.
	Written *atomic.Int64
}

// Inject queues faults for path: each request to path consumes the next one,
// and once they are used up requests get real answers again. Paths are
// PathToken, PathWhoami, PathGitHubIDToken, the other providers' mint paths
// (PathGitLabMint, …), or an issuer's "/.well-known/openid-configuration"
// or JWKS (the path its discovery document names) under its prefix
// ("/github"; see IssuerURL), which the exchange fetches: a fault there
// makes the exchange fail with invalid_grant.
func (s *Sandbox) Inject(path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], faults...)
}

func (s *Sandbox) nextFault(path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[path]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[path] = q[1:]
	return q[0], true
}

func (s *Sandbox) applyFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if !sleep(r.Context(), f.Delay) {
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Reset && !f.Truncate {
		reset(w)
		return
	}
	ans := s.faultAnswer(w, r, f)
	if f.Truncate {
		truncate(w, ans, f.Reset, f.Written)
		return
	}
	for k, v := range ans.header {
		w.Header()[k] = v
	}
	w.WriteHeader(ans.code)
	body := countingWriter{w: w, n: f.Written}
	if f.Stall > 0 {
		io.CopyN(body, ans.body, int64(f.StallAfter))
		http.NewResponseController(w).Flush()
		if !sleep(r.Context(), f.Stall) {
			return
		}
	}
	io.Copy(body, ans.body)
}

// A faultAnswer is what a fault sends: its status, headers and body.
type faultAnswer struct {
	code   int
	header http.Header
	body   io.Reader
}

// faultAnswer is the fault's own answer when it sets Status, Body or
// BodySize, else the real handler's, recorded.
func (s *Sandbox) faultAnswer(w http.ResponseWriter, r *http.Request, f Fault) faultAnswer {
	if f.Status == 0 && f.Body == "" && f.BodySize == 0 {
		rec := &recorder{header: w.Header().Clone(), code: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		if f.ContentType != "" {
			rec.header.Set("Content-Type", f.ContentType)
		}
		// The whole length is announced, so that a client waits for the
		// part a stall or a cut holds back.
		rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
		return faultAnswer{code: rec.code, header: rec.header, body: &rec.body}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	ct := f.ContentType
	if ct == "" {
		ct = "text/plain; charset=utf-8"
		if b := strings.TrimSpace(f.Body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
			ct = "application/json; charset=utf-8"
		}
	}
	h := w.Header().Clone()
	h.Set("Content-Type", ct)
	var body io.Reader = strings.NewReader(f.Body)
	if f.BodySize > int64(len(f.Body)) {
		body = io.MultiReader(body, io.LimitReader(filler{}, f.BodySize-int64(len(f.Body))))
	} else {
		h.Set("Content-Length", strconv.Itoa(len(f.Body)))
	}
	return faultAnswer{code: status, header: h, body: body}
}

// filler is an endless stream of "x".
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// countingWriter adds what it writes to n, when n is set.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.n != nil {
		c.n.Add(int64(n))
	}
	return n, err
}

func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, false
	}
	conn, rw, err := hj.Hijack()
	return conn, rw, err == nil
}

func reset(w http.ResponseWriter) {
	conn, _, ok := hijack(w)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	resetConn(conn)
}

func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // close with RST, as a crashed proxy would
	}
	conn.Close()
}

// truncate writes ans's status and headers, announcing its whole body (at
// most its first MiB), and then only half of that before closing the
// connection (with a reset when rst is set).
func truncate(w http.ResponseWriter, ans faultAnswer, rst bool, written *atomic.Int64) {
	conn, rw, ok := hijack(w)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	body, _ := io.ReadAll(io.LimitReader(ans.body, 1<<20))
	ans.header.Set("Content-Length", strconv.Itoa(len(body)))
	ans.header.Set("Connection", "close")
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", ans.code, http.StatusText(ans.code))
	ans.header.Write(rw)
	rw.WriteString("\r\n")
	rw.Flush()
	countingWriter{w: rw, n: written}.Write(body[:len(body)/2])
	rw.Flush()
	if rst {
		resetConn(conn)
		return
	}
	conn.Close()
}

// A recorder keeps a real answer so that a fault can send part of it.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
