package gitcred

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// A Mode is how an Entry is written to a config file.
type Mode int

const (
	// Reset replaces every value of the key with this one. An empty
	// credential helper resets git's list of helpers, so that a helper
	// configured elsewhere (a store with an old password, say) is not
	// asked before ours.
	Reset Mode = iota
	// Add appends the value.
	Add
	// Ensure adds the value unless the key already has it.
	Ensure
)

// An Entry is one configuration value, in the order git must read it.
type Entry struct {
	Key, Value string
	Mode       Mode
}

// Settings is the configuration that makes git ask helper (a command line,
// see HelperCommand) for the endpoint's credentials, with the repository
// path, and rewrite SSH-style remotes of the endpoint's host to it.
// It never holds a token.
func Settings(endpoint *url.URL, helper string) []Entry {
	base := strings.TrimRight(endpoint.Scheme+"://"+endpoint.Host+endpoint.Path, "/")
	es := []Entry{
		{"credential." + base + ".helper", "", Reset},
		{"credential." + base + ".helper", helper, Add},
		{"credential." + base + ".useHttpPath", "true", Reset},
	}
	for _, prefix := range SSHPrefixes(endpoint) {
		es = append(es, Entry{"url." + base + "/.insteadOf", prefix, Ensure})
	}
	return es
}

// SSHPrefixes are the SSH-style remote prefixes rewritten to the endpoint:
// its own host's, and for the public Hub both of its names'.
func SSHPrefixes(endpoint *url.URL) []string {
	host := strings.ToLower(endpoint.Hostname())
	hosts := []string{host}
	if host == "huggingface.co" || host == "hf.co" {
		hosts = []string{"hf.co", "huggingface.co"}
	}
	var out []string
	for _, h := range hosts {
		if strings.Contains(h, ":") { // IPv6
			h = "[" + h + "]"
		}
		out = append(out, "git@"+h+":", "ssh://git@"+h+"/")
	}
	return out
}

// HelperCommand is the credential.helper value that runs exe with args: a
// shell snippet ("!…") git appends the action to. Every word is quoted.
func HelperCommand(exe string, args ...string) string {
	words := []string{safetext.ShellQuote(exe)}
	for _, a := range args {
		words = append(words, safetext.ShellQuote(a))
	}
	return "!" + strings.Join(words, " ")
}

// A Runner runs git with args.
type Runner func(ctx context.Context, args ...string) error

// Configure writes entries with `git config --global` (which honours
// GIT_CONFIG_GLOBAL). Running it twice leaves the configuration as once.
func Configure(ctx context.Context, git Runner, entries []Entry) error {
	for _, e := range entries {
		var args []string
		switch e.Mode {
		case Reset:
			args = []string{"config", "--global", "--replace-all", e.Key, e.Value}
		case Add:
			args = []string{"config", "--global", "--add", e.Key, e.Value}
		case Ensure:
			// Replaces the value with itself, or adds it: the value
			// pattern is the value, quoted, since --fixed-value needs
			// git 2.30.
			args = []string{"config", "--global", "--replace-all", e.Key, e.Value, "^" + regexp.QuoteMeta(e.Value) + "$"}
		}
		if err := git(ctx, args...); err != nil {
			return fmt.Errorf("configuring git (%s): %w", e.Key, err)
		}
	}
	return nil
}

// EnvConfig is entries as GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n and
// GIT_CONFIG_VALUE_n variables (git 2.31+), after those getenv already
// holds: configuration for one process tree that touches no file.
func EnvConfig(getenv func(string) string, entries []Entry) ([]string, error) {
	n := 0
	if c := strings.TrimSpace(getenv("GIT_CONFIG_COUNT")); c != "" {
		var err error
		if n, err = strconv.Atoi(c); err != nil || n < 0 {
			return nil, fmt.Errorf("configuring git: GIT_CONFIG_COUNT is %s, not a count", safetext.Quote(c, 40))
		}
	}
	var vars []string
	for _, e := range entries {
		vars = append(vars,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n, e.Key),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n, e.Value))
		n++
	}
	return append(vars, "GIT_CONFIG_COUNT="+strconv.Itoa(n)), nil
}
