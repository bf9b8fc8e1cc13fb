package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// A debugLog prints what --verbose, or a platform's own debug switch, asks
// for: each request's method, URL, attempt, status, timing and request
// ID, and each ID token's claims. Never a token: no header but the
// request ID, no body, no URL query, and every line is redacted of the
// secrets the environment holds and of anything shaped like a token. Its
// methods do nothing on a nil *debugLog, which is what the quiet default
// is.
type debugLog struct {
	w      io.Writer
	github bool // as ::debug:: workflow commands: RUNNER_DEBUG=1 is on
	now    func() time.Time
	getenv func(string) string

	mu      sync.Mutex
	secrets []string // ID tokens seen, besides the environment's
}

// newDebugLog is the debug log that the switch named by why turned on, or
// nil when why is "".
func newDebugLog(env Env, getenv func(string) string, why string) *debugLog {
	if why == "" {
		return nil
	}
	d := &debugLog{w: env.Stderr, now: env.Now, getenv: getenv,
		github: export.InActions(getenv) != nil && getenv("RUNNER_DEBUG") == "1"}
	d.printf("debug output on (%s): requests and the ID token's claims, never a token", why)
	return d
}

func (d *debugLog) printf(format string, args ...any) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	line := safetext.Redact(fmt.Sprintf(format, args...), d.secretsLocked()...)
	if d.github {
		export.Debug(d.w, "hf-oidc: "+line)
		return
	}
	fmt.Fprintf(d.w, "hf-oidc: debug: %s\n", line)
}

// secretsLocked are the values no line may hold: the ID tokens seen and
// the environment's sensitive variables.
func (d *debugLog) secretsLocked() []string {
	s := append([]string(nil), d.secrets...)
	for _, v := range config.Vars {
		if v.Sensitive {
			s = append(s, d.getenv(v.Name))
		}
	}
	return s
}

// request prints one request that has ended.
func (d *debugLog) request(ev transport.Event) {
	if d == nil || !ev.Done {
		return
	}
	var b strings.Builder
	b.WriteString(ev.Method + " " + ev.URL)
	if a := ev.Attempt; a.For != "" || a.Max > 0 {
		b.WriteString(" (")
		if a.For != "" {
			b.WriteString("for " + a.For)
			if a.Max > 0 {
				b.WriteString(", ")
			}
		}
		if a.Max > 0 {
			fmt.Fprintf(&b, "attempt %d/%d", a.N, a.Max)
		}
		b.WriteString(")")
	}
	took := elapsed(ev.Took)
	if ev.Err != nil {
		fmt.Fprintf(&b, ": failed after %s: %s", took, safetext.Snippet(ev.Err.Error(), 300))
	} else {
		fmt.Fprintf(&b, ": HTTP %d in %s", ev.Status, took)
		if id := safetext.Snippet(ev.RequestID, 100); id != "" {
			b.WriteString(", request ID " + id)
		}
	}
	d.printf("%s", b.String())
}

// elapsed is d for a debug line: in whole milliseconds below a second
// ("0ms", not "0s" nor "412.3µs"), else to the hundredth of a second.
func elapsed(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return d.Round(10 * time.Millisecond).String()
}

// token prints the claims of an ID token the provider handed out.
func (d *debugLog) token(provider string, t *idtoken.Token) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.secrets = append(d.secrets, t.Raw)
	d.mu.Unlock()
	shape := diag.ShapeOf(t, provider)
	d.printf("the %s provider's ID token, %s claims (never the token itself):", provider, shape.Title())
	rows := tokenRows(t, shape, d.now())
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		d.printf("  %-*s  %s", width, r[0], r[1])
	}
}
