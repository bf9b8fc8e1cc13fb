package idtoken

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins"
)

// DefaultMargin is how long before its expiry a token stops being reused
// when Source.Margin is zero: it covers the exchange's round trip and some
// clock difference between the runner and the Hub.
const DefaultMargin = 60 * time.Second

// A Minter hands out ID tokens; plugins.Provider is one.
type Minter interface {
	IDToken(ctx context.Context, audience string) (string, error)
	CanMint() bool
}

// A Source gets ID tokens from a Minter and reuses one while it is valid for
// longer than Margin. Where the Minter cannot mint (the provider hands out
// one token per job), it reuses that token until it expires.
//
// A Source is safe for concurrent use; concurrent callers that need a new
// token share one call to the Minter. Its fields must not change after the
// first call to Token.
type Source struct {
	Minter   Minter
	Audience string
	Margin   time.Duration    // zero means DefaultMargin
	Now      func() time.Time // nil means time.Now

	once sync.Once
	sem  chan struct{} // held while minting; a channel so waiters can give up
	tok  atomic.Pointer[Token]
}

// An ExpiredError says the ID token has expired and no fresh one can be had.
type ExpiredError struct {
	Expiry  time.Time
	CanMint bool // whether the provider mints on demand
}

func (e *ExpiredError) Error() string {
	at := e.Expiry.UTC().Format(time.RFC3339)
	if e.CanMint {
		return fmt.Sprintf("the provider's freshly minted ID token expired at %s already; check this machine's clock", at)
	}
	return fmt.Sprintf("the provider's ID token expired at %s and cannot be re-minted in this job: it is minted once at job start", at)
}

// Token returns an ID token that is valid now: the cached one while it is
// valid for longer than Margin, else a fresh one where the Minter can mint,
// else the cached one until it expires, and then an *ExpiredError.
func (s *Source) Token(ctx context.Context) (*Token, error) {
	if t := s.tok.Load(); t != nil && s.fresh(t) {
		return t, nil
	}
	s.once.Do(func() { s.sem = make(chan struct{}, 1) })
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()

	// Another caller may have minted while this one waited.
	cached := s.tok.Load()
	if cached != nil && s.fresh(cached) {
		return cached, nil
	}
	canMint := s.Minter.CanMint()
	if cached != nil && !canMint {
		if s.now().Before(cached.Expiry) {
			return cached, nil
		}
		return nil, &ExpiredError{Expiry: cached.Expiry, CanMint: false}
	}

	raw, err := s.Minter.IDToken(ctx, s.Audience)
	if err != nil {
		return nil, fmt.Errorf("getting ID token: %w", err)
	}
	t, err := Parse(raw)
	if err != nil {
		return nil, malformed(s.Minter, canMint, err)
	}
	if !s.now().Before(t.Expiry) {
		return nil, &ExpiredError{Expiry: t.Expiry, CanMint: canMint}
	}
	s.tok.Store(t)
	return t, nil
}

// Expiry is when the current token expires; zero before the first token.
func (s *Source) Expiry() time.Time {
	if t := s.tok.Load(); t != nil {
		return t.Expiry
	}
	return time.Time{}
}

func (s *Source) fresh(t *Token) bool {
	m := s.Margin
	if m == 0 {
		m = DefaultMargin
	}
	return t.Expiry.Sub(s.now()) > m
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// malformed is the error for a token that Parse refused. A provider that
// hands back the token it was given (a variable, a file) passes on the
// job's own input, so that is a setup error, which the CLI reports as bad
// input (exit 2) with what to fix; a token a provider minted just now is
// the provider's failure.
func malformed(m Minter, canMint bool, err error) error {
	named, ok := m.(interface{ Name() string })
	if canMint || !ok {
		return fmt.Errorf("reading ID token: %w", err)
	}
	return &plugins.SetupError{
		Provider: named.Name(),
		Problem:  "the ID token it holds is unusable: " + err.Error(),
		Fix:      "Pass the ID token on unchanged: " + Expected + ".",
	}
}
