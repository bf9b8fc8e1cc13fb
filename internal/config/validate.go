package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/plugins"
)

// Limits on settings. Each is far beyond any real value and short enough to
// quote in a message; what lies beyond is a pasted log, not a setting.
const (
	maxShown    = 100  // bytes of a bad value a message repeats
	maxAudience = 1024 // an audience is a URL or an id
	maxEndpoint = 2048 // what browsers accept of a URL
	maxPath     = 4096 // PATH_MAX on Linux
	maxVarName  = 128
	// MinTimeout and MaxTimeout bound --timeout: below a second no round
	// trip with a retry fits; beyond an hour the tokens of the round would
	// expire before it ends, and a CI job should fail rather than hang.
	MinTimeout = time.Second
	MaxTimeout = time.Hour
)

// show quotes a value for a message: Go-quoted (so that control characters
// and terminal escapes print as escapes), clipped on a rune boundary.
func show(v string) string {
	if len(v) <= maxShown {
		return strconv.Quote(v)
	}
	n := maxShown
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return fmt.Sprintf("%q… (%d bytes)", v[:n], len(v))
}

// parseDuration reads a duration setting: a positive Go duration (60s,
// 2m, 1h30m) within [lo, hi]; example is a good value, for the message.
func parseDuration(src, raw string, lo, hi time.Duration, example string) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	switch {
	case err != nil || d <= 0:
		if n, nerr := strconv.Atoi(raw); nerr == nil && n > 0 {
			return 0, Usagef("%s %s: a duration needs a unit, e.g. %ds", src, show(raw), n)
		}
		return 0, Usagef("%s %s: expected a positive duration such as %s", src, show(raw), example)
	case d < lo || d > hi:
		return 0, Usagef("%s %s: expected a duration from %s to %s", src, show(raw), lo, hi)
	}
	return d, nil
}

// isProviderName: a lower-case letter, then up to 31 lower-case letters,
// digits and dashes.
func isProviderName(v string) bool {
	if v == "" || len(v) > 32 || v[0] < 'a' || v[0] > 'z' {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; c != '-' && !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// checkProvider checks the shape of a provider name; whether one by that
// name is compiled in is for the registry to say.
func checkProvider(src, v string) error {
	if !isProviderName(v) {
		return Usagef("%s %s: expected auto or the name of a provider, such as github or gitlab (hf-oidc providers lists them)", src, show(v))
	}
	return nil
}

// checkAudience: the audience goes into the GitHub token request's query,
// into the argv of the CircleCI and Buildkite CLIs, and into messages, so
// it is one printable ASCII word that no CLI can take for a flag.
func checkAudience(src, v string) error {
	const want = "expected one word of printable ASCII, such as https://huggingface.co"
	switch {
	case len(v) > maxAudience:
		return Usagef("%s is %d bytes long, more than %d: %s", src, len(v), maxAudience, want)
	case strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }):
		return Usagef("%s %s: an audience is a single URL-like string with no whitespace or control characters; %s", src, show(v), want)
	case strings.HasPrefix(v, "-"):
		return Usagef("%s %s: an audience cannot start with \"-\", which a provider's CLI would read as a flag; %s", src, show(v), want)
	}
	return nil
}

// checkEndpoint checks the Hub's URL. The message never repeats the raw
// value: a URL may hold a password, which CheckEndpoint's own message
// leaves out.
func checkEndpoint(src, v string) error {
	if len(v) > maxEndpoint {
		return Usagef("%s is %d bytes long, more than %d: expected the Hub's URL, such as %s", src, len(v), maxEndpoint, exchange.DefaultEndpoint)
	}
	if _, err := exchange.CheckEndpoint(v); err != nil {
		return Usagef("%s: %v", src, err)
	}
	return nil
}

// checkPath checks a path setting: no control characters (the path is
// exported to later steps, one per line), not too long, and no "~", which
// only a shell expands and a CI's YAML env: does not.
func checkPath(src, v string) error {
	switch {
	case len(v) > maxPath:
		return Usagef("%s is %d bytes long, more than %d: expected a path", src, len(v), maxPath)
	case strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return Usagef("%s %s: a path with a control character or line break; expected a plain path", src, show(v))
	case !utf8.ValidString(v):
		return Usagef("%s %s: not valid UTF-8; expected a plain path", src, show(v))
	case v == "~" || strings.HasPrefix(v, "~/"):
		return Usagef("%s %s: only a shell expands \"~\", and this value did not go through one; expected an absolute path, such as $HOME%s", src, show(v), strings.TrimPrefix(v, "~"))
	}
	return nil
}

func checkVarName(src, v string) error {
	if len(v) > maxVarName || !plugins.IsVarName(v) {
		return Usagef("%s %s: expected the name of a variable (a letter or \"_\" followed by letters, digits and \"_\"), such as HF_ID_TOKEN, not its value", src, show(v))
	}
	return nil
}

// checkIDToken checks a pre-minted ID token before anything is sent: a
// wrong value is the user's to fix. The message says what is wrong and
// what was expected, never the token.
func checkIDToken(src, raw string) error {
	if _, err := idtoken.Parse(raw); err != nil {
		return Usagef("%s holds no usable ID token: %v; expected %s", src, err, idtoken.Expected)
	}
	return nil
}

// checkIDTokenFile reads the file a pre-minted ID token is in and checks
// the token, as checkIDToken does.
func checkIDTokenFile(src, path string) error {
	if err := checkPath(src, path); err != nil {
		return err
	}
	fail := func(what string) error {
		return Usagef("%s %s: %s; expected a file that holds only the ID token", src, show(path), what)
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message once already
		}
		return fail("cannot open it (" + err.Error() + ")")
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fail("not a regular file")
	}
	// A token and some white space around it, and one byte more to tell
	// a wrong file from a token.
	const limit = idtoken.MaxLen + 1024
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	switch {
	case err != nil:
		return fail("cannot read it")
	case len(b) > limit:
		return fail(fmt.Sprintf("it is larger than %d KiB, more than any ID token (a wrong file?)", limit>>10))
	}
	return checkIDToken(src+" "+show(path), string(b))
}
