package bench

import (
	"net"
	"sync"
	"time"
)

// A delayProxy stands between a client and one sandbox service, on an
// address of its own, and makes every connection through it pay a round
// trip time as a network would (see the package doc): each chunk either
// way is held for half the round trip, and the client's first bytes as if
// its connect had taken a whole round trip.
type delayProxy struct {
	ln     net.Listener
	target string
	rtt    time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startDelayProxy listens on listen (a loopback address with port 0) and
// forwards to target.
func startDelayProxy(listen, target string, rtt time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, rtt: rtt, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is where clients connect.
func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting and drops every connection.
func (p *delayProxy) Close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *delayProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *delayProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *delayProxy) serve() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		// The kernel has completed the handshake already: the SYN and
		// SYN-ACK a network would make the client wait a round trip for.
		accepted := time.Now()
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		if !p.track(down, up) {
			down.Close()
			up.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(down, up)
			var pumps sync.WaitGroup
			// Client to server: nothing the client sends could have left
			// before its connect returned, a round trip after it began.
			pumps.Go(func() { pump(up, down, accepted.Add(p.rtt), p.rtt/2) })
			pumps.Go(func() { pump(down, up, accepted, p.rtt/2) })
			pumps.Wait()
		}()
	}
}

// A chunk is bytes read at a time, to be written at another.
type chunk struct {
	at   time.Time
	data []byte // nil: the reader saw the end; close the writing side
}

// pump copies from src to dst, each chunk delay after it was read (or
// after notBefore, if later), keeping their order. It reads on while
// chunks wait, so that a burst is delayed, not serialised.
func pump(dst, src net.Conn, notBefore time.Time, delay time.Duration) {
	queue := make(chan chunk, 4096)
	go func() {
		defer close(queue)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			at := time.Now()
			if at.Before(notBefore) {
				at = notBefore
			}
			if n > 0 {
				queue <- chunk{at: at.Add(delay), data: append([]byte(nil), buf[:n]...)}
			}
			if err != nil {
				queue <- chunk{at: at.Add(delay)}
				return
			}
		}
	}()
	broken := false
	for c := range queue {
		if broken {
			continue
		}
		if d := time.Until(c.at); d > 0 {
			time.Sleep(d)
		}
		if c.data == nil {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			// Keep draining, so that the reader is never stuck on the queue.
			broken = true
			src.Close()
		}
	}
}
