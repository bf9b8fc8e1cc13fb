package cli

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
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
}

func newSession(cfg *config.Config, env Env, mask io.Writer) (*session, error) {
	hc := env.HTTPClient
	if hc == nil {
		var err error
		if hc, err = transport.New(cfg.Getenv); err != nil {
			return nil, config.Usagef("%w", err)
		}
	}
	opts := []plugins.Option{plugins.WithGetenv(cfg.Getenv), plugins.WithHTTPClient(hc)}
	var (
		p   plugins.Provider
		err error
	)
	if cfg.Provider == "" || cfg.Provider == "auto" {
		p, err = plugins.Detect(opts...)
	} else {
		p, err = plugins.New(cfg.Provider, opts...)
		if err != nil {
			err = config.Usagef("--provider/HF_OIDC_PROVIDER: %v", err)
		}
	}
	if err != nil {
		return nil, err
	}
	return &session{
		cfg:      cfg,
		hc:       hc,
		provider: p,
		ids: &maskingSource{
			src:      &idtoken.Source{Minter: p, Audience: cfg.Audience, Now: env.Now},
			mask:     mask,
			provider: p.Name(),
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
	return s.client.Round(ctx, s.ids, s.cfg.Resources)
}

// maskingSource masks each new ID token (in GitHub Actions) the moment it
// exists, before anything else can print it, and remembers the last one so a
// failure can show the claims the Hub saw.
type maskingSource struct {
	src      *idtoken.Source
	mask     io.Writer // nil: not in GitHub Actions
	provider string

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
	m.last = t
	return t, nil
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
