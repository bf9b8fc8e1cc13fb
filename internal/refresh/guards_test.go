package refresh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// TestKeeperWriteCarriesOnlyItsOwnersWord: a Write without new tokens and
// without an error (a keeper that took over, before its first refresh)
// keeps what the previous writer of the same owner said, the last refresh
// and the last error included, and carries nothing over from another
// owner's status.
func TestKeeperWriteCarriesOnlyItsOwnersWord(t *testing.T) {
	t.Parallel()
	other := jobA
	other.Job = "GITHUB_RUN_ID=2"
	lastRefresh := epoch.Add(-time.Hour)
	lastErrorAt := epoch.Add(-time.Minute)
	tests := []struct {
		name      string
		writer    Owner
		wantCarry bool
	}{
		{"the same owner's status is carried over", jobA, true},
		{"another owner's status is not", other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := openTemp(t)
			prev := &Status{PID: 41, State: StateRunning, LastRefresh: lastRefresh, LastError: "hub down", LastErrorAt: lastErrorAt}
			prev.SetOwner(tt.writer)
			if err := d.WriteStatus(prev); err != nil {
				t.Fatal(err)
			}
			h := &hub{clock: newClock(), lifetime: time.Hour}
			k := &Keeper{Source: newSource(t, h, 5*time.Minute, "acme/model"), Dir: d, Status: Status{PID: 42}, Now: h.clock.Now}
			k.Status.SetOwner(jobA)
			if err := k.Write(nil, nil); err != nil {
				t.Fatal(err)
			}
			st, err := d.ReadStatus()
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCarry {
				if !st.LastRefresh.Equal(lastRefresh) || st.LastError != "hub down" || !st.LastErrorAt.Equal(lastErrorAt) {
					t.Errorf("the previous writer's word was lost: last refresh %s, last error %q at %s", st.LastRefresh, st.LastError, st.LastErrorAt)
				}
			} else if !st.LastRefresh.IsZero() || st.LastError != "" || !st.LastErrorAt.IsZero() {
				t.Errorf("another owner's word was carried over: last refresh %s, last error %q at %s", st.LastRefresh, st.LastError, st.LastErrorAt)
			}
		})
	}
}

// TestKeeperWriteReportsAFailedStatusWrite: a status file that cannot be
// written, with the directory still there, is an error, not ErrDirGone and
// not success.
func TestKeeperWriteReportsAFailedStatusWrite(t *testing.T) {
	t.Parallel()
	d := openTemp(t)
	// A directory where the status file goes: renaming over it fails.
	if err := os.MkdirAll(filepath.Join(d.Path, StatusFile, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	h := &hub{clock: newClock(), lifetime: time.Hour}
	k := &Keeper{Source: newSource(t, h, 5*time.Minute, "acme/model"), Dir: d, Status: Status{PID: 42}, Now: h.clock.Now}
	err := k.Write(nil, nil)
	if err == nil || errors.Is(err, ErrDirGone) {
		t.Errorf("Write = %v, want the status write's error", err)
	}
}

// runFailingAfterFirst runs a keeper whose first refresh succeeds and whose
// second fails, and returns what Refreshed heard, the tokens of the first
// refresh and the logs.
func runFailingAfterFirst(t *testing.T) (heard [][]exchange.Token, first []exchange.Token, logs []string) {
	t.Helper()
	f := newKeeper(t, time.Hour, 5*time.Minute, "acme/model")
	f.k.Refreshed = func(toks []exchange.Token) { heard = append(heard, toks) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.k.Sleep = func(ctx context.Context, d time.Duration) bool {
		f.h.clock.Advance(d)
		switch f.h.rounds.Load() {
		case 1:
			if first == nil {
				first = f.k.Source.Tokens()
			}
			f.h.fail = map[string]error{"acme/model": errors.New("hub down")}
		case 2:
			cancel()
		}
		return ctx.Err() == nil
	}
	if err := f.k.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return heard, first, f.logs
}

// TestKeeperRefreshedHearsOnlyOfNewTokens: Refreshed hears of a refresh
// that wrote tokens, and not of one that failed and wrote none.
func TestKeeperRefreshedHearsOnlyOfNewTokens(t *testing.T) {
	t.Parallel()
	heard, first, _ := runFailingAfterFirst(t)
	if len(heard) != 1 || len(heard[0]) != 1 || len(first) != 1 || heard[0][0] != first[0] {
		t.Errorf("Refreshed heard %v, want once, of %v", heard, first)
	}
}

// TestKeeperFailureLogSaysWhenTheTokensExpire: the log of a failed refresh
// names when the current tokens stop working.
func TestKeeperFailureLogSaysWhenTheTokensExpire(t *testing.T) {
	t.Parallel()
	_, first, logs := runFailingAfterFirst(t)
	if len(first) != 1 {
		t.Fatalf("first refresh: %v", first)
	}
	want := "the current tokens stay valid until " + stamp(first[0].ExpiresAt)
	if len(logs) != 1 || !strings.Contains(logs[0], want) {
		t.Errorf("logs %q, want one saying %q", logs, want)
	}
}

// TestKeeperPollDefault: a zero Poll means DefaultPoll, so that a keeper
// notices its directory going without spinning.
func TestKeeperPollDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		poll time.Duration
		want time.Duration
	}{
		{"zero means the default", 0, DefaultPoll},
		{"negative means the default", -time.Second, DefaultPoll},
		{"a set poll is used", time.Second, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newKeeper(t, time.Hour, 5*time.Minute, "acme/model")
			f.k.Poll = tt.poll
			f.k.Source.Seed(exchange.Token{Resource: "acme/model", AccessToken: "hf_jwt_x", ExpiresAt: epoch.Add(time.Hour)})
			var waited []time.Duration
			f.k.Sleep = func(ctx context.Context, d time.Duration) bool {
				waited = append(waited, d)
				return false
			}
			if err := f.k.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(waited) != 1 || waited[0] != tt.want {
				t.Errorf("waited %v, want [%s]", waited, tt.want)
			}
		})
	}
}

// TestHeldErrorNamesThePIDOnlyWhenKnown: the message names the holder's
// PID when the lock file gave one, and no "pid 0" when it did not.
func TestHeldErrorNamesThePIDOnlyWhenKnown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pid     int
		want    string
		notWant string
	}{
		{"known", 1234, "another hf-oidc process (pid 1234) keeps the tokens in /tok fresh", ""},
		{"unknown", 0, "another hf-oidc process keeps the tokens in /tok fresh", "pid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := (&HeldError{Dir: "/tok", PID: tt.pid}).Error()
			if msg != tt.want || (tt.notWant != "" && strings.Contains(msg, tt.notWant)) {
				t.Errorf("Error() = %q, want %q", msg, tt.want)
			}
		})
	}
}

// TestReleaseOfNoLockIsHarmless: Release and HandOff on a nil Lock, or
// twice, do nothing, so that deferred releases on every path are safe.
func TestReleaseOfNoLockIsHarmless(t *testing.T) {
	t.Parallel()
	var none *Lock
	none.Release()
	none.HandOff()
	d := openTemp(t)
	l, err := d.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	l.Release()
	if _, held := d.Holder(); held {
		t.Error("held after Release")
	}
}

// TestHolderIgnoresANonPositivePID: a lock file that holds no PID, zero or
// a negative number names no holder, so that --stop never signals a
// process group or every process.
func TestHolderIgnoresANonPositivePID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		contents string
		want     int
	}{
		{"a negative number", "-5\n", 0},
		{"minus one", "-1\n", 0},
		{"zero", "0\n", 0},
		{"not a number", "keeper\n", 0},
		{"a PID", "1234\n", 1234},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := openTemp(t)
			l, err := d.TryLock()
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			if err := os.WriteFile(filepath.Join(d.Path, LockFile), []byte(tt.contents), 0o600); err != nil {
				t.Fatal(err)
			}
			if pid, held := d.Holder(); !held || pid != tt.want {
				t.Errorf("Holder = %d, %v, want %d, true", pid, held, tt.want)
			}
			var he *HeldError
			if _, err := d.TryLock(); !errors.As(err, &he) || he.PID != tt.want {
				t.Errorf("second TryLock = %v, want a HeldError naming PID %d", err, tt.want)
			}
		})
	}
}

// TestSourceTokenNeverHandsOutAnotherResourcesToken: Token for one
// resource returns that resource's token, whatever else the Exchanger
// answers: other resources' tokens first, or only another's with an error.
func TestSourceTokenNeverHandsOutAnotherResourcesToken(t *testing.T) {
	t.Parallel()
	other := func(n int) exchange.Token {
		return exchange.Token{Resource: "datasets/acme/data", AccessToken: "hf_jwt_other_" + strconv.Itoa(n), ExpiresAt: epoch.Add(time.Hour)}
	}
	tests := []struct {
		name    string
		seed    *exchange.Token // the held token of acme/model, due but valid
		answer  func(rs []resource.Resource) ([]exchange.Result, error)
		want    string
		wantErr bool
	}{
		{
			name: "the other resource's token comes first",
			answer: func(rs []resource.Resource) ([]exchange.Result, error) {
				all := resources(t, "acme/model", "datasets/acme/data")
				return []exchange.Result{
					{Resource: all[1], Token: other(1)},
					{Resource: all[0], Token: exchange.Token{AccessToken: "hf_jwt_model_new", ExpiresAt: epoch.Add(time.Hour)}},
				}, nil
			},
			want: "hf_jwt_model_new",
		},
		{
			name: "only the other resource's token, with an error",
			seed: &exchange.Token{Resource: "acme/model", AccessToken: "hf_jwt_model_held", ExpiresAt: epoch.Add(2 * time.Minute)},
			answer: func(rs []resource.Resource) ([]exchange.Result, error) {
				all := resources(t, "acme/model", "datasets/acme/data")
				return []exchange.Result{{Resource: all[1], Token: other(2)}}, errors.New("hub down")
			},
			want: "hf_jwt_model_held",
		},
		{
			name: "only the other resource's token, with an error, nothing held",
			answer: func(rs []resource.Resource) ([]exchange.Result, error) {
				all := resources(t, "acme/model", "datasets/acme/data")
				return []exchange.Result{{Resource: all[1], Token: other(3)}}, errors.New("hub down")
			},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			s := &Source{
				Exchange: func(_ context.Context, rs []resource.Resource) ([]exchange.Result, error) {
					return tt.answer(rs)
				},
				Resources: resources(t, "acme/model", "datasets/acme/data"),
				Margin:    5 * time.Minute,
				Now:       c.Now,
			}
			if tt.seed != nil {
				s.Seed(*tt.seed)
			}
			tok, err := s.Token(context.Background(), "acme/model")
			if tt.wantErr {
				if err == nil || tok.AccessToken != "" {
					t.Errorf("Token = %+v, %v, want an error and no token", tok, err)
				}
				return
			}
			if err != nil || tok.AccessToken != tt.want || tok.Resource != "acme/model" {
				t.Errorf("Token = %+v, %v, want %s for acme/model", tok, err, tt.want)
			}
		})
	}
}
