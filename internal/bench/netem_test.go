package bench

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"
)

// TestDelayProxy: through the proxy a connection's first answer comes no
// sooner than two round trips after the connect began (the connect's, the
// request's), and the server hears the first bytes no sooner than one and
// a half; each later exchange costs a round trip; the bytes arrive whole
// and in order, and the end of the stream gets through.
func TestDelayProxy(t *testing.T) {
	t.Parallel()
	const rtt = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	firstByte := make(chan time.Time, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		firstByte <- time.Now()
		c.Write(buf)
		io.Copy(c, c) // echo until the client's end, then close
	}()
	p, err := startDelayProxy("127.0.0.1:0", ln.Addr().String(), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	start := time.Now()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*rtt {
		t.Errorf("first answer after %v, want at least two round trips (%v)", d, 2*rtt)
	}
	if d := (<-firstByte).Sub(start); d < 3*rtt/2 {
		t.Errorf("the server heard the first byte after %v, want at least %v", d, 3*rtt/2)
	}

	data := make([]byte, 1<<20)
	rand.Read(data)
	start = time.Now()
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < rtt {
		t.Errorf("an echo after %v, want at least a round trip (%v)", d, rtt)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("echoed %d bytes, not the %d sent in order", len(got), len(data))
	}
}
