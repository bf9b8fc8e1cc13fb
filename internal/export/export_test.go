package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

func TestVariables(t *testing.T) {
	t.Parallel()
	// Nanoseconds and a zone: exported as whole seconds in UTC.
	exp := time.Date(2030, 1, 2, 4, 4, 5, 999, time.FixedZone("CET", 3600))
	a := Entry{Resource: "acme/a", Env: "HF_TOKEN_ACME_A", Token: "hf_a", ExpiresAt: exp, File: "/t/a"}
	b := Entry{Resource: "datasets/acme/b", Env: "B", Token: "hf_b", ExpiresAt: exp.Add(time.Minute), File: "/t/b"}
	named := Entry{Resource: "acme/a", Env: "HF_TOKEN", Token: "hf_a", ExpiresAt: exp, File: "/t/a"}
	tests := []struct {
		name     string
		entries  []Entry
		fileMode bool
		want     []Var
	}{
		{"none", nil, false, nil},
		{"one", []Entry{a}, false, []Var{
			{"HF_TOKEN_ACME_A", "hf_a", true},
			{"HF_TOKEN_ACME_A_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
			{"HF_TOKEN", "hf_a", true},
			{"HF_TOKEN_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
		}},
		{"two", []Entry{a, b}, false, []Var{
			{"HF_TOKEN_ACME_A", "hf_a", true},
			{"HF_TOKEN_ACME_A_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
			{"B", "hf_b", true},
			{"B_EXPIRES_AT", "2030-01-02T03:05:05Z", false},
			{"HF_TOKEN", "hf_a", true},
			{"HF_TOKEN_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
		}},
		{"first named HF_TOKEN", []Entry{named, b}, false, []Var{
			{"HF_TOKEN", "hf_a", true},
			{"HF_TOKEN_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
			{"B", "hf_b", true},
			{"B_EXPIRES_AT", "2030-01-02T03:05:05Z", false},
		}},
		{"file mode", []Entry{a, b}, true, []Var{
			{"HF_TOKEN_ACME_A", "hf_a", true},
			{"HF_TOKEN_ACME_A_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
			{"HF_TOKEN_ACME_A_FILE", "/t/a", false},
			{"B", "hf_b", true},
			{"B_EXPIRES_AT", "2030-01-02T03:05:05Z", false},
			{"B_FILE", "/t/b", false},
			{"HF_TOKEN_PATH", "/t/a", false},
			{"HF_TOKEN_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
		}},
		{"file mode, first named HF_TOKEN", []Entry{named, b}, true, []Var{
			{"B", "hf_b", true},
			{"B_EXPIRES_AT", "2030-01-02T03:05:05Z", false},
			{"B_FILE", "/t/b", false},
			{"HF_TOKEN_PATH", "/t/a", false},
			{"HF_TOKEN_EXPIRES_AT", "2030-01-02T03:04:05Z", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Variables(tt.entries, tt.fileMode)
			if len(got) != len(tt.want) {
				t.Fatalf("Variables = %+v\nwant %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestExportersRefuse(t *testing.T) {
	t.Parallel()
	good := Entry{Resource: "acme/a", Env: "A", Token: "hf_a", ExpiresAt: at("2030-01-01T00:00:00Z")}
	badName := good
	badName.Env = "A;reboot"
	nul := good
	nul.Token = "hf\x00a"
	named := func(env string) []Entry {
		e := good
		e.Env = env
		return []Entry{e}
	}
	tests := []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"no entries", nil, "no tokens to export"},
		{"bad name", []Entry{badName}, `exporting the token for acme/a: variable name "A;reboot" must be a letter or "_"`},
		{"empty name", named(""), "exporting the token for acme/a: empty variable name"},
		{"control character", named("A\nB"), `variable name "A\nB" must be`},
		{"huge name", named(strings.Repeat("A", 10<<10)), "10240 characters long, more than 128"},
		{"PATH", named("PATH"), `variable name "PATH" would overwrite PATH`},
		{"GITHUB_ENV", named("GITHUB_ENV"), "would overwrite GITHUB_*"},
		{"companion reserved", named("LD"), "would overwrite LD_EXPIRES_AT, which is LD_*"},
		{"NUL in token", []Entry{nul}, "exporting A: the value holds a NUL byte"},
	}
	for _, tt := range tests {
		for format, newExp := range map[string]func(*bytes.Buffer) Exporter{
			"shell":  func(b *bytes.Buffer) Exporter { return Shell{W: b} },
			"dotenv": func(b *bytes.Buffer) Exporter { return Dotenv{W: b} },
		} {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var b bytes.Buffer
				err := newExp(&b).Export(tt.entries)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Export = %v, want an error containing %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "hf\x00a") || strings.Contains(err.Error(), "hf_a") {
					t.Errorf("error holds the token: %v", err)
				}
				if len(err.Error()) > 500 {
					t.Errorf("error of %d bytes", len(err.Error()))
				}
				if b.Len() > 0 {
					t.Errorf("wrote %q before failing", b.String())
				}
			})
		}
	}
}

func TestShellReadBySh(t *testing.T) {
	t.Parallel()
	needSh(t)
	for _, fileMode := range []bool{false, true} {
		entries := trickyEntries(tricky)
		var b bytes.Buffer
		if err := (Shell{W: &b, FileMode: fileMode}).Export(entries); err != nil {
			t.Fatal(err)
		}
		vars := Variables(entries, fileMode)
		got := shRead(t, b.Bytes(), `eval "$(cat "$1")"`, names(vars))
		diffMaps(t, got, wantMap(vars))
		if n := strings.Count(b.String(), "\nexport ") + 1; n != len(vars) {
			t.Errorf("%d export lines for %d variables", n, len(vars))
		}
	}
}

// FuzzShellQuote: what the shell exporter quotes, sh reads back as it was.
func FuzzShellQuote(f *testing.F) {
	for _, v := range tricky {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := posixUnquote(safetext.ShellQuote(s))
		if err != nil {
			t.Fatalf("safetext.ShellQuote(%q) = %s: %v", s, safetext.ShellQuote(s), err)
		}
		if got != s {
			t.Fatalf("safetext.ShellQuote(%q) = %s reads back as %q", s, safetext.ShellQuote(s), got)
		}
	})
}

func TestDotenvQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "hf_jwt_eyJ.eyJ-_x", want: "hf_jwt_eyJ.eyJ-_x"},
		{in: "2030-01-02T03:04:05Z", want: "2030-01-02T03:04:05Z"},
		{in: "/tmp/hf-oidc-1/acme_m.token", want: "/tmp/hf-oidc-1/acme_m.token"},
		{in: "a=b,c+d@e%f:g", want: "a=b,c+d@e%f:g"},
		{in: "", want: ""},
		{in: "azAZ09", want: "azAZ09"},
		{in: "/Users/Jane Doe/tok", want: "'/Users/Jane Doe/tok'"},
		{in: "$HOME", want: "'$HOME'"},
		{in: "${HOME}", err: true},
		{in: "a${", err: true},
		{in: "$ {x}", want: "'$ {x}'"},
		{in: "`id`", want: "'`id`'"},
		{in: `"x"`, want: `'"x"'`},
		{in: "#x", want: "'#x'"},
		{in: "a:~/b", want: "'a:~/b'"},
		{in: "é", want: "'é'"},
		{in: "it's", err: true},
		{in: `a\b`, err: true},
		{in: "a\nb", err: true},
		{in: "a\rb", err: true},
	}
	for _, tt := range tests {
		got, err := dotenvQuote(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("dotenvQuote(%q) = %q, %v; want %q, error %t", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// dotenvSafe are the tricky values Dotenv accepts.
func dotenvSafe() []string {
	var vs []string
	for _, v := range tricky {
		if !strings.ContainsAny(v, "'\\\r\n") && !strings.Contains(v, "${") {
			vs = append(vs, v)
		}
	}
	return vs
}

func TestDotenvReadBack(t *testing.T) {
	t.Parallel()
	for _, fileMode := range []bool{false, true} {
		entries := trickyEntries(dotenvSafe())
		var b bytes.Buffer
		if err := (Dotenv{W: &b, FileMode: fileMode}).Export(entries); err != nil {
			t.Fatal(err)
		}
		vars := Variables(entries, fileMode)
		want := wantMap(vars)

		pairs, err := parseDotenv(b.String())
		if err != nil {
			t.Fatal(err)
		}
		diffMaps(t, varsMap(t, pairs), want)

		t.Run("sh", func(t *testing.T) {
			needSh(t)
			diffMaps(t, shRead(t, b.Bytes(), `set -a && . "$1" && set +a`, names(vars)), want)
		})
		t.Run("python-dotenv", func(t *testing.T) {
			got := pythonDotenv(t, b.Bytes())
			diffMaps(t, got, want)
		})
	}
}

// pythonDotenv reads content with python-dotenv, where it is installed.
func pythonDotenv(t *testing.T, content []byte) map[string]string {
	t.Helper()
	if err := exec.Command("python3", "-c", "import dotenv").Run(); err != nil {
		t.Skip("python-dotenv is not installed")
	}
	file := t.TempDir() + "/env"
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "-c",
		"import json, sys; from dotenv import dotenv_values; print(json.dumps(dotenv_values(sys.argv[1])))", file).Output()
	if err != nil {
		t.Fatalf("python-dotenv: %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDotenvRefuses(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"it's", `a\b`, "a\nB=1", "a\rb", "${HOME}"} {
		var b bytes.Buffer
		err := (Dotenv{W: &b}).Export(trickyEntries([]string{v}))
		if err == nil || !strings.Contains(err.Error(), "exporting TOK_0: ") || !strings.Contains(err.Error(), "--format shell") {
			t.Errorf("Export(%q) = %v, want an error naming TOK_0 and the way out", v, err)
		}
		if strings.Contains(err.Error(), v) {
			t.Errorf("error holds the value: %v", err)
		}
		if b.Len() > 0 {
			t.Errorf("Export(%q) wrote %q", v, b.String())
		}
	}
}

func FuzzDotenvQuote(f *testing.F) {
	for _, v := range tricky {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := dotenvQuote(s)
		if err != nil {
			if !strings.ContainsAny(s, "'\\\r\n\x00") && !strings.Contains(s, "${") {
				t.Fatalf("dotenvQuote(%q) refused: %v", s, err)
			}
			return
		}
		got, err := unquoteDotenv(q)
		if err != nil || got != s {
			t.Fatalf("dotenvQuote(%q) = %q reads back as %q, %v", s, q, got, err)
		}
	})
}

func TestJSON(t *testing.T) {
	t.Parallel()
	entries := trickyEntries(tricky[:4])
	entries[1].File = ""
	var b bytes.Buffer
	if err := (JSON{W: &b}).Export(entries); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("not one line with a trailing newline: %q", out)
	}
	var got struct {
		Tokens []map[string]string `json:"tokens"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Tokens) != len(entries) {
		t.Fatalf("%d tokens, want %d", len(got.Tokens), len(entries))
	}
	for i, e := range entries {
		want := map[string]string{"resource": e.Resource, "env": e.Env, "token": e.Token, "expires_at": formatTime(e.ExpiresAt)}
		if e.File != "" {
			want["file"] = e.File
		}
		diffMaps(t, got.Tokens[i], want)
	}
	if err := (JSON{W: &b}).Export(nil); !errors.Is(err, errNoEntries) {
		t.Errorf("Export(nil) = %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrors(t *testing.T) {
	t.Parallel()
	entries := trickyEntries([]string{"hf_x"})
	for name, e := range map[string]Exporter{"shell": Shell{W: failWriter{}}, "dotenv": Dotenv{W: failWriter{}}, "json": JSON{W: failWriter{}}} {
		if err := e.Export(entries); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: Export = %v, want the write error", name, err)
		}
	}
}

// TestClearStaleTokens: in file mode a stale HF_TOKEN or
// HUGGING_FACE_HUB_TOKEN from before is cleared for what follows, as each
// format can: unset by the shell lines (checked in a shell where it was
// exported, and where it holds a token), empty in dotenv (as sh and
// python-dotenv read it) and in $GITHUB_ENV. An empty value is absent to
// huggingface_hub.
func TestClearStaleTokens(t *testing.T) {
	t.Parallel()
	entries := []Entry{{Resource: "acme/m", Env: "HF_TOKEN_ACME_M", Token: "hf_fresh", ExpiresAt: time.Unix(1e9, 0), File: "/tokens/acme--m.token"}}
	clear := StaleTokenVars

	t.Run("shell", func(t *testing.T) {
		needSh(t)
		var b bytes.Buffer
		if err := (Shell{W: &b, FileMode: true, Clear: clear}).Export(entries); err != nil {
			t.Fatal(err)
		}
		prelude := `export HF_TOKEN=hf_stale HUGGING_FACE_HUB_TOKEN=hf_stale; eval "$(cat "$1")"`
		got := shRead(t, b.Bytes(), prelude+` && HF_TOKEN_SET=${HF_TOKEN+set} && HUB_SET=${HUGGING_FACE_HUB_TOKEN+set} && export HF_TOKEN_SET HUB_SET`,
			[]string{"HF_TOKEN_SET", "HUB_SET", "HF_TOKEN_PATH"})
		if got["HF_TOKEN_SET"] != "" || got["HUB_SET"] != "" || got["HF_TOKEN_PATH"] != "/tokens/acme--m.token" {
			t.Errorf("after eval: %q", got)
		}
	})
	t.Run("dotenv", func(t *testing.T) {
		var b bytes.Buffer
		if err := (Dotenv{W: &b, FileMode: true, Clear: clear}).Export(entries); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": ""}
		pairs, err := parseDotenv(b.String())
		if err != nil {
			t.Fatal(err)
		}
		got := varsMap(t, pairs)
		for k, v := range want {
			if w, ok := got[k]; !ok || w != v {
				t.Errorf("%s = %q (set: %v), want empty", k, w, ok)
			}
		}
		needSh(t)
		sh := shRead(t, b.Bytes(), `export HF_TOKEN=hf_stale HUGGING_FACE_HUB_TOKEN=hf_stale; set -a && . "$1" && set +a`, []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"})
		diffMaps(t, sh, want)
	})
	t.Run("github", func(t *testing.T) {
		r := newRunner(t, "GITHUB_ENV")
		g := r.exporter(true)
		g.Clear = clear
		if err := g.Export(entries); err != nil {
			t.Fatal(err)
		}
		pairs, err := parseFileCommands(r.read("GITHUB_ENV"))
		if err != nil {
			t.Fatal(err)
		}
		vars := varsMap(t, pairs)
		for _, n := range clear {
			if v, ok := vars[n]; !ok || v != "" {
				t.Errorf("$GITHUB_ENV: %s = %q (set: %v), want empty", n, v, ok)
			}
		}
	})
	t.Run("bad name", func(t *testing.T) {
		var b bytes.Buffer
		if err := (Shell{W: &b, FileMode: true, Clear: []string{"HF_TOKEN; id"}}).Export(entries); err == nil || b.Len() != 0 {
			t.Errorf("Export = %v, wrote %q; want a refusal and nothing written", err, b.String())
		}
	})
}

// TestShellUnsetsOnlyWhatItClears: the shell exporter writes an unset line
// only for stale names it was given; with none it writes no "unset" at
// all, which some shells reject without an operand.
func TestShellUnsetsOnlyWhatItClears(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		clear []string
		want  string
	}{
		{"nothing to clear", nil, ""},
		{"empty list", []string{}, ""},
		{"stale names", []string{"OLD_A", "OLD_B"}, "unset OLD_A OLD_B\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := (Shell{W: &b, Clear: tt.clear}).Export(trickyEntries([]string{"hf_a"})); err != nil {
				t.Fatal(err)
			}
			var got string
			if i := strings.Index(b.String(), "unset"); i >= 0 {
				got = b.String()[i:]
			}
			if got != tt.want {
				t.Errorf("unset part %q, want %q (output %q)", got, tt.want, b.String())
			}
		})
	}
}
