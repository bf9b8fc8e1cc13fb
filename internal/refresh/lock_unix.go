//go:build unix

package refresh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Lock is held by the one process that keeps a directory's tokens fresh.
// It is a flock(2) on keeper.lock, so the kernel releases it when that
// process ends, however it ends, and a child handed its file keeps it.
type Lock struct{ f *os.File }

// A HeldError says another process holds the lock.
type HeldError struct {
	Dir string
	PID int // 0 when unknown
}

func (e *HeldError) Error() string {
	if e.PID == 0 {
		return "another hf-oidc process keeps the tokens in " + e.Dir + " fresh"
	}
	return fmt.Sprintf("another hf-oidc process (pid %d) keeps the tokens in %s fresh", e.PID, e.Dir)
}

// TryLock takes the directory's keeper lock, or returns a *HeldError.
func (d *Dir) TryLock() (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(d.Path, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking token directory: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid, _ := d.holderPID()
			return nil, &HeldError{Dir: d.Path, PID: pid}
		}
		return nil, fmt.Errorf("locking token directory: %w", err)
	}
	l := &Lock{f: f}
	if err := l.SetPID(os.Getpid()); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// AdoptLock wraps a lock file inherited from the process that took it.
func AdoptLock(f *os.File) *Lock { return &Lock{f: f} }

// File is the open lock file, to hand to a child that takes the lock over.
func (l *Lock) File() *os.File { return l.f }

// SetPID records pid as the holder, for --stop and for messages.
func (l *Lock) SetPID(pid int) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("recording the keeper's pid: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(strconv.Itoa(pid)+"\n"), 0); err != nil {
		return fmt.Errorf("recording the keeper's pid: %w", err)
	}
	return nil
}

// Release gives the lock up. The file stays: removing it would let a
// process that opened it before the removal lock a file no one else sees.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	flock(l.f, syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// HandOff closes this process's copy of the lock file without unlocking
// it: a child given File keeps the lock.
func (l *Lock) HandOff() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// Holder returns the PID of the process holding the keeper lock, and
// whether one does.
func (d *Dir) Holder() (int, bool) {
	f, err := os.Open(filepath.Join(d.Path, LockFile))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		flock(f, syscall.LOCK_UN)
		return 0, false
	}
	pid, _ := d.holderPID()
	return pid, true
}

func (d *Dir) holderPID() (int, error) {
	b, err := readSmall(filepath.Join(d.Path, LockFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, errors.New("no pid in the lock file")
	}
	return pid, nil
}

// LockCache takes the lock that serialises the git helper's own exchanges,
// waiting for it, and returns its release.
func (d *Dir) LockCache() (func(), error) {
	f, err := os.OpenFile(filepath.Join(d.Path, cacheLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the git helper's cache: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the git helper's cache: %w", err)
	}
	return func() { flock(f, syscall.LOCK_UN); f.Close() }, nil
}

// startPoll is how often LockStart tries the lock again.
const startPoll = 20 * time.Millisecond

// LockStart takes the lock that serialises the starts of a keeper, waiting
// for it until ctx ends, and returns its release, which may be called more than once. A start holds it from
// before it looks for a keeper until its own keeper is ready and the files
// are exported, so that a start made at the same moment finds that keeper
// ready, or none, and never one still exchanging.
func (d *Dir) LockStart(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(filepath.Join(d.Path, startLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("waiting for another start of a keeper: %w", err)
	}
	for {
		err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return sync.OnceFunc(func() { flock(f, syscall.LOCK_UN); f.Close() }), nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("waiting for another start of a keeper: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another start of a keeper in %s: %w", d.Path, context.Cause(ctx))
		case <-time.After(startPoll):
		}
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
