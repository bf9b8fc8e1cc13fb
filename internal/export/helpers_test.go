package export

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// tricky are values that break naive quoting in one reader or another.
var tricky = []string{
	"hf_jwt_eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_x",
	"",
	"it's",
	"''",
	`\'`,
	`"double"`,
	"$HOME",
	"${HOME}",
	"$(id)",
	"`id`",
	"line1\nline2",
	"trailing newline\n",
	"\n\n",
	"crlf\r\nline",
	`back\slash\`,
	"ghadelimiter_00000000000000000000000000000000",
	"EOF",
	"%0A%25%",
	"::add-mask::x",
	"tab\there",
	"  spaces  ",
	"#comment",
	"a #comment",
	"~",
	"a:~/b",
	"*?[a]",
	"!!",
	"a;b&&c|d>e<f",
	"é€😀",
	"export X=1",
	"X=1",
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// trickyEntries puts each tricky value in its own entry, as a token.
func trickyEntries(values []string) []Entry {
	es := make([]Entry, len(values))
	for i, v := range values {
		es[i] = Entry{
			Resource:  fmt.Sprintf("acme/m%d", i),
			Env:       fmt.Sprintf("TOK_%d", i),
			Token:     v,
			ExpiresAt: at("2030-01-02T03:04:05Z").Add(time.Duration(i) * time.Minute),
			File:      fmt.Sprintf("/tmp/hf oidc/m%d", i),
		}
	}
	return es
}

func needSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh:", err)
	}
}

// shRead runs prelude (which loads file "$1") in sh, then prints each
// named variable as seen by a child process, so only exported variables
// count.
func shRead(t *testing.T, content []byte, prelude string, names []string) map[string]string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "vars")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	inner := `printf '%s\0'`
	for _, n := range names {
		inner += ` "$` + n + `"`
	}
	script := prelude + " && exec sh -c " + safetext.ShellQuote(inner)
	cmd := exec.Command("sh", "-c", script, "sh", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	vals := strings.Split(string(out), "\x00")
	if len(vals) != len(names)+1 {
		t.Fatalf("sh printed %d values for %d names: %q", len(vals)-1, len(names), out)
	}
	got := map[string]string{}
	for i, n := range names {
		got[n] = vals[i]
	}
	return got
}

// posixUnquote reads one shell word made of single-quoted strings and
// backslash-escaped characters, as sh does; anything else unquoted is an
// error, since the shell could give it a meaning.
func posixUnquote(w string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(w); {
		switch w[i] {
		case '\'':
			end := strings.IndexByte(w[i+1:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(w[i+1 : i+1+end])
			i += end + 2
		case '\\':
			if i+1 >= len(w) {
				return "", errors.New("trailing backslash")
			}
			b.WriteByte(w[i+1])
			i += 2
		default:
			return "", fmt.Errorf("unquoted %q at %d", w[i], i)
		}
	}
	return b.String(), nil
}

// parseFileCommands reads $GITHUB_ENV or $GITHUB_OUTPUT as the runner does
// (actions/runner, FileCommandManager, on Linux): NAME=VALUE lines and
// NAME<<DELIMITER heredocs whose value runs up to the line that is exactly
// DELIMITER, without the line break before it.
func parseFileCommands(text string) ([][2]string, error) {
	var vars [][2]string
	i := 0
	readLine := func() (line string, ok, newline bool) {
		if i >= len(text) {
			return "", false, false
		}
		start := i
		lf := strings.IndexByte(text[i:], '\n')
		if lf < 0 {
			i = len(text)
			return text[start:], true, false
		}
		i += lf + 1
		return text[start : start+lf], true, true
	}
	for {
		line, ok, _ := readLine()
		if !ok {
			return vars, nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			if eq == 0 {
				return nil, fmt.Errorf("empty name in %q", line)
			}
			vars = append(vars, [2]string{line[:eq], line[eq+1:]})
			continue
		}
		if hd < 0 {
			return nil, fmt.Errorf("invalid line %q", line)
		}
		name, delim := line[:hd], line[hd+2:]
		if name == "" || delim == "" {
			return nil, fmt.Errorf("invalid heredoc %q", line)
		}
		start, end := i, i
		for {
			l, ok, nl := readLine()
			if !ok {
				return nil, fmt.Errorf("matching delimiter %q not found", delim)
			}
			if l == delim {
				break
			}
			if !nl {
				return nil, errors.New("EOF marker missing new line")
			}
			end = i - 1
		}
		vars = append(vars, [2]string{name, text[start:end]})
	}
}

// parseDotenv reads what Dotenv writes the way docker --env-file does for
// bare values (everything after the first "=" literally) and sh and
// python-dotenv do for single-quoted ones (everything between the quotes).
func parseDotenv(text string) ([][2]string, error) {
	var vars [][2]string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok || !plugins.IsVarName(name) {
			return nil, fmt.Errorf("invalid line %q", line)
		}
		v, err := unquoteDotenv(value)
		if err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		vars = append(vars, [2]string{name, v})
	}
	return vars, nil
}

func unquoteDotenv(v string) (string, error) {
	if strings.HasPrefix(v, "'") {
		inner, ok := strings.CutSuffix(v[1:], "'")
		if !ok || strings.Contains(inner, "'") {
			return "", errors.New("bad single quotes")
		}
		return inner, nil
	}
	for _, r := range v {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@%+,=", r) {
			return "", fmt.Errorf("bare value holds %q, which a reader could take for syntax", r)
		}
	}
	return v, nil
}

func varsMap(t *testing.T, pairs [][2]string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range pairs {
		if _, dup := m[p[0]]; dup {
			t.Fatalf("%s set twice", p[0])
		}
		m[p[0]] = p[1]
	}
	return m
}

func wantMap(vars []Var) map[string]string {
	m := map[string]string{}
	for _, v := range vars {
		m[v.Name] = v.Value
	}
	return m
}

func names(vars []Var) []string {
	var ns []string
	for _, v := range vars {
		ns = append(ns, v.Name)
	}
	return ns
}

func diffMaps(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s missing", k)
		} else if g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %q", k, got[k])
		}
	}
}
