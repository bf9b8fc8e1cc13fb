package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/refresh"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins"
)

// A session is one configured job: its provider, a source of ID tokens
// that re-mints only when it must, and the exchange client.
type session struct {
	cfg      *config.Config
	provider plugins.Provider
	ids      *maskingSource
	client   *exchange.Client
	hc       *http.Client // what every request goes through
	net      *netlog
	// owner is whom the session's tokens are for, worked out before the
	// first round, since a provider may stop minting after one.
	owner func() refresh.Owner
}

// provider is the configured provider, or the detected one.
func provider(cfg *config.Config, opts ...plugins.Option) (plugins.Provider, error) {
	if cfg.Provider == "" || cfg.Provider == "auto" {
		return plugins.Detect(opts...)
	}
	p, err := plugins.New(cfg.Provider, opts...)
	if err != nil {
		return nil, config.Usagef("--provider/HF_OIDC_PROVIDER: %v", err)
	}
	return p, nil
}

// ownerOf is whom tokens obtained through p are for: the job p names and,
// where p only hands back the token the job was given, that token. Reading
// it sends nothing anywhere; a token that cannot be read leaves the owner
// unknown where p names no job, and nothing is then served from a cache.
func ownerOf(cfg *config.Config, p plugins.Provider) refresh.Owner {
	o := refresh.Owner{Provider: p.Name(), Job: p.Job(), Endpoint: cfg.Endpoint, Audience: cfg.Audience}
	if !p.CanMint() {
		if tok, err := p.IDToken(context.Background(), cfg.Audience); err == nil {
			o.IDToken = tok
		}
	}
	return o
}

// jobOwner is ownerOf the configured provider, for the commands that need
// it before a session (refresh); unknown, with the reason, where the job
// cannot be told.
func jobOwner(cfg *config.Config) (refresh.Owner, error) {
	p, err := provider(cfg, plugins.WithGetenv(cfg.Getenv))
	if err != nil {
		return refresh.Owner{}, err
	}
	o := ownerOf(cfg, p)
	if !o.Known() {
		return o, fmt.Errorf("the %s provider names no job here, and its ID token cannot be read", p.Name())
	}
	return o, nil
}

func newSession(cfg *config.Config, env Env, mask io.Writer) (*session, error) {
	hc := env.HTTPClient
	if hc == nil {
		var err error
		if hc, err = transport.New(cfg.Getenv); err != nil {
			return nil, config.Usagef("%w", err)
		}
	}
	debug := newDebugLog(env, cfg.Getenv, cfg.Debug)
	net := &netlog{stderr: env.Stderr, debug: debug}
	hc = transport.Observe(hc, net.observe)
	p, err := provider(cfg, plugins.WithGetenv(cfg.Getenv), plugins.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = exchange.DefaultEndpoint
	}
	debug.printf("provider %s, endpoint %s, audience %s, timeout %s, resources %s",
		p.Name(), endpoint, cfg.Audience, orDefault(cfg.Timeout, exchange.DefaultTimeout), resourceNames(cfg.Resources))
	return &session{
		cfg:      cfg,
		hc:       hc,
		net:      net,
		provider: p,
		owner:    sync.OnceValue(func() refresh.Owner { return ownerOf(cfg, p) }),
		ids: &maskingSource{
			src:      &idtoken.Source{Minter: p, Audience: cfg.Audience, Now: env.Now},
			mask:     mask,
			provider: p.Name(),
			debug:    debug,
		},
		client: &exchange.Client{
			Endpoint:   cfg.Endpoint,
			HTTPClient: hc,
			Timeout:    cfg.Timeout,
			UserAgent:  userAgent(),
			Now:        env.Now,
		},
	}, nil
}

func (s *session) round(ctx context.Context) ([]exchange.Result, error) {
	return s.exchange(ctx, s.cfg.Resources)
}

// exchange is one round for rs, which says what it waits for when it has
// waited long.
func (s *session) exchange(ctx context.Context, rs []resource.Resource) ([]exchange.Result, error) {
	defer s.net.waiting(s.provider.Name())()
	return s.client.Round(ctx, s.ids, rs)
}

// maskingSource masks each new ID token (in GitHub Actions) the moment it
// exists, before anything else can print it, and remembers the last one so a
// failure can show the claims the Hub saw.
type maskingSource struct {
	src      *idtoken.Source
	mask     io.Writer // nil: not in GitHub Actions
	provider string
	debug    *debugLog

	mu     sync.Mutex
	last   *idtoken.Token
	masked map[string]bool
}

func (m *maskingSource) Token(ctx context.Context) (*idtoken.Token, error) {
	t, err := m.src.Token(ctx)
	if err != nil {
		return nil, &idTokenError{provider: m.provider, err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mask != nil && !m.masked[t.Raw] {
		if m.masked == nil {
			m.masked = map[string]bool{}
		}
		export.Mask(m.mask, t.Raw)
		m.masked[t.Raw] = true
	}
	if m.last == nil || m.last.Raw != t.Raw {
		m.debug.token(m.provider, t)
	}
	m.last = t
	return t, nil
}

// resourceNames lists rs for a debug line: "none" for none.
func resourceNames(rs []resource.Resource) string {
	if len(rs) == 0 {
		return "none"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (m *maskingSource) Last() *idtoken.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

// An idTokenError is a provider's failure to hand out an ID token, for
// report to add what to do.
type idTokenError struct {
	provider string
	err      error
}

func (e *idTokenError) Error() string { return e.err.Error() }
func (e *idTokenError) Unwrap() error { return e.err }
