//go:build !unix

package refresh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// A Lock stands for the keeper lock. Without flock(2) nothing stops a
// second keeper here; keepers are only started on Linux and macOS.
type Lock struct{ f *os.File }

// A HeldError says another process holds the lock.
type HeldError struct {
	Dir string
	PID int
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another hf-oidc process (pid %d) keeps the tokens in %s fresh", e.PID, e.Dir)
}

// TryLock opens the lock file; it cannot tell whether another holds it.
func (d *Dir) TryLock() (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(d.Path, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking token directory: %w", err)
	}
	return &Lock{f: f}, nil
}

// AdoptLock wraps a lock file inherited from the process that took it.
func AdoptLock(f *os.File) *Lock { return &Lock{f: f} }

// File is the open lock file.
func (l *Lock) File() *os.File { return l.f }

// SetPID does nothing here.
func (l *Lock) SetPID(int) error { return nil }

// Release closes the lock file.
func (l *Lock) Release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// HandOff closes the lock file.
func (l *Lock) HandOff() { l.Release() }

// Holder cannot tell here, and says no one holds the lock.
func (d *Dir) Holder() (int, bool) { return 0, false }

// LockCache does nothing here.
func (d *Dir) LockCache() (func(), error) { return func() {}, nil }

// LockStart does nothing here.
func (d *Dir) LockStart(context.Context) (func(), error) { return func() {}, nil }
