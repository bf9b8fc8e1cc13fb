package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable time for both sides of every edge.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// minter hands out tokens expiring lifetime after the clock's now, each with
// a distinct jti so tests can tell them apart.
type minter struct {
	canMint  bool
	lifetime time.Duration
	clock    *clock
	raw      string // if set, returned as is
	err      error
	gate     chan struct{} // if set, IDToken waits for it
	entered  chan struct{} // if set, IDToken signals it first
	calls    atomic.Int32
	audience atomic.Value
}

func (m *minter) CanMint() bool { return m.canMint }

func (m *minter) IDToken(ctx context.Context, audience string) (string, error) {
	n := m.calls.Add(1)
	m.audience.Store(audience)
	if m.entered != nil {
		m.entered <- struct{}{}
	}
	if m.gate != nil {
		<-m.gate
	}
	if m.err != nil {
		return "", m.err
	}
	if m.raw != "" {
		return m.raw, nil
	}
	exp := m.clock.Now().Add(m.lifetime)
	return jwt(fmt.Sprintf(`{"iss":"https://issuer.example","sub":"job","aud":%q,"exp":%d,"jti":%d}`,
		audience, exp.Unix(), n)), nil
}

func expJWT(exp time.Time) string { return jwt(fmt.Sprintf(`{"exp":%d}`, exp.Unix())) }

func jti(t *Token) string { return t.Claims["jti"].(json.Number).String() }

func TestSourceMargin(t *testing.T) {
	t.Parallel()
	const lifetime = 5 * time.Minute
	tests := []struct {
		name    string
		canMint bool
		margin  time.Duration
		elapsed time.Duration // since the first mint
		want    string        // jti of the token returned second
		wantErr bool
	}{
		{"can mint, outside default margin", true, 0, lifetime - DefaultMargin - time.Second, "1", false},
		{"can mint, at default margin", true, 0, lifetime - DefaultMargin, "2", false},
		{"can mint, 1ns outside margin", true, time.Minute, lifetime - time.Minute - time.Nanosecond, "1", false},
		{"can mint, at custom margin", true, time.Minute, lifetime - time.Minute, "2", false},
		{"can mint, after expiry", true, 0, lifetime + time.Hour, "2", false},
		{"cannot mint, inside margin", false, 0, lifetime - time.Second, "1", false},
		{"cannot mint, 1ns before expiry", false, 0, lifetime - time.Nanosecond, "1", false},
		{"cannot mint, at expiry", false, 0, lifetime, "", true},
		{"cannot mint, after expiry", false, 0, lifetime + time.Hour, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{now: epoch}
			m := &minter{canMint: tt.canMint, lifetime: lifetime, clock: clk}
			s := &Source{Minter: m, Audience: "https://huggingface.co", Margin: tt.margin, Now: clk.Now}
			if !s.Expiry().IsZero() {
				t.Error("Expiry before the first token is not zero")
			}
			first, err := s.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := m.audience.Load(); got != "https://huggingface.co" {
				t.Errorf("minted for audience %v", got)
			}
			if want := epoch.Add(lifetime); !s.Expiry().Equal(want) {
				t.Errorf("Expiry = %v, want %v", s.Expiry(), want)
			}
			clk.Set(epoch.Add(tt.elapsed))
			second, err := s.Token(t.Context())
			if tt.wantErr {
				var ee *ExpiredError
				if !errors.As(err, &ee) {
					t.Fatalf("err = %v, want *ExpiredError", err)
				}
				if ee.CanMint || !ee.Expiry.Equal(first.Expiry) {
					t.Errorf("ExpiredError = %+v", ee)
				}
				if !strings.Contains(err.Error(), "expired at 2026-01-02T03:09:05Z and cannot be re-minted in this job") {
					t.Errorf("message: %v", err)
				}
				if m.calls.Load() != 1 {
					t.Errorf("minted %d times, want 1", m.calls.Load())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := jti(second); got != tt.want {
				t.Errorf("second token is #%s, want #%s", got, tt.want)
			}
			if want := tt.want == "2"; want != (m.calls.Load() == 2) {
				t.Errorf("minted %d times", m.calls.Load())
			}
		})
	}
}

func TestSourceErrors(t *testing.T) {
	t.Parallel()
	clk := &clock{now: epoch}
	boom := errors.New("no id-token permission")
	tests := []struct {
		name  string
		m     *minter
		check func(t *testing.T, err error)
	}{
		{"minter fails", &minter{canMint: true, err: boom}, func(t *testing.T, err error) {
			if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "getting ID token: ") {
				t.Errorf("err = %v", err)
			}
		}},
		{"not a JWT", &minter{canMint: true, raw: "not-a-jwt-but-a-secret"}, func(t *testing.T, err error) {
			if !strings.HasPrefix(err.Error(), "reading ID token: not a JWT") {
				t.Errorf("err = %v", err)
			}
			assertNoLeak(t, err.Error(), "not-a-jwt-but-a-secret")
		}},
		{"given token already expired", &minter{canMint: false, raw: expJWT(epoch.Add(-time.Second))}, func(t *testing.T, err error) {
			var ee *ExpiredError
			if !errors.As(err, &ee) || ee.CanMint {
				t.Errorf("err = %v, want *ExpiredError that cannot mint", err)
			}
		}},
		{"fresh token already expired", &minter{canMint: true, raw: expJWT(epoch)}, func(t *testing.T, err error) {
			var ee *ExpiredError
			if !errors.As(err, &ee) || !ee.CanMint || !strings.Contains(err.Error(), "check this machine's clock") {
				t.Errorf("err = %v, want *ExpiredError that can mint", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Source{Minter: tt.m, Now: clk.Now}
			tok, err := s.Token(t.Context())
			if err == nil {
				t.Fatalf("Token succeeded: %v", tok)
			}
			tt.check(t, err)
			if !s.Expiry().IsZero() {
				t.Error("a failed token was cached")
			}
		})
	}
}

// The token given at job start is used when it is 1s from expiry but
// unexpired: the other side of "given token already expired".
func TestSourceGivenTokenNearExpiry(t *testing.T) {
	t.Parallel()
	clk := &clock{now: epoch}
	s := &Source{Minter: &minter{raw: expJWT(epoch.Add(time.Second))}, Now: clk.Now}
	if _, err := s.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestSourceConcurrentCallersShareOneMint(t *testing.T) {
	t.Parallel()
	const n = 32
	clk := &clock{now: epoch}
	m := &minter{canMint: true, lifetime: time.Hour, clock: clk, gate: make(chan struct{}), entered: make(chan struct{}, n)}
	s := &Source{Minter: m, Now: clk.Now}

	var started, done sync.WaitGroup
	started.Add(n)
	toks := make([]*Token, n)
	errs := make([]error, n)
	for i := range n {
		done.Go(func() {
			started.Done()
			toks[i], errs[i] = s.Token(t.Context())
		})
	}
	started.Wait()
	<-m.entered
	// Give the others time to queue behind the mint in progress; a Source
	// that did not share would mint again meanwhile.
	time.Sleep(20 * time.Millisecond)
	close(m.gate)
	done.Wait()

	if got := m.calls.Load(); got != 1 {
		t.Errorf("minted %d times, want 1", got)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if toks[i] != toks[0] {
			t.Errorf("caller %d got a different token", i)
		}
	}
}

func TestSourceWaiterGivesUp(t *testing.T) {
	t.Parallel()
	clk := &clock{now: epoch}
	m := &minter{canMint: true, lifetime: time.Hour, clock: clk, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := &Source{Minter: m, Now: clk.Now}
	first := make(chan error)
	go func() {
		_, err := s.Token(t.Context())
		first <- err
	}()
	<-m.entered

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter err = %v, want context.Canceled", err)
	}
	close(m.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// namedMinter is a minter with a provider's name, as plugins.Provider has.
type namedMinter struct{ minter }

func (*namedMinter) Name() string { return "gitlab" }

// TestSourceMalformed: a token the job handed over (a variable, a file) that
// is no JWT is the job's setup to fix, a *plugins.SetupError, which the CLI
// reports as bad input; one a provider just minted is its own failure. The
// error never holds the token.
func TestSourceMalformed(t *testing.T) {
	t.Parallel()
	const raw = "eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24tYnV0LXNlY3JldA.c2lnbmF0dXJl"
	for _, tt := range []struct {
		name      string
		m         Minter
		wantSetup bool
	}{
		{"handed over", &namedMinter{minter{raw: raw}}, true},
		{"minted", &namedMinter{minter{raw: raw, canMint: true}}, false},
		{"no name", &minter{raw: raw}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Source{Minter: tt.m, Now: (&clock{now: epoch}).Now}
			tok, err := s.Token(context.Background())
			if err == nil {
				t.Fatalf("Token = %v", tok)
			}
			var setup *plugins.SetupError
			if errors.As(err, &setup) != tt.wantSetup {
				t.Fatalf("error %T %v: setup error %v, want %v", err, err, !tt.wantSetup, tt.wantSetup)
			}
			if tt.wantSetup && (setup.Provider != "gitlab" || !strings.Contains(setup.Problem, "payload is not valid JSON") || !strings.Contains(setup.Fix, "three base64url parts")) {
				t.Errorf("setup error %+v", setup)
			}
			if !strings.Contains(err.Error(), "not valid JSON") {
				t.Errorf("error %q does not say what is wrong", err)
			}
			for _, p := range strings.Split(raw, ".") {
				if strings.Contains(err.Error(), p) || tt.wantSetup && strings.Contains(setup.Fix, p) {
					t.Errorf("error quotes the token: %v", err)
				}
			}
		})
	}
}
