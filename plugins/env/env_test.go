package env

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
)

const tok = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2h1Z2dpbmdmYWNlLmNvIn0.c2lnbmF0dXJl"

func newProvider(env map[string]string, files map[string]string) *Provider {
	return New(
		plugins.WithGetenv(func(k string) string { return env[k] }),
		plugins.WithReadFile(func(name string) ([]byte, error) {
			b, ok := files[name]
			if !ok {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
			}
			return []byte(b), nil
		}),
	)
}

func TestIDToken(t *testing.T) {
	t.Parallel()
	const file = "/run/secrets/id-token"
	tests := []struct {
		name      string
		env       map[string]string
		files     map[string]string
		want      string
		wantErr   []string // substrings of the error
		wantSetup bool
		wantIs    error
	}{
		{name: "variable", env: map[string]string{TokenVar: tok}, want: tok},
		{name: "variable trimmed", env: map[string]string{TokenVar: "  " + tok + "\n"}, want: tok},
		{name: "file", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: tok}, want: tok},
		{name: "file with newline", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: tok + "\n"}, want: tok},
		{name: "file with CRLF", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: "\r\n" + tok + "\r\n"}, want: tok},
		{
			name:      "both",
			env:       map[string]string{TokenVar: tok, TokenFileVar: file},
			files:     map[string]string{file: tok},
			wantErr:   []string{"both HF_OIDC_ID_TOKEN and HF_OIDC_ID_TOKEN_FILE are set"},
			wantSetup: true,
		},
		{name: "neither", env: map[string]string{}, wantErr: []string{"neither HF_OIDC_ID_TOKEN nor HF_OIDC_ID_TOKEN_FILE is set"}, wantSetup: true},
		{name: "blank variable", env: map[string]string{TokenVar: " \n\t"}, wantErr: []string{TokenVar, "empty"}},
		{name: "empty file", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: ""}, wantErr: []string{file, TokenFileVar, "empty"}},
		{name: "blank file", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: "\n\n"}, wantErr: []string{file, "empty"}},
		{name: "missing file", env: map[string]string{TokenFileVar: file}, wantErr: []string{file, TokenFileVar}, wantIs: fs.ErrNotExist},
		{name: "space inside", env: map[string]string{TokenVar: tok + " " + tok}, wantErr: []string{TokenVar, "whitespace at byte " + strconv.Itoa(len(tok))}},
		{name: "two lines in file", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: tok + "\n" + tok + "\n"}, wantErr: []string{file, "whitespace"}},
		{name: "tab inside", env: map[string]string{TokenVar: "ab\tc"}, wantErr: []string{"whitespace at byte 2"}},
		{name: "NUL inside", env: map[string]string{TokenVar: "ab\x00c"}, wantErr: []string{"control character at byte 2"}},
		{name: "escape inside", env: map[string]string{TokenVar: "ab\x1b[2Jc"}, wantErr: []string{"control character"}},
		{name: "DEL inside", env: map[string]string{TokenVar: "ab\x7fc"}, wantErr: []string{"control character"}},
		{name: "UTF-16 file", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: "\xff\xfee\x00y\x00"}, wantErr: []string{file, "non-ASCII byte at byte 0"}},
		{name: "byte order mark", env: map[string]string{TokenFileVar: file}, files: map[string]string{file: "\uFEFF" + tok}, wantErr: []string{"byte order mark"}},
		{name: "non-breaking space inside", env: map[string]string{TokenVar: "ab\u00a0c"}, wantErr: []string{"non-ASCII"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(tt.env, tt.files)
			got, err := p.IDToken(t.Context(), "https://huggingface.co")
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("IDToken = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("IDToken = %q, want an error", got)
			}
			if got != "" {
				t.Errorf("IDToken returned %q along with an error", got)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error %q leaks the token", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q, want it to hold %q", err, w)
				}
			}
			var se *plugins.SetupError
			if isSetup := errors.As(err, &se); isSetup != tt.wantSetup {
				t.Errorf("error %v is a SetupError: %v, want %v", err, isSetup, tt.wantSetup)
			} else if isSetup && (se.Provider != "env" || !strings.Contains(se.Fix, "--id-token-file")) {
				t.Errorf("SetupError = %+v, want provider env and a fix naming --id-token-file", se)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			if n := strings.Count(err.Error(), file); n > 1 {
				t.Errorf("error %q names the file %d times", err, n)
			}
		})
	}
}

func TestIDTokenIgnoresAudience(t *testing.T) {
	t.Parallel()
	p := newProvider(map[string]string{TokenVar: tok}, nil)
	for _, aud := range []string{"https://huggingface.co", "other", ""} {
		if got, err := p.IDToken(t.Context(), aud); err != nil || got != tok {
			t.Errorf("IDToken(%q) = %q, %v; want the given token", aud, got, err)
		}
	}
}

// TestIDTokenRealFile goes through the default ReadFile, and shows that the
// file is read again on every call.
func TestIDTokenRealFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	p := New(plugins.WithGetenv(func(k string) string {
		if k == TokenFileVar {
			return file
		}
		return ""
	}))
	for _, want := range []string{"first.token.a", "second.token.b"} {
		if err := os.WriteFile(file, []byte(want+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := p.IDToken(t.Context(), ""); err != nil || got != want {
			t.Fatalf("IDToken = %q, %v; want %q", got, err, want)
		}
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"none", map[string]string{}, false},
		{"variable", map[string]string{TokenVar: tok}, true},
		{"file", map[string]string{TokenFileVar: "/t"}, true},
		{"both", map[string]string{TokenVar: tok, TokenFileVar: "/t"}, true},
		{"blank still counts", map[string]string{TokenVar: " "}, true},
		{"unrelated", map[string]string{"GITHUB_ACTIONS": "true", "HF_TOKEN": "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := newProvider(tt.env, nil).Detect(); got != tt.want {
				t.Errorf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("env")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("plugins.New(env) = %T, want *Provider", p)
	}
	if p.Name() != "env" || p.CanMint() {
		t.Errorf("Name, CanMint = %q, %v; want env, false", p.Name(), p.CanMint())
	}
}

var (
	digits      = regexp.MustCompile(`[0-9]+`)
	fixedErrors = map[string]bool{
		"it is empty": true,
		"it starts with a byte order mark: save it as plain ASCII":    true,
		"it holds whitespace at byte N: an ID token is a single word": true,
		"it holds a control character at byte N":                      true,
		"it holds a non-ASCII byte at byte N":                         true,
	}
)

func FuzzClean(f *testing.F) {
	f.Add(tok)
	f.Add(" " + tok + "\n")
	f.Add("a b")
	f.Add("\uFEFF" + tok)
	f.Add("\xff\xfea\x00")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := clean(s)
		if err != nil {
			// Errors are fixed text but for a byte offset: nothing of the
			// input gets in.
			if msg := digits.ReplaceAllString(err.Error(), "N"); !fixedErrors[msg] {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		if got != strings.TrimSpace(s) || got == "" {
			t.Fatalf("clean(%q) = %q, want the trimmed input", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] <= ' ' || got[i] >= 0x7f {
				t.Fatalf("clean(%q) accepted byte %#x", s, got[i])
			}
		}
	})
}
