package refresh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestKeeperWakesWhenDirGoes: with hours to the next
// refresh and an hour between polls, the keeper still stops within
// seconds when its directory, or the directory that holds it, is removed
// or moved away, while it holds files in it (as the detached keeper holds
// its lock): it waits on inotify, not on a poll. Removing something else
// beside it does not stop it.
func TestKeeperWakesWhenDirGoes(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"removed", "moved", "parent removed", "parent moved"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			f := newKeeper(t, 10*time.Hour, 5*time.Minute, "acme/model")
			f.k.Poll = time.Hour
			toks, err := f.k.Source.Refresh(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := f.k.Write(toks, nil); err != nil {
				t.Fatal(err)
			}
			held, err := os.Open(f.dir.File("acme/model"))
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			idle := make(chan struct{}, 1)
			f.k.Idle = func() {
				select {
				case idle <- struct{}{}:
				default:
				}
			}
			done := make(chan error, 1)
			go func() { done <- f.k.Run(context.Background()) }()
			<-idle
			parent := filepath.Dir(f.dir.Path)
			if err := os.WriteFile(filepath.Join(parent, "other"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(parent, "other"))
			select {
			case err := <-done:
				t.Fatalf("Run = %v after something else beside it was removed", err)
			case <-time.After(50 * time.Millisecond):
			}
			switch how {
			case "removed":
				err = os.RemoveAll(f.dir.Path)
			case "moved":
				err = os.Rename(f.dir.Path, f.dir.Path+".old")
			case "parent removed":
				err = os.RemoveAll(parent)
			case "parent moved":
				err = os.Rename(parent, parent+".old")
				defer os.RemoveAll(parent + ".old")
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrDirGone) {
					t.Errorf("Run = %v, want ErrDirGone", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the keeper did not notice in 10 s")
			}
		})
	}
}
