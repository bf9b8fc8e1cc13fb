package transport

import (
	"net/http"
	"net/url"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

// An Event is one request that starts (Done false) or has ended (Done
// true). It holds nothing secret: no header but the request ID, no body,
// and the URL without its query, fragment or user info.
type Event struct {
	Done    bool
	Method  string
	URL     string
	Attempt retry.Attempt // zero when the sender does not label it
	Start   time.Time
	// Set when Done: how long until the answer's headers (or the
	// failure), and the answer's status and request ID, or the error.
	Took      time.Duration
	Status    int
	RequestID string // the x-request-id header, as sent: the observer must clip it
	Err       error
}

// Observe returns a copy of c that calls observe before and after each
// request it sends, from the goroutine that sends it.
func Observe(c *http.Client, observe func(Event)) *http.Client {
	o := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	o.Transport = &observer{next: next, observe: observe}
	return &o
}

type observer struct {
	next    http.RoundTripper
	observe func(Event)
}

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	attempt, _ := retry.AttemptOf(r.Context())
	ev := Event{Method: r.Method, URL: Redact(r.URL), Attempt: attempt, Start: time.Now()}
	o.observe(ev)
	resp, err := o.next.RoundTrip(r)
	ev.Done, ev.Took, ev.Err = true, time.Since(ev.Start), err
	if resp != nil {
		ev.Status, ev.RequestID = resp.StatusCode, resp.Header.Get("X-Request-Id")
	}
	o.observe(ev)
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (o *observer) CloseIdleConnections() {
	if c, ok := o.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Redact is u without what may be secret in it: its query, fragment and
// user info.
func Redact(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
