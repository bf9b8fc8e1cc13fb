package cli

import (
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

// dnsServer answers every query on a loopback UDP port with rcode and no
// records: 3 (NXDOMAIN) says the name does not exist, 2 (SERVFAIL) that
// the resolver failed. It counts the queries.
func dnsServer(t *testing.T, rcode byte) (addr string, queries *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	queries = new(atomic.Int32)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			if len(q) < 12 {
				continue
			}
			// The question: QNAME's labels up to the empty one, then QTYPE
			// and QCLASS.
			end := 12
			for end < len(q) && q[end] != 0 {
				end += int(q[end]) + 1
			}
			end += 5
			if end > len(q) {
				continue
			}
			queries.Add(1)
			resp := make([]byte, end)
			copy(resp, q[:end])
			resp[2] = 0x80 | q[2]&0x01 // QR, and RD as asked
			resp[3] = 0x80 | rcode     // RA
			binary.BigEndian.PutUint16(resp[4:], 1)
			binary.BigEndian.PutUint16(resp[6:], 0)
			binary.BigEndian.PutUint16(resp[8:], 0)
			binary.BigEndian.PutUint16(resp[10:], 0)
			pc.WriteTo(resp, from)
		}
	}()
	return pc.LocalAddr().String(), queries
}

// resolvingClient is an HTTP client whose resolver asks dns, in Go's own
// resolver code, as it would the system's name server.
func resolvingClient(dns string) *http.Client {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
	return &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Resolver: r, Timeout: 5 * time.Second}).DialContext}}
}

// TestHostNotFound: a host DNS says does not exist is asked twice, not
// for all of --timeout, and gets the causes of a misspelt endpoint, with
// no claims; a resolver that fails is retried, as a network failure is.
func TestHostNotFound(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		rcode    byte
		want     []string
		attempts string
		within   time.Duration
	}{
		{"NXDOMAIN", 3, []string{
			"  acme/model: Post \"https://hub.example.test/oauth/token\": dial tcp: lookup hub.example.test",
			": no such host (after 2 attempts)\n",
			"Most likely causes of a host that does not exist, in order (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#no-such-host):\n",
			"  1. HF_ENDPOINT (https://hub.example.test) misspells the host: the public Hub is https://huggingface.co.\n",
			"Next: Correct the host name in HF_ENDPOINT (https://hub.example.test), or unset it for the public Hub. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#no-such-host)\n",
		}, "2 attempts", 1500 * time.Millisecond},
		{"SERVFAIL", 2, []string{
			"  acme/model: the --timeout of 2s ran out while waiting to retry https://hub.example.test/oauth/token; the last attempt: dial tcp: lookup hub.example.test",
			"Most likely causes of a DNS failure, in order (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#no-such-host):\n",
			"Next: Run the job again; if it keeps failing, check the runner's DNS.",
		}, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dns, queries := dnsServer(t, tt.rcode)
			sb := startSB(t, sandbox.Config{})
			step := newGitHubStep(t, sb)
			vars := step.env.with("HF_ENDPOINT=https://hub.example.test")
			var stdout, stderr syncBuffer
			start := time.Now()
			code := Main(t.Context(), Env{
				Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
				Getenv:     func(k string) string { return vars[k] },
				HTTPClient: resolvingClient(dns),
			}, []string{"exchange", "--format", "github", "--resource", "acme/model", "--timeout", "2s"})
			took := time.Since(start)
			r := cliRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
			r.want(t, 1, []string{"::error title=hf-oidc%3A token exchange failed::hf-oidc: the exchange failed for 1 of 1 resource; nothing was exported."}, nil)
			if queries.Load() == 0 {
				t.Fatal("the resolver never asked the name server")
			}
			if !strings.HasPrefix(r.stderr, "hf-oidc: the exchange failed for 1 of 1 resource; nothing was exported.\n") {
				t.Errorf("first line:\n%s", r.stderr)
			}
			// Prose is wrapped at lineWidth: compare the words.
			rest := flat(r.stderr)
			for _, w := range tt.want {
				w = flat(w)
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stderr lacks %q (in this order):\n%s", w, r.stderr)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(r.stderr, "The ID token the Hub saw") {
				t.Errorf("claims shown for a Hub never reached:\n%s", r.stderr)
			}
			if tt.attempts == "" && strings.Contains(r.stderr, "(after 2 attempts)") {
				t.Errorf("a failing resolver was not retried:\n%s", r.stderr)
			}
			if tt.within > 0 && took > tt.within {
				t.Errorf("took %s, want under %s", took.Round(time.Millisecond), tt.within)
			}
		})
	}
}
