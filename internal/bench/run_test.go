package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

var buildDir string

// built is the binary, built on first use and removed by TestMain.
var built = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hf-oidc-bench-test-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	return Build(context.Background(), dir, "../../cmd/hf-oidc")
})

// builtBare is the bare client, built on first use into the same directory.
var builtBare = sync.OnceValues(func() (string, error) {
	if _, err := built(); err != nil {
		return "", err
	}
	return BuildBare(context.Background(), buildDir)
})

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func binary(tb testing.TB) string {
	tb.Helper()
	bin, err := built()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

func haveRecipeTools() bool {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

// TestRun runs the whole harness once, small, and checks the shape of what
// it measured (never the figures themselves).
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bare, err := builtBare()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Options{
		Bin: binary(t), Bare: bare, N: 2, StartupRuns: 3, Recipe: true,
		Latencies: []time.Duration{0, time.Millisecond}, Resources: []int{1, 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.BinaryBytes <= 0 || res.Startup.Runs != 3 || res.N != 2 || res.Machine.Cores <= 0 || res.Date == "" {
		t.Errorf("results lack the binary size, start-up, runs or machine: %+v", res)
	}
	if _, err := os.Stat(gnuTime); err == nil {
		// Above a Go binary's least, below the bench's own: GNU time, not
		// the high-water mark exec inherits from this process.
		if res.PeakRSSBytes < 4<<20 || res.PeakRSSBytes > 64<<20 {
			t.Errorf("peak RSS %d bytes, want an exchange's own (4 to 64 MiB)", res.PeakRSSBytes)
		}
	} else if os.Getenv("CI") == "true" {
		t.Errorf("%s not found: .ci/install installs GNU time", gnuTime)
	} else if !strings.Contains(res.RSSNote, "not measured") {
		t.Errorf("without GNU time the RSS note is %q, want it to say RSS was not measured", res.RSSNote)
	}
	recipe := haveRecipeTools()
	if !recipe && !strings.Contains(res.RecipeNote, "skipped") {
		t.Errorf("without curl or jq the recipe note is %q, want it to say the comparison was skipped", res.RecipeNote)
	}
	for _, tool := range []string{ToolHFOIDC, ToolBare, ToolRecipe} {
		for _, lat := range []float64{0, 1} {
			for _, n := range []int{1, 3} {
				c, ok := res.Find(tool, lat, n)
				if want := tool != ToolRecipe || recipe; ok != want {
					t.Errorf("%s at %g ms for %d resources: found %v, want %v", tool, lat, n, ok, want)
					continue
				}
				if !ok {
					continue
				}
				if c.Wall.Runs != 2 || c.Wall.Min <= 0 || c.FloorMS != 2*lat || c.TrueFloorMS != 4*lat || (lat > 0) != (c.Ratio > 0) {
					t.Errorf("%s at %g ms for %d resources: %+v", tool, lat, n, c)
				}
			}
		}
	}
}

// TestRunnerFailure checks that a failed run is an error that names the
// tool and holds no secret the sandbox minted.
func TestRunnerFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sb.TrustGitHub("acme/trusted")
	bare, err := builtBare()
	if err != nil {
		t.Fatal(err)
	}
	tools := []string{ToolHFOIDC, ToolBare}
	recipe := ""
	if haveRecipeTools() {
		tools = append(tools, ToolRecipe)
		recipe, _ = writeRecipe(t.TempDir())
	}
	for _, tool := range tools {
		r := runner{sb: sb, bin: binary(t), bare: bare, recipe: recipe, work: t.TempDir(), tool: tool, resources: []string{"acme/trusted", "acme/untrusted"}}
		_, err := r.once(context.Background())
		if err == nil {
			t.Errorf("%s with an untrusted resource: no error", tool)
			continue
		}
		if !strings.Contains(err.Error(), tool) {
			t.Errorf("%s's error does not name it: %v", tool, err)
		}
		for _, s := range sb.Minted() {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s's error leaks a minted secret (%.12s…)", tool, s)
			}
		}
	}
}

// BenchmarkExchange times one exchange round of the real binary against
// the sandbox with no added latency: process start, one ID-token mint, the
// exchanges and the GitHub exports.
func BenchmarkExchange(b *testing.B) {
	bin := binary(b)
	sb, err := sandbox.Start(sandbox.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	for _, n := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			rs := make([]string, n)
			for i := range rs {
				rs[i] = fmt.Sprintf("acme/model-%d", i)
				sb.TrustGitHub(rs[i])
			}
			r := runner{sb: sb, bin: bin, work: b.TempDir(), tool: ToolHFOIDC, resources: rs}
			for b.Loop() {
				if _, err := r.once(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := os.Stat(gnuTime); err == nil {
				b.StopTimer()
				m, err := r.run(context.Background(), true)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(m.rss)/(1<<20), "peak-RSS-MiB")
			}
		})
	}
}

// BenchmarkStartup times `hf-oidc version`.
func BenchmarkStartup(b *testing.B) {
	bin := binary(b)
	env := baseEnv(b.TempDir())
	for b.Loop() {
		cmd := exec.Command(bin, "version")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("hf-oidc version: %v\n%s", err, out)
		}
	}
}
