package cli

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/transport"
)

// waitNotice is how long a round goes silent before one line says what it
// waits for: longer than a healthy exchange takes, short enough that a
// stall is not mistaken for a hung job.
var waitNotice = 3 * time.Second

// A netlog watches the requests of a session, to say during a round that
// has waited waitNotice what it is waiting for.
type netlog struct {
	stderr io.Writer
	debug  *debugLog // prints each request; nil when debug output is off

	mu   sync.Mutex
	last *transport.Event // the latest request seen; nil before the first
}

// observe is the session's transport.Observe callback.
func (l *netlog) observe(ev transport.Event) {
	l.mu.Lock()
	l.last = &ev
	l.mu.Unlock()
	l.debug.request(ev)
}

// waiting watches one round: after waitNotice, unless the returned stop
// was called first, it prints one line, and only one, on what the round
// waits for.
func (l *netlog) waiting(provider string) (stop func()) {
	var (
		mu   sync.Mutex
		over bool
	)
	t := time.AfterFunc(waitNotice, func() {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			fmt.Fprintf(l.stderr, "hf-oidc: %s…\n", l.waitingFor(provider))
		}
	})
	return func() {
		t.Stop()
		// Taken after the line, if it is being printed: nothing the
		// caller prints next can come before it.
		mu.Lock()
		over = true
		mu.Unlock()
	}
}

func (l *netlog) waitingFor(provider string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		return "waiting for an ID token from the " + provider + " provider"
	}
	ev := *l.last
	what := "waiting for " + ev.URL
	if ev.Done && (ev.Err != nil || ev.Status >= 400) {
		what = "waiting to retry " + ev.URL
	}
	switch a := ev.Attempt; {
	case a.Max == 0:
		return what
	case ev.Done && (ev.Err != nil || ev.Status >= 400):
		return fmt.Sprintf("%s (attempt %d/%d failed)", what, a.N, a.Max)
	default:
		return fmt.Sprintf("%s (attempt %d/%d)", what, a.N, a.Max)
	}
}
