package transport

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
)

// A rootStore says where a system keeps its trusted roots, as crypto/x509
// reads them on Linux: the first bundle file that can be read, then every
// file in every directory (SSL_CERT_DIR, colon-separated, replaces the
// directories).
type rootStore struct {
	files, dirs []string
}

// load reads the same certificates as crypto/x509's SystemCertPool would
// from s, for a fraction of its cost. On Debian and Ubuntu (GitHub's
// runners) /etc/ssl/certs holds the bundle itself and a link to each root
// in it, so Go decodes and parses every root three times: 12 ms on a 2-core
// runner, more than the rest of an exchange (golang/go#38869). Here the
// directories are read while the bundle is decoded and its certificates
// parsed, on every core; a directory's file whose text is all blocks of the
// bundle is not decoded again, and no certificate is parsed twice. It
// returns nil when it found no certificate, for the caller to leave the
// choice to crypto/x509.
func (s rootStore) load() *x509.CertPool {
	var bundle []byte
	for _, file := range s.files {
		if data, err := os.ReadFile(file); err == nil {
			bundle = data
			break
		}
	}
	var files [][]byte
	read := make(chan struct{})
	if len(s.dirs) == 0 {
		close(read)
	} else {
		go func() {
			defer close(read)
			files = s.dirFiles()
		}()
	}

	p := newParser()
	seen := map[string]bool{}
	decode := func(data []byte) {
		// As x509.CertPool.AppendCertsFromPEM reads a PEM file.
		for len(data) > 0 {
			var block *pem.Block
			if block, data = pem.Decode(data); block == nil {
				break
			}
			if block.Type != "CERTIFICATE" || len(block.Headers) != 0 || seen[string(block.Bytes)] {
				continue
			}
			seen[string(block.Bytes)] = true
			p.parse(block.Bytes)
		}
	}
	decode(bundle)
	<-read
	known := map[string]bool{}
	if len(files) > 0 {
		pemChunks(bundle, func(chunk []byte) bool {
			known[string(chunk)] = true
			return true
		})
	}
	for _, data := range files {
		if bytes.Equal(data, bundle) {
			continue
		}
		if rest := pemChunks(data, func(chunk []byte) bool { return known[string(chunk)] }); rest != nil {
			decode(data)
		}
	}
	certs := p.wait()
	if len(certs) == 0 {
		return nil
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// A parser parses certificates on every core as they come.
type parser struct {
	ders  chan []byte
	wg    sync.WaitGroup
	mu    sync.Mutex
	certs []*x509.Certificate
}

func newParser() *parser {
	p := &parser{ders: make(chan []byte, 64)}
	for range runtime.GOMAXPROCS(0) {
		p.wg.Go(func() {
			for der := range p.ders {
				if c, err := x509.ParseCertificate(der); err == nil { // unparsable: skipped, as Go does
					p.mu.Lock()
					p.certs = append(p.certs, c)
					p.mu.Unlock()
				}
			}
		})
	}
	return p
}

func (p *parser) parse(der []byte) { p.ders <- der }

func (p *parser) wait() []*x509.Certificate {
	close(p.ders)
	p.wg.Wait()
	return p.certs
}

// pemEndCertificate ends the text of a certificate's PEM block.
var pemEndCertificate = []byte("-----END CERTIFICATE-----")

// pemChunks cuts data after each END CERTIFICATE line and calls f with
// each piece, newline included (added to a last line that lacks one),
// until f returns false. It returns what f did not take: the piece f
// refused and everything after it, or the text after the last END line
// when it is not blank. A piece starts where data does or after a newline,
// and pem.Decode reads each on its own (the last BEGIN before the first
// END), so the same piece decodes to the same blocks wherever it is.
func pemChunks(data []byte, f func(chunk []byte) bool) []byte {
	for {
		i := bytes.Index(data, pemEndCertificate)
		if i < 0 {
			if len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			return data
		}
		end := i + len(pemEndCertificate)
		chunk := data[:end]
		if nl := bytes.IndexByte(data[end:], '\n'); nl >= 0 {
			end += nl + 1
			chunk = data[:end]
		} else {
			end = len(data)
			chunk = append(data[:end:end], '\n')
		}
		if !f(chunk) {
			return data
		}
		data = data[end:]
	}
}

// dirFiles reads every file of s's directories but links to a name in the
// same directory, which crypto/x509 skips too. The reads, a few hundred
// system calls, go on two at a time.
func (s rootStore) dirFiles() [][]byte {
	var paths []string
	for _, dir := range s.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			paths = append(paths, dir+"/"+e.Name())
		}
	}
	files := make([][]byte, len(paths))
	const readers = 2
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for i := r; i < len(paths); i += readers {
				if !isSameDirSymlink(paths[i]) {
					files[i], _ = os.ReadFile(paths[i])
				}
			}
		})
	}
	wg.Wait()
	return files
}

// isSameDirSymlink reports whether path is a symlink to a name in its own
// directory, as crypto/x509 tells them.
func isSameDirSymlink(path string) bool {
	target, err := os.Readlink(path)
	return err == nil && !strings.Contains(target, "/")
}

// systemRoots makes the transports that trust a root store: the system's,
// or SSL_CERT_FILE's alone. The roots are read in the background from the
// client's making, and the first connection is dialed meanwhile: only its
// TLS handshake waits for them. Most systems' bundle holds every root their
// directories do, so the bundle is read first and the directories only
// when a server's certificate is not trusted with the bundle alone
// (golang/go#38869): then the server is tried again with everything
// crypto/x509 would have read, and the same servers are trusted in the
// end.
type systemRoots struct {
	store rootStore
	base  *http.Transport // its TLS config holds no roots
	first *rootsFuture

	mu      sync.Mutex
	tls     *http.Transport // for https
	widened bool            // the directories were read
	old     []*http.Transport
}

func newSystemRoots(base *http.Transport, store rootStore) *systemRoots {
	s := &systemRoots{store: store, base: base, first: loadInBackground(store)}
	t := base.Clone()
	dial := t.DialContext
	var once sync.Once
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		// Every TLS handshake (the transport's clone of its config) comes
		// after a dial has returned, so after this, and this is the only
		// change ever made to a transport in use.
		once.Do(func() { t.TLSClientConfig.RootCAs = orNone(s.first.wait().pool) })
		return c, err
	}
	s.tls = t
	return s
}

// transport is the one https requests go through now.
func (s *systemRoots) transport() *http.Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tls
}

func (s *systemRoots) trusting(pool *x509.CertPool) *http.Transport {
	t := s.base.Clone()
	t.TLSClientConfig.RootCAs = orNone(pool)
	return t
}

// orNone: when nothing could be read after all (the file went away),
// trust nothing rather than fall back on crypto/x509's choice.
func orNone(pool *x509.CertPool) *x509.CertPool {
	if pool == nil {
		return x509.NewCertPool()
	}
	return pool
}

// widen reports whether a request that failed with err on used should be
// sent again: when the certificate was not trusted and reading the
// directories, now or since, added roots.
func (s *systemRoots) widen(used *http.Transport, err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &unknown) && !errors.As(err, &invalid) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tls != used {
		return true
	}
	f := s.first.wait()
	if !f.partial || s.widened {
		return false
	}
	s.widened = true
	all := s.store.load()
	if all == nil || all.Equal(f.pool) {
		return false
	}
	s.old = append(s.old, s.tls)
	s.tls.CloseIdleConnections()
	s.tls = s.trusting(all)
	return true
}

func (s *systemRoots) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range append(s.old, s.tls) {
		if t != nil {
			t.CloseIdleConnections()
		}
	}
}

// rootsFuture is the first roots read in the background: the bundle alone
// (partial) or, when there is no bundle, the directories.
type rootsFuture struct {
	done    chan struct{}
	pool    *x509.CertPool
	partial bool
}

func loadInBackground(s rootStore) *rootsFuture {
	f := &rootsFuture{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if f.pool = (rootStore{files: s.files}).load(); f.pool != nil {
			f.partial = len(s.dirs) > 0
		} else {
			f.pool = s.load()
		}
	}()
	return f
}

func (f *rootsFuture) wait() *rootsFuture {
	<-f.done
	return f
}
