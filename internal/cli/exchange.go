package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
)

const exchangeAbout = `Mints the CI provider's ID token, exchanges it at the Hub once per resource
(concurrently) and exports one token per resource, plus HF_TOKEN for the
first. Nothing is exported if any resource fails (unless --allow-partial).

--token-dir and --refresh-margin apply with --git only: they are the
settings of the git helper it configures.

Examples:
  eval "$(hf-oidc exchange --resource acme/model --format shell)"
  hf-oidc exchange --resource acme/model --resource datasets/acme/data=HF_DATA_TOKEN`

func runExchange(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "exchange", "[flags]", exchangeAbout)
	// The token files' settings are the git helper's, which --git
	// configures: exchange itself writes no token file.
	flags := config.Bind(fs.FlagSet, slices.Concat(config.ExchangeVars, config.FileVars)...)
	flags.BindFormat()
	flags.BindAllowPartial()
	withGit := fs.Bool("git", false, gitFlagUsage)
	if err := fs.parse(args); err != nil {
		return err
	}
	if !*withGit {
		for _, name := range []string{"token-dir", "refresh-margin"} {
			if fs.given(name) {
				return config.Usagef("--%s applies to exchange only with --git, for the git helper it configures: exchange itself writes no token file (refresh and exec do)", name)
			}
		}
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
	var git *gitSetup
	if *withGit {
		if git, err = newGitSetup(cfg, env, ""); err != nil {
			return err
		}
	}
	warnHubClientOverride(env, cfg)
	start := env.Now()
	s, entries, err := exchangeRound(ctx, env, cfg, format)
	if err != nil {
		return err
	}
	if git != nil {
		if err := git.configureGlobal(ctx, env); err != nil {
			return err
		}
	}
	if err := newExporter(format, env, cfg).Export(entries); err != nil {
		return fmt.Errorf("exporting tokens: %w", err)
	}
	printSummary(env.Stderr, s, format, entries, env.Now().Sub(start))
	sayFirstFailed(env, s, entries, "HF_TOKEN")
	return nil
}

// exchangeRound runs the first round of exchange, exec and refresh: it
// masks what it must in GitHub Actions, prints the failure paragraph when a
// resource fails, and returns the tokens to export.
func exchangeRound(ctx context.Context, env Env, cfg *config.Config, format config.Format) (*session, []export.Entry, error) {
	// The github format masks the ID token the moment it exists, and the
	// exporter masks the tokens before writing anything. Other formats in
	// GitHub Actions mask the tokens on stderr, which the runner reads
	// workflow commands from too, so that a shell that evals our stdout
	// cannot echo a token in clear; they never print the ID token at all.
	var idMask io.Writer
	var tokenMask *export.Actions
	if format.InGitHub() {
		idMask = env.Stdout
	} else {
		tokenMask = export.InActions(cfg.Getenv)
	}

	s, err := newSession(cfg, env, idMask)
	if err != nil {
		return nil, nil, err
	}
	results, err := s.round(ctx)
	if results == nil && err != nil {
		return nil, nil, err
	}
	ok := succeeded(results)
	if err != nil {
		printFailure(env, format.InGitHub(), s, results, len(ok) > 0 && cfg.AllowPartial)
		if !cfg.AllowPartial || len(ok) == 0 {
			return nil, nil, &reportedError{err: err}
		}
	}
	entries := make([]export.Entry, len(ok))
	for _, r := range ok {
		if r.Token.Note != "" {
			message{level: "warning", title: "the Hub's answer had no usable expires_in", problem: r.Resource.Name + ": " + r.Token.Note,
				next:   "Nothing to do: hf-oidc renews the token by then. If every answer says so, check that HF_ENDPOINT is the Hub itself, not something in between that changes its answers.",
				anchor: diag.AnchorAssumedExpiry}.emit(env, cfg.Getenv, false)
		}
	}
	for i, r := range ok {
		entries[i] = export.Entry{Resource: r.Resource.Name, Env: r.Resource.Env, Token: r.Token.AccessToken, ExpiresAt: r.Token.ExpiresAt}
		if err := tokenMask.Mask(env.Stderr, r.Token.AccessToken); err != nil {
			return nil, nil, err
		}
	}
	return s, entries, nil
}

// resolveFormat turns auto into a concrete format and checks, before
// anything is exchanged, that the format can be written.
func resolveFormat(cfg *config.Config, env Env) (config.Format, error) {
	f := cfg.Format
	if f == config.FormatAuto {
		if export.InActions(cfg.Getenv) != nil {
			f = config.FormatGitHub
		} else {
			f = config.FormatShell
			if export.IsTerminal(env.Stdout) {
				return "", config.Usagef("refusing to print tokens to a terminal: run it as eval \"$(hf-oidc exchange …)\", redirect stdout, or choose --format explicitly")
			}
		}
	}
	if f == config.FormatGitHub && cfg.Getenv("GITHUB_ENV") == "" {
		return "", config.Usagef("--format github needs GITHUB_ENV, which only GitHub Actions sets; elsewhere use --format shell, dotenv or json")
	}
	if f == config.FormatGitHubOutputs && cfg.Getenv("GITHUB_OUTPUT") == "" {
		return "", config.Usagef("--format github-outputs needs GITHUB_OUTPUT, which only GitHub Actions sets; elsewhere use --format shell, dotenv or json")
	}
	return f, nil
}

func newExporter(format config.Format, env Env, cfg *config.Config) export.Exporter {
	switch format {
	case config.FormatGitHub:
		return &export.GitHub{Stdout: env.Stdout, Getenv: cfg.Getenv}
	case config.FormatGitHubOutputs:
		return &export.GitHub{Stdout: env.Stdout, Getenv: cfg.Getenv, OutputsOnly: true}
	case config.FormatDotenv:
		return &export.Dotenv{W: env.Stdout}
	case config.FormatJSON:
		return &export.JSON{W: env.Stdout}
	default:
		return &export.Shell{W: env.Stdout}
	}
}

// warnHubClientOverride warns when huggingface_hub's own switch is set: it
// makes huggingface_hub run its own exchange and ignore what we export.
// claims finds the same (diag.CheckEnv), in the same words.
func warnHubClientOverride(env Env, cfg *config.Config) {
	for _, f := range diag.CheckEnv(diag.Input{Getenv: cfg.Getenv}) {
		if f.Anchor == diag.AnchorHFOIDCResource {
			warning(f, "HF_OIDC_RESOURCE is set").emit(env, cfg.Getenv, false)
		}
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

func printSummary(w io.Writer, s *session, format config.Format, entries []export.Entry, took time.Duration) {
	where := map[config.Format]string{
		config.FormatGitHub:        "exported to later steps ($GITHUB_ENV)",
		config.FormatGitHubOutputs: "set as this step's outputs only ($GITHUB_OUTPUT)",
		config.FormatShell:         "printed as export lines on stdout",
		config.FormatDotenv:        "printed as dotenv lines on stdout",
		config.FormatJSON:          "printed as JSON on stdout",
	}[format]
	exp := entries[0].ExpiresAt
	// Whoever answers at the endpoint receives the ID token: a log should
	// show any endpoint but the Hub's.
	at := ""
	if e := strings.TrimRight(s.cfg.Endpoint, "/"); e != "" && e != exchange.DefaultEndpoint {
		at = " at " + e
	}
	fmt.Fprintf(w, "hf-oidc: %d token%s from the %s provider's ID token%s in %s, valid until %s; %s:\n",
		len(entries), plural(len(entries)), s.provider.Name(), at, took.Round(time.Millisecond), exp.UTC().Format(time.RFC3339), where)
	printEntries(w, entries)
}

// printEntries lists which resource went to which variable: never a token.
func printEntries(w io.Writer, entries []export.Entry) {
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

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// sayFirstFailed says, in one line on stderr and in the step summary, when
// --allow-partial made another resource's token the default one, variable
// (HF_TOKEN, or HF_TOKEN_PATH for token files): a script that reads it
// expects the first resource's.
func sayFirstFailed(env Env, s *session, entries []export.Entry, variable string) {
	first := s.cfg.Resources[0].Name
	if len(entries) == 0 || entries[0].Resource == first {
		return
	}
	line := fmt.Sprintf("%s holds %s's token, as %s failed (--allow-partial).", variable, entries[0].Resource, first)
	if variable == "HF_TOKEN_PATH" {
		line = fmt.Sprintf("%s names %s's token file, as %s failed (--allow-partial).", variable, entries[0].Resource, first)
	}
	var b strings.Builder
	fill(&b, "hf-oidc: ", "", line)
	fmt.Fprint(env.Stderr, b.String())
	if err := export.InActions(s.cfg.Getenv).AppendSummary([]byte("**" + export.Markdown(line) + "**\n\n")); err != nil {
		fmt.Fprint(env.Stderr, message{level: "warning", problem: "writing the step summary: " + err.Error(), next: "Check that $GITHUB_STEP_SUMMARY names a file this step may write.", anchor: diag.AnchorLocalFailure}.text())
	}
}
