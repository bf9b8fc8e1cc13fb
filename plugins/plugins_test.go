package plugins_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
)

// fake detects itself when FAKE_<name> is "1" in the environment it was
// built with, which shows that options reach the factory.
type fake struct {
	name   string
	getenv func(string) string
}

func (f *fake) Name() string                                    { return f.name }
func (f *fake) Detect() bool                                    { return f.getenv("FAKE_"+f.name) == "1" }
func (f *fake) IDToken(context.Context, string) (string, error) { return "", nil }
func (f *fake) CanMint() bool                                   { return false }
func (f *fake) Job() string                                     { return "" }

func factory(name string) plugins.Factory {
	return func(opts ...plugins.Option) plugins.Provider {
		return &fake{name: name, getenv: plugins.Apply(opts...).Getenv}
	}
}

// The registry is global, so the fakes are registered once, before any
// test runs, and no test adds to it.
func init() {
	plugins.Register("beta", 5, factory("beta"))
	plugins.Register("zeta", 1, factory("zeta"))
	plugins.Register("alpha", 5, factory("alpha")) // ties with beta: by name
	plugins.Register("mid", 3, factory("mid"))
}

var wantOrder = []string{"zeta", "mid", "alpha", "beta"}

func env(kv ...string) plugins.Option {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return plugins.WithGetenv(func(k string) string { return m[k] })
}

func TestNames(t *testing.T) {
	t.Parallel()
	if got := plugins.Names(); !slices.Equal(got, wantOrder) {
		t.Errorf("Names() = %q, want %q", got, wantOrder)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "alpha") {
			t.Errorf("Register of a duplicate panicked with %v, want a message naming it", r)
		}
	}()
	plugins.Register("alpha", 99, factory("alpha"))
}

func TestNew(t *testing.T) {
	t.Parallel()
	p, err := plugins.New("mid", env("FAKE_mid", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "mid" || !p.Detect() {
		t.Errorf("New(mid) = %s detecting %v, want mid built with the given Getenv", p.Name(), p.Detect())
	}

	_, err = plugins.New("nope")
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "zeta, mid, alpha, beta") {
		t.Errorf("New(nope) error = %v, want one naming it and the known providers", err)
	}
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string // "" for NotDetectedError
	}{
		{name: "one", env: []string{"FAKE_beta", "1"}, want: "beta"},
		{name: "lower order wins", env: []string{"FAKE_beta", "1", "FAKE_zeta", "1"}, want: "zeta"},
		{name: "tie broken by name", env: []string{"FAKE_beta", "1", "FAKE_alpha", "1"}, want: "alpha"},
		{name: "none", env: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := plugins.Detect(env(tt.env...))
			if tt.want != "" {
				if err != nil || p.Name() != tt.want {
					t.Fatalf("Detect = %v, %v; want %s", p, err, tt.want)
				}
				return
			}
			var nd *plugins.NotDetectedError
			if !errors.As(err, &nd) || !slices.Equal(nd.Tried, wantOrder) {
				t.Fatalf("Detect error = %v, want NotDetectedError having tried %q", err, wantOrder)
			}
			if want := "no CI provider detected (tried zeta, mid, alpha, beta)"; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
		})
	}
}

func TestSetupError(t *testing.T) {
	t.Parallel()
	err := &plugins.SetupError{Provider: "github", Problem: "x is not set", Fix: "Set x."}
	if got, want := err.Error(), "github: x is not set"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestApplyOptions(t *testing.T) {
	t.Parallel()
	client := &http.Client{}
	readFile := func(string) ([]byte, error) { return []byte("injected"), nil }
	runner := func(context.Context, string, ...string) ([]byte, error) { return []byte("ran"), nil }
	o := plugins.Apply(
		env("K", "first"),
		env("K", "second"), // the later option wins
		plugins.WithHTTPClient(client),
		plugins.WithReadFile(readFile),
		plugins.WithRunner(runner),
	)
	if got := o.Getenv("K"); got != "second" {
		t.Errorf("Getenv(K) = %q, want the later option's %q", got, "second")
	}
	if o.HTTPClient != client {
		t.Error("HTTPClient is not the injected one")
	}
	if b, _ := o.ReadFile("x"); string(b) != "injected" {
		t.Errorf("ReadFile = %q, want the injected one", b)
	}
	if b, _ := o.Runner(t.Context(), "x"); string(b) != "ran" {
		t.Errorf("Runner = %q, want the injected one", b)
	}
}

// TestApplyDefaults cannot be parallel: it sets a variable of the process.
func TestApplyDefaults(t *testing.T) {
	t.Setenv("HF_OIDC_PLUGINS_TEST", "from the process")
	o := plugins.Apply()
	if got := o.Getenv("HF_OIDC_PLUGINS_TEST"); got != "from the process" {
		t.Errorf("default Getenv = %q, want os.Getenv", got)
	}
	if o.HTTPClient != http.DefaultClient {
		t.Error("default HTTPClient is not http.DefaultClient")
	}
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("on disk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := o.ReadFile(file); err != nil || string(b) != "on disk" {
		t.Errorf("default ReadFile = %q, %v; want the file's content", b, err)
	}
	if o.Runner == nil {
		t.Error("default Runner is nil")
	}
}

func TestDefaultRunner(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run")
	}
	run := plugins.Apply().Runner
	long := strings.Repeat("e", 300)
	tests := []struct {
		name     string
		script   string
		wantOut  string
		wantErr  []string
		leakText string // stdout that must stay out of the error
	}{
		{name: "stdout only", script: "printf out; printf noise >&2", wantOut: "out"},
		{name: "failure quotes stderr", script: "echo oops >&2; exit 3", wantErr: []string{"running sh", "exit status 3", ": oops"}},
		{name: "failure without stderr", script: "exit 4", wantErr: []string{"running sh: exit status 4"}},
		{name: "stderr cut", script: "printf " + long + " >&2; exit 1", wantErr: []string{strings.Repeat("e", 200) + "…"}},
		{name: "stderr on one line", script: "printf 'a\\n\\tb\\033[2J' >&2; exit 1", wantErr: []string{`: a b\x1B[2J`}},
		{name: "stdout kept out of errors", script: "echo STDOUT-SECRET; exit 1", wantErr: []string{"exit status 1"}, leakText: "STDOUT-SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(t.Context(), "sh", "-c", tt.script)
			if tt.wantErr == nil {
				if err != nil || string(out) != tt.wantOut {
					t.Fatalf("run = %q, %v; want %q", out, err, tt.wantOut)
				}
				return
			}
			if err == nil {
				t.Fatalf("run = %q, want an error", out)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q, want it to hold %q", err, w)
				}
			}
			if strings.Contains(err.Error(), strings.Repeat("e", 201)) {
				t.Errorf("error quotes more than 200 bytes of stderr")
			}
			if tt.leakText != "" && strings.Contains(err.Error(), tt.leakText) {
				t.Errorf("error %q quotes stdout", err)
			}
		})
	}
}

func TestIsVarName(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"HF_TOKEN": true, "_x": true, "a1": true, "Z": true, "_": true,
		"": false, "1A": false, "A-B": false, "A B": false, "É": false, "A\n": false, "$A": false, "a.b": false,
	} {
		if got := plugins.IsVarName(s); got != want {
			t.Errorf("IsVarName(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzIsVarName: the hand-written check agrees with the regexp it
// replaced.
func FuzzIsVarName(f *testing.F) {
	for _, s := range []string{"HF_TOKEN", "1A", "", "a-b", "_9", "\xff"} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := plugins.IsVarName(s), re.MatchString(s); got != want {
			t.Errorf("IsVarName(%q) = %v, the regexp says %v", s, got, want)
		}
	})
}
