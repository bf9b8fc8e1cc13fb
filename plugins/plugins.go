// Package plugins defines what hf-oidc needs from a CI provider (detect it,
// get an OIDC ID token from it) and keeps the registry of providers.
//
// It imports nothing from hf-oidc's internal packages so that other projects
// can import it and its subpackages.
package plugins

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// A Provider hands out OIDC ID tokens for the CI job it runs in.
//
// Implementations must be safe for concurrent use.
type Provider interface {
	// Name is the short name users pass to --provider ("github", "env", …).
	Name() string
	// Detect reports whether the environment is this provider's CI job (or,
	// for the env provider, holds a pre-minted token).
	Detect() bool
	// IDToken returns an ID token whose aud claim is audience. A provider
	// that cannot choose the audience returns the token it has.
	IDToken(ctx context.Context, audience string) (string, error)
	// CanMint reports whether every IDToken call mints a fresh token (true),
	// or whether it hands back the one token the job was given (false), which
	// then cannot outlive its own expiry.
	CanMint() bool
	// Job names the CI job this process runs in: the same for the job's
	// whole life, different for every other job, built from the provider's
	// own job identifier; "" where the provider has none (the env
	// provider). It is not secret: a secret part is given as its SHA-256.
	// hf-oidc binds the tokens it caches to it, so that another job on the
	// same machine is never handed them.
	Job() string
}

// IsVarName reports whether s is a name a shell takes as a variable's:
// ASCII letters, digits and underscores, not starting with a digit. (Hand
// written: a regexp compiled at start-up costs every run of hf-oidc.)
func IsVarName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && (i == 0 || !('0' <= c && c <= '9')) {
			return false
		}
	}
	return s != ""
}

// JobVar is a Job made of one variable: "NAME=value", or "" when it is
// unset.
func JobVar(getenv func(string) string, name string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return name + "=" + v
	}
	return ""
}

// Options are the side effects a provider may use. Tests inject them; the
// zero value of each field means the real thing.
type Options struct {
	Getenv     func(string) string
	HTTPClient *http.Client
	ReadFile   func(string) ([]byte, error)
	Runner     Runner
}

// A Runner runs a command and returns its standard output. Providers that
// shell out (CircleCI, Buildkite) run their CLI through it.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// An Option sets one of the Options.
type Option func(*Options)

// WithGetenv makes the provider read its environment through f.
func WithGetenv(f func(string) string) Option { return func(o *Options) { o.Getenv = f } }

// WithHTTPClient makes the provider send its requests through c.
func WithHTTPClient(c *http.Client) Option { return func(o *Options) { o.HTTPClient = c } }

// WithReadFile makes the provider read files through f.
func WithReadFile(f func(string) ([]byte, error)) Option { return func(o *Options) { o.ReadFile = f } }

// WithRunner makes the provider run commands through r.
func WithRunner(r Runner) Option { return func(o *Options) { o.Runner = r } }

// Apply resolves opts, filling in the real environment, HTTP client, file
// reader and command runner where none was given.
func Apply(opts ...Option) Options {
	var o Options
	for _, opt := range opts {
		opt(&o)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Runner == nil {
		o.Runner = runCommand
	}
	return o
}

func runCommand(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	// Stderr is kept for the error message; stdout may hold a token and is
	// only ever returned.
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// On one line, redacted, and short: a CLI may echo a token or
		// print a screenful.
		if msg := safetext.Snippet(stderr.String(), 200); msg != "" {
			return nil, fmt.Errorf("running %s: %w: %s", name, err, msg)
		}
		return nil, fmt.Errorf("running %s: %w", name, err)
	}
	return out, nil
}

// A SetupError says the job is not set up to hand out an ID token, and what
// to change so that it is. The CLI treats it as a configuration error.
type SetupError struct {
	Provider string // the provider's Name
	Problem  string // what is missing, lowercase, no trailing period
	Fix      string // the change to make, a full sentence
}

func (e *SetupError) Error() string {
	return e.Provider + ": " + e.Problem
}

// A Factory builds a provider from options.
type Factory func(opts ...Option) Provider

type entry struct {
	name    string
	factory Factory
	order   int
}

var (
	mu       sync.RWMutex
	registry = map[string]entry{}
)

// Register adds a provider under name. Auto-detection tries providers by
// ascending order (ties by name), so an explicit setting such as a
// pre-minted token can win over the CI it runs in. It panics on a duplicate
// name, which is a programming error.
func Register(name string, order int, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("plugins: provider registered twice: " + name)
	}
	registry[name] = entry{name: name, factory: f, order: order}
}

func sorted() []entry {
	mu.RLock()
	defer mu.RUnlock()
	es := make([]entry, 0, len(registry))
	for _, e := range registry {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].order != es[j].order {
			return es[i].order < es[j].order
		}
		return es[i].name < es[j].name
	})
	return es
}

// Names lists the registered providers in detection order.
func Names() []string {
	var names []string
	for _, e := range sorted() {
		names = append(names, e.name)
	}
	return names
}

// New builds the provider registered under name.
func New(name string, opts ...Option) (Provider, error) {
	mu.RLock()
	e, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return e.factory(opts...), nil
}

// NotDetectedError is returned by Detect when no provider recognises the
// environment.
type NotDetectedError struct{ Tried []string }

func (e *NotDetectedError) Error() string {
	return "no CI provider detected (tried " + strings.Join(e.Tried, ", ") + ")"
}

// Detect returns the first provider, in detection order, whose Detect
// reports true.
func Detect(opts ...Option) (Provider, error) {
	var tried []string
	for _, e := range sorted() {
		p := e.factory(opts...)
		if p.Detect() {
			return p, nil
		}
		tried = append(tried, e.name)
	}
	return nil, &NotDetectedError{Tried: tried}
}
