package export

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/plugins"
)

// runner is a fake GitHub Actions job: the files the runner makes, and a
// stdout that fails the test if it is written after any of them.
type runner struct {
	t      *testing.T
	env    map[string]string
	stdout bytes.Buffer
}

func newRunner(t *testing.T, files ...string) *runner {
	t.Helper()
	dir := t.TempDir()
	r := &runner{t: t, env: map[string]string{}}
	for _, name := range files {
		p := filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		r.env[name] = p
	}
	return r
}

func (r *runner) Write(p []byte) (int, error) {
	for name, path := range r.env {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			r.t.Errorf("stdout written after $%s: %q", name, p)
		}
	}
	return r.stdout.Write(p)
}

func (r *runner) read(name string) string {
	r.t.Helper()
	b, err := os.ReadFile(r.env[name])
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

func (r *runner) exporter(fileMode bool) GitHub {
	return GitHub{Stdout: r, Getenv: func(k string) string { return r.env[k] }, FileMode: fileMode}
}

// masked returns the secrets the runner would mask, checking that stdout
// holds nothing but mask commands.
func (r *runner) masked() map[string]bool {
	r.t.Helper()
	unescape := strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n")
	m := map[string]bool{}
	for _, line := range strings.SplitAfter(r.stdout.String(), "\n") {
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "::add-mask::")
		if !ok || !strings.HasSuffix(data, "\n") || strings.Count(data, "\n") != 1 {
			r.t.Fatalf("stdout line %q is not one mask command", line)
		}
		m[unescape.Replace(strings.TrimSuffix(data, "\n"))] = true
	}
	return m
}

func TestGitHub(t *testing.T) {
	t.Parallel()
	for _, fileMode := range []bool{false, true} {
		t.Run(map[bool]string{false: "env", true: "file"}[fileMode], func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
			entries := trickyEntries(tricky)
			if err := r.exporter(fileMode).Export(entries); err != nil {
				t.Fatal(err)
			}

			masked := r.masked()
			for _, e := range entries {
				if e.Token != "" && !masked[e.Token] {
					t.Errorf("token %q not masked", e.Token)
				}
			}
			if masked[""] || len(masked) != len(tricky)-1 {
				t.Errorf("masked %d secrets, want the %d non-empty tokens once each", len(masked), len(tricky)-1)
			}

			env, err := parseFileCommands(r.read("GITHUB_ENV"))
			if err != nil {
				t.Fatal(err)
			}
			diffMaps(t, varsMap(t, env), wantMap(Variables(entries, fileMode)))

			out, err := parseFileCommands(r.read("GITHUB_OUTPUT"))
			if err != nil {
				t.Fatal(err)
			}
			diffMaps(t, varsMap(t, out), map[string]string{
				"token":      entries[0].Token,
				"expires-at": "2030-01-02T03:04:05Z",
				"token-file": entries[0].File,
			})

			sum := r.read("GITHUB_STEP_SUMMARY")
			for _, e := range entries {
				if len(e.Token) > 3 && strings.Contains(sum, e.Token) {
					t.Errorf("summary holds token %q:\n%s", e.Token, sum)
				}
				if !strings.Contains(sum, "| acme/m") {
					t.Errorf("summary lacks %s:\n%s", e.Resource, sum)
				}
			}
			first := "| acme/m0 | TOK\\_0, HF\\_TOKEN | 2030-01-02T03:04:05Z |\n"
			if fileMode {
				first = "| acme/m0 | TOK\\_0, HF\\_TOKEN\\_PATH | 2030-01-02T03:04:05Z |\n"
			}
			if !strings.Contains(sum, first) {
				t.Errorf("summary lacks the row\n%swhole summary:\n%s", first, sum)
			}
		})
	}
}

func TestGitHubNoToken(t *testing.T) {
	t.Parallel()
	// Short tokens could match other text by chance: use long ones and
	// look for them in every file.
	r := newRunner(t, "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
	tok := "hf_jwt_" + strings.Repeat("S3cr3t", 8)
	entries := []Entry{{Resource: "acme/a", Env: "A", Token: tok, ExpiresAt: at("2030-01-01T00:00:00Z"), File: "/t/a"}}
	if err := r.exporter(true).Export(entries); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.read("GITHUB_STEP_SUMMARY"), tok) {
		t.Error("summary holds the token")
	}
	if !strings.Contains(r.read("GITHUB_ENV"), tok) || !strings.Contains(r.read("GITHUB_OUTPUT"), tok) {
		t.Error("token missing from $GITHUB_ENV or $GITHUB_OUTPUT")
	}
	if r.stdout.String() != "::add-mask::"+tok+"\n" {
		t.Errorf("stdout = %q", r.stdout.String())
	}
}

func TestGitHubOptionalFiles(t *testing.T) {
	t.Parallel()
	r := newRunner(t, "GITHUB_ENV")
	if err := r.exporter(false).Export(trickyEntries([]string{"hf_a"})); err != nil {
		t.Fatalf("without GITHUB_OUTPUT and GITHUB_STEP_SUMMARY: %v", err)
	}
	if !strings.Contains(r.read("GITHUB_ENV"), "HF_TOKEN<<") {
		t.Errorf("$GITHUB_ENV = %q", r.read("GITHUB_ENV"))
	}
}

func TestGitHubFailures(t *testing.T) {
	t.Parallel()
	collide := "x" + delimiterPrefix + strings.Repeat("00", 16) + "y"
	tests := []struct {
		name    string
		setup   func(r *runner, g *GitHub)
		values  []string
		want    string
		errIs   error
		stdout  bool // whether masks were written before the failure
		touched bool // whether $GITHUB_ENV was written
	}{
		{
			name:   "no GITHUB_ENV",
			setup:  func(r *runner, g *GitHub) { delete(r.env, "GITHUB_ENV") },
			want:   "GITHUB_ENV is not set: not running inside GitHub Actions? use --format shell",
			errIs:  ErrNoGitHubEnv,
			values: []string{"hf_a"},
		},
		{
			name: "GITHUB_ENV file missing",
			setup: func(r *runner, g *GitHub) {
				r.env["GITHUB_ENV"] = filepath.Join(t.TempDir(), "gone")
			},
			want:   "opening $GITHUB_ENV: ",
			errIs:  os.ErrNotExist,
			values: []string{"hf_a"},
			stdout: true,
		},
		{
			name: "GITHUB_OUTPUT file missing",
			setup: func(r *runner, g *GitHub) {
				r.env["GITHUB_OUTPUT"] = filepath.Join(t.TempDir(), "gone")
			},
			want:    "opening $GITHUB_OUTPUT: ",
			values:  []string{"hf_a"},
			stdout:  true,
			touched: true,
		},
		{
			name: "GITHUB_STEP_SUMMARY file missing",
			setup: func(r *runner, g *GitHub) {
				r.env["GITHUB_STEP_SUMMARY"] = filepath.Join(t.TempDir(), "gone")
			},
			want:    "opening $GITHUB_STEP_SUMMARY: ",
			values:  []string{"hf_a"},
			stdout:  true,
			touched: true,
		},
		{
			name:   "delimiter in every attempt",
			setup:  func(r *runner, g *GitHub) { g.Rand = zeros{} },
			values: []string{collide},
			want:   "choosing a heredoc delimiter for TOK_0: 3 random delimiters all occur in the value",
		},
		{
			name:   "no randomness",
			setup:  func(r *runner, g *GitHub) { g.Rand = bytes.NewReader(make([]byte, 20)) },
			values: []string{"hf_a"},
			want:   "choosing a heredoc delimiter for TOK_0_EXPIRES_AT: unexpected EOF",
			errIs:  io.ErrUnexpectedEOF,
		},
		{
			name:   "NUL in a token",
			values: []string{"hf\x00"},
			want:   "the value holds a NUL byte",
		},
		{
			name:   "no entries",
			values: nil,
			want:   "no tokens to export",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, "GITHUB_ENV", "GITHUB_OUTPUT")
			g := r.exporter(false)
			if tt.setup != nil {
				tt.setup(r, &g)
			}
			var entries []Entry
			if tt.values != nil {
				entries = trickyEntries(tt.values)
			}
			err := g.Export(entries)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Export = %v, want an error containing %q", err, tt.want)
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("error %v is not %v", err, tt.errIs)
			}
			for _, v := range tt.values {
				if len(v) > 1 && strings.Contains(err.Error(), v) {
					t.Errorf("error holds the token: %v", err)
				}
			}
			if got := r.stdout.Len() > 0; got != tt.stdout {
				t.Errorf("stdout written: %t, want %t (%q)", got, tt.stdout, r.stdout.String())
			}
			if p, ok := r.env["GITHUB_ENV"]; ok {
				b, _ := os.ReadFile(p)
				if got := len(b) > 0; got != tt.touched {
					t.Errorf("$GITHUB_ENV written: %t, want %t", got, tt.touched)
				}
				if _, err := os.Stat(p); tt.errIs == os.ErrNotExist && err == nil {
					t.Error("$GITHUB_ENV was created")
				}
			}
		})
	}
}

// zeros is a Rand that always gives the same delimiter.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestHeredocRetriesDelimiter(t *testing.T) {
	t.Parallel()
	first := delimiterPrefix + strings.Repeat("00", 16)
	second := delimiterPrefix + strings.Repeat("01", 16)
	value := "a\n" + first + "\nb"
	rnd := io.MultiReader(bytes.NewReader(make([]byte, 16)), bytes.NewReader(bytes.Repeat([]byte{1}, 16)))
	var b bytes.Buffer
	if err := writeHeredoc(&b, "NAME", value, rnd); err != nil {
		t.Fatal(err)
	}
	if want := "NAME<<" + second + "\n" + value + "\n" + second + "\n"; b.String() != want {
		t.Fatalf("heredoc = %q, want %q", b.String(), want)
	}
}

func FuzzHeredoc(f *testing.F) {
	for _, v := range tricky {
		f.Add("NAME", v)
	}
	f.Add("token-file", "x\nNAME<<EOF\nEOF\n")
	f.Fuzz(func(t *testing.T, name, value string) {
		if !plugins.IsVarName(strings.ReplaceAll(name, "-", "_")) {
			t.Skip()
		}
		var b bytes.Buffer
		if err := writeHeredoc(&b, name, value, rand.Reader); err != nil {
			t.Fatal(err)
		}
		got, err := parseFileCommands(b.String())
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		if len(got) != 1 || got[0] != [2]string{name, value} {
			t.Fatalf("%q parses as %q, want %q=%q", b.String(), got, name, value)
		}
	})
}

func TestMask(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"hf_abc":        "::add-mask::hf_abc\n",
		"a\nb":          "::add-mask::a%0Ab\n",
		"a\r\nb%0A":     "::add-mask::a%0D%0Ab%250A\n",
		"::add-mask::x": "::add-mask::::add-mask::x\n",
	}
	for in, want := range tests {
		var b bytes.Buffer
		if err := Mask(&b, in); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("Mask(%q) wrote %q, want %q", in, b.String(), want)
		}
	}
	if err := Mask(failWriter{}, "x"); err == nil {
		t.Error("Mask to a failing writer returned nil")
	}
}

func TestAnnotate(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := Annotate(&b, "error", "hf-oidc: failed, really", "line 1\nline 2: 100%"); err != nil {
		t.Fatal(err)
	}
	want := "::error title=hf-oidc%3A failed%2C really::line 1%0Aline 2: 100%25\n"
	if b.String() != want {
		t.Errorf("Annotate wrote %q, want %q", b.String(), want)
	}
}

func TestMDCell(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"acme/model":    "acme/model",
		"HF_TOKEN":      `HF\_TOKEN`,
		"a|b":           `a\|b`,
		`a\|b`:          `a\\\|b`,
		"a\nb\rc":       "a b c",
		"<img src=x>":   `\<img src=x\>`,
		"`code` *b* &x": "\\`code\\` \\*b\\* \\&x",
	}
	for in, want := range tests {
		if got := Markdown(in); got != want {
			t.Errorf("Markdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDelimiterIsRandom(t *testing.T) {
	t.Parallel()
	var a, b bytes.Buffer
	if err := writeHeredoc(&a, "N", "v", rand.Reader); err != nil {
		t.Fatal(err)
	}
	if err := writeHeredoc(&b, "N", "v", rand.Reader); err != nil {
		t.Fatal(err)
	}
	da := strings.TrimPrefix(strings.SplitN(a.String(), "\n", 2)[0], "N<<")
	if a.String() == b.String() || !strings.HasPrefix(da, delimiterPrefix) {
		t.Fatalf("delimiters %q and %q", a.String(), b.String())
	}
	if raw, err := hex.DecodeString(strings.TrimPrefix(da, delimiterPrefix)); err != nil || len(raw) != 16 {
		t.Errorf("delimiter %q does not end in 16 random bytes", da)
	}
}

// TestAppendFileReportsFailedWrite: a runner file that opens but cannot
// take the bytes (a full disk) is an error, not a silently lost variable.
func TestAppendFileReportsFailedWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "gone"), "opening $GITHUB_OUTPUT: "},
		{"full disk", "/dev/full", "appending to $GITHUB_OUTPUT: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.path == "/dev/full" {
				if _, err := os.Stat(tt.path); err != nil {
					t.Skip("no /dev/full here")
				}
			}
			err := appendFile("GITHUB_OUTPUT", tt.path, []byte("NAME=hf_secret\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("appendFile = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hf_secret") {
				t.Errorf("error holds the token: %v", err)
			}
		})
	}
}

// TestGitHubOutputsOnly: export: none writes every token to the step's
// outputs (masked first) and nothing to $GITHUB_ENV, which later steps
// read.
func TestGitHubOutputsOnly(t *testing.T) {
	t.Parallel()
	r := newRunner(t, "GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
	entries := []Entry{
		{Resource: "acme/a", Env: "HF_TOKEN_ACME_A", Token: "hf_jwt_" + strings.Repeat("a", 40), ExpiresAt: at("2030-01-01T00:00:00Z")},
		{Resource: "datasets/acme/d", Env: "HF_DATA", Token: "hf_jwt_" + strings.Repeat("d", 40), ExpiresAt: at("2030-01-01T00:00:00Z")},
	}
	g := r.exporter(false)
	g.OutputsOnly = true
	if err := g.Export(entries); err != nil {
		t.Fatal(err)
	}
	if env := r.read("GITHUB_ENV"); env != "" {
		t.Errorf("$GITHUB_ENV = %q, want nothing", env)
	}
	masked := r.masked()
	for _, e := range entries {
		if !masked[e.Token] {
			t.Errorf("token of %s not masked", e.Resource)
		}
	}
	out, err := parseFileCommands(r.read("GITHUB_OUTPUT"))
	if err != nil {
		t.Fatal(err)
	}
	diffMaps(t, varsMap(t, out), map[string]string{
		"token":      entries[0].Token,
		"expires-at": "2030-01-01T00:00:00Z",
		"token-file": "",
		"tokens":     `{"HF_DATA":"` + entries[1].Token + `","HF_TOKEN_ACME_A":"` + entries[0].Token + `"}`,
	})
	sum := r.read("GITHUB_STEP_SUMMARY")
	if !strings.Contains(sum, "| datasets/acme/d | HF\\_DATA | 2030-01-01T00:00:00Z |") || strings.Contains(sum, "hf_jwt_") {
		t.Errorf("summary:\n%s", sum)
	}

	r = newRunner(t, "GITHUB_ENV")
	g = r.exporter(false)
	g.OutputsOnly = true
	if err := g.Export(entries); !errors.Is(err, ErrNoGitHubOutput) {
		t.Errorf("without GITHUB_OUTPUT: %v, want ErrNoGitHubOutput", err)
	}
}
