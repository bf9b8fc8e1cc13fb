package refresh

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// DefaultMargin is how long before expiry a token is re-exchanged when
// Source.Margin is zero. huggingface_hub uses the same five minutes.
const DefaultMargin = 5 * time.Minute

// Bounds of the wait before retrying a failed refresh.
const (
	MinRetry = time.Second
	MaxRetry = time.Minute
)

// An Exchanger runs one exchange round for rs, as exchange.Client.Round does
// with an ID-token source bound to it.
type Exchanger func(ctx context.Context, rs []resource.Resource) ([]exchange.Result, error)

// IDToken tells what the Source needs to know of the ID token its exchanges
// send: when the current one expires (zero before the first), and whether
// the provider can mint another.
type IDToken interface {
	Expiry() time.Time
	CanMint() bool
}

// A Source hands out a token per resource and re-exchanges each one Margin
// before it expires, or at half its lifetime when Margin is longer than
// that. Where the provider cannot mint ID tokens (the Exchanger then reuses
// the one it has), Warning says early when that ID token will run out.
//
// A Source is safe for concurrent use; callers that find tokens due share
// one exchange. Its fields must not change after the first call.
type Source struct {
	Exchange  Exchanger
	Resources []resource.Resource
	Margin    time.Duration    // zero means DefaultMargin
	IDToken   IDToken          // nil: Warning never warns
	Now       func() time.Time // nil means time.Now

	once sync.Once
	sem  chan struct{} // held while exchanging; a channel so waiters can give up

	mu       sync.Mutex
	tokens   map[string]held // by resource name
	failures int             // consecutive failed refreshes
	retryAt  time.Time       // after a failure, when to try again
}

// held is a token and when it was obtained, which with its expiry gives its
// lifetime.
type held struct {
	tok exchange.Token
	got time.Time
}

// Seed hands the Source tokens obtained elsewhere (the first round a
// command prints the failure paragraph of, or the tokens a keeper inherits).
// Tokens for resources the Source does not know are ignored.
func (s *Source) Seed(toks ...exchange.Token) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range toks {
		if s.known(t.Resource) {
			s.setLocked(t, now)
		}
	}
}

// Tokens returns the tokens held, in resource order; a resource without a
// token is left out.
func (s *Source) Tokens() []exchange.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []exchange.Token
	for _, r := range s.Resources {
		if h, ok := s.tokens[r.Name]; ok {
			out = append(out, h.tok)
		}
	}
	return out
}

// Token returns the token for the resource named name, exchanging a new one
// when the held one is due. When that exchange fails, it returns the held
// token while it has not expired, and the error once it has.
func (s *Source) Token(ctx context.Context, name string) (exchange.Token, error) {
	r, ok := s.lookup(name)
	if !ok {
		return exchange.Token{}, fmt.Errorf("getting a token for %s: not one of the configured resources", name)
	}
	if t, ok := s.fresh(name); ok {
		return t, nil
	}
	if err := s.acquire(ctx); err != nil {
		return exchange.Token{}, err
	}
	defer s.release()
	// Another caller may have refreshed it while this one waited.
	if t, ok := s.fresh(name); ok {
		return t, nil
	}
	got, err := s.exchange(ctx, []resource.Resource{r})
	if err == nil && len(got) == 1 {
		return got[0], nil
	}
	s.mu.Lock()
	h, ok := s.tokens[name]
	s.mu.Unlock()
	if ok && s.now().Before(h.tok.ExpiresAt) {
		return h.tok, nil
	}
	return exchange.Token{}, err
}

// Refresh exchanges again, in one round, for every resource whose token is
// due (or that has none) or will be within half the margin, if any is due,
// and returns the new tokens. On a partial failure
// it keeps the new tokens, returns them with the error, and Next says when
// to retry the others.
func (s *Source) Refresh(ctx context.Context) ([]exchange.Token, error) {
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	// Tokens exchanged in one round expire microseconds apart: those due
	// soon go along with the due one, so that one round (one ID token)
	// refreshes them all.
	now := s.now()
	soon := now.Add(s.margin() / 2)
	var due []resource.Resource
	anyDue := false
	s.mu.Lock()
	for _, r := range s.Resources {
		h, ok := s.tokens[r.Name]
		if !ok || !now.Before(s.dueLocked(h)) {
			anyDue = true
		}
		if !ok || s.dueLocked(h).Before(soon) {
			due = append(due, r)
		}
	}
	s.mu.Unlock()
	if !anyDue {
		return nil, nil
	}
	return s.exchange(ctx, due)
}

// Next is when the next refresh is due: Margin before the first token
// expires, or when to retry after a failure. It is the zero time while some
// resource has no token and no retry is pending.
func (s *Source) Next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for i, r := range s.Resources {
		h, ok := s.tokens[r.Name]
		if !ok {
			next = time.Time{}
			break
		}
		if d := s.dueLocked(h); i == 0 || d.Before(next) {
			next = d
		}
	}
	if s.failures > 0 && s.retryAt.After(next) {
		return s.retryAt
	}
	return next
}

// An ExpiryWarning says that the ID token, which the provider cannot mint
// again, expires before the next refresh is due: after that the tokens can
// no longer be renewed.
type ExpiryWarning struct {
	IDTokenExpiry time.Time // when the ID token expires
	NextRefresh   time.Time // when the next refresh would be due
	TokensExpire  time.Time // when the first of the current tokens expires
}

func (w *ExpiryWarning) Error() string {
	return fmt.Sprintf("the ID token expires at %s, before the next refresh is due at %s, and the provider mints it only once per job: "+
		"the tokens cannot be renewed after that and stop working at %s",
		stamp(w.IDTokenExpiry), stamp(w.NextRefresh), stamp(w.TokensExpire))
}

// Warning returns an *ExpiryWarning when the provider cannot mint ID tokens
// and the current one expires at or before the next refresh; else nil.
func (s *Source) Warning() *ExpiryWarning {
	if s.IDToken == nil || s.IDToken.CanMint() {
		return nil
	}
	exp := s.IDToken.Expiry()
	next := s.Next()
	if exp.IsZero() || next.IsZero() || exp.After(next) {
		return nil
	}
	w := &ExpiryWarning{IDTokenExpiry: exp, NextRefresh: next}
	for _, t := range s.Tokens() {
		if w.TokensExpire.IsZero() || t.ExpiresAt.Before(w.TokensExpire) {
			w.TokensExpire = t.ExpiresAt
		}
	}
	return w
}

// Permanent reports whether err, from Refresh or Token, cannot go away by
// retrying: the ID token has expired and the provider cannot mint another.
func Permanent(err error) bool {
	var ee *idtoken.ExpiredError
	return errors.As(err, &ee) && !ee.CanMint
}

// exchange runs one round for rs; s.sem must be held.
func (s *Source) exchange(ctx context.Context, rs []resource.Resource) ([]exchange.Token, error) {
	results, err := s.Exchange(ctx, rs)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var got []exchange.Token
	for _, res := range results {
		if res.Err == nil && s.known(res.Resource.Name) {
			// The Exchanger may not set it; the resource it asked for is
			// the one the token is for.
			res.Token.Resource = res.Resource.Name
			s.setLocked(res.Token, now)
			got = append(got, res.Token)
		}
	}
	if err == nil && len(got) < len(rs) {
		err = errors.New("the exchange returned fewer tokens than resources")
	}
	if err != nil {
		s.failures++
		s.retryAt = now.Add(s.retryDelayLocked(rs, now))
		return got, err
	}
	s.failures, s.retryAt = 0, time.Time{}
	return got, nil
}

// retryDelayLocked waits a quarter of what is left of the failed tokens'
// lives, so that several retries fit before they expire, and backs off
// exponentially once they have.
func (s *Source) retryDelayLocked(failed []resource.Resource, now time.Time) time.Duration {
	var left time.Duration
	for _, r := range failed {
		if h, ok := s.tokens[r.Name]; ok {
			if l := h.tok.ExpiresAt.Sub(now); l > left {
				left = l
			}
		}
	}
	d := left / 4
	if left <= 0 {
		d = MinRetry << min(s.failures-1, 10)
	}
	return max(MinRetry, min(d, MaxRetry))
}

func (s *Source) fresh(name string) (exchange.Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.tokens[name]
	if !ok || !s.now().Before(s.dueLocked(h)) {
		return exchange.Token{}, false
	}
	return h.tok, true
}

// dueLocked is when h must be replaced: Margin before it expires, but not
// before half its lifetime, so that a Margin longer than the lifetime does
// not exchange in a loop.
func (s *Source) dueLocked(h held) time.Time {
	due := h.tok.ExpiresAt.Add(-s.margin())
	if half := h.got.Add(h.tok.ExpiresAt.Sub(h.got) / 2); due.Before(half) {
		return half
	}
	return due
}

func (s *Source) setLocked(t exchange.Token, now time.Time) {
	if s.tokens == nil {
		s.tokens = map[string]held{}
	}
	got := now
	if got.After(t.ExpiresAt) {
		got = t.ExpiresAt
	}
	s.tokens[t.Resource] = held{tok: t, got: got}
}

func (s *Source) known(name string) bool {
	_, ok := s.lookup(name)
	return ok
}

func (s *Source) lookup(name string) (resource.Resource, bool) {
	for _, r := range s.Resources {
		if r.Name == name {
			return r, true
		}
	}
	return resource.Resource{}, false
}

func (s *Source) acquire(ctx context.Context) error {
	s.once.Do(func() { s.sem = make(chan struct{}, 1) })
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Source) release() { <-s.sem }

func (s *Source) margin() time.Duration {
	if s.Margin <= 0 {
		return DefaultMargin
	}
	return s.Margin
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// stamp is a time as users read it in messages: RFC 3339, UTC, seconds.
func stamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
