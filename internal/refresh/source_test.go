package refresh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable time for both sides of every edge.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: epoch} }

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// hub is a fake Exchanger: tokens named after the resource and a serial
// number, living lifetime from the clock's now.
type hub struct {
	clock    *clock
	lifetime time.Duration
	fail     map[string]error // by resource: that resource's exchange fails
	roundErr error            // the whole round fails, as when no ID token can be had
	gate     chan struct{}    // if set, each round waits for it
	rounds   atomic.Int32
	issued   atomic.Int32
	mu       sync.Mutex
	asked    [][]string // resources of each round
}

func (h *hub) Exchange(ctx context.Context, rs []resource.Resource) ([]exchange.Result, error) {
	h.rounds.Add(1)
	if h.gate != nil {
		<-h.gate
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	h.mu.Lock()
	h.asked = append(h.asked, names)
	h.mu.Unlock()
	if h.roundErr != nil {
		return nil, h.roundErr
	}
	var errs []error
	results := make([]exchange.Result, len(rs))
	for i, r := range rs {
		if err := h.fail[r.Name]; err != nil {
			results[i] = exchange.Result{Resource: r, Err: err}
			errs = append(errs, err)
			continue
		}
		n := h.issued.Add(1)
		results[i] = exchange.Result{Resource: r, Token: exchange.Token{
			Resource:    r.Name,
			AccessToken: fmt.Sprintf("hf_jwt_%s_%d", strings.ReplaceAll(r.Name, "/", "_"), n),
			ExpiresAt:   h.clock.Now().Add(h.lifetime),
		}}
	}
	return results, errors.Join(errs...)
}

func resources(t testing.TB, names ...string) []resource.Resource {
	t.Helper()
	rs, err := resource.ParseList(names)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func newSource(t testing.TB, h *hub, margin time.Duration, names ...string) *Source {
	return &Source{Exchange: h.Exchange, Resources: resources(t, names...), Margin: margin, Now: h.clock.Now}
}

// TestSourceMargin probes both sides of the refresh edge.
func TestSourceMargin(t *testing.T) {
	t.Parallel()
	const lifetime = time.Hour
	tests := []struct {
		name    string
		margin  time.Duration
		elapsed time.Duration // after the first exchange
		refresh bool
	}{
		{"default margin, 1ns before", 0, lifetime - DefaultMargin - time.Nanosecond, false},
		{"default margin, at it", 0, lifetime - DefaultMargin, true},
		{"custom margin, 1ns before", time.Minute, lifetime - time.Minute - time.Nanosecond, false},
		{"custom margin, at it", time.Minute, lifetime - time.Minute, true},
		{"expired", time.Minute, lifetime + time.Second, true},
		// A margin longer than the lifetime refreshes at half-life, not in
		// a loop.
		{"huge margin, 1ns before half-life", 2 * time.Hour, lifetime/2 - time.Nanosecond, false},
		{"huge margin, at half-life", 2 * time.Hour, lifetime / 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &hub{clock: newClock(), lifetime: lifetime}
			s := newSource(t, h, tt.margin, "acme/model")
			first, err := s.Token(context.Background(), "acme/model")
			if err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(tt.elapsed)
			second, err := s.Token(context.Background(), "acme/model")
			if err != nil {
				t.Fatal(err)
			}
			if got := second.AccessToken != first.AccessToken; got != tt.refresh {
				t.Errorf("refreshed = %v, want %v (rounds %d)", got, tt.refresh, h.rounds.Load())
			}
			// Next says the same as Token did.
			want := epoch.Add(lifetime - max(tt.margin, 0))
			if tt.margin == 0 {
				want = epoch.Add(lifetime - DefaultMargin)
			}
			if tt.margin > lifetime {
				want = epoch.Add(lifetime / 2)
			}
			if !tt.refresh {
				if got := s.Next(); !got.Equal(want) {
					t.Errorf("Next = %s, want %s", got, want)
				}
			}
		})
	}
}

func TestSourceRefreshOnlyDue(t *testing.T) {
	t.Parallel()
	h := &hub{clock: newClock(), lifetime: time.Hour}
	s := newSource(t, h, 5*time.Minute, "acme/a", "datasets/acme/b", "acme-bot")
	if !s.Next().IsZero() {
		t.Fatalf("Next before any token = %s, want now (zero)", s.Next())
	}
	toks, err := s.Refresh(context.Background())
	if err != nil || len(toks) != 3 {
		t.Fatalf("first Refresh = %d tokens, %v", len(toks), err)
	}
	if n := h.rounds.Load(); n != 1 {
		t.Fatalf("%d rounds for three resources, want 1", n)
	}
	// Nothing is due: no round.
	h.clock.Advance(54 * time.Minute)
	if toks, err := s.Refresh(context.Background()); len(toks) != 0 || err != nil || h.rounds.Load() != 1 {
		t.Fatalf("Refresh before the margin = %d tokens, %v, %d rounds", len(toks), err, h.rounds.Load())
	}
	// One token refreshed alone (Token) moves out of step; Refresh then
	// asks only for the due ones.
	h.clock.Advance(time.Minute)
	if _, err := s.Token(context.Background(), "acme-bot"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	toks, err = s.Refresh(context.Background())
	if err != nil || len(toks) != 2 {
		t.Fatalf("Refresh = %d tokens, %v; want the two due", len(toks), err)
	}
	if got := fmt.Sprint(h.asked[len(h.asked)-1]); got != "[acme/a datasets/acme/b]" {
		t.Errorf("last round asked for %s", got)
	}
	if got := s.Tokens(); len(got) != 3 || got[0].Resource != "acme/a" || got[2].Resource != "acme-bot" {
		t.Errorf("Tokens = %v, want all three in order", got)
	}
}

// TestSourceRefreshTogether: tokens of one round expire microseconds apart;
// one refresh round takes them all.
func TestSourceRefreshTogether(t *testing.T) {
	t.Parallel()
	h := &hub{clock: newClock(), lifetime: time.Hour}
	s := newSource(t, h, 5*time.Minute, "acme/a", "acme/b", "acme/c")
	s.Seed(
		exchange.Token{Resource: "acme/a", AccessToken: "hf_a", ExpiresAt: epoch.Add(time.Hour)},
		exchange.Token{Resource: "acme/b", AccessToken: "hf_b", ExpiresAt: epoch.Add(time.Hour + time.Microsecond)},
		exchange.Token{Resource: "acme/c", AccessToken: "hf_c", ExpiresAt: epoch.Add(time.Hour + 3*time.Minute)},
	)
	h.clock.Set(s.Next().Add(-time.Nanosecond))
	if toks, _ := s.Refresh(context.Background()); len(toks) != 0 {
		t.Fatalf("refreshed %d tokens before any was due", len(toks))
	}
	h.clock.Set(s.Next())
	toks, err := s.Refresh(context.Background())
	if err != nil || len(toks) != 2 || h.rounds.Load() != 1 {
		t.Fatalf("Refresh at the first due time = %v, %v in %d rounds; want acme/a and acme/b in one", toks, err, h.rounds.Load())
	}
	// acme/c, due 3 minutes later, is more than half the margin away.
	if got := s.Next(); !got.Equal(epoch.Add(time.Hour - 2*time.Minute)) {
		t.Errorf("Next = %s, want acme/c's due time", got.Sub(epoch))
	}
}

func TestSourceConcurrentShareOneRound(t *testing.T) {
	t.Parallel()
	h := &hub{clock: newClock(), lifetime: time.Hour, gate: make(chan struct{})}
	s := newSource(t, h, 0, "acme/model")
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Go(func() {
			tok, err := s.Token(context.Background(), "acme/model")
			if err != nil {
				t.Error(err)
			}
			got[i] = tok.AccessToken
		})
	}
	// Let the first round through once every caller is waiting on it.
	for h.rounds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(h.gate)
	wg.Wait()
	if n := h.rounds.Load(); n != 1 {
		t.Errorf("%d rounds for 20 concurrent callers, want 1", n)
	}
	for _, tok := range got {
		if tok != got[0] {
			t.Fatalf("callers got different tokens")
		}
	}
}

func TestSourceTokenCanceledWhileWaiting(t *testing.T) {
	t.Parallel()
	h := &hub{clock: newClock(), lifetime: time.Hour, gate: make(chan struct{})}
	s := newSource(t, h, 0, "acme/model")
	go s.Token(context.Background(), "acme/model")
	for h.rounds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Token(ctx, "acme/model"); !errors.Is(err, context.Canceled) {
		t.Errorf("Token with a canceled context while another exchanges = %v", err)
	}
	close(h.gate)
}

// TestSourceFailure: a failed refresh keeps the held token until it
// expires, retries at a quarter of what is left, then backs off.
func TestSourceFailure(t *testing.T) {
	t.Parallel()
	h := &hub{clock: newClock(), lifetime: time.Hour}
	s := newSource(t, h, 5*time.Minute, "acme/a", "acme/b")
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := s.Tokens()
	down := errors.New("hub down")
	h.fail = map[string]error{"acme/b": down}
	h.clock.Set(epoch.Add(55 * time.Minute))
	toks, err := s.Refresh(context.Background())
	if !errors.Is(err, down) || len(toks) != 1 || toks[0].Resource != "acme/a" {
		t.Fatalf("partial failure: %v, %v", toks, err)
	}
	// acme/b's token has 5 minutes left: retry in a quarter, capped.
	if got, want := s.Next(), h.clock.Now().Add(MaxRetry); !got.Equal(want) {
		t.Errorf("Next after a failure = %s, want %s", got, want)
	}
	// Token still hands out the held, unexpired token.
	tok, err := s.Token(context.Background(), "acme/b")
	if err != nil || tok.AccessToken != first[1].AccessToken {
		t.Errorf("Token while the hub is down = %v, %v; want the held token", tok, err)
	}
	// One second before expiry: a quarter is less than MinRetry.
	h.clock.Set(epoch.Add(time.Hour - 2*time.Second))
	s.Refresh(context.Background())
	if got, want := s.Next(), h.clock.Now().Add(MinRetry); !got.Equal(want) {
		t.Errorf("Next near expiry = %s, want %s", got, want)
	}
	// Expired: Token fails, and retries back off.
	h.clock.Set(epoch.Add(time.Hour))
	if _, err := s.Token(context.Background(), "acme/b"); !errors.Is(err, down) {
		t.Errorf("Token after expiry = %v, want the failure", err)
	}
	var waits []time.Duration
	for range 8 {
		s.Refresh(context.Background())
		waits = append(waits, s.Next().Sub(h.clock.Now()))
	}
	// Four failures came before: the fifth waits 1s<<4.
	if fmt.Sprint(waits) != "[16s 32s 1m0s 1m0s 1m0s 1m0s 1m0s 1m0s]" {
		t.Errorf("back-off after expiry: %v", waits)
	}
	// Recovery: the schedule is the margin again, here acme/a's, which was
	// refreshed at 55 minutes.
	h.fail = nil
	if _, err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Next(), epoch.Add(110*time.Minute); !got.Equal(want) {
		t.Errorf("Next after recovery = %s, want %s", got, want)
	}
}

func TestSourceUnknownResource(t *testing.T) {
	t.Parallel()
	h := &hub{clock: newClock(), lifetime: time.Hour}
	s := newSource(t, h, 0, "acme/model")
	if _, err := s.Token(context.Background(), "acme/other"); err == nil || !strings.Contains(err.Error(), "acme/other") {
		t.Errorf("Token(unknown) = %v", err)
	}
	s.Seed(exchange.Token{Resource: "acme/other", AccessToken: "hf_x", ExpiresAt: epoch.Add(time.Hour)})
	if len(s.Tokens()) != 0 {
		t.Errorf("Seed kept a token of an unknown resource")
	}
}

type idInfo struct {
	expiry  time.Time
	canMint bool
}

func (i idInfo) Expiry() time.Time { return i.expiry }
func (i idInfo) CanMint() bool     { return i.canMint }

// TestSourceWarning: an ID token that cannot be re-minted is reported when
// it expires at or before the next refresh, not after.
func TestSourceWarning(t *testing.T) {
	t.Parallel()
	next := epoch.Add(55 * time.Minute)
	tests := []struct {
		name string
		id   IDToken
		want bool
	}{
		{"can mint", idInfo{epoch.Add(time.Minute), true}, false},
		{"expires after the next refresh", idInfo{next.Add(time.Second), false}, false},
		{"expires at the next refresh", idInfo{next, false}, true},
		{"expires before", idInfo{epoch.Add(10 * time.Minute), false}, true},
		{"not known yet", idInfo{time.Time{}, false}, false},
		{"no ID token info", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &hub{clock: newClock(), lifetime: time.Hour}
			s := newSource(t, h, 5*time.Minute, "acme/model")
			s.IDToken = tt.id
			if _, err := s.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			w := s.Warning()
			if (w != nil) != tt.want {
				t.Fatalf("Warning = %v, want one: %v", w, tt.want)
			}
			if w == nil {
				return
			}
			msg := w.Error()
			for _, want := range []string{
				"expires at " + stamp(tt.id.Expiry()),
				"next refresh is due at " + stamp(next),
				"only once per job",
				"stop working at " + stamp(epoch.Add(time.Hour)),
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("warning %q lacks %q", msg, want)
				}
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("getting an ID token: %w", &idtoken.ExpiredError{CanMint: false}), true},
		{&idtoken.ExpiredError{CanMint: true}, false},
		{errors.New("hub down"), false},
		{nil, false},
	} {
		if got := Permanent(tt.err); got != tt.want {
			t.Errorf("Permanent(%v) = %v", tt.err, got)
		}
	}
}
