//go:build unix

package refresh

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestLockStart: a second start waits for the first to release, however
// many times it releases; one that cannot wait says for what and where.
func TestLockStart(t *testing.T) {
	t.Parallel()
	d := openTemp(t)
	release, err := d.LockStart(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func())
	go func() {
		r, err := d.LockStart(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("a second start took the lock while the first held it")
	case <-time.After(5 * startPoll):
	}
	release()
	release() // the deferred call after an early one
	second := <-got
	if second == nil {
		t.FailNow()
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.LockStart(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for another start of a keeper in "+d.Path) {
		t.Errorf("LockStart while held, with a done context = %v", err)
	}
	second()
	if r, err := d.LockStart(ctx); err != nil {
		t.Errorf("LockStart when free, with a done context = %v: a free lock needs no wait", err)
	} else {
		r()
	}
}
