package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const refreshAbout = `Keeps one token file per resource fresh, for jobs of many steps that run for
hours. It exchanges once in the foreground (failing with the same paragraph as
exchange), writes the files (mode 0600) to the token directory, exports
HF_TOKEN_PATH (the first resource's file, which huggingface_hub and the hf CLI
re-read on every call) and, per resource, <variable>_FILE, but not HF_TOKEN,
which huggingface_hub would prefer to the file; then it re-exchanges each
token --refresh-margin before it expires.

Without --detach it keeps the files fresh in the foreground until stopped.
With --detach a background keeper does, and the command returns. The keeper
stops on SIGTERM, on 'hf-oidc refresh --stop', when the token directory is
removed, or when the job ends: GitHub Actions kills a job's leftover
processes and empties $RUNNER_TEMP. Elsewhere nothing ends it with the job
(unless the CI discards the job's container): run the 'hf-oidc refresh
--stop --token-dir …' that --detach prints as the job's last step. A second start
for the same directory exports the running keeper's files and starts no
other keeper.

status.json in the directory says when the last and next refresh are, the
last error and when the ID token expires (never a token); keeper.log holds
what the background keeper says.

Examples:
  hf-oidc refresh --detach --resource acme/model              # GitHub Actions
  eval "$(hf-oidc refresh --detach --resource acme/model)"    # elsewhere
  hf-oidc refresh --stop`

// stopWait bounds how long --stop waits for the keeper to let go.
const stopWait = 10 * time.Second

func runRefresh(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "refresh", "[flags]", refreshAbout)
	flags := config.Bind(fs.FlagSet, slices.Concat(config.ExchangeVars, config.FileVars)...)
	flags.BindFormat()
	flags.BindAllowPartial()
	detach := fs.Bool("detach", false, "keep the files fresh from a background process, and return once the first tokens are exported")
	stop := fs.Bool("stop", false, "stop the keeper of the token directory, and return")
	withGit := fs.Bool("git", false, gitFlagUsage)
	keeper := fs.Bool("keeper", false, "internal: the background process that --detach starts")
	fs.hide("keeper")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return config.Usagef("unexpected argument %q: refresh takes only flags (resources go in --resource)", fs.Arg(0))
	}
	if *stop {
		if *detach || *keeper || *withGit {
			return config.Usagef("--stop takes no --detach or --git: it stops the keeper of this job's token directory (or of --token-dir)")
		}
		return stopKeeper(env, flags)
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return err
	}
	// An unknown owner is the exchange's to report.
	owner, _ := jobOwner(cfg)
	dirPath, src := tokenDir(cfg, owner)
	if *keeper {
		return runKeeper(ctx, env, cfg, dirPath)
	}
	format, err := resolveFormat(cfg, env)
	if err != nil {
		return err
	}
	if format == config.FormatGitHubOutputs {
		return config.Usagef("--format github-outputs is for 'hf-oidc exchange': refresh keeps token files fresh for later steps, which step outputs cannot be; use --format github")
	}
	dir, err := openTokenDir(dirPath, src)
	if err != nil {
		return err
	}
	defer dir.Close()
	var git *gitSetup
	if *withGit {
		pinned := ""
		if src != "" {
			pinned = dir.Path
		}
		if git, err = newGitSetup(cfg, env, pinned); err != nil {
			return err
		}
	}
	// Starts made at the same moment take turns, so that each finds the
	// keeper of the one before it ready, or none.
	waitCtx, cancel := context.WithTimeout(ctx, cfg.Timeout+2*stopWait)
	releaseStart, err := dir.LockStart(waitCtx)
	cancel()
	if err != nil {
		return err
	}
	defer releaseStart()
	lock, err := dir.TryLock()
	var held *refresh.HeldError
	if errors.As(err, &held) {
		return alreadyKept(ctx, env, cfg, owner, format, dir, git, held)
	}
	if err != nil {
		return err
	}
	defer lock.Release() // a no-op once handed off

	warnHubClientOverride(env, cfg)
	start := env.Now()
	s, entries, err := exchangeRound(ctx, env, cfg, format)
	if err != nil {
		return err
	}
	k := newKeeper(s, env, dir)
	if err := seedFromEntries(k, entries); err != nil {
		return err
	}
	keeping := "kept fresh by this process until it is stopped"
	var stopChild func()
	var stopNote string
	if *detach {
		pid, err := startKeeper(env, cfg, dir, lock)
		if err != nil {
			return err
		}
		stopChild = func() { signalPID(pid, syscall.SIGTERM) }
		keeping = fmt.Sprintf("kept fresh by a background keeper (pid %d) until the job ends", pid)
		if export.InActions(cfg.Getenv) == nil {
			keeping = fmt.Sprintf("kept fresh by a background keeper (pid %d) until it is stopped", pid)
			stopNote = keeperStopNote(dir.Path)
		}
	}
	// A keeper without exported files is of no use to anyone: stop it.
	if err := finishStart(ctx, env, cfg, format, entries, git); err != nil {
		if stopChild != nil {
			stopChild()
		}
		return err
	}
	printFileSummary(env.Stderr, "refresh", s, entries, dir, env.Now().Sub(start), keeping)
	sayFirstFailed(env, s, entries, "HF_TOKEN_PATH")
	fmt.Fprint(env.Stderr, stopNote)
	said := warnIDTokenExpiry(env, cfg, "refresh", k, annotationWriter(env, format))
	if *detach {
		return nil
	}
	releaseStart() // a later start finds this process keeping the files
	maskRefreshed(k, env, cfg)
	k.Log = func(msg string) { fmt.Fprintf(env.Stderr, "hf-oidc refresh: %s\n", msg) }
	reportProblems(env, cfg, "refresh", k, said)
	return keep(ctx, k, func(m message) { m.emit(env, cfg.Getenv, false) })
}

// keeperStopNote says what stops a detached keeper outside GitHub Actions,
// the one CI known to end a job's leftover processes (and to empty
// $RUNNER_TEMP): elsewhere a shell runner leaves it running after the job.
func keeperStopNote(dir string) string {
	return message{
		level:   "note",
		cmd:     "refresh",
		problem: "outside GitHub Actions nothing stops the keeper when the job ends, unless the CI discards the job's container",
		next:    fmt.Sprintf("run 'hf-oidc refresh --stop --token-dir %s' as the job's last step.", safetext.ShellWord(dir)),
		anchor:  diag.AnchorStopKeeper,
	}.text()
}

// finishStart configures git, if asked, and exports the files.
func finishStart(ctx context.Context, env Env, cfg *config.Config, format config.Format, entries []export.Entry, git *gitSetup) error {
	if git != nil {
		if err := git.configureGlobal(ctx, env); err != nil {
			return err
		}
	}
	if err := newFileExporter(format, env, cfg).Export(entries); err != nil {
		return fmt.Errorf("exporting token files: %w", err)
	}
	sayCleared(env.Stderr, "refresh", format, cfg)
	return nil
}

// annotationWriter is where workflow commands go: stdout with the github
// format, else stderr, which the runner reads them from too.
func annotationWriter(env Env, format config.Format) io.Writer {
	if format == config.FormatGitHub {
		return env.Stdout
	}
	return env.Stderr
}

// keep runs k until it stops, and says why it stopped: report says why it
// cannot go on.
func keep(ctx context.Context, k *refresh.Keeper, report func(message)) error {
	err := k.Run(ctx)
	switch {
	case err == nil:
		k.Stopped()
		k.Log("stopped")
		return nil
	case errors.Is(err, refresh.ErrDirGone):
		k.Log("the token directory was removed; stopping")
		return nil
	default:
		report(stoppedMessage("refresh", "stopping: ", err))
		return &reportedError{err: err}
	}
}

// alreadyKept is a second start for a directory a keeper already keeps:
// it exports that keeper's files, if the keeper is this job's and keeps the
// same resources for the same Hub, and starts nothing. Another job's keeper
// is never joined: its tokens are for whomever the Hub gave them.
func alreadyKept(ctx context.Context, env Env, cfg *config.Config, owner refresh.Owner, format config.Format, dir *refresh.Dir, git *gitSetup, held *refresh.HeldError) error {
	st, err := dir.ReadStatus()
	if err != nil || !st.OfJob(owner) {
		return config.Usagef("%v for another job (or for another ID token), whose tokens hf-oidc never hands to this one; leave --token-dir and HF_OIDC_TOKEN_DIR unset to use this job's own directory, or choose another", held)
	}
	if !st.OwnedBy(owner) || !slices.Equal(st.Resources, resourceStrings(cfg.Resources)) {
		return config.Usagef("%v for other resources, another endpoint or another audience; stop it with 'hf-oidc refresh --stop --token-dir %s', or choose another --token-dir", held, dir.Path)
	}
	toks := dir.Load(cfg.Resources, owner)
	now := env.Now()
	if len(toks) != len(cfg.Resources) || slices.ContainsFunc(toks, func(t exchange.Token) bool { return !now.Before(t.ExpiresAt) }) {
		return fmt.Errorf("%v, but does not hold a valid token for every resource; see %s and %s, or stop it with --stop and start again",
			held, filepath.Join(dir.Path, refresh.StatusFile), filepath.Join(dir.Path, refresh.LogFile))
	}
	entries := make([]export.Entry, len(toks))
	var actions *export.Actions // the github format masks in its exporter
	if format != config.FormatGitHub {
		actions = export.InActions(cfg.Getenv)
	}
	for i, t := range toks {
		r := cfg.Resources[i]
		entries[i] = export.Entry{Resource: r.Name, Env: r.Env, Token: t.AccessToken, ExpiresAt: t.ExpiresAt, File: dir.File(r.Name)}
		if err := actions.Mask(env.Stderr, t.AccessToken); err != nil {
			return err
		}
	}
	if err := finishStart(ctx, env, cfg, format, entries, git); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "hf-oidc refresh: %v already; exported its token files and started no other keeper.\n", held)
	return nil
}

// stopKeeper is --stop: SIGTERM to the process that holds the directory's
// lock, if this job started it, then wait for it to let go.
func stopKeeper(env Env, flags *config.Flags) error {
	cfg, err := flags.LoadSettings(env.Getenv)
	if err != nil {
		return err
	}
	owner, ownerErr := jobOwner(cfg)
	dirPath, src := tokenDir(cfg, owner)
	if ownerErr != nil && src == "" {
		return config.Usagef("cannot tell which job this is (%v), so cannot find its token directory; run --stop with the same --provider (or HF_OIDC_PROVIDER) and ID token settings as the refresh, or give its --token-dir", ownerErr)
	}
	if _, err := os.Lstat(dirPath); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(env.Stderr, "hf-oidc refresh: no keeper runs for %s, which does not exist.\n", dirPath)
		return nil
	}
	dir, err := openTokenDir(dirPath, src)
	if err != nil {
		return err
	}
	defer dir.Close()
	pid, held := dir.Holder()
	if !held {
		fmt.Fprintf(env.Stderr, "hf-oidc refresh: no keeper runs for %s.\n", dir.Path)
		return nil
	}
	if pid <= 0 {
		return fmt.Errorf("stopping the keeper of %s: its lock file names no process", dir.Path)
	}
	if st, err := dir.ReadStatus(); err != nil || !st.OfJob(owner) {
		if ownerErr != nil {
			return config.Usagef("cannot tell which job this is (%v), and --stop stops only its own job's keeper (pid %d, of %s); run it with the same --provider (or HF_OIDC_PROVIDER) and ID token settings as the refresh", ownerErr, pid, dir.Path)
		}
		return config.Usagef("the keeper (pid %d) of %s was not started by this job (or with this ID token), and --stop stops only its own job's keeper; leave --token-dir and HF_OIDC_TOKEN_DIR unset to stop this job's", pid, dir.Path)
	}
	if err := signalPID(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping the keeper (pid %d) of %s: %w", pid, dir.Path, err)
	}
	for deadline := time.Now().Add(stopWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, held := dir.Holder(); !held {
			fmt.Fprintf(env.Stderr, "hf-oidc refresh: stopped the keeper (pid %d) of %s.\n", pid, dir.Path)
			return nil
		}
	}
	return fmt.Errorf("stopping the keeper (pid %d) of %s: it still runs %s after SIGTERM", pid, dir.Path, stopWait)
}

func signalPID(pid int, sig os.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

// startKeeper starts the background keeper: this binary with --keeper, the
// settings in its environment (never a secret on its command line), the
// lock handed over as fd 3, and fd 4 to say it is ready. It waits for that,
// so that a keeper that cannot start fails this command.
func startKeeper(env Env, cfg *config.Config, dir *refresh.Dir, lock *refresh.Lock) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("starting the keeper: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir.Path, refresh.LogFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("starting the keeper: %w", err)
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("starting the keeper: %w", err)
	}
	defer readyR.Close()
	cmd := detachedCommand(exe, "refresh", "--keeper")
	cmd.Env = keeperEnv(env, cfg, dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{lock.File(), readyW}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return 0, fmt.Errorf("starting the keeper: %w", err)
	}
	readyR.SetReadDeadline(time.Now().Add(stopWait))
	line, _ := bufio.NewReader(readyR).ReadString('\n')
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, fmt.Errorf("starting the keeper: it did not start; see %s", filepath.Join(dir.Path, refresh.LogFile))
	}
	lock.HandOff()
	pid := cmd.Process.Pid
	cmd.Process.Release()
	return pid, nil
}

// keeperEnv is our environment with every setting resolved into its
// variable, flags included, so that the keeper reads what we read.
func keeperEnv(env Env, cfg *config.Config, dir *refresh.Dir) []string {
	set := map[string]string{
		"HF_OIDC_RESOURCES":      strings.Join(resourceStrings(cfg.Resources), "\n"),
		"HF_ENDPOINT":            cfg.Endpoint,
		"HF_OIDC_TOKEN_DIR":      dir.Path,
		"HF_OIDC_REFRESH_MARGIN": cfg.RefreshMargin.String(),
	}
	for _, v := range config.Vars {
		if _, ok := set[v.Name]; !ok && v.Flag != "" && !v.Sensitive && !v.CI {
			if val := cfg.Getenv(v.Name); val != "" {
				set[v.Name] = val
			}
		}
	}
	var out []string
	for _, kv := range env.environ() {
		if name, _, _ := strings.Cut(kv, "="); set[name] == "" {
			out = append(out, kv)
		}
	}
	for _, name := range sortedKeys(set) {
		out = append(out, name+"="+set[name])
	}
	return out
}

// runKeeper is the background keeper: it adopts the lock on fd 3, takes
// the tokens the files hold, says ready on fd 4, and keeps them fresh.
// Its stdout and stderr are keeper.log.
func runKeeper(ctx context.Context, env Env, cfg *config.Config, dirPath string) error {
	const internal = "--keeper is internal: 'hf-oidc refresh --detach' starts it"
	lockF, readyF := os.NewFile(3, refresh.LockFile), os.NewFile(4, "ready")
	dir, err := refresh.OpenDir(dirPath)
	if err != nil {
		return err
	}
	defer dir.Close()
	fi, err := lockF.Stat()
	want, werr := os.Stat(filepath.Join(dir.Path, refresh.LockFile))
	if err != nil || werr != nil || !os.SameFile(fi, want) {
		return config.Usagef(internal)
	}
	lock := refresh.AdoptLock(lockF)
	defer lock.Release()
	if err := lock.SetPID(os.Getpid()); err != nil {
		return err
	}
	s, err := newSession(cfg, env, nil)
	if err != nil {
		return err
	}
	k := newKeeper(s, env, dir)
	k.Log = func(msg string) {
		fmt.Fprintf(env.Stderr, "%s hf-oidc refresh: %s\n", env.Now().UTC().Format(time.RFC3339), msg)
	}
	// The log is a file: no annotation, and a time before each message.
	logged := func(m message) { fmt.Fprintf(env.Stderr, "%s %s", env.Now().UTC().Format(time.RFC3339), m.text()) }
	k.Problem = func(kind refresh.Problem, msg string) { logged(keeperMessage("refresh", kind, msg)) }
	k.Refreshed = func(toks []exchange.Token) {
		k.Log(fmt.Sprintf("refreshed %d token%s, valid until %s; next refresh at %s",
			len(toks), plural(len(toks)), toks[0].ExpiresAt.UTC().Format(time.RFC3339), k.Source.Next().UTC().Format(time.RFC3339)))
	}
	k.Idle = quietKeeper()
	k.Source.Seed(dir.Load(cfg.Resources, s.owner())...)
	if err := k.Write(nil, nil); err != nil {
		return err
	}
	fmt.Fprintln(readyF, "ready")
	readyF.Close()
	k.Log(fmt.Sprintf("keeping %d token file%s in %s fresh (pid %d, next refresh at %s)",
		len(cfg.Resources), plural(len(cfg.Resources)), dir.Path, os.Getpid(), k.Source.Next().UTC().Format(time.RFC3339)))
	return keep(ctx, k, logged)
}
