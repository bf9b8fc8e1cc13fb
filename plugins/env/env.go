package env

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const (
	name = "env"
	// order puts env before every CI provider: a token the user supplied
	// on purpose wins over the one the CI would mint (see plugins/all).
	order = 10
)

const (
	// TokenVar holds a pre-minted ID token; huggingface_hub reads the same
	// variable.
	TokenVar = "HF_OIDC_ID_TOKEN"
	// TokenFileVar names a file holding a pre-minted ID token. The CLI maps
	// its --id-token-file flag onto it, so the provider reads only Getenv.
	TokenFileVar = "HF_OIDC_ID_TOKEN_FILE"
)

func init() {
	plugins.Register(name, order, func(opts ...plugins.Option) plugins.Provider { return New(opts...) })
}

var _ plugins.Provider = (*Provider)(nil)

// Provider hands back the ID token given in HF_OIDC_ID_TOKEN, or in the file
// named by HF_OIDC_ID_TOKEN_FILE. Setting both is an error rather than a
// silent preference, which would hide a mistake. It is safe for concurrent
// use.
type Provider struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
}

// New returns an env provider. It reads the environment through
// plugins.WithGetenv and files through plugins.WithReadFile (default
// os.Getenv and os.ReadFile).
func New(opts ...plugins.Option) *Provider {
	o := plugins.Apply(opts...)
	return &Provider{getenv: o.Getenv, readFile: o.ReadFile}
}

// Name returns "env".
func (*Provider) Name() string { return name }

// Detect reports whether HF_OIDC_ID_TOKEN or HF_OIDC_ID_TOKEN_FILE is set.
// A blank value counts, so that its mistake is reported rather than passed
// over for the CI's own token.
func (p *Provider) Detect() bool {
	return p.getenv(TokenVar) != "" || p.getenv(TokenFileVar) != ""
}

// CanMint returns false: the token is the one the user gave.
func (*Provider) CanMint() bool { return false }

// Job returns "": a pre-minted token names no job. hf-oidc binds what it
// caches to the token itself instead.
func (*Provider) Job() string { return "" }

// IDToken returns the given token, trimmed of surrounding whitespace. It
// ignores audience: the token's aud is whatever it was minted with. A file
// is read again on every call, so a token file refreshed by someone else is
// picked up.
func (p *Provider) IDToken(_ context.Context, _ string) (string, error) {
	val, file := p.getenv(TokenVar), p.getenv(TokenFileVar)
	switch {
	case val != "" && file != "":
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  "both " + TokenVar + " and " + TokenFileVar + " are set",
			Fix:      "Set only one of them: " + TokenVar + " to the token, or " + TokenFileVar + " (--id-token-file) to a file holding it.",
		}
	case val != "":
		tok, err := clean(val)
		if err != nil {
			return "", fmt.Errorf("reading ID token from %s: %w", TokenVar, err)
		}
		return tok, nil
	case file != "":
		b, err := p.readFile(file)
		if err != nil {
			// The path goes in once, whoever's ReadFile this is.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("reading ID token file %q (%s): %w", file, TokenFileVar, err)
		}
		tok, err := clean(string(b))
		if err != nil {
			return "", fmt.Errorf("reading ID token file %q (%s): %w", file, TokenFileVar, err)
		}
		return tok, nil
	default:
		return "", &plugins.SetupError{
			Provider: name,
			Problem:  "neither " + TokenVar + " nor " + TokenFileVar + " is set",
			Fix:      "Set " + TokenVar + " to a pre-minted ID token, or " + TokenFileVar + " (--id-token-file) to a file holding one.",
		}
	}
}

// clean trims s and rejects what cannot be a token at all. The JWT itself
// is parsed centrally by the CLI; this only catches a wrong file or a value
// pasted with junk, and never quotes s.
func clean(s string) (string, error) {
	tok := strings.TrimSpace(s)
	if tok == "" {
		return "", errors.New("it is empty")
	}
	if strings.HasPrefix(tok, "\uFEFF") {
		return "", errors.New("it starts with a byte order mark: save it as plain ASCII")
	}
	// A compact JWT is base64url and dots: printable ASCII, no spaces.
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			return "", fmt.Errorf("it holds whitespace at byte %d: an ID token is a single word", i)
		case c < 0x20 || c == 0x7f:
			return "", fmt.Errorf("it holds a control character at byte %d", i)
		case c >= 0x80:
			return "", fmt.Errorf("it holds a non-ASCII byte at byte %d", i)
		}
	}
	return tok, nil
}
