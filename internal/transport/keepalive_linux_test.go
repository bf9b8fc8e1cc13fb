package transport

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// TestDialKeepAlive: both dialers, for https and for plain http to
// loopback, probe an idle connection after 30 seconds, so that a peer or
// middlebox that vanished is noticed rather than waited on for ever.
func TestDialKeepAlive(t *testing.T) {
	t.Parallel()
	addr := serveTCP(t, func(c net.Conn) { c.Close() })
	for name, ht := range newTransports(t) {
		conn, err := ht.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sc, err := conn.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var idle int
		var gerr error
		if err := sc.Control(func(fd uintptr) {
			idle, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		}); err != nil || gerr != nil {
			t.Fatalf("%s: reading TCP_KEEPIDLE: %v, %v", name, err, gerr)
		}
		conn.Close()
		if idle != 30 {
			t.Errorf("%s: keep-alive idle time %ds, want 30s", name, idle)
		}
	}
}
