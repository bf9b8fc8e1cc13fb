package bench

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestMeasureKeeper watches a detached keeper that refreshes every two
// seconds, briefly, and checks the shape of what it measured.
func TestMeasureKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the keeper is watched through /proc")
	}
	t.Parallel()
	res, err := measureKeeper(context.Background(), binary(t), t.TempDir(), true, 6*time.Second, 4*time.Second, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seconds < 5 || res.Refreshes < 1 || res.RSSBytes < 1<<20 || res.AnonBytes <= 0 || res.AnonBytes >= res.RSSBytes || res.PerRefresh <= 0 {
		t.Errorf("keeper: %+v", res)
	}
}
