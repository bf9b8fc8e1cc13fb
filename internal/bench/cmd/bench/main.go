// Command bench measures hf-oidc against the sandbox and writes
// results.json, results.md and chart.svg:
//
//	go run ./internal/bench/cmd/bench [-n 10] [-recipe-n 5] [-out docs/bench]
//
// Beside hf-oidc it runs the bare Go client (internal/bench/bare: the
// protocol's requests and nothing else) and the Hub documentation's curl
// and jq recipe, against the same sandboxes, through the same delaying
// proxies (see internal/bench's doc), in the same rounds.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := realMain(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	n := flag.Int("n", 10, "runs per case")
	recipeN := flag.Int("recipe-n", 0, "runs per case of the curl+jq recipe, which is slow at 64 resources (default: -n)")
	startup := flag.Int("startup", 50, "runs of `hf-oidc version` for the start-up time")
	out := flag.String("out", "docs/bench", "directory for results.json, results.md and chart.svg")
	pkg := flag.String("pkg", "./cmd/hf-oidc", "the hf-oidc main package, relative to the working directory")
	noRecipe := flag.Bool("no-recipe", false, "skip the curl+jq comparison")
	noBare := flag.Bool("no-bare", false, "skip the bare Go client (the protocol's requests and nothing else)")
	from := flag.String("from", "", "measure nothing: redraw the table and chart from this results.json")
	plain := flag.Bool("plain", false, "serve the sandbox over plain http instead of https (HTTP/2)")
	latencies := flag.String("latencies", "0,50ms,100ms", "round-trip times, comma-separated; above zero each host is reached through a delaying proxy")
	resources := flag.String("resources", "1,4,16,64", "numbers of resources, comma-separated")
	keeper := flag.Duration("keeper", 150*time.Second, "how long to watch a detached keeper refresh a token every 30s (Linux); 0 for not at all")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: bench takes only flags", flag.Arg(0))
	}

	var res *bench.Results
	var err error
	if *from != "" {
		res, err = readResults(*from)
	} else {
		opts := bench.Options{N: *n, RecipeN: *recipeN, StartupRuns: *startup, Recipe: !*noRecipe, Plain: *plain, Keeper: *keeper, Log: os.Stderr}
		if opts.Latencies, err = parseList(*latencies, parseLatency); err != nil {
			return fmt.Errorf("-latencies: %w", err)
		}
		if opts.Resources, err = parseList(*resources, strconv.Atoi); err != nil {
			return fmt.Errorf("-resources: %w", err)
		}
		res, err = measure(ctx, *pkg, !*noBare, opts)
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("making the output directory: %w", err)
	}
	for name, write := range map[string]func(*os.File) error{
		"results.json": func(f *os.File) error { return bench.WriteJSON(f, res) },
		"results.md":   func(f *os.File) error { return bench.WriteMarkdown(f, res) },
		"chart.svg":    func(f *os.File) error { return bench.WriteSVG(f, res) },
	} {
		if err := writeFile(filepath.Join(*out, name), write); err != nil {
			return err
		}
	}
	return bench.WriteMarkdown(os.Stdout, res)
}

func measure(ctx context.Context, pkg string, bare bool, opts bench.Options) (*bench.Results, error) {
	dir, err := os.MkdirTemp("", "hf-oidc-bench-bin-")
	if err != nil {
		return nil, fmt.Errorf("making a build directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if opts.Bin, err = bench.Build(ctx, dir, pkg); err != nil {
		return nil, err
	}
	if bare {
		if opts.Bare, err = bench.BuildBare(ctx, dir); err != nil {
			return nil, err
		}
	}
	return bench.Run(ctx, opts)
}

func readResults(path string) (*bench.Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading -from: %w", err)
	}
	var res bench.Results
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("reading -from %s: expected the results.json a run wrote: %w", path, err)
	}
	return &res, nil
}

// writeFile writes through a temporary file and a rename, so that an
// interrupted run leaves the previous results whole.
func writeFile(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// parseLatency takes a duration, or 0 without a unit.
func parseLatency(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a round-trip time such as 20ms", s)
	}
	return d, nil
}
