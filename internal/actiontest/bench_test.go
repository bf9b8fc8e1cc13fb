package actiontest

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// BenchmarkActionStartup measures, in act, the time from the job's first
// step to HF_TOKEN being usable in the step after the action, for each way
// the action gets its binary. job-ms is that time; act-ms is act's whole
// run, its own start-up included.
//
//	go test -run XXX -bench ActionStartup -benchtime 5x ./internal/actiontest
func BenchmarkActionStartup(b *testing.B) {
	p := host
	cases := []struct {
		name     string
		uses     string
		source   bool
		sameJobs bool // reuse act's cache, and so the tool cache, across runs
	}{
		{"provided binary", "./\n        with:\n          binary: " + bin, false, false},
		{"tool cache", "hf-oidc/hf-oidc@v1\n        with:", false, true},
		{"download", "hf-oidc/hf-oidc@v1\n        with:", false, false},
		{"build from source", "hf-oidc/hf-oidc@main\n        with:", true, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			sb := startSandbox(b, "acme/awesome-model")
			srv := testkit.StartReleaseServer(b)
			r := newRepo(b, c.source)
			asset := commitRelease(b, r, p)
			srv.Serve(testVersion, asset, goodRelease(b, p))
			r.write(b, ".github/workflows/test.yml", `name: bench
on: push
permissions: { id-token: write, contents: read }
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - run: date +%s%N > "$RUNNER_TEMP/start"
      - uses: actions/checkout@v4
      - uses: `+c.uses+`
          resources: acme/awesome-model
      - run: test -n "$HF_TOKEN" && echo "elapsed_ns=$(( $(date +%s%N) - $(cat "$RUNNER_TEMP/start") ))"
`)
			opts := actOptions{refs: []string{"v1", "main"}, env: []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL}}
			if c.sameJobs {
				opts.cacheDir = b.TempDir()
				if run := runAct(b, r, sb, opts); run.code != 0 { // fills the tool cache
					b.Fatalf("act exited %d:\n%s", run.code, run.out)
				}
			}
			var job, total time.Duration
			b.ResetTimer()
			for range b.N {
				run := runAct(b, r, sb, opts)
				if run.code != 0 {
					b.Fatalf("act exited %d:\n%s", run.code, run.out)
				}
				job += elapsed(b, run.out)
				total += run.took
			}
			b.ReportMetric(float64(job.Milliseconds())/float64(b.N), "job-ms")
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "act-ms")
		})
	}
}

var elapsedLine = regexp.MustCompile(`elapsed_ns=(\d+)`)

func elapsed(b *testing.B, out string) time.Duration {
	m := elapsedLine.FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no elapsed_ns in act's output:\n%s", out)
	}
	ns, _ := strconv.ParseInt(m[1], 10, 64)
	return time.Duration(ns)
}
