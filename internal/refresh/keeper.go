package refresh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// DefaultPoll is how often a Keeper checks that its directory still exists
// between refreshes (removing the directory is one way to stop it) where
// it cannot watch it: outside Linux, and where inotify fails.
const DefaultPoll = 2 * time.Second

// ErrDirGone is returned by Keeper.Run when the token directory was removed
// or replaced.
var ErrDirGone = errors.New("the token directory was removed")

// A Keeper writes the Source's tokens to their files in Dir and refreshes
// them when they are due, until its context ends, the directory is
// removed, or the provider's ID token runs out for good.
type Keeper struct {
	Source *Source
	Dir    *Dir
	// Status holds what the status file says besides the refreshes: PID,
	// Provider, Endpoint, Resources and the owner (Status.SetOwner). The
	// Keeper fills in the rest.
	Status Status
	Poll   time.Duration    // zero means DefaultPoll
	Now    func() time.Time // nil means time.Now
	// Sleep waits d or until ctx ends, and reports whether it waited the
	// whole time; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) bool
	// Fresh, if set, sees every new token before any file holds it (to
	// mask it in GitHub Actions).
	Fresh func(exchange.Token)
	// Log, if set, gets warnings and errors, one sentence each.
	Log func(msg string)
	// Problem, if set, gets the warnings and errors instead of Log, with
	// what each is about, so that the message can say what to do.
	Problem func(kind Problem, msg string)
	// Refreshed, if set, hears of every refresh that wrote new tokens.
	Refreshed func(toks []exchange.Token)
	// Idle, if set, is called before the first wait and after every
	// refresh, when the keeper has nothing to do until the next (the
	// detached keeper gives its memory back there).
	Idle func()

	warned bool
}

// Write writes the tokens the Source holds to their files and the status
// file. Commands call it once after their first round; Run calls it after
// every refresh.
func (k *Keeper) Write(toks []exchange.Token, refreshErr error) error {
	for _, t := range toks {
		if k.Fresh != nil {
			k.Fresh(t)
		}
		if err := k.Dir.WriteToken(t.Resource, t.AccessToken); err != nil {
			if k.Dir.Gone() {
				return ErrDirGone
			}
			return err
		}
	}
	st := k.Status
	// What the previous writer said still holds until this write changes
	// it, also when a detached keeper takes over from the command that
	// started it.
	prev, _ := k.Dir.ReadStatus()
	if prev != nil && prev.Owner == st.Owner {
		st.LastRefresh, st.LastError, st.LastErrorAt = prev.LastRefresh, prev.LastError, prev.LastErrorAt
		st.IDTokenExpiresAt, st.IDTokenRenewable, st.Warning = prev.IDTokenExpiresAt, prev.IDTokenRenewable, prev.Warning
	}
	now := k.now()
	if len(toks) > 0 {
		st.LastRefresh = now
	}
	if refreshErr != nil {
		st.LastError, st.LastErrorAt = refreshErr.Error(), now
	} else if len(toks) > 0 {
		st.LastError, st.LastErrorAt = "", time.Time{}
	}
	if st.State == "" {
		st.State = StateRunning
	}
	st.NextRefresh = k.Source.Next()
	// A keeper that took over knows the ID token only after its first
	// refresh; until then the previous writer's word stands.
	if id := k.Source.IDToken; id != nil && !id.Expiry().IsZero() {
		st.IDTokenExpiresAt, st.IDTokenRenewable, st.Warning = id.Expiry(), id.CanMint(), ""
		if w := k.Source.Warning(); w != nil {
			st.Warning = w.Error()
		}
	}
	st.Tokens = k.tokenStatus()
	if err := k.Dir.WriteStatus(&st); err != nil {
		if k.Dir.Gone() {
			return ErrDirGone
		}
		return err
	}
	return nil
}

// Run keeps the files fresh. It returns nil when ctx ends, ErrDirGone when
// the directory goes, and the error when a refresh fails for good; it logs
// other failures and retries them. The Source must hold the first tokens
// already (see Write), or Run exchanges at once.
func (k *Keeper) Run(ctx context.Context) error {
	k.warn()
	// Watched, the directory wakes the keeper only when it goes; polled,
	// every Poll.
	gone, stopWatch := k.watch()
	defer func() { stopWatch() }()
	k.idle()
	for {
		wait := k.Source.Next().Sub(k.now())
		if gone == nil && wait > k.poll() {
			wait = k.poll()
		}
		if !k.sleep(ctx, wait, gone) {
			return nil
		}
		if k.Dir.Gone() {
			return ErrDirGone
		}
		select {
		case <-gone: // a false alarm: watch afresh
			stopWatch()
			gone, stopWatch = k.watch()
		default:
		}
		if k.now().Before(k.Source.Next()) {
			continue
		}
		toks, err := k.Source.Refresh(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if werr := k.Write(toks, err); werr != nil {
			if errors.Is(werr, ErrDirGone) {
				return werr
			}
			k.problem(WriteFailed, fmt.Sprintf("writing the token files failed: %v", werr))
		}
		if len(toks) > 0 && k.Refreshed != nil {
			k.Refreshed(toks)
		}
		switch {
		case err != nil && Permanent(err):
			k.setState(StateFailed)
			return err
		case err != nil:
			k.problem(RefreshFailed, fmt.Sprintf("refreshing the tokens failed (%v); retrying at %s, the current tokens stay valid until %s",
				err, stamp(k.Source.Next()), stamp(k.firstExpiry())))
		}
		k.warn()
		k.idle()
	}
}

// watch watches the directory, unless Sleep stands in for the clock.
func (k *Keeper) watch() (gone <-chan struct{}, stop func()) {
	if k.Sleep != nil {
		return nil, func() {}
	}
	return k.Dir.watchGone()
}

func (k *Keeper) idle() {
	if k.Idle != nil {
		k.Idle()
	}
}

// Stopped marks the status file stopped, if the directory is still there.
func (k *Keeper) Stopped() { k.setState(StateStopped) }

func (k *Keeper) setState(state string) {
	if k.Dir.Gone() {
		return
	}
	st, err := k.Dir.ReadStatus()
	if err != nil || st.PID != k.Status.PID || st.Owner != k.Status.Owner {
		return
	}
	st.State = state
	st.NextRefresh = time.Time{}
	k.Dir.WriteStatus(st)
}

// warn logs the Source's warning, once.
func (k *Keeper) warn() {
	if w := k.Source.Warning(); w != nil && !k.warned {
		k.warned = true
		k.problem(Expiring, w.Error())
	}
}

func (k *Keeper) tokenStatus() []TokenStatus {
	var out []TokenStatus
	held := map[string]exchange.Token{}
	for _, t := range k.Source.Tokens() {
		held[t.Resource] = t
	}
	for _, r := range k.Source.Resources {
		if t, ok := held[r.Name]; ok {
			out = append(out, tokenStatus(k.Dir, r, t))
		}
	}
	return out
}

func tokenStatus(d *Dir, r resource.Resource, t exchange.Token) TokenStatus {
	return TokenStatus{Resource: r.Name, Env: r.Env, File: d.File(r.Name), ExpiresAt: t.ExpiresAt}
}

func (k *Keeper) firstExpiry() time.Time {
	var first time.Time
	for _, t := range k.Source.Tokens() {
		if first.IsZero() || t.ExpiresAt.Before(first) {
			first = t.ExpiresAt
		}
	}
	return first
}

// A Problem is what a keeper's warning or error is about.
type Problem int

// The problems a keeper reports.
const (
	WriteFailed   Problem = iota // the token files could not be written
	RefreshFailed                // a refresh failed; the keeper tries again
	Expiring                     // the ID token expires before the next refresh
)

func (k *Keeper) problem(kind Problem, msg string) {
	if k.Problem != nil {
		k.Problem(kind, msg)
		return
	}
	k.log(msg)
}

func (k *Keeper) log(msg string) {
	if k.Log != nil {
		k.Log(msg)
	}
}

func (k *Keeper) poll() time.Duration {
	if k.Poll <= 0 {
		return DefaultPoll
	}
	return k.Poll
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// sleep waits d, or less if gone closes; it reports false if ctx ended.
func (k *Keeper) sleep(ctx context.Context, d time.Duration, gone <-chan struct{}) bool {
	if k.Sleep != nil {
		return k.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-gone:
		return true
	case <-ctx.Done():
		return false
	}
}
