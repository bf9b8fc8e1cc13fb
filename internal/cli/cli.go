// Package cli implements hf-oidc's commands; cmd/hf-oidc only calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// Env is everything a command touches outside itself, so that tests run
// commands in-process without touching the real environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Environ lists the environment that the processes hf-oidc starts (exec's
	// command, a keeper, git) inherit; nil: the process's own.
	Environ    func() []string
	HTTPClient *http.Client // nil: the default transport
	Now        func() time.Time
}

// OSEnv is the real process environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ, Now: time.Now}
}

// environ is e.Environ, or the process's own environment.
func (e Env) environ() []string {
	if e.Environ != nil {
		return e.Environ()
	}
	return os.Environ()
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

// commands in the order --help lists them.
var commands []command

func init() {
	commands = []command{
		{"exchange", "mint the ID token, exchange it once per resource (concurrently), export the tokens", runExchange},
		{"exec", "run a command with token files that stay fresh for as long as it runs; passes signals on, exits with its status", runExec},
		{"refresh", "keep token files fresh in the background until the job ends (export: file), or --stop it", runRefresh},
		{"git-credential", "a git credential helper that answers for the Hub's host with a valid token", runGitCredential},
		{"pipe", "the Bitbucket pipe's entrypoint: exchange, then write the tokens to an env file for the step to source", runPipe},
		{"claims", "show the ID token's claims (never the token), what to enter on the Hub, and every problem seen", runClaims},
		{"demo", "the whole flow end to end against the embedded sandbox: no CI, no network, no account", runDemo},
		{"sandbox", "run the embedded local issuer and Hub, and print the variables that point hf-oidc at them", runSandbox},
		{"providers", "the providers compiled in, and which one is detected here", runProviders},
		{"version", "version, commit, Go version", runVersion},
	}
}

// Main runs hf-oidc with args (without the program name) and returns the
// exit status: 0 success, 2 bad usage or configuration, 1 any other failure.
func Main(ctx context.Context, env Env, args []string) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	switch {
	case len(args) == 0:
		// Usage asked for by mistake is an error: on stderr.
		usage(env.Stderr)
		return 2
	case isHelp(args[0]):
		usage(env.Stdout)
		return 0
	case args[0] == "help" && len(args) > 1:
		return Main(ctx, env, []string{args[1], "--help"})
	case args[0] == "help":
		usage(env.Stdout)
		return 0
	case isVersion(args[0]):
		return report(env, "version", runVersion(ctx, env, args[1:]))
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			return report(env, c.name, err)
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	what := "unknown command " + safetext.Quote(args[0], 40)
	if strings.HasPrefix(args[0], "-") {
		what = "unknown flag " + safetext.Quote(args[0], 40) + " before the command: a command's flags go after it, as in 'hf-oidc exchange --resource acme/model'"
	} else if m := nearest(args[0], names); m != "" {
		what += fmt.Sprintf("; did you mean %q?", m)
	}
	fmt.Fprintf(env.Stderr, "hf-oidc: %s\nNext: run 'hf-oidc --help' for the list of commands. %s\n", fullStop(what), diag.AnchorBadInput.See())
	return 2
}

// fullStop ends msg with a full stop, unless it ends with one already or
// with a question.
func fullStop(msg string) string {
	if strings.HasSuffix(msg, ".") || strings.HasSuffix(msg, "?") {
		return msg
	}
	return msg + "."
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

func isVersion(a string) bool { return a == "--version" || a == "-version" || a == "-V" }

func usage(w io.Writer) {
	fmt.Fprint(w, `hf-oidc exchanges a CI job's OpenID Connect ID token for short-lived
Hugging Face Hub tokens (Trusted Publishers): no stored HF_TOKEN secret.

Usage: hf-oidc <command> [flags]
       hf-oidc --version

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'hf-oidc <command> --help' (or 'hf-oidc help <command>') for its flags.
Try it with no CI and no account: hf-oidc demo
`)
}

// A reportedError has already been printed in full (for example the
// paragraph of a failed exchange); report only sets the exit status.
type reportedError struct {
	err   error
	usage bool
	code  int // the exit status, when neither 1 nor 2 (exec passes on CMD's)
}

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// report prints err as one paragraph with a next step and returns the exit
// status. Only this boundary adds the "what to do next" sentence.
func report(env Env, cmd string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	var (
		rep    *reportedError
		setup  *plugins.SetupError
		nd     *plugins.NotDetectedError
		idErr  *idTokenError
		runErr *runError
	)
	switch {
	case errors.As(err, &rep):
		if rep.code != 0 {
			return rep.code
		}
		if rep.usage {
			return 2
		}
		return 1
	case errors.As(err, &runErr):
		fmt.Fprintf(env.Stderr, "hf-oidc %s: %v.\nNext: %s %s\n", cmd, runErr, runErr.next(), diag.AnchorExecCommand.See())
		return runErr.code
	case errors.As(err, &setup):
		anchor := diag.AnchorNoIDToken
		if setup.Provider == "github" {
			anchor = diag.AnchorGitHubPermission
		}
		// A fix may end in a YAML block that a link on its last line would break.
		sep := " "
		if strings.Contains(setup.Fix, "\n") {
			sep = "\n"
		}
		fmt.Fprintf(env.Stderr, "hf-oidc: cannot get an ID token from %s: %s.\nNext: %s%s%s\n", setup.Provider, setup.Problem, setup.Fix, sep, anchor.See())
		return 2
	case errors.As(err, &nd):
		fmt.Fprintf(env.Stderr, "hf-oidc: %v.\nNext: run this inside a CI job of a supported provider, force one with --provider, or pass a pre-minted ID token in HF_OIDC_ID_TOKEN or --id-token-file. Try 'hf-oidc demo' to see the whole flow locally. %s\n", err, diag.AnchorNoProvider.See())
		return 2
	case config.IsUsage(err):
		fmt.Fprintf(env.Stderr, "hf-oidc %s: %s\nNext: %s\n", cmd, fullStop(err.Error()), usageNext(cmd, err))
		return 2
	case errors.As(err, &idErr) && !retry.Untrusted(err) && !errors.As(err, new(*idtoken.ExpiredError)):
		next, ok := mintNext(idErr.provider, err)
		if !ok {
			next = fmt.Sprintf("the %s provider did not hand out an ID token, so nothing was sent to the Hub. Run the job again; if it keeps failing, check the provider's status and that this job may mint ID tokens.", idErr.provider)
		}
		fmt.Fprintf(env.Stderr, "hf-oidc %s: %v\nNext: %s %s\n", cmd, err, next, diag.AnchorNoIDToken.See())
		return 1
	case retry.Untrusted(err):
		fmt.Fprintf(env.Stderr, "hf-oidc %s: %v\nNext: %s %s\n", cmd, err, transport.UntrustedHint, diag.AnchorHubUnreachable.See())
		return 1
	default:
		fmt.Fprintf(env.Stderr, "hf-oidc %s: %v\n", cmd, err)
		return 1
	}
}

// usageNext is the Next: line of a usage error: its own next step and
// entry, else the command's --help and the entry for bad input.
func usageNext(cmd string, err error) string {
	u := new(config.UsageError)
	errors.As(err, &u)
	next, anchor := u.Next, u.Anchor
	if next == "" {
		next = fmt.Sprintf("run 'hf-oidc %s --help' for usage.", cmd)
	}
	if anchor == "" {
		anchor = diag.AnchorBadInput
	}
	return next + " " + anchor.See()
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
