package config

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// docs/configuration.md's tables are generated from Vars: run with
// UPDATE_DOCS=1 to rewrite them after changing Vars.
func TestConfigurationDocTables(t *testing.T) {
	const path = "../../docs/configuration.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, section := range []struct {
		name string
		ci   bool
	}{{"config", false}, {"ci-vars", true}} {
		re := regexp.MustCompile(`(?s)(<!-- ` + section.name + `:begin[^>]*-->\n).*?(<!-- ` + section.name + `:end -->)`)
		if !re.MatchString(readme) {
			t.Fatalf("docs/configuration.md has no <!-- %s:begin --> … <!-- %s:end --> section", section.name, section.name)
		}
		want := MarkdownTable(section.ci)
		got := re.FindStringSubmatch(readme)[0]
		if !strings.Contains(got, want) {
			if os.Getenv("UPDATE_DOCS") == "1" {
				readme = re.ReplaceAllString(readme, "${1}"+strings.ReplaceAll(want, "$", "$$")+"${2}")
				continue
			}
			t.Errorf("docs/configuration.md's %s table is out of date with config.Vars; run UPDATE_DOCS=1 go test ./internal/config", section.name)
		}
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVarsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars {
		if seen[v.Name] {
			t.Errorf("%s listed twice", v.Name)
		}
		seen[v.Name] = true
		if v.Sensitive && v.Flag != "" {
			t.Errorf("%s is a secret but has a flag, which ps would show", v.Name)
		}
		if v.Help == "" {
			t.Errorf("%s has no help", v.Name)
		}
	}
}

// bindAll binds every setting's flag, --format and --allow-partial.
func bindAll(fs *flag.FlagSet) *Flags {
	f := Bind(fs, slices.Concat(ExchangeVars, FileVars)...)
	f.BindFormat()
	f.BindAllowPartial()
	return f
}

// TestEveryFlagHasAHome: a variable with a flag is an exchange's setting or
// a token file's, so that the commands that take those get its flag; and
// each group binds without a clash.
func TestEveryFlagHasAHome(t *testing.T) {
	t.Parallel()
	for _, v := range Vars {
		in := slices.Contains(ExchangeVars, v.Name) || slices.Contains(FileVars, v.Name)
		switch {
		case v.Flag != "" && !in:
			t.Errorf("%s has the flag --%s but is in neither ExchangeVars nor FileVars", v.Name, v.Flag)
		case v.Flag == "" && in:
			t.Errorf("%s is listed as a setting but has no flag", v.Name)
		case v.Flag != "" && v.Arg == "" && !v.Bool:
			t.Errorf("%s: --%s has no Arg to name its value in --help", v.Name, v.Flag)
		}
	}
	bindAll(flag.NewFlagSet("test", flag.PanicOnError))
}

func load(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := bindAll(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.Load(func(k string) string { return env[k] })
}

func TestLoad(t *testing.T) {
	t.Parallel()
	c, err := load(t, map[string]string{
		"HF_OIDC_RESOURCES": "acme/from-env",
		"HF_OIDC_AUDIENCE":  "aud-env",
		"HF_OIDC_TIMEOUT":   "10s",
		"HF_ENDPOINT":       "https://hub.example/",
	}, "--resource", "acme/a,datasets/acme/b", "--resource", "acme/c=MY_TOKEN", "--audience", "aud-flag", "--id-token-file", tokenFile(t, goodJWT+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range c.Resources {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, " "); got != "acme/a datasets/acme/b acme/c" {
		t.Errorf("resources = %s: the flag must beat the variable as a whole", got)
	}
	if c.Resources[2].Env != "MY_TOKEN" {
		t.Errorf("override lost: %+v", c.Resources[2])
	}
	if c.Audience != "aud-flag" || c.Timeout != 10*time.Second || c.Endpoint != "https://hub.example" || c.Provider != "auto" || c.Format != "auto" {
		t.Errorf("config = %+v", c)
	}
	if got := c.Getenv("HF_OIDC_ID_TOKEN_FILE"); !strings.HasSuffix(got, "/id-token") {
		t.Errorf("--id-token-file is not seen as HF_OIDC_ID_TOKEN_FILE by providers: %q", got)
	}
	if got := c.Getenv("HF_OIDC_AUDIENCE"); got != "aud-flag" {
		t.Errorf("providers see HF_OIDC_AUDIENCE=%q, want the flag's value", got)
	}
}

func TestLoadErrorsNameTheirSource(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no resources", nil, nil, "no resource given"},
		{"blank resources", map[string]string{"HF_OIDC_RESOURCES": " , \n"}, nil, "HF_OIDC_RESOURCES"},
		{"bad resource flag", nil, []string{"--resource", "a/b/c/d"}, "--resource"},
		{"bad resource env", map[string]string{"HF_OIDC_RESOURCES": "a/b/c/d"}, nil, "HF_OIDC_RESOURCES"},
		{"timeout without unit, env", map[string]string{"HF_OIDC_RESOURCES": "a/b", "HF_OIDC_TIMEOUT": "30"}, nil, `HF_OIDC_TIMEOUT "30": a duration needs a unit, e.g. 30s`},
		{"timeout flag", nil, []string{"--resource", "a/b", "--timeout", "-1s"}, `--timeout "-1s"`},
		{"audience with space", nil, []string{"--resource", "a/b", "--audience", "a b"}, "--audience"},
		{"format", nil, []string{"--resource", "a/b", "--format", "xml"}, `--format "xml"`},
		{"endpoint", map[string]string{"HF_OIDC_RESOURCES": "a/b", "HF_ENDPOINT": "ftp://x"}, nil, "HF_ENDPOINT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, c.env, c.args...)
			if err == nil {
				t.Fatalf("no error")
			}
			if !IsUsage(err) {
				t.Errorf("not a usage error: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

// TestLongJobSettings: the refresh margin and the token directory are
// resolved and checked with the rest, the flag beating the variable, and
// the directory says where it came from.
func TestLongJobSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env    map[string]string
		args   []string
		margin time.Duration
		dir    string
		src    string
		err    string
	}{
		{env: nil, margin: 5 * time.Minute},
		{env: map[string]string{"HF_OIDC_REFRESH_MARGIN": "90s"}, margin: 90 * time.Second},
		{env: map[string]string{"HF_OIDC_REFRESH_MARGIN": "90s"}, args: []string{"--refresh-margin", "2m"}, margin: 2 * time.Minute},
		{env: map[string]string{"HF_OIDC_REFRESH_MARGIN": "90"}, err: `HF_OIDC_REFRESH_MARGIN "90": a duration needs a unit, e.g. 90s`},
		{args: []string{"--refresh-margin", "-1m"}, err: `--refresh-margin "-1m": expected a positive duration`},
		{args: []string{"--refresh-margin", "2h"}, err: `--refresh-margin "2h": expected a duration from 1s to 1h0m0s`},
		{env: map[string]string{"HF_OIDC_TOKEN_DIR": "/t/env"}, margin: 5 * time.Minute, dir: "/t/env", src: "HF_OIDC_TOKEN_DIR"},
		{env: map[string]string{"HF_OIDC_TOKEN_DIR": "/t/env"}, args: []string{"--token-dir", "/t/flag"}, margin: 5 * time.Minute, dir: "/t/flag", src: "--token-dir"},
	}
	for _, tt := range tests {
		env := map[string]string{"HF_OIDC_RESOURCES": "acme/m"}
		for k, v := range tt.env {
			env[k] = v
		}
		c, err := load(t, env, tt.args...)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) || !IsUsage(err) {
				t.Errorf("%v %v: %v, want a usage error containing %q", tt.env, tt.args, err, tt.err)
			}
		case err != nil:
			t.Errorf("%v %v: %v", tt.env, tt.args, err)
		case c.RefreshMargin != tt.margin || c.TokenDir != tt.dir || c.TokenDirSource != tt.src:
			t.Errorf("%v %v: margin %s, dir %q from %q; want %s, %q from %q", tt.env, tt.args, c.RefreshMargin, c.TokenDir, c.TokenDirSource, tt.margin, tt.dir, tt.src)
		}
	}
}

// TestValue: a setting as given, before any check, and where it came from.
func TestValue(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	f := Bind(fs, ExchangeVars...)
	if err := fs.Parse([]string{"--endpoint", " https://flag.example "}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HF_ENDPOINT": "https://env.example", "HF_OIDC_AUDIENCE": "aud"}
	getenv := func(k string) string { return env[k] }
	if v, src := f.Value(getenv, "HF_ENDPOINT"); v != "https://flag.example" || src != "--endpoint" {
		t.Errorf("HF_ENDPOINT = %q from %q", v, src)
	}
	if v, src := f.Value(getenv, "HF_OIDC_AUDIENCE"); v != "aud" || src != "HF_OIDC_AUDIENCE" {
		t.Errorf("HF_OIDC_AUDIENCE = %q from %q", v, src)
	}
}
