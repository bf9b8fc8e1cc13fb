package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// faultCase is one fault of the Hub or of GitHub's ID-token endpoint, and
// what the real binary must make of it.
type faultCase struct {
	name string
	// hub and idToken are queued at the exchange and at the ID-token
	// endpoint; answer, when set, builds the Hub's faults from a token the
	// sandbox really issued (so that a doctored answer holds a live token).
	hub, idToken []sandbox.Fault
	answer       func(tok string) []sandbox.Fault
	args         []string
	// code is the exit status; on 0 the token must work on whoami and
	// expire lifetime from now.
	code     int
	lifetime time.Duration
	// want are parts of stderr, in order.
	want []string
	// exchanges and idTokens are the requests the sandbox must have seen.
	exchanges, idTokens int
}

// faultHTML is what a proxy in front of the Hub answers when it fails.
const faultHTML = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body></html>"

// faultRepeat is n copies of f.
func faultRepeat(n int, f sandbox.Fault) []sandbox.Fault {
	fs := make([]sandbox.Fault, n)
	for i := range fs {
		fs[i] = f
	}
	return fs
}

// faultAnswer is a 200 with the given JSON fields after a real access_token.
func faultAnswer(tok, fields string) []sandbox.Fault {
	return []sandbox.Fault{{Body: fmt.Sprintf(`{"access_token":%q,"token_type":"bearer"%s}`, tok, fields)}}
}

// faultCases: every retryable fault is tried once followed by a good answer
// (it must succeed, with one more request) and persisting (it must fail
// after every attempt: 5 exchanges, 4 ID-token requests); every other fault
// must fail after one request.
var faultCases = []faultCase{
	// Rate limits and server errors at the exchange.
	{name: "429 Retry-After seconds then success", hub: []sandbox.Fault{{Status: 429, RetryAfter: "1", Body: "Too Many Requests"}},
		lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "429 Retry-After HTTP-date then success", hub: []sandbox.Fault{{Status: 429, RetryAfter: "DATE+1s"}},
		lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "429 without Retry-After then success", hub: []sandbox.Fault{{Status: 429}},
		lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "429 Retry-After beyond the timeout", hub: []sandbox.Fault{{Status: 429, RetryAfter: "120"}}, args: []string{"--timeout", "5s"},
		code: 1, exchanges: 1, idTokens: 1,
		want: []string{"acme/model: the server asked to wait 2m0s before retrying, longer than the", "left before the timeout (HTTP 429, request ID Root=", "rate-limiting"}},
	{name: "429 persists", hub: faultRepeat(5, sandbox.Fault{Status: 429, RetryAfter: "0", Body: `{"error":"rate_limited"}`}),
		code: 1, exchanges: 5, idTokens: 1,
		want: []string{"acme/model: rate_limited (5 attempts; last answer: HTTP 429, request ID Root=", "Run the job again in a few minutes, or raise --timeout."}},
	{name: "500 then success", hub: []sandbox.Fault{{Status: 500}}, lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "502 then success", hub: []sandbox.Fault{{Status: 502, Body: faultHTML, ContentType: "text/html"}}, lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "503 then success", hub: []sandbox.Fault{{Status: 503, RetryAfter: "0"}}, lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "504 then success", hub: []sandbox.Fault{{Status: 504}}, lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "500 persists", hub: faultRepeat(5, sandbox.Fault{Status: 500, Body: `{"error":"server_error","error_description":"Internal Server Error"}`}),
		code: 1, exchanges: 5, idTokens: 1,
		want: []string{"acme/model: server_error: Internal Server Error (5 attempts; last answer: HTTP 500, request ID Root="}},
	{name: "502 persists", hub: faultRepeat(5, sandbox.Fault{Status: 502, Body: faultHTML, ContentType: "text/html"}),
		code: 1, exchanges: 5, idTokens: 1,
		want: []string{`acme/model: server error, not JSON but text/html: "<html> <head><title>502 Bad Gateway</title></head>`, "(5 attempts; last answer: HTTP 502, request ID Root="}},
	{name: "503 persists", hub: faultRepeat(5, sandbox.Fault{Status: 503, RetryAfter: "0", Body: "upstream connect error"}),
		code: 1, exchanges: 5, idTokens: 1,
		want: []string{`acme/model: server error, not JSON but text/plain: "upstream connect error" (5 attempts; last answer: HTTP 503, request ID Root=`}},
	{name: "504 persists", hub: faultRepeat(5, sandbox.Fault{Status: 504}),
		code: 1, exchanges: 5, idTokens: 1,
		want: []string{"acme/model: server error (5 attempts; last answer: HTTP 504, request ID Root="}},
	{name: "501 not retried", hub: []sandbox.Fault{{Status: 501}},
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: server error (HTTP 501, request ID Root="}},

	// Broken connections.
	{name: "reset then success", hub: []sandbox.Fault{{Reset: true}}, lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "reset persists", hub: faultRepeat(5, sandbox.Fault{Reset: true}),
		code: 1, exchanges: 5, idTokens: 1, want: []string{"acme/model: Post \"http://", "/oauth/token\": ", "(after 5 attempts)", "no usable answer"}},
	{name: "closed mid-body then success", hub: []sandbox.Fault{{Truncate: true}}, lifetime: time.Hour, exchanges: 2, idTokens: 1},
	{name: "reset mid-body persists", hub: faultRepeat(5, sandbox.Fault{Truncate: true, Reset: true}),
		code: 1, exchanges: 5, idTokens: 1,
		want: []string{"acme/model: the connection broke while reading the answer from http://", "/oauth/token: ", "(5 attempts; last answer: HTTP 200, request ID Root="}},

	// Stalls: the --timeout bound holds and says what it cut short.
	{name: "stall before the headers", hub: []sandbox.Fault{{Delay: time.Minute}}, args: []string{"--timeout", "2s"},
		code: 1, exchanges: 1, idTokens: 1,
		want: []string{"acme/model: the --timeout of 2s ran out while waiting for an answer from http://", "/oauth/token\n",
			"  1. The Hub, or a proxy in front of it, stalled or answered too slowly: the --timeout of 2s ran out while it waited, as said above.\n",
			"Next: Run the job again, or raise --timeout (2s) if the Hub is this slow from this runner."}},
	{name: "stall after the headers", hub: []sandbox.Fault{{Stall: time.Minute}}, args: []string{"--timeout", "2s"},
		code: 1, exchanges: 1, idTokens: 1,
		want: []string{"acme/model: the --timeout of 2s ran out while reading the answer from http://", "/oauth/token (HTTP 200, request ID Root="}},
	{name: "stall mid-body", hub: []sandbox.Fault{{Stall: time.Minute, StallAfter: 20}}, args: []string{"--timeout", "2s"},
		code: 1, exchanges: 1, idTokens: 1,
		want: []string{"acme/model: the --timeout of 2s ran out while reading the answer from http://", "/oauth/token (HTTP 200, request ID Root="}},

	// Bodies that are not a usable answer: never retried, never quoted
	// (a 200's body may hold a token).
	{name: "HTML 200", hub: []sandbox.Fault{{Body: "<!DOCTYPE html><html><body>Hugging Face – Maintenance</body></html>", ContentType: "text/html"}},
		code: 1, exchanges: 1, idTokens: 1,
		want: []string{"acme/model: unusable answer: the body is not JSON (at byte 1) (Content-Type text/html) (HTTP 200, request ID Root="}},
	{name: "truncated JSON 200", answer: func(tok string) []sandbox.Fault {
		return []sandbox.Fault{{Body: fmt.Sprintf(`{"access_token":%q,"token_type":"bea`, tok)}}
	}, code: 1, exchanges: 1, idTokens: 1,
		want: []string{"acme/model: unusable answer: the body is truncated JSON (HTTP 200, request ID Root="}},
	{name: "access_token a number", hub: []sandbox.Fault{{Body: `{"access_token":12345678,"token_type":"bearer","expires_in":3600}`}},
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: access_token is not a string (HTTP 200"}},
	{name: "token_type an object", answer: func(tok string) []sandbox.Fault {
		return []sandbox.Fault{{Body: fmt.Sprintf(`{"access_token":%q,"token_type":{},"expires_in":3600}`, tok)}}
	}, code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: token_type is not a string (HTTP 200"}},
	{name: "expires_in a string", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, `,"expires_in":"3600"`) },
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: expires_in is not a number (HTTP 200"}},
	{name: "JSON array 200", hub: []sandbox.Fault{{Body: `[{"access_token":"x"}]`}},
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: the body is JSON array, not an object (HTTP 200"}},

	// expires_in: strict where a wrong value would export a dead token or
	// make the refresher spin, the documented hour where it is missing or
	// beyond belief.
	{name: "expires_in absent", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, "") },
		lifetime: time.Hour, exchanges: 1, idTokens: 1, want: []string{"hf-oidc: warning: acme/model: the answer has no expires_in: assumed the documented 1h.\n"}},
	{name: "expires_in absurd", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, `,"expires_in":3600000000`) },
		lifetime: time.Hour, exchanges: 1, idTokens: 1, want: []string{"hf-oidc: warning: acme/model: expires_in is 3600000000 seconds, more than 24h: assumed the documented 1h instead.\n"}},
	{name: "expires_in two hours", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, `,"expires_in":7200`) },
		lifetime: 2 * time.Hour, exchanges: 1, idTokens: 1},
	{name: "expires_in zero", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, `,"expires_in":0`) },
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: expires_in is 0: not positive (HTTP 200"}},
	{name: "expires_in negative", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, `,"expires_in":-3600`) },
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: expires_in is -3600: not positive (HTTP 200"}},
	{name: "expires_in under a second", answer: func(tok string) []sandbox.Fault { return faultAnswer(tok, `,"expires_in":0.5`) },
		code: 1, exchanges: 1, idTokens: 1, want: []string{"acme/model: unusable answer: expires_in is 0.5: less than 1s, the token would be dead before use (HTTP 200"}},

	// GitHub's ID-token endpoint: transient failures are retried (4
	// attempts), others are not, and the Hub is never asked.
	{name: "ID token 503 then success", idToken: []sandbox.Fault{{Status: 503}}, lifetime: time.Hour, exchanges: 1, idTokens: 2},
	{name: "ID token reset then success", idToken: []sandbox.Fault{{Reset: true}}, lifetime: time.Hour, exchanges: 1, idTokens: 2},
	{name: "ID token closed mid-body then success", idToken: []sandbox.Fault{{Truncate: true}}, lifetime: time.Hour, exchanges: 1, idTokens: 2},
	{name: "ID token 500 persists", idToken: faultRepeat(4, sandbox.Fault{Status: 500, Body: "Internal error"}),
		code: 1, exchanges: 0, idTokens: 4,
		want: []string{"requesting GitHub ID token from http://", "/github/_apis/idtoken: giving up after 4 attempts: status 500 Internal Server Error: Internal error\n"}},
	{name: "ID token 401 not retried", idToken: []sandbox.Fault{{Status: 401, Body: `{"message":"TF400813: The user '' is not authorized to access this resource."}`}},
		code: 1, exchanges: 0, idTokens: 1,
		want: []string{"requesting GitHub ID token from http://", "/github/_apis/idtoken: status 401 Unauthorized (not retried): {\"message\":\"TF400813"}},
	{name: "ID token 404 not retried", idToken: []sandbox.Fault{{Status: 404, Body: "Not Found"}},
		code: 1, exchanges: 0, idTokens: 1, want: []string{"/github/_apis/idtoken: status 404 Not Found (not retried): Not Found\n"}},
	{name: "ID token HTML 200", idToken: []sandbox.Fault{{Body: "<html>sign in</html>", ContentType: "text/html"}},
		code: 1, exchanges: 0, idTokens: 1, want: []string{"/github/_apis/idtoken: decoding the response: not a JSON object with a string \"value\" (20 bytes)\n"}},
	{name: "ID token value a number", idToken: []sandbox.Fault{{Body: `{"value":42}`}},
		code: 1, exchanges: 0, idTokens: 1, want: []string{"/github/_apis/idtoken: decoding the response: not a JSON object with a string \"value\""}},
	{name: "ID token stall", idToken: []sandbox.Fault{{Delay: time.Minute}}, args: []string{"--timeout", "1s"},
		code: 1, exchanges: 0, idTokens: 1,
		want: []string{"the --timeout of 1s ran out while getting the ID token: ", "requesting GitHub ID token from http://", "/github/_apis/idtoken: "}},
	{name: "ID token stall mid-body", idToken: []sandbox.Fault{{Stall: time.Minute, StallAfter: 12}}, args: []string{"--timeout", "1s"},
		code: 1, exchanges: 0, idTokens: 1,
		want: []string{"the --timeout of 1s ran out while getting the ID token: "}},
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
			sb.TrustGitHub("acme/model")
			hub := c.hub
			if c.answer != nil {
				hub = c.answer(faultIssue(t, sb, "acme/model"))
			}
			for i, f := range hub {
				if f.RetryAfter == "DATE+1s" {
					hub[i].RetryAfter = time.Now().Add(time.Second).UTC().Format(http.TimeFormat)
				}
			}
			sb.Inject(sandbox.PathToken, hub...)
			sb.Inject(sandbox.PathGitHubIDToken, c.idToken...)
			before := sb.Stats()

			step := testkit.NewGitHubStep(t, sb)
			tokenDir := faultPrivateDir(t)
			env := append(step.Env, "RUNNER_TEMP="+tokenDir, "HF_OIDC_TOKEN_DIR="+tokenDir)
			r := runBin(t, env, append([]string{"exchange", "--format", "github", "--resource", "acme/model"}, c.args...)...)

			if r.code != c.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, c.code, r.stderr)
			}
			st := sb.Stats()
			if got := st.Exchanges - before.Exchanges; got != c.exchanges {
				t.Errorf("the Hub saw %d exchanges, want %d", got, c.exchanges)
			}
			if got := st.IDTokenRequests - before.IDTokenRequests; got != c.idTokens {
				t.Errorf("the ID-token endpoint saw %d requests, want %d", got, c.idTokens)
			}
			faultWantInOrder(t, r.stderr, c.want)
			testkit.NoLeak(t, sb, map[string]string{
				"stdout":       withoutMasks(t, sb, r.stdout),
				"stderr":       r.stderr,
				"step summary": testkit.ReadText(t, step.Summary),
			})

			if c.code != 0 {
				if got := testkit.ReadText(t, step.EnvFile) + testkit.ReadText(t, step.Output); got != "" {
					t.Errorf("exported after a failure: %d bytes", len(got))
				}
				faultAssertNoTokens(t, sb, tokenDir)
				if c.exchanges > 0 && !strings.Contains(r.stderr, "the exchange failed for 1 of 1 resource; nothing was exported") {
					t.Errorf("stderr does not say nothing was exported:\n%s", r.stderr)
				}
				if !strings.Contains(r.stdout, "::error") && c.exchanges > 0 {
					t.Errorf("no ::error annotation on stdout")
				}
				return
			}
			vars := testkit.CommandFile(t, testkit.ReadText(t, step.EnvFile))
			assertWorks(t, sb, "acme/model", vars["HF_TOKEN"])
			exp, err := time.Parse(time.RFC3339, vars["HF_TOKEN_EXPIRES_AT"])
			if d := time.Until(exp); err != nil || d > c.lifetime || d < c.lifetime-5*time.Minute {
				t.Errorf("HF_TOKEN_EXPIRES_AT = %q: %s from now, want about %s", vars["HF_TOKEN_EXPIRES_AT"], d.Round(time.Second), c.lifetime)
			}
		})
	}
}

// faultIssue has the sandbox issue a real token for res, as the Hub would
// for this job, for a fault to doctor the answer around it.
func faultIssue(t *testing.T, sb *sandbox.Sandbox, res string) string {
	t.Helper()
	idToken, err := sb.MintIDToken(nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{
		"grant_type":         "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
		"subject_token":      idToken,
		"resource":           res,
	})
	resp, err := http.Post(sb.URL()+sandbox.PathToken, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ok); err != nil || ok.AccessToken == "" {
		t.Fatalf("the sandbox issued no token: %d, %v", resp.StatusCode, err)
	}
	return ok.AccessToken
}

// faultWantInOrder fails unless each of want appears in text after the
// previous one.
func faultWantInOrder(t *testing.T, text string, want []string) {
	t.Helper()
	rest := flat(text)
	for _, w := range want {
		w = flat(w)
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("stderr lacks %q (in this order):\n%s", w, text)
			return
		}
		rest = rest[i+len(w):]
	}
}

// faultPrivateDir is an empty directory fit to hold tokens (0700).
func faultPrivateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// faultAssertNoTokens fails if dir holds anything but the keeper's lock
// (which exec takes, empty, in its token directory) or any file holds a
// secret.
func faultAssertNoTokens(t *testing.T, sb *sandbox.Sandbox, dir string) {
	t.Helper()
	contents := map[string]string{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			contents[path] = string(b)
			if d.Name() != "keeper.lock" {
				t.Errorf("file left after a failure: %s", path)
			}
		}
		return nil
	})
	testkit.NoLeak(t, sb, contents)
}

// TestFaultExecRunsNothing: under exec, a failed first round runs no
// command and leaves no token file.
func TestFaultExecRunsNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		path         string
		faults       []sandbox.Fault
		args, want   []string
		exchangeSeen int
	}{
		{"503 persists", sandbox.PathToken, faultRepeat(5, sandbox.Fault{Status: 503, RetryAfter: "0"}), nil,
			[]string{"acme/model: server error (5 attempts; last answer: HTTP 503"}, 5},
		{"stall", sandbox.PathToken, []sandbox.Fault{{Stall: time.Minute, StallAfter: 5}}, []string{"--timeout", "1s"},
			[]string{"acme/model: the --timeout of 1s ran out while reading the answer"}, 1},
		{"ID token 403", sandbox.PathGitHubIDToken, []sandbox.Fault{{Status: 403, Body: "Forbidden"}}, nil,
			[]string{"status 403 Forbidden (not retried): Forbidden"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
			sb.TrustGitHub("acme/model")
			sb.Inject(c.path, c.faults...)
			dir, ran := faultPrivateDir(t), filepath.Join(t.TempDir(), "ran")
			args := append([]string{"exec", "--resource", "acme/model", "--token-dir", dir}, c.args...)
			r := runBin(t, sb.GitHubEnv(), append(args, "--", "sh", "-c", `touch "$0"`, ran)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstderr: %s", r.code, r.stderr)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Error("the command ran after a failed exchange")
			}
			faultAssertNoTokens(t, sb, dir)
			if got := sb.Stats().Exchanges; got != c.exchangeSeen {
				t.Errorf("the Hub saw %d exchanges, want %d", got, c.exchangeSeen)
			}
			faultWantInOrder(t, r.stderr, c.want)
			testkit.NoLeak(t, sb, map[string]string{"stdout": r.stdout, "stderr": withoutMasks(t, sb, r.stderr)})
		})
	}
}

// TestFaultEnormousBody: a 512 MiB answer is read no further than the size
// limit, and the binary's memory stays far below the body's size.
//
// The peak RSS comes from GNU time, not from the ProcessState of a child
// of this test: Go starts children with vfork, so the child's high-water
// mark starts at this (large, race-instrumented) test process's RSS, and a
// child that allocates nothing reports hundreds of MiB. time forks for
// real from its own small process, so it sees hf-oidc's alone.
func TestFaultEnormousBody(t *testing.T) {
	t.Parallel()
	const gnuTime = "/usr/bin/time"
	if _, err := os.Stat(gnuTime); err != nil {
		requireTool(t, "GNU time ("+gnuTime+")")
	}
	const size = 512 << 20
	for _, c := range []struct {
		name, path string
		fault      sandbox.Fault
		want       string
		exchanges  int
	}{
		{"exchange 200", sandbox.PathToken, sandbox.Fault{Body: `{"access_token":"hf_jwt_`, BodySize: size},
			"acme/model: unusable answer: larger than 64 KiB (HTTP 200, request ID Root=", 1},
		{"exchange 400", sandbox.PathToken, sandbox.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"`, BodySize: size},
			`acme/model: unexpected answer, larger than 64 KiB: "{\"error\":\"invalid_grant\",\"error_description\":\"xxxx`, 1},
		{"ID token 200", sandbox.PathGitHubIDToken, sandbox.Fault{Body: `{"value":"eyJ`, BodySize: size},
			"/github/_apis/idtoken: response is larger than 65536 bytes", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, sandbox.Config{Keys: sandbox.SharedKeys})
			sb.TrustGitHub("acme/model")
			var written atomic.Int64
			c.fault.Written = &written
			sb.Inject(c.path, c.fault)
			step := testkit.NewGitHubStep(t, sb)

			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			rss := filepath.Join(t.TempDir(), "maxrss")
			cmd := exec.CommandContext(ctx, gnuTime, "-o", rss, "-f", "%M", bin, "exchange", "--format", "github", "--resource", "acme/model")
			cmd.Env = hermeticEnv(t, step.Env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\nstderr: %s", err, stderr.String())
			}
			if !holds(stderr.String(), c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr.String())
			}
			if got := sb.Stats().Exchanges; got != c.exchanges {
				t.Errorf("the Hub saw %d exchanges, want %d", got, c.exchanges)
			}
			// %M is the peak RSS in KiB. The binary alone takes some tens
			// of MiB; a body read whole would take 512 more.
			// Its last line: before it, time says the status was not 0.
			var kib int64
			lines := strings.Split(strings.TrimSpace(testkit.ReadText(t, rss)), "\n")
			if _, err := fmt.Sscan(lines[len(lines)-1], &kib); err != nil || kib <= 0 {
				t.Fatalf("GNU time's %%M: %q, %v", testkit.ReadText(t, rss), err)
			}
			peak := kib << 10
			t.Logf("peak RSS %d MiB; the sandbox wrote %d KiB of the %d MiB body", peak>>20, written.Load()>>10, size>>20)
			if peak > 64<<20 {
				t.Errorf("peak RSS %d MiB for a %d MiB body, want under 64 MiB", peak>>20, size>>20)
			}
			// What the sandbox got out went to the kernel's socket buffers,
			// not to the binary: a few MiB at most.
			faultWaitSettled(t, &written)
			if n := written.Load(); n > 32<<20 {
				t.Errorf("the sandbox wrote %d MiB of the body: the client read on past its limit", n>>20)
			}
			if got := testkit.ReadText(t, step.EnvFile); got != "" {
				t.Errorf("exported after a failure: %d bytes", len(got))
			}
			testkit.NoLeak(t, sb, map[string]string{"stdout": withoutMasks(t, sb, stdout.String()), "stderr": stderr.String()})
		})
	}
}

// faultWaitSettled waits until n stops growing: the sandbox's stream ends
// once the client has gone.
func faultWaitSettled(t *testing.T, n *atomic.Int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for prev := int64(-1); n.Load() != prev; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox is still writing (%d MiB) after the client left", n.Load()>>20)
		}
		prev = n.Load()
	}
}
