package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var enc = base64.RawURLEncoding.EncodeToString

// goodJWT is an ID token as a provider hands it out (the signature is never
// checked here).
var goodJWT = enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
	enc([]byte(`{"iss":"https://gitlab.com","sub":"project_path:acme/x","aud":"https://huggingface.co","exp":1900000000}`)) + "." +
	enc([]byte("signature-bytes"))

func tokenFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "id-token")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadRejects: every setting with a malformed value is bad input whose
// message names the flag or variable it came from and says what was
// expected, and never repeats a token or a long value in full.
func TestLoadRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := tokenFile(t, strings.Repeat("A", 20<<10))
	notJWT := tokenFile(t, "ghp_notanidtoken")
	ok := map[string]string{"HF_OIDC_RESOURCES": "acme/model"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"HF_OIDC_RESOURCES": "acme/model"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	h, p, sig := func() (string, string, string) { s := strings.Split(goodJWT, "."); return s[0], s[1], s[2] }()
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want []string // each in the message
	}{
		{"timeout without unit", with("HF_OIDC_TIMEOUT", "30"), nil, []string{`HF_OIDC_TIMEOUT "30": a duration needs a unit, e.g. 30s`}},
		{"timeout word", with("HF_OIDC_TIMEOUT", "soon"), nil, []string{`HF_OIDC_TIMEOUT "soon": expected a positive duration such as 60s or 2m`}},
		{"timeout negative", ok, []string{"--timeout", "-1s"}, []string{`--timeout "-1s": expected a positive duration`}},
		{"timeout zero", ok, []string{"--timeout", "0s"}, []string{`--timeout "0s": expected a positive duration`}},
		{"timeout too short", ok, []string{"--timeout", "999ms"}, []string{`--timeout "999ms": expected a duration from 1s to 1h0m0s`}},
		{"timeout too long", with("HF_OIDC_TIMEOUT", "1h0m0.001s"), nil, []string{`HF_OIDC_TIMEOUT "1h0m0.001s": expected a duration from 1s to 1h0m0s`}},
		{"timeout overflow", with("HF_OIDC_TIMEOUT", "9999999999h"), nil, []string{`HF_OIDC_TIMEOUT "9999999999h": expected a positive duration`}},
		{"timeout control", with("HF_OIDC_TIMEOUT", "5s\x1b[2J"), nil, []string{`HF_OIDC_TIMEOUT "5s\x1b[2J"`}},
		{"provider with space", with("HF_OIDC_PROVIDER", "git hub"), nil, []string{`HF_OIDC_PROVIDER "git hub": expected auto or the name of a provider`}},
		{"provider upper case", ok, []string{"--provider", "GitHub"}, []string{`--provider "GitHub": expected auto`}},
		{"provider metacharacters", ok, []string{"--provider", "github;id"}, []string{`--provider "github;id"`}},
		{"audience with space", ok, []string{"--audience", "a b"}, []string{`--audience "a b": an audience is a single URL-like string`, "expected one word"}},
		{"audience with control", with("HF_OIDC_AUDIENCE", "https://huggingface.co\x00x"), nil, []string{`HF_OIDC_AUDIENCE "https://huggingface.co\x00x"`}},
		{"audience non-ASCII", ok, []string{"--audience", "https://hugging€face.co"}, []string{`--audience "https://hugging€face.co"`}},
		{"audience as a flag", ok, []string{"--audience=--lifetime=99999"}, []string{`--audience "--lifetime=99999": an audience cannot start with "-"`}},
		{"audience 10 KB", with("HF_OIDC_AUDIENCE", strings.Repeat("a", 10<<10)), nil, []string{"HF_OIDC_AUDIENCE is 10240 bytes long, more than 1024"}},
		{"endpoint ftp", with("HF_ENDPOINT", "ftp://x"), nil, []string{`HF_ENDPOINT: the endpoint "ftp://x" has the scheme ftp`}},
		{"endpoint http remote", ok, []string{"--endpoint", "http://example.com"}, []string{`--endpoint: the endpoint "http://example.com" uses http://`}},
		{"endpoint with password", with("HF_ENDPOINT", "https://u:hunter2secret@hub.example"), nil, []string{"HF_ENDPOINT: the endpoint must not hold a user name or password"}},
		{"endpoint no scheme", ok, []string{"--endpoint", "huggingface.co"}, []string{"has no scheme"}},
		{"endpoint with line break", with("HF_ENDPOINT", "https://hub.example/\nx"), nil, []string{"HF_ENDPOINT: the endpoint is not a valid URL"}},
		{"endpoint query", with("HF_ENDPOINT", "https://hub.example/?a=b"), nil, []string{"must not have a query"}},
		{"endpoint 10 KB", with("HF_ENDPOINT", "https://"+strings.Repeat("a", 10<<10)), nil, []string{"HF_ENDPOINT is 10248 bytes long, more than 2048"}},
		{"format", ok, []string{"--format", "xml"}, []string{`--format "xml": expected one of auto, github, github-outputs, shell, dotenv, json`}},
		{"format escape", ok, []string{"--format", "\x1b]0;x\x07"}, []string{`--format "\x1b]0;x\a"`}},
		{"token dir with line break", with("HF_OIDC_TOKEN_DIR", "/tmp/a\nHF_TOKEN=x"), nil, []string{`HF_OIDC_TOKEN_DIR "/tmp/a\nHF_TOKEN=x": a path with a control character`}},
		{"token dir tilde", ok, []string{"--token-dir", "~/tokens"}, []string{`--token-dir "~/tokens": only a shell expands "~"`, "such as $HOME/tokens"}},
		{"token dir too long", with("HF_OIDC_TOKEN_DIR", "/"+strings.Repeat("a", 5000)), nil, []string{"HF_OIDC_TOKEN_DIR is 5001 bytes long, more than 4096"}},
		{"token dir invalid UTF-8", ok, []string{"--token-dir", dir + "/\xff"}, []string{"--token-dir", "not valid UTF-8"}},
		{"id token var value", with("HF_OIDC_ID_TOKEN_VAR", goodJWT), nil, []string{"HF_OIDC_ID_TOKEN_VAR", "expected the name of a variable", "not its value"}},
		{"id token var metacharacters", ok, []string{"--id-token-var", "$(id)"}, []string{`--id-token-var "$(id)": expected the name of a variable`}},
		{"id token empty", with("HF_OIDC_ID_TOKEN", " "), nil, []string{"HF_OIDC_ID_TOKEN holds no usable ID token: not a JWT: the token is empty; expected a JWT: three base64url parts"}},
		{"id token not a JWT", with("HF_OIDC_ID_TOKEN", "ghp_0123456789abcdefghij"), nil, []string{"HF_OIDC_ID_TOKEN holds no usable ID token: not a JWT: it has 1 dot-separated part, want 3"}},
		{"id token truncated", with("HF_OIDC_ID_TOKEN", h+"."+p[:len(p)/2]), nil, []string{"HF_OIDC_ID_TOKEN holds no usable ID token: not a JWT: it has 2 dot-separated parts"}},
		{"id token unsigned", with("HF_OIDC_ID_TOKEN", h+"."+p+"."), nil, []string{"the signature (third part) is empty"}},
		{"id token bad base64", with("HF_OIDC_ID_TOKEN", h+"."+p+"."+sig+"%"), nil, []string{"is not base64url but '%'"}},
		{"id token non-JSON payload", with("HF_OIDC_ID_TOKEN", h+"."+enc([]byte("hello world, secret"))+"."+sig), nil, []string{"JWT payload is not valid JSON (at byte 1)"}},
		{"id token JSON not an object", with("HF_OIDC_ID_TOKEN", h+"."+enc([]byte(`["exp",1]`))+"."+sig), nil, []string{"JWT payload is a JSON array, not an object"}},
		{"id token huge", with("HF_OIDC_ID_TOKEN", h+"."+p+"."+strings.Repeat("A", 20<<10)), nil, []string{"more than 16 KiB"}},
		{"id token with a space", with("HF_OIDC_ID_TOKEN", h+"."+p+" "+sig), nil, []string{"not a JWT: byte " + strconv.Itoa(len(h)+1+len(p)) + " is not base64url but white space (a token is one word)"}},
		{"id token file missing", ok, []string{"--id-token-file", filepath.Join(dir, "nope")}, []string{`--id-token-file "` + dir + `/nope": cannot open it (no such file or directory); expected a file that holds only the ID token`}},
		{"id token file a directory", with("HF_OIDC_ID_TOKEN_FILE", dir), nil, []string{`HF_OIDC_ID_TOKEN_FILE "` + dir + `": not a regular file`}},
		{"id token file huge", with("HF_OIDC_ID_TOKEN_FILE", big), nil, []string{"larger than 17 KiB, more than any ID token"}},
		{"id token file not a JWT", with("HF_OIDC_ID_TOKEN_FILE", notJWT), nil, []string{`HF_OIDC_ID_TOKEN_FILE "` + notJWT + `" holds no usable ID token: not a JWT`}},
		{"id token file tilde", ok, []string{"--id-token-file", "~/token"}, []string{`--id-token-file "~/token": only a shell expands "~"`}},
		{"resources blank", with("HF_OIDC_RESOURCES", " , \n"), nil, []string{"no resource given", "HF_OIDC_RESOURCES"}},
		{"resource flag bad", nil, []string{"--resource", "a/b/c/d"}, []string{`--resource: resource "a/b/c/d": has 3 slashes`}},
		{"resource 10 KB", with("HF_OIDC_RESOURCES", "acme/"+strings.Repeat("x", 10<<10)), nil, []string{"HF_OIDC_RESOURCES: resource", "(10245 bytes)", "more than the Hub's 96"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := load(t, c.env, c.args...)
			if err == nil {
				t.Fatalf("Load = %+v, want an error", cfg)
			}
			if !IsUsage(err) {
				t.Errorf("not a usage error: %v", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\nlacks\n  %s", msg, w)
				}
			}
			assertFitForTerminal(t, msg)
			for _, secret := range []string{p, sig, "hunter2secret", "ghp_0123456789"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error repeats a secret: %s", msg)
				}
			}
		})
	}
}

// assertFitForTerminal fails on a message a terminal would misprint or that
// floods it.
func assertFitForTerminal(t testing.TB, msg string) {
	t.Helper()
	if len(msg) > 700 {
		t.Errorf("message of %d bytes", len(msg))
	}
	if !utf8.ValidString(msg) || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		t.Errorf("message holds a control character or invalid UTF-8: %q", msg)
	}
}

// TestLoadIDTokenOnlyForEnv: the pre-minted token is checked when the env
// provider will use it, not when another provider is forced.
func TestLoadIDTokenOnlyForEnv(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env  map[string]string
		args []string
		ok   bool
	}{
		{map[string]string{"HF_OIDC_ID_TOKEN": goodJWT}, nil, true},
		{map[string]string{"HF_OIDC_ID_TOKEN": "x"}, []string{"--provider", "env"}, false},
		{map[string]string{"HF_OIDC_ID_TOKEN": "x"}, []string{"--provider", "github"}, true},
		{map[string]string{"HF_OIDC_ID_TOKEN_FILE": "/nonexistent"}, []string{"--provider", "gitlab"}, true},
		// Both set is the env provider's error to report, as it always was.
		{map[string]string{"HF_OIDC_ID_TOKEN": "x", "HF_OIDC_ID_TOKEN_FILE": "/nonexistent"}, nil, true},
		{map[string]string{"HF_OIDC_ID_TOKEN_FILE": tokenFile(t, "\n  "+goodJWT+"\r\n")}, nil, true},
	} {
		tt.env["HF_OIDC_RESOURCES"] = "acme/model"
		_, err := load(t, tt.env, tt.args...)
		if (err == nil) != tt.ok {
			t.Errorf("Load(%v, %v) = %v, want ok %v", tt.env, tt.args, err, tt.ok)
		}
	}
}

// TestTimeoutEdges: both sides of both bounds.
func TestTimeoutEdges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"1s", time.Second}, {"999999us", 0}, {"1h", time.Hour}, {"3600.000001s", 0}, {"60s", time.Minute}, {"1m30s", 90 * time.Second},
	} {
		c, err := load(t, map[string]string{"HF_OIDC_RESOURCES": "acme/model", "HF_OIDC_TIMEOUT": tt.in})
		switch {
		case tt.want == 0 && err == nil:
			t.Errorf("timeout %s accepted as %v", tt.in, c.Timeout)
		case tt.want != 0 && (err != nil || c.Timeout != tt.want):
			t.Errorf("timeout %s: %v, %v; want %v", tt.in, c, err, tt.want)
		}
	}
}

// FuzzLoad fuzzes every setting at once: Load either refuses with bad input
// whose message fits a terminal and never holds the ID token, or returns a
// Config whose every field is within its limits.
func FuzzLoad(f *testing.F) {
	f.Add("acme/model", "auto", "https://huggingface.co", "https://huggingface.co", "60s", "auto", "", "")
	f.Add("acme/a,acme/b=X", "gitlab", "aud", "http://127.0.0.1:1", "1h", "json", "HF_ID_TOKEN", goodJWT)
	f.Add(" , ", "git hub", "-x", "ftp://x", "30", "yaml", "a b", "x.y.z")
	f.Add("acme/x=PATH", "env", "a\x00", "https://u:p@h", "1ns", "shell", "~/d", "")
	f.Fuzz(func(t *testing.T, resources, provider, audience, endpoint, timeout, format, idVar, idToken string) {
		env := map[string]string{
			"HF_OIDC_RESOURCES": resources, "HF_OIDC_PROVIDER": provider, "HF_OIDC_AUDIENCE": audience,
			"HF_ENDPOINT": endpoint, "HF_OIDC_TIMEOUT": timeout, "HF_OIDC_ID_TOKEN_VAR": idVar, "HF_OIDC_ID_TOKEN": idToken,
		}
		c, err := load(t, env, "--format", format)
		if err != nil {
			if !IsUsage(err) {
				t.Fatalf("not a usage error: %v", err)
			}
			msg := err.Error()
			if len(msg) > 2000 || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("message unfit for a terminal: %q", msg)
			}
			if tok := strings.TrimSpace(idToken); len(tok) >= 16 && strings.Contains(msg, tok) {
				t.Fatalf("message holds the ID token: %q", msg)
			}
			return
		}
		if len(c.Resources) == 0 || c.Timeout < 0 || c.Timeout > MaxTimeout || (c.Timeout != 0 && c.Timeout < MinTimeout) {
			t.Fatalf("accepted %+v", c)
		}
		if checkAudience("a", c.Audience) != nil || checkEndpoint("e", c.Endpoint) != nil || !slices.Contains(Formats, c.Format) {
			t.Fatalf("accepted a bad setting: %+v", c)
		}
		if c.Provider != "auto" && !isProviderName(c.Provider) {
			t.Fatalf("accepted provider %q", c.Provider)
		}
	})
}

// FuzzParseDuration: a duration is accepted only within its bounds, and a
// refusal quotes the value safely.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"60s", "1h", "30", "-1s", "0", "1e3s", "9223372036854775807ns", "1h0m0.000000001s", "\x00", "5 m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseDuration("HF_OIDC_TIMEOUT", raw, MinTimeout, MaxTimeout, "60s")
		if err != nil {
			if !IsUsage(err) || !strings.HasPrefix(err.Error(), "HF_OIDC_TIMEOUT ") {
				t.Fatalf("error %v does not name its source", err)
			}
			assertFitForTerminal(t, err.Error())
			return
		}
		if d < MinTimeout || d > MaxTimeout {
			t.Fatalf("accepted %q as %v", raw, d)
		}
		if again, err := time.ParseDuration(d.String()); err != nil || again != d {
			t.Fatalf("%v does not round-trip: %v, %v", d, again, err)
		}
	})
}

// FuzzShow: a quoted value is one line of valid UTF-8, bounded, and the
// value itself when it is short.
func FuzzShow(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[31m", strings.Repeat("é", 60), "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s := show(v)
		if len(s) > 4*maxShown+40 || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Fatalf("show(%q) = %q", v, s)
		}
		if len(v) <= maxShown {
			if u, err := strconv.Unquote(s); err != nil || u != v {
				t.Fatalf("show(%q) = %s does not unquote to the value", v, s)
			}
		}
	})
}
