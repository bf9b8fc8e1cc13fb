// Package config resolves hf-oidc's flags and environment variables into one
// validated Config, and lists every variable the tool reads.
package config

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// A Var is one environment variable hf-oidc reads.
type Var struct {
	Name      string // the variable
	Flag      string // the flag that beats it, without dashes; "" when none
	Arg       string // what --help calls the flag's value: --provider P
	Bool      bool   // the flag is a switch, which takes no value
	Default   string // as shown to users
	Sensitive bool   // holds a secret: never printed, never accepted as a flag
	CI        bool   // set by the CI system, not by the user
	Help      string // one line, Markdown
}

// Vars is every variable hf-oidc reads. The tables of
// docs/configuration.md are generated from it (see the test), so a new
// variable is documented the moment it is read.
var Vars = []Var{
	{Name: "HF_OIDC_RESOURCES", Flag: "resource", Arg: "R", Default: "none: required",
		Help: "resources as the Hub names them (`ns/name`, `datasets/ns/name`, `spaces/ns/name`, `kernels/ns/name`, `username`), each optionally `=ENV_NAME`; split on commas or newlines; the flag is repeatable"},
	{Name: "HF_OIDC_PROVIDER", Flag: "provider", Arg: "P", Default: "auto",
		Help: "`auto` or one of the providers listed by `hf-oidc providers`"},
	{Name: "HF_OIDC_AUDIENCE", Flag: "audience", Arg: "AUD", Default: "https://huggingface.co",
		Help: "the `aud` the ID token is minted for"},
	{Name: "HF_ENDPOINT", Flag: "endpoint", Arg: "URL", Default: "https://huggingface.co",
		Help: "the Hub (the variable huggingface_hub reads too); `https` only, except a loopback address"},
	{Name: "HF_OIDC_ID_TOKEN", Default: "—", Sensitive: true,
		Help: "a pre-minted ID token (provider `env`); never a flag, where `ps` would show it"},
	{Name: "HF_OIDC_ID_TOKEN_FILE", Flag: "id-token-file", Arg: "FILE", Default: "—",
		Help: "a file holding a pre-minted ID token (provider `env`)"},
	{Name: "HF_OIDC_ID_TOKEN_VAR", Flag: "id-token-var", Arg: "NAME", Default: "HF_ID_TOKEN",
		Help: "the variable that holds the ID token of the GitLab job's `id_tokens:` (provider `gitlab`)"},
	{Name: "HF_OIDC_CIRCLECI_FALLBACK", Default: "none",
		Help: "`org-token`: when `circleci run oidc get` fails, use `$CIRCLE_OIDC_TOKEN_V2`, whose audience is the organization id; only for a Hub whose audience (`--audience`) is that id"},
	{Name: "HF_OIDC_BUILDKITE_LIFETIME", Default: "the agent's (5m)",
		Help: "lifetime of Buildkite ID tokens, such as `10m` (the agent's `--lifetime`)"},
	{Name: "HF_OIDC_CA_FILE", Default: "—",
		Help: "a PEM bundle of CAs that hf-oidc trusts besides the system's (or `SSL_CERT_FILE`'s), and that no other program reads: for a Hub behind a private CA, such as `hf-oidc sandbox --tls`"},
	{Name: "HF_OIDC_TIMEOUT", Flag: "timeout", Arg: "DURATION", Default: "60s",
		Help: "bound on one exchange round, retries included: from 1s to 1h"},
	{Name: "HF_OIDC_TOKEN_DIR", Flag: "token-dir", Arg: "DIR", Default: "the job's own: hf-oidc-UID-JOBKEY under $RUNNER_TEMP or the system temp dir",
		Help: "where `refresh`, `exec` and the git helper keep one token file per resource (0600 in a 0700 directory, replaced atomically)"},
	{Name: "HF_OIDC_REFRESH_MARGIN", Flag: "refresh-margin", Arg: "DURATION", Default: "5m",
		Help: "re-exchange this long before a token expires (`refresh`, `exec`, the git helper)"},
	{Name: "HF_OIDC_VERBOSE", Flag: "verbose", Bool: true, Default: "off",
		Help: "`true`: print on stderr each request (method, URL, attempt, status, time, request ID) and the ID token's claims, never a token; also on with the CI's own debug switch (`RUNNER_DEBUG`, `CI_DEBUG_TRACE`, the pipe's `DEBUG`)"},

	{Name: "GITHUB_ACTIONS", CI: true, Help: "`true` inside GitHub Actions: selects the `github` provider and format"},
	{Name: "ACTIONS_ID_TOKEN_REQUEST_URL", CI: true, Help: "GitHub's ID-token endpoint; present only with `permissions: id-token: write`"},
	{Name: "ACTIONS_ID_TOKEN_REQUEST_TOKEN", CI: true, Sensitive: true, Help: "the bearer token for that endpoint"},
	{Name: "GITHUB_ENV", CI: true, Help: "the file later steps read their environment from"},
	{Name: "GITHUB_OUTPUT", CI: true, Help: "the file that sets step outputs"},
	{Name: "GITHUB_STEP_SUMMARY", CI: true, Help: "the file that holds the step summary"},
	{Name: "GITHUB_EVENT_NAME", CI: true, Help: "the event that started the run: `claims` checks a `pull_request` for a fork, which gets no ID token"},
	{Name: "GITHUB_EVENT_PATH", CI: true, Help: "the event's payload, read by `claims` to tell a pull request from a fork"},
	{Name: "GITLAB_CI", CI: true, Help: "`true` inside GitLab CI: selects the `gitlab` provider"},
	{Name: "HF_ID_TOKEN", CI: true, Sensitive: true, Help: "the GitLab job's ID token, declared with `id_tokens:` (or the variable `--id-token-var` names)"},
	{Name: "CIRCLECI", CI: true, Help: "`true` inside CircleCI: selects the `circleci` provider, which runs `circleci run oidc get`"},
	{Name: "CIRCLE_OIDC_TOKEN_V2", CI: true, Sensitive: true, Help: "CircleCI's ID token for the organization id; read only with `HF_OIDC_CIRCLECI_FALLBACK=org-token`"},
	{Name: "BITBUCKET_BUILD_NUMBER", CI: true, Help: "set inside Bitbucket Pipelines: selects the `bitbucket` provider"},
	{Name: "BITBUCKET_STEP_OIDC_TOKEN", CI: true, Sensitive: true, Help: "the step's ID token; present only with `oidc:` on the step"},
	{Name: "RESOURCES", CI: true, Help: "`hf-oidc pipe`: the pipe's `RESOURCES` variable, as one string"},
	{Name: "RESOURCES_COUNT", CI: true, Help: "`hf-oidc pipe`: the length of a `RESOURCES` list, whose items Bitbucket passes as `RESOURCES_0`, `RESOURCES_1`, …; it wins over `RESOURCES`"},
	{Name: "AUDIENCE", CI: true, Help: "`hf-oidc pipe`: the pipe's `AUDIENCE` variable (as `--audience`)"},
	{Name: "ENDPOINT", CI: true, Help: "`hf-oidc pipe`: the pipe's `ENDPOINT` variable (as `--endpoint`); the env file then sets `HF_ENDPOINT` too"},
	{Name: "BITBUCKET_PIPE_SHARED_STORAGE_DIR", CI: true, Help: "`hf-oidc pipe`: where the pipe writes `hf-oidc.env` for the step's script"},
	{Name: "BITBUCKET_CLONE_DIR", CI: true, Help: "`hf-oidc pipe`: the clone directory, through which the line the pipe prints finds the env file"},
	{Name: "BUILDKITE", CI: true, Help: "`true` inside Buildkite: selects the `buildkite` provider, which runs `buildkite-agent oidc request-token`"},
	{Name: "RUNNER_TEMP", CI: true, Help: "GitHub's per-job temporary directory, emptied when the job ends: the default home of token files"},
	{Name: "SSL_CERT_FILE", CI: true, Help: "a PEM bundle of the CAs to trust instead of the system's, on every platform (a TLS-inspecting proxy's CA, say)"},
	{Name: "SSL_CERT_DIR", CI: true, Help: "on Linux, when `SSL_CERT_FILE` is unset: directories (colon-separated) of CA certificates that Go's crypto/x509 reads besides the system's bundle, instead of `/etc/ssl/certs` and `/etc/pki/tls/certs`"},
	{Name: "HTTPS_PROXY", CI: true, Help: "the proxy for https requests (or `https_proxy`), as curl reads it; loopback addresses never use a proxy"},
	{Name: "NO_PROXY", CI: true, Help: "hosts reached without the proxy (or `no_proxy`): comma-separated names, domains (`.example.com`) and CIDRs"},
	{Name: "RUNNER_DEBUG", CI: true, Help: "`1` when a GitHub Actions run has debug logging on: turns on `--verbose`, whose lines are then `::debug::` commands"},
	{Name: "CI_DEBUG_TRACE", CI: true, Help: "`true` when a GitLab CI job has debug logging on: turns on `--verbose`"},
	{Name: "DEBUG", CI: true, Help: "`hf-oidc pipe`: the pipe's `DEBUG` variable; `true` turns on `--verbose`"},
	{Name: "HF_OIDC_RESOURCE", CI: true, Help: "huggingface_hub's own switch: read only to warn that it makes huggingface_hub ignore the exported tokens"},
}

// Lookup returns the Var named name.
func Lookup(name string) (Var, bool) {
	for _, v := range Vars {
		if v.Name == name {
			return v, true
		}
	}
	return Var{}, false
}

// A UsageError is bad input: a flag, a variable or a resource. The CLI exits
// with status 2 on it.
type UsageError struct {
	Err error
	// Anchor is the troubleshooting entry that explains it, when one
	// does better than the one for bad input in general; Next, when set,
	// is the next step, instead of reading the command's --help.
	Anchor diag.Anchor
	Next   string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// A Format is how tokens are exported: a value of --format.
type Format string

// The formats. FormatAuto is resolved before anything is exported: github
// inside GitHub Actions, else shell.
const (
	FormatAuto   Format = "auto"
	FormatGitHub Format = "github"
	// FormatGitHubOutputs sets the tokens as step outputs only, never in
	// $GITHUB_ENV, where every later step (third-party actions included)
	// would see them: the action's `export: none`. exchange only.
	FormatGitHubOutputs Format = "github-outputs"
	FormatShell         Format = "shell"
	FormatDotenv        Format = "dotenv"
	FormatJSON          Format = "json"
)

// Formats are the values --format takes.
var Formats = []Format{FormatAuto, FormatGitHub, FormatGitHubOutputs, FormatShell, FormatDotenv, FormatJSON}

// InGitHub reports whether f writes GitHub Actions' workflow commands and
// files, and so masks every token on stdout before writing anything.
func (f Format) InGitHub() bool { return f == FormatGitHub || f == FormatGitHubOutputs }

// Config is everything one exchange needs, resolved and validated.
type Config struct {
	Resources     []resource.Resource
	Provider      string // "auto" or a provider name
	Audience      string
	Endpoint      string
	Format        Format
	Timeout       time.Duration
	AllowPartial  bool
	RefreshMargin time.Duration
	// Debug names what turned debug output on ("--verbose",
	// "HF_OIDC_VERBOSE", "RUNNER_DEBUG=1", …); "" when it is off.
	Debug string
	// TokenDir is --token-dir or HF_OIDC_TOKEN_DIR, and TokenDirSource
	// which of the two; both "" for the default, which depends on the job.
	TokenDir, TokenDirSource string
	// Getenv is the environment as providers see it: the variables, with
	// each flag that was given written over its variable.
	Getenv func(string) string
}

// ExchangeVars are the settings of one exchange: every command that
// exchanges takes their flags. FileVars are those of the commands that keep
// token files (exec, refresh, git-credential). A test checks that every Var
// with a flag is in one of them.
var (
	ExchangeVars = []string{"HF_OIDC_RESOURCES", "HF_OIDC_PROVIDER", "HF_OIDC_AUDIENCE", "HF_ENDPOINT", "HF_OIDC_ID_TOKEN_FILE", "HF_OIDC_ID_TOKEN_VAR", "HF_OIDC_TIMEOUT", "HF_OIDC_VERBOSE"}
	FileVars     = []string{"HF_OIDC_TOKEN_DIR", "HF_OIDC_REFRESH_MARGIN"}
)

// Flags binds settings to a flag set; Load resolves them.
type Flags struct {
	fs           *flag.FlagSet
	resources    listFlag
	str          map[string]*string // by variable name
	format       string
	allowPartial bool
	verbose      bool
}

type listFlag []string

func (l *listFlag) String() string      { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error  { *l = append(*l, v); return nil }
func (l *listFlag) Placeholder() string { return "R" }

// stringFlag is a string flag that names its value in --help.
type stringFlag struct {
	p   *string
	arg string
}

func (s stringFlag) String() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}
func (s stringFlag) Set(v string) error  { *s.p = v; return nil }
func (s stringFlag) Placeholder() string { return s.arg }

// Bind defines on fs the flags of the named Vars, and only those: a
// command takes only the flags that mean something to it. Load still
// reads every other setting from its variable.
func Bind(fs *flag.FlagSet, names ...string) *Flags {
	f := &Flags{fs: fs, str: map[string]*string{}, format: string(FormatAuto)}
	for _, name := range names {
		v, ok := Lookup(name)
		switch {
		case !ok || v.Flag == "":
			panic("config.Bind: " + name + " is no variable with a flag")
		case v.Flag == "resource":
			fs.Var(&f.resources, v.Flag, "a resource to exchange for, optionally R=ENV_NAME (repeatable; env "+v.Name+")")
		case v.Bool:
			fs.BoolVar(&f.verbose, v.Flag, false, "print on stderr each request (method, URL, attempt, status, time, request ID) and the ID token's claims; never a token (env "+v.Name+"; also on with RUNNER_DEBUG=1, CI_DEBUG_TRACE=true)")
		default:
			p := new(string)
			f.str[v.Name] = p
			usage := plain(v.Help) + " (env " + v.Name + ", default " + v.Default + ")"
			if v.Default == "—" {
				usage = plain(v.Help) + " (env " + v.Name + ")"
			}
			fs.Var(stringFlag{p, v.Arg}, v.Flag, usage)
		}
	}
	return f
}

// BindFormat defines --format, for the commands that print tokens.
func (f *Flags) BindFormat() {
	names := make([]string, len(Formats))
	for i, n := range Formats {
		names[i] = string(n)
	}
	f.fs.Var(stringFlag{&f.format, "FORMAT"}, "format", "how to export: "+strings.Join(names, ", ")+"; auto is github inside GitHub Actions, else shell, and never prints a token to a terminal (default auto)")
}

// BindAllowPartial defines --allow-partial.
func (f *Flags) BindAllowPartial() {
	f.fs.BoolVar(&f.allowPartial, "allow-partial", false, "export the tokens that were exchanged even if some resources failed")
}

// Value is a setting as given, trimmed, before any check: its flag if
// given, else its variable, and src names which ("--flag" or the
// variable). It is for the few decisions made before Load may fail (the
// git helper answers nothing for another host, whatever else is wrong).
func (f *Flags) Value(getenv func(string) string, name string) (value, src string) {
	v, _ := Lookup(name)
	src = name
	value = getenv(name)
	if p, ok := f.str[name]; ok {
		f.fs.Visit(func(fl *flag.Flag) {
			if fl.Name == v.Flag {
				value, src = *p, "--"+v.Flag
			}
		})
	}
	return strings.TrimSpace(value), src
}

func plain(md string) string { return strings.ReplaceAll(md, "`", "") }

// Load resolves the flags over the environment read through getenv.
func (f *Flags) Load(getenv func(string) string) (*Config, error) {
	return f.load(getenv, true)
}

// LoadSettings is Load without resources, and without reading a
// pre-minted ID token: for the commands that report on that token (claims)
// or act on a job's keeper rather than on resources (refresh --stop).
func (f *Flags) LoadSettings(getenv func(string) string) (*Config, error) {
	return f.load(getenv, false)
}

func (f *Flags) load(getenv func(string) string, withResources bool) (*Config, error) {
	overlay := map[string]string{}
	f.fs.Visit(func(fl *flag.Flag) {
		for name, p := range f.str {
			if v, _ := Lookup(name); v.Flag == fl.Name {
				overlay[name] = *p
			}
		}
	})
	env := func(k string) string {
		if v, ok := overlay[k]; ok {
			return v
		}
		return getenv(k)
	}
	// source names where a setting came from, for error messages.
	source := func(name string) string {
		v, _ := Lookup(name)
		if _, ok := overlay[name]; ok {
			return "--" + v.Flag
		}
		return name
	}
	get := func(name string) string {
		if s := strings.TrimSpace(env(name)); s != "" {
			return s
		}
		v, _ := Lookup(name)
		return v.Default
	}

	c := &Config{Getenv: env, Format: Format(f.format), AllowPartial: f.allowPartial}

	if withResources {
		rs, err := f.loadResources(getenv)
		if err != nil {
			return nil, err
		}
		c.Resources = rs
	}

	c.Provider = get("HF_OIDC_PROVIDER")
	if c.Provider != "auto" {
		if err := checkProvider(source("HF_OIDC_PROVIDER"), c.Provider); err != nil {
			return nil, err
		}
	}
	c.Audience = get("HF_OIDC_AUDIENCE")
	if err := checkAudience(source("HF_OIDC_AUDIENCE"), c.Audience); err != nil {
		return nil, err
	}
	c.Endpoint = strings.TrimRight(get("HF_ENDPOINT"), "/")
	if err := checkEndpoint(source("HF_ENDPOINT"), c.Endpoint); err != nil {
		return nil, err
	}

	if t := get("HF_OIDC_TIMEOUT"); t != "" {
		d, err := parseDuration(source("HF_OIDC_TIMEOUT"), t, MinTimeout, MaxTimeout, "60s or 2m")
		if err != nil {
			return nil, err
		}
		c.Timeout = d
	}

	c.RefreshMargin = refresh.DefaultMargin
	if m := strings.TrimSpace(env("HF_OIDC_REFRESH_MARGIN")); m != "" {
		d, err := parseDuration(source("HF_OIDC_REFRESH_MARGIN"), m, time.Second, MaxTimeout, "5m or 90s")
		if err != nil {
			return nil, err
		}
		c.RefreshMargin = d
	}
	debug, err := f.debug(getenv)
	if err != nil {
		return nil, err
	}
	c.Debug = debug
	if d := strings.TrimSpace(env("HF_OIDC_TOKEN_DIR")); d != "" {
		c.TokenDir, c.TokenDirSource = d, source("HF_OIDC_TOKEN_DIR")
	}

	if !slices.Contains(Formats, c.Format) {
		names := make([]string, len(Formats))
		for i, n := range Formats {
			names[i] = string(n)
		}
		return nil, Usagef("--format %s: expected one of %s", show(string(c.Format)), strings.Join(names, ", "))
	}
	if err := checkLocal(env, source, c.Provider, withResources); err != nil {
		return nil, err
	}
	return c, nil
}

// debug names what turns debug output on: --verbose, else
// HF_OIDC_VERBOSE, else the CI's own switch for its debug logging. A
// --verbose given, true or false, decides alone.
func (f *Flags) debug(getenv func(string) string) (string, error) {
	given := false
	f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "verbose" })
	switch {
	case given && f.verbose:
		return "--verbose", nil
	case given:
		return "", nil
	}
	if v := strings.TrimSpace(getenv("HF_OIDC_VERBOSE")); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return "", Usagef("HF_OIDC_VERBOSE=%s: expected true or false", show(v))
		}
		if on {
			return "HF_OIDC_VERBOSE", nil
		}
		return "", nil
	}
	// Each CI's switch, only inside that CI: the names are too common to
	// trust elsewhere. GitLab's runner reads CI_DEBUG_TRACE with ParseBool.
	if getenv("GITHUB_ACTIONS") == "true" && getenv("RUNNER_DEBUG") == "1" {
		return "RUNNER_DEBUG=1", nil
	}
	if on, _ := strconv.ParseBool(getenv("CI_DEBUG_TRACE")); on && getenv("GITLAB_CI") == "true" {
		return "CI_DEBUG_TRACE", nil
	}
	return "", nil
}

// loadResources resolves the resources: the flag beats the variable as a
// whole, not entry by entry.
func (f *Flags) loadResources(getenv func(string) string) ([]resource.Resource, error) {
	raw, src := []string(f.resources), "--resource"
	if len(raw) == 0 {
		raw, src = []string{getenv("HF_OIDC_RESOURCES")}, "HF_OIDC_RESOURCES"
	}
	if strings.TrimSpace(strings.Join(raw, "")) == "" {
		if v := strings.TrimSpace(getenv("HF_OIDC_RESOURCE")); v != "" {
			return nil, &UsageError{
				Err:    fmt.Errorf("no resource given, but HF_OIDC_RESOURCE (singular) is set (%s): hf-oidc reads HF_OIDC_RESOURCES (plural), and the singular makes huggingface_hub ignore hf-oidc's tokens", safetext.Quote(v, 100)),
				Anchor: diag.AnchorHFOIDCResource,
				Next:   "rename HF_OIDC_RESOURCE to HF_OIDC_RESOURCES, or pass --resource and unset it.",
			}
		}
		return nil, Usagef("no resource given: pass --resource acme/model (repeatable) or set HF_OIDC_RESOURCES; a resource is a repo as the Hub names it (ns/name, datasets/ns/name, spaces/ns/name, kernels/ns/name) or a username")
	}
	rs, err := resource.ParseList(raw)
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("%s: %w", src, err), Anchor: diag.AnchorResourceForm}
	}
	return rs, nil
}

// checkLocal checks the settings that name something on this machine: the
// token directory, the GitLab token's variable, and a pre-minted ID token,
// which is read and checked here, before anything is sent, when the env
// provider will hand it over. Both a token and a file set is the env
// provider's to report.
func checkLocal(env, source func(string) string, provider string, idToken bool) error {
	if d := strings.TrimSpace(env("HF_OIDC_TOKEN_DIR")); d != "" {
		if err := checkPath(source("HF_OIDC_TOKEN_DIR"), d); err != nil {
			return err
		}
	}
	if v := strings.TrimSpace(env("HF_OIDC_ID_TOKEN_VAR")); v != "" {
		if err := checkVarName(source("HF_OIDC_ID_TOKEN_VAR"), v); err != nil {
			return err
		}
	}
	if !idToken || provider != "auto" && provider != "env" {
		return nil
	}
	tok, file := env("HF_OIDC_ID_TOKEN"), env("HF_OIDC_ID_TOKEN_FILE")
	switch {
	case tok != "" && file != "":
		return nil
	case tok != "":
		return checkIDToken("HF_OIDC_ID_TOKEN", tok)
	case file != "":
		return checkIDTokenFile(source("HF_OIDC_ID_TOKEN_FILE"), file)
	}
	return nil
}

// IsUsage reports whether err is bad input (exit status 2).
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// MarkdownTable renders Vars as docs/configuration.md's tables: the
// settings users give (ci false), or the variables hf-oidc reads from the CI
// (ci true).
func MarkdownTable(ci bool) string {
	var b strings.Builder
	if ci {
		b.WriteString("| variable | secret | read for |\n|---|---|---|\n")
	} else {
		b.WriteString("| flag | variable | default | meaning |\n|---|---|---|---|\n")
	}
	for _, v := range Vars {
		if v.CI != ci {
			continue
		}
		if ci {
			secret := ""
			if v.Sensitive {
				secret = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.Name, secret, v.Help)
			continue
		}
		flagName := "—"
		if v.Flag != "" {
			flagName = "`--" + v.Flag + "`"
		}
		def := v.Default
		if strings.Contains(def, "://") {
			def = "`" + def + "`"
		}
		help := v.Help
		if v.Sensitive {
			help += " (secret)"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", flagName, v.Name, def, help)
	}
	return b.String()
}
