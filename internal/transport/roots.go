package transport

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
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
	go func() {
		defer close(read)
		files = s.dirFiles()
	}()

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
	known := map[string]bool{}
	pemChunks(bundle, func(chunk []byte) bool {
		known[string(chunk)] = true
		return true
	})
	<-read
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

// rootsFuture is the system's roots being loaded in the background, from
// the moment a client is made until its first https request needs them.
type rootsFuture struct {
	done chan struct{}
	pool *x509.CertPool
}

func loadInBackground(s rootStore) *rootsFuture {
	f := &rootsFuture{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.pool = s.load()
	}()
	return f
}

func (f *rootsFuture) wait() *x509.CertPool {
	<-f.done
	return f.pool
}
