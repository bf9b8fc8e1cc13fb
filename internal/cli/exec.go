package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

const execAbout = `Exchanges the tokens, writes one token file per resource (mode 0600, in a new
private directory unless --token-dir is given), and runs CMD with, in its
environment, HF_TOKEN_PATH (the first resource's file, which huggingface_hub
and the hf CLI re-read on every call) and, per resource, its variable,
<variable>_FILE and <variable>_EXPIRES_AT. HF_TOKEN is left out: huggingface_hub
would prefer it to the file.

While CMD runs, the files are re-exchanged --refresh-margin before they
expire, for as long as it runs. Variables cannot change once CMD has
started: a command that runs for more than an hour must read the file (as
huggingface_hub does) or use git through --git, not the variables.

SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to CMD. hf-oidc exits
with CMD's status (128+N when a signal N killed it) and removes the files
(and the directory, if it made it).

Examples:
  hf-oidc exec --resource acme/model -- python train.py
  hf-oidc exec --resource acme/model --git -- git push origin main`

func runExec(ctx context.Context, env Env, args []string) error {
	code, err := execCommand(ctx, env, args)
	if err != nil {
		return err
	}
	// Only now: the files are gone and the lock released.
	return exitStatus(code)
}

// execCommand is exec up to CMD's exit status.
func execCommand(ctx context.Context, env Env, args []string) (int, error) {
	fs := newFlagSet(env, "exec", "[flags] -- CMD [ARGS…]", execAbout)
	flags := config.Bind(fs.FlagSet, slices.Concat(config.ExchangeVars, config.FileVars)...)
	flags.BindAllowPartial()
	fs.notHere("format", "exec hands the tokens to CMD in its environment and token files, and prints none")
	withGit := fs.Bool("git", false, gitFlagUsage+", for CMD alone (GIT_CONFIG_* variables: no file changes)")
	if err := fs.parse(args); err != nil {
		return 0, err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		return 0, config.Usagef("no command given: run hf-oidc exec [flags] -- CMD [ARGS…]")
	}
	cfg, err := flags.Load(env.Getenv)
	if err != nil {
		return 0, err
	}
	// Before anything is exchanged: a command that cannot run spends no
	// token.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 0, cannotRun(argv[0], err)
	}

	dir, created, err := execTokenDir(cfg, env)
	if err != nil {
		return 0, err
	}
	defer dir.Close()
	lock, err := dir.TryLock()
	if err != nil {
		if created {
			os.RemoveAll(dir.Path)
		}
		return 0, heldUsage(err, dir, cfg)
	}
	defer func() {
		dir.RemoveTokens(cfg.Resources)
		lock.Release()
		if created {
			os.RemoveAll(dir.Path)
		}
	}()

	var git *gitSetup
	if *withGit {
		if git, err = newGitSetup(cfg, env, dir.Path); err != nil {
			return 0, err
		}
	}
	warnHubClientOverride(env, cfg)
	start := env.Now()
	s, entries, err := exchangeRound(ctx, env, cfg, "")
	if err != nil {
		return 0, err
	}
	k := newKeeper(s, env, dir)
	k.Log = func(msg string) { fmt.Fprintf(env.Stderr, "hf-oidc exec: %s\n", msg) }
	if err := seedFromEntries(k, entries); err != nil {
		return 0, err
	}
	maskRefreshed(k, env, cfg)
	childEnv, err := execEnv(env, entries, git)
	if err != nil {
		return 0, err
	}
	printFileSummary(env.Stderr, "exec", s, entries, dir, env.Now().Sub(start), "kept fresh while "+argv[0]+" runs")
	sayFirstFailed(env, s, entries, "HF_TOKEN_PATH")
	reportProblems(env, cfg, "exec", k, warnIDTokenExpiry(env, cfg, "exec", k, env.Stderr))

	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = childEnv
	cmd.Stdin, cmd.Stdout, cmd.Stderr = env.Stdin, env.Stdout, env.Stderr
	return runChild(cmd, k, func(err error) { stoppedMessage("exec", "", err).emit(env, cfg.Getenv, false) })
}

// execTokenDir is --token-dir or HF_OIDC_TOKEN_DIR, made if missing, or a
// new private directory; created says whether exec made it, and so removes
// it.
func execTokenDir(cfg *config.Config, env Env) (*refresh.Dir, bool, error) {
	if dir, src := cfg.TokenDir, cfg.TokenDirSource; dir != "" {
		_, statErr := os.Lstat(dir)
		d, err := openTokenDir(dir, src)
		if err != nil {
			return nil, false, err
		}
		return d, errors.Is(statErr, os.ErrNotExist), nil
	}
	tmp, err := os.MkdirTemp(tempBase(env.Getenv), "hf-oidc-exec-")
	if err != nil {
		return nil, false, fmt.Errorf("creating a token directory: %w", err)
	}
	d, err := openTokenDir(tmp, "")
	if err != nil {
		os.RemoveAll(tmp)
		return nil, false, err
	}
	return d, true, nil
}

// execEnv is CMD's environment: ours without HF_TOKEN (and its old name,
// which huggingface_hub also prefers to the file), plus the file-mode
// variables and the git configuration.
func execEnv(env Env, entries []export.Entry, git *gitSetup) ([]string, error) {
	vars := export.Variables(entries, true)
	set := map[string]bool{"HF_TOKEN": true, "HUGGING_FACE_HUB_TOKEN": true}
	for _, v := range vars {
		set[v.Name] = true
	}
	var out []string
	for _, kv := range env.environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !set[name] {
			out = append(out, kv)
		}
	}
	for _, v := range vars {
		out = append(out, v.Name+"="+v.Value)
	}
	if git != nil {
		gv, err := git.envConfig(env.Getenv)
		if err != nil {
			return nil, err
		}
		for _, kv := range gv {
			name, _, _ := strings.Cut(kv, "=")
			out = removeVar(out, name)
		}
		out = append(out, gv...)
	}
	return out, nil
}

func removeVar(env []string, name string) []string {
	out := env[:0]
	for _, kv := range env {
		if n, _, _ := strings.Cut(kv, "="); n != name {
			out = append(out, kv)
		}
	}
	return out
}

// forwarded are the signals exec passes on to CMD.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// runChild runs cmd while k keeps the files fresh, passes signals on, and
// returns cmd's exit status, 128+N when signal N killed it. stopped hears
// why k stopped, if it does before cmd ends.
func runChild(cmd *exec.Cmd, k *refresh.Keeper, stopped func(error)) (int, error) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, cannotRun(cmd.Args[0], err)
	}
	// The keeper stops with CMD, not with our context: a signal that
	// cancels it is CMD's to act on.
	kctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := k.Run(kctx); err != nil && !errors.Is(err, refresh.ErrDirGone) {
			stopped(err)
		}
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stdin, _ := cmd.Stdin.(*os.File)
	fromTerminal := stdin != nil && export.IsTerminal(stdin)
	var err error
wait:
	for {
		select {
		case sig := <-sigs:
			// A terminal sends Ctrl-C and Ctrl-\ to its whole foreground
			// process group, CMD included: passing them on would deliver
			// them twice.
			if fromTerminal && (sig == syscall.SIGINT || sig == syscall.SIGQUIT) {
				continue
			}
			cmd.Process.Signal(sig)
		case err = <-done:
			break wait
		}
	}
	stop()
	wg.Wait()
	if cmd.ProcessState == nil {
		return 0, fmt.Errorf("running %s: %w", cmd.Args[0], err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return cmd.ProcessState.ExitCode(), nil
}

// A runError is a CMD that could not be run. exec exits as a shell does:
// 127 when it is not found, 126 when it is found but cannot be run.
type runError struct {
	name string
	err  error
	code int
}

func (e *runError) Error() string {
	return fmt.Sprintf("cannot run %s: %v", safetext.Quote(e.name, 100), e.err)
}

func (e *runError) Unwrap() error { return e.err }

func cannotRun(name string, err error) *runError {
	code := 126
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	if e := new(exec.Error); errors.As(err, &e) {
		err = e.Err
	}
	if e := new(fs.PathError); errors.As(err, &e) {
		err = e.Err
	}
	return &runError{name: name, err: err, code: code}
}

// next is what to do about it.
func (e *runError) next() string {
	if e.code == 127 {
		return "check the command's name, and that it is installed and on PATH (or give its path); hf-oidc exits 127, as a shell does, and exchanged nothing."
	}
	return "make sure it is a program or a script with a #! line, and that it is executable (chmod +x); hf-oidc exits 126, as a shell does."
}

// exitStatus ends exec with CMD's status.
func exitStatus(code int) error {
	if code == 0 {
		return nil
	}
	return &reportedError{err: fmt.Errorf("the command exited with status %d", code), code: code}
}
