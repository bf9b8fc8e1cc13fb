package testkit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// ReleaseServer serves release archives as GitHub's release downloads do,
// GET /<version>/<asset>, and counts the requests. httptest listens on
// 127.0.0.1: nothing beyond this machine reaches it.
type ReleaseServer struct {
	*httptest.Server
	mu     sync.Mutex
	assets map[string][]byte
	hits   int
	stalls int
}

// StartReleaseServer starts a server with no assets, closed after the test.
func StartReleaseServer(t testing.TB) *ReleaseServer {
	t.Helper()
	s := &ReleaseServer{assets: map[string][]byte{}}
	done := make(chan struct{})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		data, ok := s.assets[r.URL.Path]
		s.hits++
		stall := ok && s.stalls > 0
		if stall {
			s.stalls--
		}
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		if !stall {
			w.Write(data)
			return
		}
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done(): // the client gave up on this attempt
		case <-done:
		}
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(done) }) // runs first: no stalled handler holds Close up
	return s
}

// Serve publishes data as asset of version.
func (s *ReleaseServer) Serve(version, asset string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.assets["/"+version+"/"+asset] = data
}

// Stall makes the next n downloads of an asset stall halfway through the
// body: the headers (with the full Content-Length) and half the bytes,
// then nothing more until the client gives up. Later ones get it whole.
func (s *ReleaseServer) Stall(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalls = n
}

// Count is how many requests the server has had.
func (s *ReleaseServer) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}
