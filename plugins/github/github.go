package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const (
	name = "github"
	// order puts GitHub after the env provider, so a pre-minted token given
	// explicitly wins over the runner's own (see plugins/all).
	order = 20

	envActions = "GITHUB_ACTIONS"
	envURL     = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envToken   = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"

	// maxBody bounds what is read from the token endpoint: an ID token is a
	// few kilobytes, so anything near this is not an answer we understand.
	maxBody = 64 << 10
	// maxSnippet bounds how much of an error body is quoted, in runes.
	maxSnippet = 100
)

func init() {
	plugins.Register(name, order, func(opts ...plugins.Option) plugins.Provider { return New(opts...) })
}

var _ plugins.Provider = (*Provider)(nil)

// Provider gets ID tokens from the GitHub Actions runtime. It is safe for
// concurrent use.
type Provider struct {
	getenv func(string) string
	client *http.Client

	// attempts, backoff and attemptTimeout shape the retries; tests shrink
	// them.
	attempts       int
	backoff        func(attempt int, resp *http.Response) time.Duration
	attemptTimeout time.Duration
}

// New returns a GitHub Actions provider. It reads the environment through
// plugins.WithGetenv and sends requests through plugins.WithHTTPClient
// (default os.Getenv and http.DefaultClient).
func New(opts ...plugins.Option) *Provider {
	o := plugins.Apply(opts...)
	return &Provider{
		getenv:   o.Getenv,
		client:   o.HTTPClient,
		attempts: 4,
		backoff: func(attempt int, resp *http.Response) time.Duration {
			return retry.Backoff(retry.MinWait, retry.MaxWait, attempt, resp, time.Now())
		},
		// A hung request would otherwise eat the caller's whole deadline
		// and leave no time for the retry that would have worked.
		attemptTimeout: 15 * time.Second,
	}
}

// Name returns "github".
func (*Provider) Name() string { return name }

// Detect reports whether this is a GitHub Actions job.
func (p *Provider) Detect() bool { return p.getenv(envActions) == "true" }

// CanMint returns true: the runtime mints a fresh, ~5-minute token for every
// request.
func (*Provider) CanMint() bool { return true }

// Job is the run, its attempt and the job's key, which matrix jobs share,
// with what sets each job apart: its ID-token request URL and the SHA-256
// of its request token, a credential of that job alone. It is "" outside a
// job that can mint ID tokens or has a run ID.
func (p *Provider) Job() string {
	var parts []string
	for _, v := range []string{"GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB", envURL} {
		if s := plugins.JobVar(p.getenv, v); s != "" {
			parts = append(parts, s)
		}
	}
	if t := p.getenv(envToken); t != "" {
		sum := sha256.Sum256([]byte(t))
		parts = append(parts, envToken+" sha256="+hex.EncodeToString(sum[:]))
	}
	if p.getenv("GITHUB_RUN_ID") == "" && p.getenv(envToken) == "" {
		return ""
	}
	return strings.Join(parts, "\n")
}

// IDToken asks the Actions runtime for an ID token whose aud claim is
// audience. An empty audience leaves the request URL's query alone, so GitHub
// picks its default audience.
//
// Transient failures (network errors, 429, 5xx but 501) are retried a few
// times within ctx, waiting as package retry says. A job without the permission to mint a
// token gets a *plugins.SetupError; a refusal from the runtime a *StatusError.
func (p *Provider) IDToken(ctx context.Context, audience string) (string, error) {
	rawURL, reqToken := p.getenv(envURL), p.getenv(envToken)
	if rawURL == "" || reqToken == "" {
		return "", p.setupError(rawURL == "", reqToken == "")
	}
	u, err := requestURL(rawURL, audience)
	if err != nil {
		return "", fmt.Errorf("requesting GitHub ID token: %w", err)
	}
	tok, err := p.fetch(ctx, u, reqToken)
	if err != nil {
		return "", fmt.Errorf("requesting GitHub ID token from %s: %w", redactURL(u), err)
	}
	return tok, nil
}

func (p *Provider) setupError(noURL, noToken bool) *plugins.SetupError {
	var missing string
	switch {
	case noURL && noToken:
		missing = envURL + " and " + envToken + " are not set"
	case noURL:
		missing = envURL + " is not set"
	default:
		missing = envToken + " is not set"
	}
	if !p.Detect() {
		return &plugins.SetupError{
			Provider: name,
			Problem:  "not running in GitHub Actions (" + envActions + " is not \"true\") and " + missing,
			Fix:      "Run this in a GitHub Actions job, or use the provider of the CI it runs in.",
		}
	}
	return &plugins.SetupError{
		Provider: name,
		Problem:  missing,
		Fix:      "Give the job `permissions: { id-token: write, contents: read }`, on the job itself if it has a permissions: of its own (a job's permissions: replaces the workflow's). Pull requests from forks never get an ID token.",
	}
}

// requestURL adds audience to the runtime's URL, which already carries a
// query string (?api-version=2.0) that must be kept.
func requestURL(rawURL, audience string) (*url.URL, error) {
	// The URL's own text never goes into an error: only its parts we trust
	// to be free of secrets do, and that is none of them until it parses.
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("parsing %s: not an absolute http(s) URL", envURL)
	}
	u.Fragment, u.RawFragment = "", ""
	if audience == "" {
		return u, nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("parsing the query string of %s: malformed", envURL)
	}
	q.Set("audience", audience)
	// Encode writes a space as "+", which only form decoders read as a
	// space; "%20" means a space to every server. A literal "+" is already
	// "%2B", so the swap is safe.
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u, nil
}

// redactURL is u without its query string, fragment or user info: the
// only form of the request URL errors may quote.
func redactURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}

func (p *Provider) fetch(ctx context.Context, u *url.URL, reqToken string) (string, error) {
	for attempt := 1; ; attempt++ {
		tok, resp, err := p.try(retry.WithAttempt(ctx, &retry.Attempt{N: attempt, Max: p.attempts}), u, reqToken)
		if err == nil {
			return tok, nil
		}
		if ctx.Err() != nil {
			if errors.Is(err, ctx.Err()) {
				return "", fmt.Errorf("%w (attempt %d)", err, attempt)
			}
			return "", fmt.Errorf("%w (attempt %d: %w)", ctx.Err(), attempt, err)
		}
		var final *permanent
		if errors.As(err, &final) {
			return "", final.error
		}
		var again bool
		var werr error
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			// ctx is live, so only this attempt ran out of its time: the
			// next one may get through.
			again = true
		case resp != nil:
			again, werr = retry.Check(ctx, attempt, resp, nil, time.Now())
		default:
			again, werr = retry.Check(ctx, attempt, nil, err, time.Now())
		}
		switch {
		case werr != nil:
			return "", fmt.Errorf("%w (attempt %d: %w)", werr, attempt, err)
		case !again:
			return "", err
		case attempt >= p.attempts:
			return "", fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		t := time.NewTimer(p.backoff(attempt-1, resp))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("%w (attempt %d: %w)", ctx.Err(), attempt, err)
		case <-t.C:
		}
	}
}

// A permanent error is one no retry would change, such as a 200 whose body
// holds no token.
type permanent struct{ error }

// try makes one request. On a failure, resp is the answer (its body read
// and closed) when there was one.
func (p *Provider) try(parent context.Context, u *url.URL, reqToken string) (tok string, resp *http.Response, err error) {
	ctx := parent
	if p.attemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, p.attemptTimeout)
		defer cancel()
	}
	// A bare "context deadline exceeded" would not say that only this
	// attempt gave up, and after how long.
	attemptTimedOut := func(err error) error {
		if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %s: %w", p.attemptTimeout, err)
		}
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", nil, &permanent{errors.New("building the request failed")}
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	resp, err = p.client.Do(req)
	if err != nil {
		// *url.Error quotes the whole URL, query string included: keep
		// only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", nil, attemptTimedOut(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", nil, fmt.Errorf("reading the response: %w", attemptTimedOut(err))
	}
	if resp.StatusCode != http.StatusOK {
		return "", resp, &StatusError{StatusCode: resp.StatusCode, Body: snippet(body, append(queryValues(u), reqToken)...)}
	}
	if len(body) > maxBody {
		return "", nil, &permanent{fmt.Errorf("response is larger than %d bytes", maxBody)}
	}
	tok, err = parseResponse(body)
	if err != nil {
		return "", nil, &permanent{err}
	}
	return tok, nil, nil
}

// parseResponse reads the runtime's {"value": "<jwt>"}. A 200's body holds
// the token, so no error quotes any of it, not even through encoding/json's
// messages.
func parseResponse(body []byte) (string, error) {
	var r struct {
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", fmt.Errorf("decoding the response: not a JSON object with a string \"value\" (%d bytes)", len(body))
	}
	switch {
	case r.Value == nil:
		return "", errors.New("decoding the response: no \"value\" in it")
	case strings.TrimSpace(*r.Value) == "":
		return "", errors.New("decoding the response: \"value\" is empty")
	}
	return *r.Value, nil
}

// A StatusError is an answer other than 200 from the Actions runtime.
type StatusError struct {
	StatusCode int
	// Body is the start of the response body, at most 100 characters, with
	// control characters escaped and anything token-like redacted.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if !retry.RetryableStatus(e.StatusCode) {
		// Said, because transient ones are retried: a reader need not
		// wonder whether this one was.
		msg += " (not retried)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// snippet is the part of an error body fit to quote: the secrets (the
// request token, the values of the request URL's query) and anything
// token-like redacted, on one line of at most maxSnippet runes.
func snippet(body []byte, secrets ...string) string {
	return safetext.Snippet(string(body), maxSnippet, secrets...)
}

// queryValues are the values of u's query long enough to be secret, both
// as sent and decoded: a server that echoes its request must not put them
// into our errors, which quote only the URL without its query (see
// redactURL).
func queryValues(u *url.URL) []string {
	var out []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		_, v, _ := strings.Cut(kv, "=")
		out = append(out, v)
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	return out
}
