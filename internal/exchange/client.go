package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// Defaults for the Client's zero fields.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultMaxAttempts = 5
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
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
	// HTTPClient sends the requests. nil means a client with 10s connect and
	// TLS handshake timeouts that follows no redirect but a 307 or 308 to
	// the same host.
	HTTPClient  *http.Client
	Timeout     time.Duration // bound on one Round (or Exchange), retries included; zero means DefaultTimeout
	UserAgent   string        // empty means "hf-oidc"
	MaxAttempts int           // attempts per resource; zero means DefaultMaxAttempts
	MinBackoff  time.Duration // zero means DefaultMinBackoff
	MaxBackoff  time.Duration // zero means DefaultMaxBackoff
	Now         func() time.Time

	once sync.Once
	hc   *http.Client
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
	id, err := ids.Token(ctx)
	if err != nil {
		return nil, err
	}
	if id == nil {
		return nil, errors.New("exchanging tokens: the ID token source gave no token")
	}
	results := make([]Result, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			tok, err := c.exchange(ctx, u, id.Raw, r.Name)
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

// Exchange trades idToken for a token for r, within Timeout. A failed
// exchange is an *Error.
func (c *Client) Exchange(ctx context.Context, idToken string, r resource.Resource) (Token, error) {
	u, err := c.tokenURL()
	if err != nil {
		return Token{}, fmt.Errorf("exchanging token for %s: %w", r.Name, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout(), errRoundTimeout)
	defer cancel()
	return c.exchange(ctx, u, idToken, r.Name)
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
}

func (c *Client) exchange(ctx context.Context, u *url.URL, idToken, name string) (Token, error) {
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
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return fail(&Error{Problem: "building the request", Err: err})
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent())

	var at attempts
	resp, err := c.retrying(&at).Do(req)
	if resp != nil {
		defer resp.Body.Close()
	}
	e := &Error{Status: at.status, RequestID: at.requestID, Attempts: at.n}
	if err != nil {
		var we *waitError
		switch {
		case errors.As(err, &we):
			e.Problem = we.Error()
		case errors.Is(err, context.DeadlineExceeded):
			e.Problem, e.Err = c.timeoutProblem(ctx, u), err
		case errors.Is(err, context.Canceled):
			e.Problem, e.Err = "canceled before an answer from "+u.String(), err
		default:
			e.Err = err
		}
		return fail(e)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Problem, e.Err = c.timeoutProblem(ctx, u), err
		return fail(e)
	case err != nil:
		e.Problem, e.Err = "reading the answer: "+err.Error(), err
		return fail(e)
	}
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
// recording into at. Its policy is Retryable and Backoff.
func (c *Client) retrying(at *attempts) *retryablehttp.Client {
	maxAttempts := c.maxAttempts()
	return &retryablehttp.Client{
		HTTPClient:   c.httpClient(),
		Logger:       nil, // nothing is logged: the caller prints the final error
		RetryWaitMin: c.minBackoff(),
		RetryWaitMax: c.maxBackoff(),
		RetryMax:     maxAttempts - 1,
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, i int) {
			at.n, at.start = i+1, c.now()
		},
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if resp != nil {
				at.status, at.requestID = resp.StatusCode, requestID(resp)
			}
			// After the last attempt, its answer is the error, not a wait.
			if !Retryable(resp, err) || at.n >= maxAttempts {
				return false, nil
			}
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if wait, ok := RetryAfter(resp, c.now()); ok {
				if deadline, ok := ctx.Deadline(); ok && wait > time.Until(deadline) {
					return false, &waitError{wait: wait, left: time.Until(deadline)}
				}
			}
			return true, nil
		},
		Backoff: func(lo, hi time.Duration, n int, resp *http.Response) time.Duration {
			return Backoff(lo, hi, n, resp, c.now())
		},
		// The last answer and error come back as they are, for exchange to
		// build the error from; by default both would be dropped.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// A waitError is a Retry-After that the round has no time left for.
type waitError struct{ wait, left time.Duration }

func (e *waitError) Error() string {
	return fmt.Sprintf("the server asked to wait %s before retrying, longer than the %s left before the timeout",
		e.wait, e.left.Round(time.Millisecond))
}

func (c *Client) timeoutProblem(ctx context.Context, u *url.URL) string {
	if context.Cause(ctx) == errRoundTimeout {
		return fmt.Sprintf("no answer from %s within %s", u, c.timeout())
	}
	return fmt.Sprintf("no answer from %s before the caller's deadline", u)
}

func requestID(resp *http.Response) string {
	return clean(redact(resp.Header.Get("X-Request-Id"), nil), maxSnippet)
}

// location is a redirect's target without what could be secret in it.
func location(resp *http.Response) string {
	u, err := resp.Location()
	if err != nil {
		return "an unusable location"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return clean(u.String(), maxSnippet)
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

func (c *Client) httpClient() *http.Client {
	c.once.Do(func() {
		c.hc = c.HTTPClient
		if c.hc == nil {
			c.hc = defaultHTTPClient()
		}
	})
	return c.hc
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	// One round sends a request per resource at once; keep their
	// connections for the next round.
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// checkRedirect follows only a 307 or 308 (which keep the method and body)
// to the same scheme and host: the body holds the ID token.
func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if len(via) >= 5 || req.Response == nil ||
		(req.Response.StatusCode != http.StatusTemporaryRedirect && req.Response.StatusCode != http.StatusPermanentRedirect) ||
		req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return http.ErrUseLastResponse
	}
	return nil
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
