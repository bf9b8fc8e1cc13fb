package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
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
	Delay    time.Duration
	Reset    bool // close the connection (with a TCP reset) without answering
	Truncate bool // send the real answer's headers and half its body, then close
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
	switch {
	case f.Reset:
		reset(w)
	case f.Truncate:
		rec := &recorder{header: w.Header().Clone(), code: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		truncate(w, rec)
	case f.Status != 0 || f.Body != "":
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
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		fmt.Fprint(w, f.Body)
	default:
		if f.ContentType != "" {
			w.Header().Set("Content-Type", f.ContentType)
		}
		s.mux.ServeHTTP(w, r)
	}
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
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // close with RST, as a crashed proxy would
	}
	conn.Close()
}

// truncate writes rec's status and headers, announcing its whole body, and
// then only half of the body before closing the connection.
func truncate(w http.ResponseWriter, rec *recorder) {
	conn, rw, ok := hijack(w)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	body := rec.body.Bytes()
	rec.header.Set("Content-Length", strconv.Itoa(len(body)))
	rec.header.Set("Connection", "close")
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", rec.code, http.StatusText(rec.code))
	rec.header.Write(rw)
	rw.WriteString("\r\n")
	rw.Write(body[:len(body)/2])
	rw.Flush()
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
