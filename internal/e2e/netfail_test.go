package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// netDocs is the troubleshooting page every Next: line links to.
const netDocs = "(see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#"

// netCase is a failure to reach the Hub, or an answer from something
// else, and what the real binary must make of it.
type netCase struct {
	name string
	// setup returns the variables that break the exchange: an endpoint, a
	// proxy, a CA file.
	setup func(t *testing.T, sb *sandbox.Sandbox) []string
	args  []string
	// line is the resource's line; want are parts of stderr after it,
	// in order; anchor is the entry the Next: line links to.
	line   string
	want   []string
	never  []string // parts stderr must not hold
	anchor string
	// within bounds the run where a wait was the problem: how much longer
	// it may take than a successful exchange run just before.
	within time.Duration
}

var netCases = []netCase{
	{
		name:  "refused",
		setup: func(*testing.T, *sandbox.Sandbox) []string { return []string{"HF_ENDPOINT=https://127.0.0.1:1"} },
		line:  "  acme/model: Post \"https://127.0.0.1:1/oauth/token\": dial tcp 127.0.0.1:1: connect: connection refused (after 2 attempts)\n",
		want: []string{"Most likely causes of a refused connection, in order " + netDocs + "connection-refused):\n",
			"  1. Nothing listens at 127.0.0.1:1: HF_ENDPOINT (https://127.0.0.1:1) names a wrong host or port, or the server behind it is down.\n",
			"Next: Check HF_ENDPOINT (https://127.0.0.1:1): the public Hub is https://huggingface.co."},
		anchor: "connection-refused",
		within: 1500 * time.Millisecond,
	},
	{
		name: "plain HTTP on https",
		setup: func(_ *testing.T, sb *sandbox.Sandbox) []string {
			return []string{"HF_ENDPOINT=" + strings.Replace(sb.URL(), "http:", "https:", 1)}
		},
		line: "/oauth/token\": http: server gave HTTP response to HTTPS client\n",
		want: []string{"Most likely causes of a failed TLS handshake, in order " + netDocs + "tls-handshake):\n",
			"says https for a port that speaks plain HTTP", "Next: Check the scheme and port of HF_ENDPOINT"},
		anchor: "tls-handshake",
		within: 1500 * time.Millisecond,
	},
	{
		name: "unknown authority",
		setup: func(t *testing.T, sb *sandbox.Sandbox) []string {
			endpoint, _, _, _ := transportFront(t, sb)
			return []string{"HF_ENDPOINT=" + endpoint}
		},
		line: "/oauth/token\": tls: failed to verify certificate: x509: certificate signed by unknown authority\n",
		want: []string{"Most likely causes of a certificate that is not trusted, in order " + netDocs + "tls-untrusted):\n",
			"  1. A TLS-inspecting proxy or firewall on this runner's network re-signs HTTPS with its own CA: set SSL_CERT_FILE to a PEM bundle that holds it.\n",
			"Next: The server's certificate is not trusted."},
		anchor: "tls-untrusted",
		within: 1500 * time.Millisecond,
	},
	{
		name: "certificate for another host",
		setup: func(t *testing.T, sb *sandbox.Sandbox) []string {
			_, addr, ca, _ := transportFront(t, sb)
			return []string{"HF_ENDPOINT=https://" + addr, "SSL_CERT_FILE=" + ca}
		},
		line: "x509: certificate is valid for 0.0.0.0, not 127.0.0.1\n",
		want: []string{"Most likely causes of a certificate for another host, in order " + netDocs + "tls-hostname):\n",
			"Next: Use in HF_ENDPOINT the host name that the server's certificate names"},
		anchor: "tls-hostname",
		within: 1500 * time.Millisecond,
	},
	{
		name: "proxy refuses the tunnel",
		setup: func(t *testing.T, sb *sandbox.Sandbox) []string {
			endpoint, _, ca, _ := transportFront(t, sb)
			proxy, _ := connectProxy(t, nil)
			return []string{"HF_ENDPOINT=" + endpoint, "SSL_CERT_FILE=" + ca, "HTTPS_PROXY=" + proxy}
		},
		line: "/oauth/token\": the proxy 127.0.0.1:",
		want: []string{" refused the tunnel: 403 Forbidden\n",
			"Most likely causes of a failing proxy, in order " + netDocs + "proxy):\n",
			"Next: Check HTTPS_PROXY (127.0.0.1:"},
		anchor: "proxy",
		within: 1500 * time.Millisecond,
	},
	{
		name: "proxy down",
		setup: func(t *testing.T, sb *sandbox.Sandbox) []string {
			endpoint, _, ca, _ := transportFront(t, sb)
			return []string{"HF_ENDPOINT=" + endpoint, "SSL_CERT_FILE=" + ca, "HTTPS_PROXY=http://user:secret-password@127.0.0.1:1"}
		},
		// A proxy that refuses may be restarting: retried until --timeout.
		args: []string{"--timeout", "5s"},
		// Five attempts, or the --timeout first: either way more than two.
		line: "proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused (after ",
		want: []string{"Most likely causes of a failing proxy, in order " + netDocs + "proxy):\n",
			"  1. The proxy (http://127.0.0.1:1) is down, restarting or unreachable from this runner.\n"},
		never:  []string{"(after 2 attempts)"},
		anchor: "proxy",
	},
	{
		name: "a 404 page",
		setup: func(_ *testing.T, sb *sandbox.Sandbox) []string {
			return []string{"HF_ENDPOINT=" + sb.URL() + "/api"}
		},
		line: "  acme/model: unexpected answer, not JSON but text/plain: \"404 page not found\" (HTTP 404, request ID ",
		want: []string{
			"Most likely causes of an answer that is not the Hub's, in order " + netDocs + "not-the-hub):\n",
			"It must be the Hub's root URL, without /oauth/token or /api;",
			"Next: Check that HF_ENDPOINT (http://127.0.0.1:"},
		anchor: "not-the-hub",
		within: 1500 * time.Millisecond,
	},
}

// TestNetFailures: each way of not reaching the Hub gets its own causes
// and entry, fails as fast as waiting cannot help, never shows the ID
// token's claims (the Hub never judged them), and is annotated in GitHub
// Actions.
func TestNetFailures(t *testing.T) {
	t.Parallel()
	for _, c := range netCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
			sb.TrustGitHub("acme/model")
			step := testkit.NewGitHubStep(t, sb)
			// The machine is shared and its load varies: the time a run
			// that works takes now is the yardstick.
			start := time.Now()
			if r := runBin(t, sb.GitHubEnv(), "exchange", "--format", "json", "--resource", "acme/model"); r.code != 0 {
				t.Fatalf("the control run failed: %s", r.stderr)
			}
			control := time.Since(start)
			before := sb.Stats()
			env := append(append(step.Env, "RUNNER_TEMP="+t.TempDir()), c.setup(t, sb)...)
			start = time.Now()
			r := runBin(t, env, append([]string{"exchange", "--format", "github", "--resource", "acme/model"}, c.args...)...)
			took := time.Since(start)

			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstderr: %s", r.code, r.stderr)
			}
			// A wait of more than a few seconds is announced first.
			stderr := r.stderr
			if c.within == 0 && strings.HasPrefix(stderr, "hf-oidc: waiting ") {
				_, stderr, _ = strings.Cut(stderr, "\n")
			}
			first, rest, _ := strings.Cut(stderr, "\n")
			if want := "hf-oidc: the exchange failed for 1 of 1 resource; nothing was exported."; first != want {
				t.Errorf("first line %q, want %q", first, want)
			}
			if !strings.HasPrefix(rest, "  acme/model: ") {
				t.Errorf("second line does not name the resource:\n%s", r.stderr)
			}
			faultWantInOrder(t, r.stderr, append([]string{c.line}, c.want...))
			if !strings.Contains(r.stderr, netDocs+c.anchor+")\n") || !strings.Contains(r.stderr, "\nNext: ") {
				t.Errorf("no Next: line linking to #%s:\n%s", c.anchor, r.stderr)
			}
			for _, never := range append([]string{"The ID token the Hub saw", "To trust this job", "repository", "secret-password"}, c.never...) {
				if strings.Contains(r.stderr, never) {
					t.Errorf("stderr shows %q:\n%s", never, r.stderr)
				}
			}
			if !strings.Contains(r.stdout, "::error title=hf-oidc%3A token exchange failed::hf-oidc: the exchange failed") {
				t.Errorf("no ::error annotation on stdout:\n%s", r.stdout)
			}
			if c.within > 0 && took > control+c.within {
				t.Errorf("took %s, want under %s more than the %s of a run that works: nothing could pass by waiting",
					took.Round(time.Millisecond), c.within, control.Round(time.Millisecond))
			}
			if n := sb.Stats().Exchanges - before.Exchanges; n != 0 {
				t.Errorf("the Hub saw %d exchanges, want none", n)
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": withoutMasks(t, sb, r.stdout), "stderr": r.stderr})
		})
	}
}

// TestNetWaitingLine: a Hub that stalls gets one line on stderr after a
// few seconds, naming what hf-oidc waits for and which attempt, and then
// no other until the paragraph of the failure.
func TestNetWaitingLine(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
	sb.TrustGitHub("acme/model")
	sb.Inject(sandbox.PathToken, sandbox.Fault{Delay: time.Minute})
	const line = "hf-oidc: waiting for " // then the URL
	start := time.Now()
	r, seen := runBinWatch(t, sb.GitHubEnv(), line, "exchange", "--format", "json", "--resource", "acme/model", "--timeout", "8s")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	want := line + sb.URL() + "/oauth/token (attempt 1/5)…\n"
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr does not start with %q:\n%s", want, r.stderr)
	}
	if n := strings.Count(r.stderr, "hf-oidc: waiting"); n != 1 {
		t.Errorf("%d lines say waiting, want 1:\n%s", n, r.stderr)
	}
	// The notice comes after 3s: long before the 8s --timeout, not with
	// the failure.
	if d := seen.Sub(start); d < 2*time.Second || d > 6*time.Second {
		t.Errorf("the waiting line came %s after the start, want about 3s", d.Round(time.Millisecond))
	}
	faultWantInOrder(t, r.stderr, []string{
		"hf-oidc: the exchange failed for 1 of 1 resource; nothing was exported.\n",
		"  acme/model: the --timeout of 8s ran out while waiting for an answer from " + sb.URL() + "/oauth/token\n",
		"Most likely causes of a Hub that does not answer in time, in order " + netDocs + "hub-timeout):\n",
		"Next: Run the job again, or raise --timeout (8s) if the Hub is this slow from this runner. " + netDocs + "hub-timeout)\n",
	})
	if strings.Contains(r.stderr, "The ID token the Hub saw") {
		t.Errorf("the claims are shown for a Hub that never answered:\n%s", r.stderr)
	}
}

// TestNetQuickRound: a round that ends within a few seconds says nothing
// of waiting.
func TestNetQuickRound(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
	sb.TrustGitHub("acme/model")
	r := runBin(t, sb.GitHubEnv(), "exchange", "--format", "json", "--resource", "acme/model")
	if r.code != 0 || strings.Contains(r.stderr, "waiting") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestNetMintRefused: the provider's ID-token endpoint refusing the
// connection fails as fast as the Hub's does: two attempts, not four
// spread over seconds.
func TestNetMintRefused(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
	start := time.Now()
	runBin(t, sb.GitHubEnv(), "exchange", "--format", "json", "--resource", "acme/model") // the yardstick: invalid_grant
	control := time.Since(start)
	env := append(sb.GitHubEnv(), "ACTIONS_ID_TOKEN_REQUEST_URL=http://127.0.0.1:1/_apis/idtoken?api-version=2.0")
	start = time.Now()
	r := runBin(t, env, "exchange", "--format", "json", "--resource", "acme/model")
	took := time.Since(start)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	// The first line is the first sentence, wrapped at 100 columns.
	if want := "hf-oidc exchange: getting ID token: requesting GitHub ID token from http://127.0.0.1:1/_apis/idtoken: dial tcp 127.0.0.1:1: connect: connection refused. Next: "; !strings.HasPrefix(flat(r.stderr), want) {
		t.Errorf("stderr does not start with %q:\n%s", want, r.stderr)
	}
	if want := "Next: the github provider could not be asked for an ID token (its ID-token endpoint refused the connection), so nothing was sent to the Hub."; !holds(r.stderr, want) || !strings.Contains(r.stderr, netDocs+"no-id-token)\n") {
		t.Errorf("stderr lacks %q and its link:\n%s", want, r.stderr)
	}
	if took > control+1500*time.Millisecond {
		t.Errorf("took %s, want under 1.5s more than the %s of a run that gets an answer", took.Round(time.Millisecond), control.Round(time.Millisecond))
	}
}

// runBinWatch is runBin that also says when stderr first held watch.
func runBinWatch(t *testing.T, env []string, watch string, args ...string) (run, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = hermeticEnv(t, env...)
	var stdout bytes.Buffer
	stderr := &watchBuffer{watch: watch}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hf-oidc %v: %v", args, err)
	}
	return r, stderr.seen
}

// watchBuffer records when its content first held watch.
type watchBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	watch string
	seen  time.Time
}

func (w *watchBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if w.seen.IsZero() && strings.Contains(w.b.String(), w.watch) {
		w.seen = time.Now()
	}
	return n, err
}

func (w *watchBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
