package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

func TestFailureKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&exchange.Error{Code: "invalid_grant", Status: 400}, "invalid_grant"},
		{&exchange.Error{Code: "invalid_request", Status: 400}, "invalid_request"},
		{&exchange.Error{Code: "unsupported_grant_type", Status: 400}, "invalid_request"},
		{&exchange.Error{Problem: "rate limited", Status: 429}, "unavailable"},
		{&exchange.Error{Problem: "server error", Status: 503}, "unavailable"},
		{&exchange.Error{Code: "server_error", Status: 500}, "unavailable"},
		{&exchange.Error{Problem: "unexpected answer", Status: 404}, "not-hub"},
		{&exchange.Error{Problem: "redirected to …", Status: 302}, "not-hub"},
		{&exchange.Error{Problem: "unusable answer: the body is not JSON", Status: 200}, "not-hub"},
		{&exchange.Error{Err: context.DeadlineExceeded}, "timeout"},
		{&exchange.Error{Err: context.DeadlineExceeded, Status: 200}, "timeout"},
		{&exchange.Error{Err: &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}}, "refused"},
		{&exchange.Error{Err: &net.DNSError{Err: "no such host", Name: "hub.invalid", IsNotFound: true}}, "no-host"},
		{&exchange.Error{Err: &net.DNSError{Err: "server misbehaving", Name: "hub.example", IsTemporary: true}}, "dns"},
		{&exchange.Error{Err: &net.OpError{Op: "proxyconnect", Err: syscall.ECONNREFUSED}}, "proxy"},
		{&exchange.Error{Err: &retry.ProxyError{Proxy: "proxy:3128", Status: 407}}, "proxy"},
		{&exchange.Error{Err: x509.UnknownAuthorityError{}}, "untrusted"},
		{&exchange.Error{Err: &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "10.0.0.5"}}}, "hostname"},
		{&exchange.Error{Err: http.ErrSchemeMismatch}, "tls"},
		{&exchange.Error{Err: syscall.ECONNRESET}, "unreachable"},
		{errors.New("anything else"), "unreachable"},
	}
	for _, tt := range tests {
		if got := failureKind(tt.err); got != tt.want {
			t.Errorf("failureKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		4*time.Minute + 57*time.Second: "in 4m57s",
		-3 * time.Second:               "3s ago",
		400 * time.Millisecond:         "now",
		-600 * time.Millisecond:        "1s ago",
	} {
		if got := relative(now.Add(d), now); got != want {
			t.Errorf("relative(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestReportInGitHubActions: every failure, configuration errors included,
// goes through one reporter: its first line says what happened, its Next:
// line ends with the link to its entry, and in GitHub Actions it is an
// ::error:: annotation and a section of the step summary too.
func TestReportInGitHubActions(t *testing.T) {
	t.Parallel()
	sb := startSB(t, sandbox.Config{})
	sb.TrustGitHub("acme/model")
	expired, err := sb.MintIDToken(map[string]any{"iat": time.Now().Add(-2 * time.Hour), "nbf": time.Now().Add(-2 * time.Hour), "exp": time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	forkEvent := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(forkEvent, []byte(`{"pull_request":{"head":{"repo":{"full_name":"bob/training"}},"base":{"repo":{"full_name":"acme/training"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// step is a GitHub Actions step of the sandbox's, without the two
	// variables GitHub sets only with id-token: write.
	step := func(kvs ...string) (cliEnv, string) {
		s := newGitHubStep(t, sb)
		return s.env.with("ACTIONS_ID_TOKEN_REQUEST_URL=", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=").with(kvs...), s.Summary
	}
	exchange := []string{"exchange", "--resource", "acme/model"}
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		title  string   // of the annotation
		first  string   // the start of the first line
		anchor string   // the entry the message links to
		also   []string // in stderr and the step summary, as they are
	}{
		{
			name: "no id-token: write", args: exchange, code: 2, title: "no ID token",
			first:  "hf-oidc exchange: GitHub gave this job no ID token: the job lacks the id-token: write permission",
			anchor: "github-id-token-permission",
			also:   []string{"permissions: { id-token: write, contents: read }", "A job's own permissions: replaces the workflow's whole"},
		},
		{
			name: "no id-token: write, github format", args: append([]string{"exchange", "--format", "github"}, exchange[1:]...), code: 2, title: "no ID token",
			first:  "hf-oidc exchange: GitHub gave this job no ID token",
			anchor: "github-id-token-permission",
		},
		{
			name: "a fork's pull request", env: []string{"GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH=" + forkEvent}, args: exchange, code: 2, title: "no ID token",
			first:  "hf-oidc exchange: this run is for a pull request from the fork bob/training into acme/training",
			anchor: "github-fork-pull-request",
		},
		{
			name: "a bad flag", args: append(exchange, "--timeout", "soon"), code: 2, title: "bad input",
			first:  "hf-oidc exchange: --timeout",
			anchor: "bad-input",
		},
		{
			name: "an expired ID token", env: []string{"HF_OIDC_ID_TOKEN=" + expired}, args: append(exchange, "--format", "json"), code: 1, title: "the ID token has expired",
			first:  "hf-oidc exchange: the provider's ID token expired at ",
			anchor: "expired",
		},
		{
			name: "a local failure", env: []string{"RESOURCES=acme/model", "BITBUCKET_PIPE_SHARED_STORAGE_DIR=" + notADir + "/sub"}, args: []string{"pipe"}, code: 1, title: "failed",
			first:  "hf-oidc pipe: creating the pipe's shared storage directory: ",
			anchor: "local-failure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, summaryFile := step(tt.env...)
			r := runMain(t, env, "", tt.args...)
			annotation := regexp.MustCompile(`(?m)^::error title=([^:]*)::(.*)\n`)
			text := annotation.ReplaceAllString(r.stderr, "")
			if r.code != tt.code || !strings.HasPrefix(text, tt.first) {
				t.Fatalf("exit %d, want %d; stderr should start with %q:\n%s", r.code, tt.code, tt.first, r.stderr)
			}
			link := "(see " + diag.DocsURL + "#" + tt.anchor + ")"
			if !regexp.MustCompile(`(?m)^Next: `).MatchString(text) || !strings.HasSuffix(text, link+"\n") {
				t.Errorf("no Next: line, or the message does not end with %s:\n%s", link, text)
			}
			for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
				if n := utf8.RuneCountInString(l); n > lineWidth && !strings.Contains(l, diag.DocsURL) {
					t.Errorf("line %d is %d columns wide: %s", i+1, n, l)
				}
			}
			m := annotation.FindStringSubmatch(r.stderr)
			if m == nil || m[1] != "hf-oidc%3A "+tt.title || !strings.HasPrefix(m[2], tt.first) {
				t.Errorf("no ::error title=hf-oidc%%3A %s:: annotation starting with the first line on stderr:\n%s", tt.title, r.stderr)
			}
			summary := testkit.ReadText(t, summaryFile)
			if tt.anchor == "github-id-token-permission" && !strings.Contains(summary, "\n```yaml\n"+diag.PermissionSnippet+"\n```\n") {
				t.Errorf("the step summary lacks the YAML to paste, in a block of its own:\n%s", summary)
			}
			if !strings.HasPrefix(summary, "### hf-oidc: "+tt.title+"\n") || !strings.Contains(summary, "**Next:**") || !strings.Contains(summary, "(https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#"+tt.anchor+")") {
				t.Errorf("the step summary lacks the heading, the Next: or the link:\n%s", summary)
			}
			for _, s := range tt.also {
				if !holds(text, s) || !strings.Contains(flat(summary), s) {
					t.Errorf("stderr or the step summary lacks %q\nstderr:\n%s\nsummary:\n%s", s, text, summary)
				}
			}
			testkit.NoLeak(t, sb, map[string]string{"stderr": unmasked(t, sb, r.stderr), "stdout": r.stdout, "summary": summary})
		})
	}
}

// TestKeeperMessages: what a keeper of exec or refresh warns of links its
// entry, as every message does.
func TestKeeperMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		m      message
		first  string
		anchor diag.Anchor
	}{
		{keeperMessage("exec", refresh.RefreshFailed, "refreshing the tokens failed (acme/model: invalid_grant); retrying at …"), "hf-oidc exec: warning: refreshing the tokens failed", diag.AnchorRefreshFailed},
		{keeperMessage("refresh", refresh.WriteFailed, "writing the token files failed: no space left on device"), "hf-oidc refresh: warning: writing the token files failed", diag.AnchorLocalFailure},
		{keeperMessage("exec", refresh.Expiring, "the ID token expires at …"), "hf-oidc exec: warning: the ID token expires", diag.AnchorExpiring},
		{stoppedMessage("refresh", "stopping: ", &idtoken.ExpiredError{}), "hf-oidc refresh: stopping: the tokens can no longer be refreshed: the provider's ID token expired", diag.AnchorExpired},
		{stoppedMessage("exec", "", errors.New("writing the status: read-only file system")), "hf-oidc exec: the tokens can no longer be refreshed: writing", diag.AnchorLocalFailure},
	}
	for _, tt := range tests {
		text := tt.m.text()
		if !strings.HasPrefix(text, tt.first) || !strings.HasSuffix(text, tt.anchor.See()+"\n") || !strings.Contains(text, "\nNext: ") {
			t.Errorf("%s\nwant it to start %q and end with the link to %s", text, tt.first, tt.anchor)
		}
		if m := testkit.Unlinked(text, true); m != "" {
			t.Errorf("unlinked: %s", m)
		}
	}
}
