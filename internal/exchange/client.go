package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// Defaults for the Client's zero fields.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultMaxAttempts = 5
	DefaultMinBackoff  = retry.MinWait
	DefaultMaxBackoff  = retry.MaxWait
)

// The RFC 8693 parameters the Hub expects.
const (
	GrantType        = "urn:ietf:params:oauth:grant-type:token-exchange"
	SubjectTokenType = "urn:ietf:params:oauth:token-type:id_token"
)

// A Client exchanges ID tokens at the Hub's /oauth/token. Its zero value
// uses the defaults. A Client is safe for concurrent use; its fields must not
// change after its first use.
type Client struct {
	Endpoint string // the Hub, e.g. https://huggingface.co; empty means DefaultEndpoint
	// HTTPClient sends the requests; nil means transport.New's.
	HTTPClient  *http.Client
	Timeout     time.Duration // bound on one Round (or Exchange), retries included; zero means DefaultTimeout
	UserAgent   string        // empty means "hf-oidc"
	MaxAttempts int           // attempts per resource; zero means DefaultMaxAttempts
	MinBackoff  time.Duration // zero means DefaultMinBackoff
	MaxBackoff  time.Duration // zero means DefaultMaxBackoff
	Now         func() time.Time

	once  sync.Once
	hc    *http.Client
	hcErr error
}

// An IDTokenSource hands out the ID token to exchange; *idtoken.Source is one.
type IDTokenSource interface {
	Token(ctx context.Context) (*idtoken.Token, error)
}

// A Result is the outcome of one resource's exchange: Token or Err.
type Result struct {
	Resource resource.Resource
	Token    Token
	Err      error
}

// errRoundTimeout tells our own Timeout from a deadline the caller set.
var errRoundTimeout = errors.New("exchange round timed out")

// Round gets one ID token from ids and exchanges it for every resource
// concurrently, all within Timeout. Results are in the order of rs; err joins
// the resources' errors and is nil when all succeeded. When the endpoint is
// invalid or no ID token can be had, Round returns no results and that error.
func (c *Client) Round(ctx context.Context, ids IDTokenSource, rs []resource.Resource) ([]Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("exchanging tokens: no resources given")
	}
	u, err := c.tokenURL()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout(), errRoundTimeout)
	defer cancel()
	// The Hub's connection is set up while the ID token is minted (the
	// provider's service is another host), so that the round costs one
	// round trip after the mint rather than three.
	warmed := func(context.Context) {}
	if hc, err := c.httpClient(); err == nil {
		var release func()
		warmed, release = transport.Warm(ctx, hc, u)
		defer release()
	}
	id, err := ids.Token(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && context.Cause(ctx) == errRoundTimeout {
			return nil, fmt.Errorf("the --timeout of %s ran out while getting the ID token: %w", c.timeout(), err)
		}
		return nil, err
	}
	if id == nil {
		return nil, errors.New("exchanging tokens: the ID token source gave no token")
	}
	// A mint quicker than the handshake (a pre-minted token) must not
	// send the first exchange before the warmed connection is in the
	// pool: it would dial a second one.
	warmed(ctx)
	results := make([]Result, len(rs))
	// The first resource goes alone until it has a connection: over HTTP/2,
	// which the Hub speaks, the others then share it instead of each opening
	// its own and paying its own TLS handshake. Until the server's settings
	// arrive, Go's HTTP/2 client assumes it may open only 100 streams on a
	// connection, and a request beyond them dials another: resources past
	// the first hundred wait for the first answer, by which the settings
	// are in. A first attempt that ends without either lets everyone go.
	connected, answered := newGate(), newGate()
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			rctx, attempted := ctx, func() {}
			switch {
			case i == 0:
				defer connected.open()
				defer answered.open()
				rctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.open() }})
				attempted = func() { connected.open(); answered.open() }
			case i < streamsBeforeSettings:
				connected.wait(ctx)
			default:
				answered.wait(ctx)
			}
			tok, err := c.exchange(rctx, u, id.Raw, r.Name, attempted)
			results[i] = Result{Resource: r, Token: tok, Err: err}
		})
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return results, errors.Join(errs...)
}

// streamsBeforeSettings is how many streams Go's HTTP/2 client opens on a
// new connection before the server's SETTINGS say how many it allows.
const streamsBeforeSettings = 100

// A gate is closed until opened, once.
type gate struct {
	ch   chan struct{}
	once *sync.Once
}

func newGate() gate { return gate{make(chan struct{}), new(sync.Once)} }

func (g gate) open() { g.once.Do(func() { close(g.ch) }) }

// wait returns when g opens or ctx ends.
func (g gate) wait(ctx context.Context) {
	select {
	case <-g.ch:
	case <-ctx.Done():
	}
}

// Exchange trades idToken for a token for r, within Timeout. A failed
// exchange is an *Error.
func (c *Client) Exchange(ctx context.Context, idToken string, r resource.Resource) (Token, error) {
	u, err := c.tokenURL()
	if err != nil {
		return Token{}, fmt.Errorf("exchanging token for %s: %w", r.Name, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout(), errRoundTimeout)
	defer cancel()
	return c.exchange(ctx, u, idToken, r.Name, func() {})
}

type request struct {
	GrantType        string `json:"grant_type"`
	SubjectTokenType string `json:"subject_token_type"`
	SubjectToken     string `json:"subject_token"`
	Resource         string `json:"resource"`
}

// attempts records what the retry loop saw, for the final error.
type attempts struct {
	n         int
	start     time.Time // of the latest attempt
	status    int       // of the latest answer
	requestID string    // of the latest answer
	idToken   string    // what no quoted header may show
	attempted func()    // called after each attempt
	phase     phase     // what the loop was doing last
	body      []byte    // of the final answer, at most maxBody+1 bytes
	label     *retry.Attempt
	err       error // of the latest attempt, when it had no answer
}

// A phase is what an exchange is waiting for, so that a timeout says what
// was too slow.
type phase int

const (
	phaseAnswer phase = iota // the answer's status and headers
	phaseBody                // the rest of the answer
	phaseRetry               // the backoff before the next attempt
)

func (p phase) during(u *url.URL) string {
	switch p {
	case phaseBody:
		return "reading the answer from " + u.String()
	case phaseRetry:
		return "waiting to retry " + u.String()
	}
	return "waiting for an answer from " + u.String()
}

// exchange calls attempted after each attempt.
func (c *Client) exchange(ctx context.Context, u *url.URL, idToken, name string, attempted func()) (Token, error) {
	fail := func(e *Error) (Token, error) {
		e.Resource = name
		return Token{}, e
	}
	switch {
	case idToken == "":
		return fail(&Error{Problem: "no ID token to exchange"})
	case name == "":
		return fail(&Error{Problem: "the resource name is empty"})
	}
	body, err := json.Marshal(request{GrantType, SubjectTokenType, idToken, name})
	if err != nil {
		return fail(&Error{Problem: "encoding the request", Err: err})
	}
	// The label tells a trace which attempt each send is; RequestLogHook
	// moves it on, since go-retryablehttp sends this one request each time.
	label := &retry.Attempt{Max: c.maxAttempts(), For: name}
	req, err := retryablehttp.NewRequestWithContext(retry.WithAttempt(ctx, label), http.MethodPost, u.String(), body)
	if err != nil {
		return fail(&Error{Problem: "building the request", Err: err})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent())

	hc, err := c.httpClient()
	if err != nil {
		return fail(&Error{Problem: "setting up HTTPS", Err: err})
	}
	at := attempts{attempted: attempted, idToken: idToken, label: label}
	// The body is read inside the retry loop, so that a connection that
	// breaks mid-body is retried like one that breaks before the headers.
	// Reading stops at the limit: an enormous answer costs no memory, and
	// closing the body unread closes the connection instead of draining it.
	req.SetResponseHandler(func(resp *http.Response) error {
		defer resp.Body.Close()
		at.phase = phaseBody
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		at.body = data
		return err
	})
	resp, err := c.retrying(hc, &at).Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	e := &Error{Status: at.status, RequestID: at.requestID, Attempts: at.n}
	if err != nil {
		var we *retry.WaitError
		switch {
		case errors.As(err, &we):
			e.Problem = we.Error()
		case errors.Is(err, context.DeadlineExceeded) && at.phase == phaseRetry && at.err != nil:
			// What kept failing says more than the deadline that ended it.
			e.Problem, e.Err = c.timeoutProblem(ctx, u, at.phase)+"; the last attempt: "+unwrapURL(at.err).Error(), at.err
		case errors.Is(err, context.DeadlineExceeded):
			e.Problem, e.Err = c.timeoutProblem(ctx, u, at.phase), err
		case errors.Is(err, context.Canceled):
			e.Problem, e.Err = "canceled while "+at.phase.during(u), err
		case at.phase == phaseBody:
			e.Problem, e.Err = "the connection broke while "+at.phase.during(u)+": "+err.Error(), err
		default:
			e.Err = err
		}
		return fail(e)
	}
	data := at.body
	tooLarge := len(data) > maxBody
	if tooLarge {
		data = data[:maxBody]
	}
	contentType := resp.Header.Get("Content-Type")
	switch s := resp.StatusCode; {
	case s == http.StatusOK && tooLarge:
		e.Problem = fmt.Sprintf("unusable answer: larger than %d KiB", maxBody>>10)
	case s == http.StatusOK:
		ok, problem := parseSuccess(contentType, data)
		if problem != "" {
			e.Problem = "unusable answer: " + problem
			return fail(e)
		}
		return Token{
			Resource:    name,
			AccessToken: ok.accessToken,
			TokenType:   ok.tokenType,
			ExpiresAt:   at.start.Add(ok.expiresIn),
			RequestID:   at.requestID,
			Note:        ok.note,
		}, nil
	case s >= 200 && s <= 299:
		// Not quoted: a success answer may hold a token.
		e.Problem = "unexpected answer: want HTTP 200"
	case s >= 300 && s <= 399:
		e.Problem = "redirected to " + location(resp) + "; the endpoint must be the Hub's own URL"
	default:
		e.Code, e.Description, e.Problem = parseFailure(s, contentType, data, tooLarge, idToken)
	}
	return fail(e)
}

// retrying is a retry loop over the shared HTTP client for one exchange,
// recording into at. Its policy is package retry's.
func (c *Client) retrying(hc *http.Client, at *attempts) *retryablehttp.Client {
	maxAttempts := c.maxAttempts()
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // nothing is logged: the caller prints the final error
		RetryWaitMin: c.minBackoff(),
		RetryWaitMax: c.maxBackoff(),
		RetryMax:     maxAttempts - 1,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, i int) {
			at.n, at.start, at.phase = i+1, c.now(), phaseAnswer
			at.label.N = at.n
		},
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			at.attempted()
			at.err = err
			if resp != nil {
				at.status, at.requestID = resp.StatusCode, requestID(resp, at.idToken)
			}
			// After the last attempt, its answer is the error, not a wait.
			if at.n >= maxAttempts {
				return false, nil
			}
			return retry.Check(ctx, at.n, resp, err, c.now())
		},
		Backoff: func(lo, hi time.Duration, n int, resp *http.Response) time.Duration {
			at.phase = phaseRetry
			return retry.Backoff(lo, hi, n, resp, c.now())
		},
		// The last answer and error come back as they are, for exchange to
		// build the error from; by default both would be dropped.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// timeoutProblem says which deadline passed and what it cut short. Ours
// is the user's --timeout (HF_OIDC_TIMEOUT), so it is named that way.
func (c *Client) timeoutProblem(ctx context.Context, u *url.URL, p phase) string {
	if context.Cause(ctx) == errRoundTimeout {
		return fmt.Sprintf("the --timeout of %s ran out while %s", c.timeout(), p.during(u))
	}
	return "the caller's deadline passed while " + p.during(u)
}

// unwrapURL is err without the *url.Error around it, whose method and URL
// the message gives already.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func requestID(resp *http.Response, idToken string) string {
	return safetext.Snippet(resp.Header.Get("X-Request-Id"), maxSnippet, idToken)
}

// location is a redirect's target without what could be secret in it.
func location(resp *http.Response) string {
	u, err := resp.Location()
	if err != nil {
		return "an unusable location"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return safetext.Clip(u.String(), maxSnippet)
}

func (c *Client) tokenURL() (*url.URL, error) {
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := CheckEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	return u.JoinPath("oauth", "token"), nil
}

func (c *Client) httpClient() (*http.Client, error) {
	c.once.Do(func() {
		c.hc = c.HTTPClient
		if c.hc == nil {
			c.hc, c.hcErr = transport.New(nil)
		}
	})
	return c.hc, c.hcErr
}

func (c *Client) timeout() time.Duration    { return orDefault(c.Timeout, DefaultTimeout) }
func (c *Client) minBackoff() time.Duration { return orDefault(c.MinBackoff, DefaultMinBackoff) }
func (c *Client) maxBackoff() time.Duration { return orDefault(c.MaxBackoff, DefaultMaxBackoff) }
func (c *Client) maxAttempts() int          { return orDefault(c.MaxAttempts, DefaultMaxAttempts) }

func (c *Client) userAgent() string {
	if c.UserAgent == "" {
		return "hf-oidc"
	}
	return c.UserAgent
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
