package refresh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
)

// keeperFixture runs a Keeper in virtual time: each Sleep moves the clock.
type keeperFixture struct {
	h    *hub
	dir  *Dir
	k    *Keeper
	logs []string
	mu   sync.Mutex
}

func newKeeper(t *testing.T, lifetime, margin time.Duration, names ...string) *keeperFixture {
	t.Helper()
	dir, err := OpenDir(filepath.Join(t.TempDir(), "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	f := &keeperFixture{h: &hub{clock: newClock(), lifetime: lifetime}, dir: dir}
	f.k = &Keeper{
		Source: newSource(t, f.h, margin, names...),
		Dir:    dir,
		Status: Status{PID: 42, Provider: "test", Endpoint: "https://hub.example"},
		Poll:   time.Minute,
		Now:    f.h.clock.Now,
		Log: func(msg string) {
			f.mu.Lock()
			f.logs = append(f.logs, msg)
			f.mu.Unlock()
		},
	}
	return f
}

// TestKeeperKeepsFilesValid runs a keeper for ten virtual hours: at every
// moment it wakes, every file holds a token that is still valid, and it
// exchanges once per lifetime minus margin.
func TestKeeperKeepsFilesValid(t *testing.T) {
	t.Parallel()
	f := newKeeper(t, time.Hour, 5*time.Minute, "acme/model", "datasets/acme/data")
	expiry := map[string]time.Time{}
	var mu sync.Mutex
	f.k.Fresh = func(tok exchange.Token) {
		mu.Lock()
		expiry[tok.AccessToken] = tok.ExpiresAt
		mu.Unlock()
	}
	// The first round, as the commands do it before Run.
	toks, err := f.k.Source.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.k.Write(toks, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	checks := 0
	f.k.Sleep = func(ctx context.Context, d time.Duration) bool {
		f.h.clock.Advance(d)
		for _, name := range []string{"acme/model", "datasets/acme/data"} {
			b, err := os.ReadFile(f.dir.File(name))
			if err != nil {
				t.Fatalf("at %s: %v", f.h.clock.Now().Sub(epoch), err)
			}
			mu.Lock()
			exp, ok := expiry[string(b)]
			mu.Unlock()
			if !ok || !f.h.clock.Now().Before(exp) {
				t.Fatalf("at %s the file of %s holds a token that expired at %s", f.h.clock.Now().Sub(epoch), name, exp.Sub(epoch))
			}
		}
		checks++
		if f.h.clock.Now().Sub(epoch) >= 10*time.Hour {
			cancel()
		}
		return ctx.Err() == nil
	}
	if err := f.k.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil when its context ends", err)
	}
	// 10 h / 55 min: the first round and ten refreshes.
	if n := f.h.rounds.Load(); n != 11 {
		t.Errorf("%d rounds in 10 hours, want 11", n)
	}
	if checks < 100 {
		t.Errorf("only %d checks", checks)
	}
	st, err := f.dir.ReadStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateRunning || st.PID != 42 || st.LastRefresh.IsZero() || !st.NextRefresh.After(st.LastRefresh) || len(st.Tokens) != 2 {
		t.Errorf("status: %+v", st)
	}
	if st.Tokens[1].File != f.dir.File("datasets/acme/data") || st.Tokens[1].Env != "HF_TOKEN_DATASETS_ACME_DATA" {
		t.Errorf("status token: %+v", st.Tokens[1])
	}
	assertNoTokenIn(t, f.dir, f.k.Source.Tokens())
}

func assertNoTokenIn(t *testing.T, d *Dir, toks []exchange.Token) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d.Path, StatusFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if strings.Contains(string(b), tok.AccessToken) {
			t.Errorf("the status file holds a token")
		}
	}
}

func TestKeeperStopsWhenDirGoes(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"removed", "replaced"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			f := newKeeper(t, time.Hour, 5*time.Minute, "acme/model")
			f.k.Sleep = func(ctx context.Context, d time.Duration) bool {
				f.h.clock.Advance(d)
				if f.h.rounds.Load() == 2 {
					os.RemoveAll(f.dir.Path)
					if how == "replaced" {
						os.Mkdir(f.dir.Path, 0o700)
					}
				}
				return true
			}
			if err := f.k.Run(context.Background()); !errors.Is(err, ErrDirGone) {
				t.Fatalf("Run = %v, want ErrDirGone", err)
			}
			if how == "replaced" {
				if ents, _ := os.ReadDir(f.dir.Path); len(ents) != 0 {
					t.Errorf("the keeper wrote into the new directory: %v", ents)
				}
			}
		})
	}
}

// TestKeeperIDTokenRunsOut: the warning comes at the first write, the
// refresh after the ID token's expiry fails for good, and the status says
// so.
func TestKeeperIDTokenRunsOut(t *testing.T) {
	t.Parallel()
	f := newKeeper(t, time.Hour, 5*time.Minute, "acme/model")
	idExpiry := epoch.Add(30 * time.Minute)
	f.k.Source.IDToken = idInfo{expiry: idExpiry}
	toks, err := f.k.Source.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.k.Write(toks, nil); err != nil {
		t.Fatal(err)
	}
	st, _ := f.dir.ReadStatus()
	if !strings.Contains(st.Warning, "only once per job") || !st.IDTokenExpiresAt.Equal(idExpiry) || st.IDTokenRenewable {
		t.Errorf("status before the refresh: %+v", st)
	}
	var failedAt time.Time
	f.k.Sleep = func(ctx context.Context, d time.Duration) bool {
		f.h.clock.Advance(d)
		if !f.h.clock.Now().Before(idExpiry) {
			f.h.roundErr = fmt.Errorf("getting an ID token: %w", &idtoken.ExpiredError{Expiry: idExpiry})
			failedAt = f.h.clock.Now()
		}
		return true
	}
	err = f.k.Run(context.Background())
	if !Permanent(err) {
		t.Fatalf("Run = %v, want the ID token's expiry", err)
	}
	if got := failedAt.Sub(epoch); got != 55*time.Minute {
		t.Errorf("failed after %s, want at the refresh (55m)", got)
	}
	if len(f.logs) == 0 || !strings.Contains(f.logs[0], "expires at "+stamp(idExpiry)) {
		t.Fatalf("first log is not the warning: %q", f.logs)
	}
	st, _ = f.dir.ReadStatus()
	if st.State != StateFailed || !strings.Contains(st.LastError, "cannot be re-minted") || st.LastErrorAt.IsZero() {
		t.Errorf("status after failing: %+v", st)
	}
}

// TestKeeperRetries: a refresh that fails is logged and retried; the file
// keeps the old token meanwhile.
func TestKeeperRetries(t *testing.T) {
	t.Parallel()
	f := newKeeper(t, time.Hour, 5*time.Minute, "acme/model")
	toks, _ := f.k.Source.Refresh(context.Background())
	if err := f.k.Write(toks, nil); err != nil {
		t.Fatal(err)
	}
	f.h.fail = map[string]error{"acme/model": errors.New("hub down")}
	ctx, cancel := context.WithCancel(context.Background())
	f.k.Sleep = func(ctx context.Context, d time.Duration) bool {
		f.h.clock.Advance(d)
		switch f.h.rounds.Load() {
		case 3: // two failures
			st, _ := f.dir.ReadStatus()
			if !strings.Contains(st.LastError, "hub down") {
				t.Errorf("status does not say the refresh failed: %+v", st)
			}
			if b, _ := os.ReadFile(f.dir.File("acme/model")); string(b) != toks[0].AccessToken {
				t.Errorf("the file lost its token while the hub was down")
			}
			f.h.fail = nil
		case 4:
			cancel()
		}
		return ctx.Err() == nil
	}
	if err := f.k.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(f.logs) != 2 || !strings.Contains(f.logs[0], "refreshing the tokens failed (hub down); retrying at") {
		t.Errorf("logs: %q", f.logs)
	}
	st, _ := f.dir.ReadStatus()
	if st.LastError != "" || !st.LastErrorAt.IsZero() {
		t.Errorf("the error stayed in the status after a good refresh: %+v", st)
	}
	f.k.Stopped()
	if st, _ := f.dir.ReadStatus(); st.State != StateStopped || !st.NextRefresh.IsZero() {
		t.Errorf("after Stopped: %+v", st)
	}
}

// TestStoppingKeeperLeavesOthersStatus: a keeper marks the status stopped
// or failed only if it wrote it itself, the same PID and the same owner. A
// keeper that was replaced (by a second start, by another job in the same
// directory) must not report its successor stopped.
func TestStoppingKeeperLeavesOthersStatus(t *testing.T) {
	t.Parallel()
	other := jobA
	other.Job = "GITHUB_RUN_ID=2"
	tests := []struct {
		name      string
		writerPID int
		writer    Owner
		noStatus  bool
		wantMark  bool
	}{
		{"its own status", 42, jobA, false, true},
		{"another PID, the same owner", 43, jobA, false, false},
		{"the same PID, another owner", 42, other, false, false},
		{"another PID and another owner", 43, other, false, false},
		{"no status", 0, Owner{}, true, false},
	}
	for _, tt := range tests {
		for _, stop := range []string{StateStopped, StateFailed} {
			t.Run(tt.name+"/"+stop, func(t *testing.T) {
				t.Parallel()
				d := openTemp(t)
				next := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
				path := filepath.Join(d.Path, StatusFile)
				if !tt.noStatus {
					st := &Status{PID: tt.writerPID, State: StateRunning, NextRefresh: next}
					st.SetOwner(tt.writer)
					if err := d.WriteStatus(st); err != nil {
						t.Fatal(err)
					}
				}
				before, _ := os.ReadFile(path)
				k := &Keeper{Dir: d, Status: Status{PID: 42}}
				k.Status.SetOwner(jobA)
				if stop == StateStopped {
					k.Stopped()
				} else {
					k.setState(StateFailed)
				}
				after, err := os.ReadFile(path)
				if tt.noStatus {
					if err == nil {
						t.Errorf("a status file appeared: %s", after)
					}
					return
				}
				st, err := d.ReadStatus()
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.wantMark && (st.State != stop || !st.NextRefresh.IsZero()):
					t.Errorf("its own status after stopping: state %q, next refresh %s", st.State, st.NextRefresh)
				case !tt.wantMark && !bytes.Equal(after, before):
					t.Errorf("the keeper of PID 42 rewrote another keeper's status to state %q", st.State)
				}
			})
		}
	}
}
