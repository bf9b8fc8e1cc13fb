package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
)

const exchangeAbout = `Mints the CI provider's ID token, exchanges it at the Hub once per resource
(concurrently) and exports one token per resource, plus HF_TOKEN for the
first. Nothing is exported if any resource fails (unless --allow-partial).

Examples:
  eval "$(hf-oidc exchange --resource acme/model --format shell)"
  hf-oidc exchange --resource acme/model --resource datasets/acme/data=HF_DATA_TOKEN`

func runExchange(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "exchange", "[flags]", exchangeAbout)
	flags := config.Bind(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Usagef("unexpected argument %q: exchange takes only flags (resources go in --resource)", fs.Arg(0))
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return err
	}
	format, err := resolveFormat(cfg, env)
	if err != nil {
		return err
	}
	// The github format masks the ID token the moment it exists, and the
	// exporter masks the tokens before writing anything. Other formats in
	// GitHub Actions mask the tokens on stderr, which the runner reads
	// workflow commands from too, so that a shell that evals our stdout
	// cannot echo a token in clear; they never print the ID token at all.
	var idMask, tokenMask io.Writer
	if format == "github" {
		idMask = env.Stdout
	} else if cfg.Getenv("GITHUB_ACTIONS") == "true" {
		tokenMask = env.Stderr
	}
	warnHubClientOverride(env, cfg)

	s, err := newSession(cfg, env, idMask)
	if err != nil {
		return err
	}
	start := env.Now()
	results, err := s.round(ctx)
	if results == nil && err != nil {
		return err
	}
	ok := succeeded(results)
	if err != nil {
		printFailure(env, format == "github", s, results, len(ok) > 0 && cfg.AllowPartial)
		if !cfg.AllowPartial || len(ok) == 0 {
			return &reportedError{err: err}
		}
	}
	entries := make([]export.Entry, len(ok))
	for i, r := range ok {
		entries[i] = export.Entry{Resource: r.Resource.Name, Env: r.Resource.Env, Token: r.Token.AccessToken, ExpiresAt: r.Token.ExpiresAt}
		if tokenMask != nil {
			if err := export.Mask(tokenMask, r.Token.AccessToken); err != nil {
				return fmt.Errorf("masking tokens: %w", err)
			}
		}
	}
	if err := newExporter(format, env, cfg).Export(entries); err != nil {
		return fmt.Errorf("exporting tokens: %w", err)
	}
	printSummary(env.Stderr, s, format, entries, env.Now().Sub(start))
	return nil
}

// resolveFormat turns auto into a concrete format and checks, before
// anything is exchanged, that the format can be written.
func resolveFormat(cfg *config.Config, env Env) (string, error) {
	f := cfg.Format
	if f == "auto" {
		if cfg.Getenv("GITHUB_ACTIONS") == "true" {
			f = "github"
		} else {
			f = "shell"
			if export.IsTerminal(env.Stdout) {
				return "", config.Usagef("refusing to print tokens to a terminal: run it as eval \"$(hf-oidc exchange …)\", redirect stdout, or choose --format explicitly")
			}
		}
	}
	if f == "github" && cfg.Getenv("GITHUB_ENV") == "" {
		return "", config.Usagef("--format github needs GITHUB_ENV, which only GitHub Actions sets; elsewhere use --format shell, dotenv or json")
	}
	return f, nil
}

func newExporter(format string, env Env, cfg *config.Config) export.Exporter {
	switch format {
	case "github":
		return &export.GitHub{Stdout: env.Stdout, Getenv: cfg.Getenv}
	case "dotenv":
		return &export.Dotenv{W: env.Stdout}
	case "json":
		return &export.JSON{W: env.Stdout}
	default:
		return &export.Shell{W: env.Stdout}
	}
}

// warnHubClientOverride warns when huggingface_hub's own switch is set: it
// makes huggingface_hub run its own exchange and ignore what we export.
func warnHubClientOverride(env Env, cfg *config.Config) {
	if v := cfg.Getenv("HF_OIDC_RESOURCE"); v != "" {
		fmt.Fprintf(env.Stderr, "hf-oidc: warning: HF_OIDC_RESOURCE is set (%q): huggingface_hub then runs its own exchange and ignores HF_TOKEN and HF_TOKEN_PATH. hf-oidc reads its resources from --resource or HF_OIDC_RESOURCES; unset HF_OIDC_RESOURCE.\n", truncate(v, 100))
	}
}

func succeeded(results []exchange.Result) []exchange.Result {
	var ok []exchange.Result
	for _, r := range results {
		if r.Err == nil {
			ok = append(ok, r)
		}
	}
	return ok
}

func printSummary(w io.Writer, s *session, format string, entries []export.Entry, took time.Duration) {
	where := map[string]string{
		"github": "exported to later steps ($GITHUB_ENV)",
		"shell":  "printed as export lines on stdout",
		"dotenv": "printed as dotenv lines on stdout",
		"json":   "printed as JSON on stdout",
	}[format]
	exp := entries[0].ExpiresAt
	fmt.Fprintf(w, "hf-oidc: %d token%s from the %s provider's ID token in %s, valid until %s; %s:\n",
		len(entries), plural(len(entries)), s.provider.Name(), took.Round(time.Millisecond), exp.UTC().Format(time.RFC3339), where)
	width := 0
	for _, e := range entries {
		width = max(width, len(e.Resource))
	}
	for i, e := range entries {
		also := ""
		if i == 0 && e.Env != "HF_TOKEN" {
			also = " (and HF_TOKEN)"
		}
		fmt.Fprintf(w, "  %-*s  %s%s\n", width, e.Resource, e.Env, also)
	}
}

// printFailure prints the paragraph of a failed round: each failed
// resource with the Hub's answer, the claims the Hub saw, and what to do.
func printFailure(env Env, github bool, s *session, results []exchange.Result, partial bool) {
	var failed []exchange.Result
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r)
		}
	}
	var b strings.Builder
	outcome := "nothing was exported"
	if partial {
		outcome = "the others were exported (--allow-partial)"
	}
	fmt.Fprintf(&b, "hf-oidc exchange: the exchange failed for %d of %d resource%s; %s.\n", len(failed), len(results), plural(len(results)), outcome)
	var codes []string
	var requestIDs, hubAnswered bool
	for _, r := range failed {
		fmt.Fprintf(&b, "  %s: %s\n", r.Resource.Name, failureLine(r.Err))
		var xe *exchange.Error
		if errors.As(r.Err, &xe) {
			codes = append(codes, failureKind(xe))
			requestIDs = requestIDs || xe.RequestID != ""
			hubAnswered = hubAnswered || xe.Code != ""
		} else {
			codes = append(codes, "other")
		}
	}
	// The claims matter only where the Hub judged the token.
	if t := s.ids.Last(); t != nil && hubAnswered {
		fmt.Fprintf(&b, "  The ID token the Hub saw (%s provider): %s\n", s.provider.Name(), claimsLine(t))
	}
	fmt.Fprintf(&b, "Next: %s", nextStep(codes))
	if requestIDs {
		b.WriteString(" Quote the request ID when you report a problem.")
	}
	b.WriteString("\n")
	fmt.Fprint(env.Stderr, b.String())
	if github {
		export.Annotate(env.Stdout, "error", "hf-oidc: token exchange failed", b.String())
	}
}

// failureLine is one failure without the "exchanging token for R" context
// that the paragraph already gives.
func failureLine(err error) string {
	var xe *exchange.Error
	if errors.As(err, &xe) {
		return xe.Summary()
	}
	return err.Error()
}

func failureKind(xe *exchange.Error) string {
	switch {
	case xe.Code != "":
		return xe.Code
	case xe.Status == 429 || xe.Status >= 500:
		return "unavailable"
	default:
		return "other"
	}
}

// nextSteps for each kind of failure, most specific first.
var nextSteps = []struct{ kind, text string }{
	{"invalid_grant", "On the Hub, open each refused repo's Settings → Trusted Publishers (for a username: CI/CD Access) and check that a publisher names this issuer and that each of its claims equals the ID token's exactly (no patterns: refs/heads/main does not match refs/heads/main-backup); the repo or user must exist."},
	{"invalid_request", "The Hub rejected the request's form: check the resource names (ns/name, datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username) and HF_ENDPOINT."},
	{"unavailable", "The Hub is rate-limiting or unavailable; hf-oidc retried until --timeout. Run the job again later, or raise --timeout."},
	{"other", "Check that HF_ENDPOINT points at the Hub and that it is reachable from this runner (proxies come from HTTPS_PROXY and NO_PROXY)."},
}

func nextStep(kinds []string) string {
	for _, n := range nextSteps {
		for _, k := range kinds {
			if k == n.kind {
				return n.text
			}
		}
	}
	return nextSteps[len(nextSteps)-1].text
}

// identifyingClaims are shown, when present, to say which job the Hub saw.
// The list spans providers so that no code switches on provider names.
var identifyingClaims = []string{
	"repository", "ref", "workflow_ref", "job_workflow_ref", "environment", "event_name",
	"project_path", "ref_type", "pipeline_source",
}

func claimsLine(t *idtoken.Token) string {
	parts := []string{"iss=" + t.Issuer, "sub=" + t.Subject, "aud=" + strings.Join(t.Audience, ",")}
	for _, c := range identifyingClaims {
		if v, ok := t.Claims[c]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", c, v))
		}
	}
	return strings.Join(parts, " ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
