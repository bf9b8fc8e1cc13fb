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
	} else if m := diag.Nearest(args[0], names); m != "" {
		what += fmt.Sprintf("; did you mean %q?", m)
	}
	message{level: "error", title: "bad input", problem: what, next: "run 'hf-oidc --help' for the list of commands.", anchor: diag.AnchorBadInput}.emit(env, env.Getenv, false)
	return 2
}

// fullStop ends msg with a full stop, unless it ends a sentence already.
func fullStop(msg string) string {
	for _, end := range []string{".", "?", "!", "…"} {
		if strings.HasSuffix(msg, end) {
			return msg
		}
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

// usageNext is the next step of a usage error and its entry: its own,
// else the command's --help and the entry for bad input.
func usageNext(cmd string, err error) (string, diag.Anchor) {
	u := new(config.UsageError)
	errors.As(err, &u)
	next, anchor := u.Next, u.Anchor
	if next == "" {
		next = fmt.Sprintf("run 'hf-oidc %s --help' for usage.", cmd)
	}
	if anchor == "" {
		anchor = diag.AnchorBadInput
	}
	return next, anchor
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
