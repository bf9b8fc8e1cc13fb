package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// tempBase is where token directories go by default: GitHub's per-job
// temporary directory, which the runner empties when the job ends, else
// the system's.
func tempBase(getenv func(string) string) string {
	if d := getenv("RUNNER_TEMP"); d != "" {
		return d
	}
	if d := getenv("TMPDIR"); d != "" {
		return d
	}
	return os.TempDir()
}

// defaultTokenDir is the token directory of refresh and the git helper when
// none is given: one per job (hf-oidc-UID-JOBKEY), so that a later step of
// the job, --stop and the helper all find it, and no other job does. Jobs
// of one Unix user share the temporary directory on most runners.
func defaultTokenDir(getenv func(string) string, o refresh.Owner) string {
	name := "hf-oidc"
	if uid := os.Getuid(); uid >= 0 { // -1 on Windows
		name += fmt.Sprintf("-%d", uid)
	}
	if k := o.JobKey(); k != "" {
		name += "-" + k
	}
	return filepath.Join(tempBase(getenv), name)
}

// tokenDir is --token-dir or HF_OIDC_TOKEN_DIR, else o's defaultTokenDir;
// src names where it came from, "" for the default.
func tokenDir(cfg *config.Config, o refresh.Owner) (dir, src string) {
	if cfg.TokenDir != "" {
		return cfg.TokenDir, cfg.TokenDirSource
	}
	return defaultTokenDir(cfg.Getenv, o), ""
}

// openTokenDir opens dir, turning a directory that is not private into bad
// input naming where it came from.
func openTokenDir(dir, src string) (*refresh.Dir, error) {
	d, err := refresh.OpenDir(dir)
	if err != nil {
		if src == "" {
			src = "the default token directory"
		}
		return nil, &config.UsageError{Err: fmt.Errorf("%s: %w", src, err)}
	}
	return d, nil
}

// heldUsage turns a lock held by another process into bad input, with
// the way out: --stop for a keeper of this job's, another directory for
// another job's, which this job may not stop.
func heldUsage(err error, dir *refresh.Dir, cfg *config.Config) error {
	var he *refresh.HeldError
	if !errors.As(err, &he) {
		return err
	}
	owner, _ := jobOwner(cfg)
	if st, serr := dir.ReadStatus(); serr != nil || !st.OfJob(owner) {
		return config.Usagef("%v for another job; leave --token-dir and HF_OIDC_TOKEN_DIR unset, or choose another --token-dir", he)
	}
	return config.Usagef("%v; stop it with 'hf-oidc refresh --stop --token-dir %s', or choose another --token-dir", he, dir.Path)
}

// idTokenInfo tells a refresh.Source about the session's ID token.
type idTokenInfo struct{ s *session }

func (i idTokenInfo) Expiry() time.Time { return i.s.ids.src.Expiry() }
func (i idTokenInfo) CanMint() bool     { return i.s.provider.CanMint() }

// newKeeper is a keeper of dir's files whose refreshes run through s.
func newKeeper(s *session, env Env, dir *refresh.Dir) *refresh.Keeper {
	st := refresh.Status{PID: os.Getpid(), Provider: s.provider.Name(), Endpoint: s.cfg.Endpoint, Resources: resourceStrings(s.cfg.Resources)}
	st.SetOwner(s.owner())
	return &refresh.Keeper{
		Source: &refresh.Source{
			Exchange: func(ctx context.Context, rs []resource.Resource) ([]exchange.Result, error) {
				return s.exchange(ctx, rs)
			},
			Resources: s.cfg.Resources,
			Margin:    s.cfg.RefreshMargin,
			IDToken:   idTokenInfo{s},
			Now:       env.Now,
		},
		Dir:    dir,
		Status: st,
		Now:    env.Now,
	}
}

// maskRefreshed makes k mask, in GitHub Actions, each token it obtains from
// now on before a file holds it: this process runs inside a step, whose
// log is our stderr, and a command there may print a token file
// (exchangeRound masked the first tokens). A detached keeper's output is a
// file, where a mask would only write the token down.
func maskRefreshed(k *refresh.Keeper, env Env, cfg *config.Config) {
	if actions := export.InActions(cfg.Getenv); actions != nil {
		k.Fresh = func(t exchange.Token) { actions.Mask(env.Stderr, t.AccessToken) }
	}
}

// seedFromEntries hands the first round's tokens to k's Source and writes
// them, so that the files exist before anything points at them.
func seedFromEntries(k *refresh.Keeper, entries []export.Entry) error {
	toks := make([]exchange.Token, len(entries))
	for i, e := range entries {
		toks[i] = exchange.Token{Resource: e.Resource, AccessToken: e.Token, TokenType: "bearer", ExpiresAt: e.ExpiresAt}
	}
	k.Source.Seed(toks...)
	if err := k.Write(toks, nil); err != nil {
		return fmt.Errorf("writing token files: %w", err)
	}
	for i := range entries {
		entries[i].File = k.Dir.File(entries[i].Resource)
	}
	return nil
}

// newFileExporter is newExporter in file mode: HF_TOKEN_PATH and the
// <ENV>_FILE variables, not HF_TOKEN, and stale ones cleared.
func newFileExporter(format config.Format, env Env, cfg *config.Config) export.Exporter {
	stale := staleTokenVars(cfg)
	switch format {
	case config.FormatGitHub:
		return &export.GitHub{Stdout: env.Stdout, Getenv: cfg.Getenv, FileMode: true, Clear: stale}
	case config.FormatDotenv:
		return &export.Dotenv{W: env.Stdout, FileMode: true, Clear: stale}
	case config.FormatJSON:
		return &export.JSON{W: env.Stdout}
	default:
		return &export.Shell{W: env.Stdout, FileMode: true, Clear: stale}
	}
}

// staleTokenVars are the export.StaleTokenVars that hold a value here.
func staleTokenVars(cfg *config.Config) []string {
	var set []string
	for _, name := range export.StaleTokenVars {
		if cfg.Getenv(name) != "" {
			set = append(set, name)
		}
	}
	return set
}

// sayCleared says, in one line, which stale token variables file mode
// cleared, or, for json, which the script must clear.
func sayCleared(w io.Writer, cmd string, format config.Format, cfg *config.Config) {
	stale := staleTokenVars(cfg)
	if len(stale) == 0 {
		return
	}
	names := strings.Join(stale, " and ")
	var line string
	switch format {
	case config.FormatJSON:
		line = fmt.Sprintf("%s set here; huggingface_hub prefers it to the fresh file HF_TOKEN_PATH names, so unset it before using the file.", names)
	case config.FormatGitHub:
		line = fmt.Sprintf("%s set here; emptied for later steps (through $GITHUB_ENV), since huggingface_hub prefers it to the fresh file HF_TOKEN_PATH names. An env: in the workflow that sets it still wins: remove it there.", names)
	default:
		line = fmt.Sprintf("%s set here; cleared by the exported lines, since huggingface_hub prefers it to the fresh file HF_TOKEN_PATH names.", names)
	}
	io.WriteString(w, wrapped("hf-oidc "+cmd+": ", "", line))
}

// printFileSummary says which file holds which resource's token, and who
// keeps them fresh. It never prints a token.
func printFileSummary(w io.Writer, cmd string, s *session, entries []export.Entry, dir *refresh.Dir, took time.Duration, keeping string) {
	fmt.Fprintf(w, "hf-oidc %s: %d token%s from the %s provider's ID token in %s, in %s, %s:\n",
		cmd, len(entries), plural(len(entries)), s.provider.Name(), took.Round(time.Millisecond), dir.Path, keeping)
	width, fileWidth := 0, 0
	for _, e := range entries {
		width, fileWidth = max(width, len(e.Resource)), max(fileWidth, len(filepath.Base(e.File)))
	}
	for i, e := range entries {
		vars := e.Env + "_FILE"
		switch {
		case i == 0 && e.Env == "HF_TOKEN":
			vars = "HF_TOKEN_PATH"
		case i == 0:
			vars += " (and HF_TOKEN_PATH)"
		}
		fmt.Fprintf(w, "  %-*s  %-*s  %s\n", width, e.Resource, fileWidth, filepath.Base(e.File), vars)
	}
}

// warnIDTokenExpiry prints the source's warning, if any, as a warning of
// cmd (and an annotation in GitHub Actions).
//
// It returns the warning printed, "" for none, for reportProblems not to
// print it again when the keeper finds it too.
func warnIDTokenExpiry(env Env, cfg *config.Config, cmd string, k *refresh.Keeper, annotate io.Writer) string {
	w := k.Source.Warning()
	if w == nil {
		return ""
	}
	m := keeperMessage(cmd, refresh.Expiring, w.Error())
	msg := m.text()
	fmt.Fprint(env.Stderr, msg)
	if annotate != nil {
		export.InActions(cfg.Getenv).Annotate(annotate, "warning", "hf-oidc: "+m.title, msg)
	}
	return w.Error()
}

func resourceStrings(rs []resource.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// keeperMessage is a keeper's warning, of kind, as cmd reports it.
func keeperMessage(cmd string, kind refresh.Problem, msg string) message {
	m := message{level: "warning", cmd: cmd, problem: msg}
	switch kind {
	case refresh.WriteFailed:
		m.title, m.anchor = "writing the token files failed", diag.AnchorLocalFailure
		m.next = "Fix what the system's reason says (the token directory's permissions, free space); the files are written again at the next refresh."
	case refresh.Expiring:
		m.title, m.anchor = "the ID token expires before the next refresh", diag.AnchorExpiring
		m.next = "Finish the job's work with the Hub by then, or run it where the provider can mint ID tokens on demand (GitHub Actions, CircleCI, Buildkite)."
	default:
		m.title, m.anchor = "a refresh failed", diag.AnchorRefreshFailed
		m.next = "Nothing to do if a later try gets through. If every try fails, the cause is one an exchange can have: look up the words of the failure on the troubleshooting page."
	}
	return m
}

// stoppedMessage says why a keeper stopped refreshing: err, from its Run.
func stoppedMessage(cmd, prefix string, err error) message {
	m := message{level: "error", cmd: cmd, title: "the tokens can no longer be refreshed", problem: prefix + "the tokens can no longer be refreshed: " + err.Error()}
	var exp *idtoken.ExpiredError
	if errors.As(err, &exp) {
		m.next, m.anchor = diag.ExpiredFix(exp.CanMint), diag.AnchorExpired
		return m
	}
	m.next, m.anchor = "Fix what the reason says, then start it again.", diag.AnchorLocalFailure
	return m
}

// reportProblems has k's warnings reported as cmd's: on stderr and, in
// GitHub Actions, as annotations; but said, warnIDTokenExpiry's, once only.
func reportProblems(env Env, cfg *config.Config, cmd string, k *refresh.Keeper, said string) {
	k.Problem = func(kind refresh.Problem, msg string) {
		if kind == refresh.Expiring && msg == said {
			return
		}
		keeperMessage(cmd, kind, msg).emit(env, cfg.Getenv, false)
	}
}
