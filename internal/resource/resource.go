package resource

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// Kind is what a resource names on the Hub.
type Kind int

const (
	Model Kind = iota
	Dataset
	Space
	Kernel
	User // a bare username: a read-only token for gated repos
)

func (k Kind) String() string {
	switch k {
	case Model:
		return "model"
	case Dataset:
		return "dataset"
	case Space:
		return "space"
	case Kernel:
		return "kernel"
	case User:
		return "user"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// A Resource is one entry of --resource: a name as the Hub's exchange
// endpoint takes it, and the variable its token is exported as.
type Resource struct {
	Name string // "acme/model", "datasets/acme/data", "acme-user", …: sent as-is as the exchange's resource
	Kind Kind
	Env  string // ENV_NAME from "R=ENV_NAME", else the derived name
	// Explicit reports whether Env came from "R=ENV_NAME".
	Explicit bool
}

// String returns the entry as a user would write it: Parse(r.String())
// gives r back.
func (r Resource) String() string {
	if r.Explicit {
		return r.Name + "=" + r.Env
	}
	return r.Name
}

const (
	// MaxResources bounds one list: each resource costs an exchange per
	// refresh, and a list this long is more likely a mistake than a need.
	MaxResources = 100
	maxSegment   = 96  // the Hub's limit on a namespace or repo name
	maxEnv       = 128 // far beyond any real name, short enough to print
	maxQuoted    = 100 // runes of a bad entry an error message repeats
)

const expected = `expected "ns/name" (a model), "datasets/ns/name", "spaces/ns/name", "kernels/ns/name" or a username, optionally followed by "=ENV_NAME"`

// An Error is a resource list that cannot be used. It is always the user's
// input that is wrong, so the CLI reports it as a usage error.
type Error struct {
	Input  string // the entry as given; empty when the list as a whole is wrong
	Reason string
}

func (e *Error) Error() string {
	if e.Input == "" {
		return e.Reason
	}
	if utf8.RuneCountInString(e.Input) > maxQuoted {
		return fmt.Sprintf("resource %s (%d bytes): %s", quote(e.Input), len(e.Input), e.Reason)
	}
	return fmt.Sprintf("resource %s: %s", quote(e.Input), e.Reason)
}

// quote quotes an entry or a piece of one, clipped so that a huge or
// hostile entry does not flood the terminal.
func quote(s string) string { return safetext.Quote(s, maxQuoted) }

// prefixes are the kinds whose names carry their kind, as the Hub's
// exchange endpoint takes them.
var prefixes = map[string]Kind{"datasets": Dataset, "spaces": Space, "kernels": Kernel}

// Parse parses one entry: "ns/name", "datasets/ns/name", "spaces/ns/name",
// "kernels/ns/name" or "username", optionally followed by "=ENV_NAME".
// Surrounding whitespace is ignored. Errors are *Error.
func Parse(s string) (Resource, error) {
	s = strings.TrimSpace(s)
	fail := func(format string, args ...any) (Resource, error) {
		return Resource{}, &Error{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("no resource given; %s", expected)
	}
	if reason, ok := fromLocation(s); ok {
		return fail("%s", reason)
	}
	if reason := badChar(s); reason != "" {
		return fail("%s", reason)
	}
	name, env, hasEnv := strings.Cut(s, "=")
	if name == "" {
		return fail("nothing before %q; %s", "=", expected)
	}
	kind, reason := parseName(name)
	if reason != "" {
		if alt := copiedName(name); alt != "" {
			if _, r := parseName(alt); r == "" {
				reason += fmt.Sprintf(": did you mean %s?", quote(alt+strings.TrimPrefix(s, name)))
			}
		}
		return fail("%s", reason)
	}
	r := Resource{Name: name, Kind: kind, Env: EnvName(name)}
	if hasEnv {
		if reason := checkEnv(env, r.Env); reason != "" {
			return fail("%s", reason)
		}
		r.Env, r.Explicit = env, true
	}
	return r, nil
}

// hubHosts are the Hub's hosts as users copy them from a browser or a git
// remote.
var hubHosts = []string{"huggingface.co", "www.huggingface.co", "hf.co"}

// fromLocation explains an entry that is where a repo lives (its page's
// URL, a git remote, an hf:// path) rather than its name, with the name it
// points to when that is one: the form users copy most.
func fromLocation(s string) (string, bool) {
	loc, env := s, ""
	if i := strings.LastIndexByte(s, '='); i > 0 && !strings.ContainsAny(s, "?#") && !strings.Contains(s[i:], "/") {
		loc, env = s[:i], s[i:]
	}
	path, what, ok := locationPath(loc)
	if !ok {
		return "", false
	}
	if name := repoFromPath(path); name != "" {
		if _, err := Parse(name + env); err == nil {
			return fmt.Sprintf("is %s, not a resource's name: did you mean %s?", what, quote(name+env)), true
		}
	}
	return fmt.Sprintf("is %s, not a resource's name; %s", what, expected), true
}

// locationPath is the path of a Hub location: a URL of one of its hosts,
// with or without its scheme, an hf:// path, or a git remote; what says
// which it is.
func locationPath(s string) (path, what string, ok bool) {
	if rest, ok := strings.CutPrefix(s, "hf://"); ok {
		return rest, "an hf:// path", true
	}
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		if host, path, ok := strings.Cut(rest, ":"); ok && slices.Contains(hubHosts, strings.ToLower(host)) {
			return path, "a git remote", true
		}
		return "", "", false
	}
	rest, hasScheme := s, false
	if i := strings.Index(s, "://"); i > 0 {
		rest, hasScheme = s[i+3:], true
		rest = strings.TrimPrefix(rest, "git@")
	}
	host, path, _ := strings.Cut(rest, "/")
	host = strings.ToLower(host)
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	switch {
	case slices.Contains(hubHosts, host):
		return path, "a URL", true
	case hasScheme:
		return "", "a URL", true
	}
	return "", "", false
}

// repoFromPath is the resource a Hub path names: "acme/x",
// "datasets/acme/x/tree/main" or "acme/x.git" name "acme/x" and
// "datasets/acme/x"; "acme" a user. "" when it names none.
func repoFromPath(path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	var parts []string
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	n := 2
	if len(parts) > 0 {
		if _, ok := prefixes[parts[0]]; ok {
			n = 3
		}
	}
	if len(parts) < n {
		if n == 2 && len(parts) == 1 {
			return strings.TrimSuffix(parts[0], ".git") // a user's page
		}
		return ""
	}
	parts = parts[:n]
	parts[n-1] = strings.TrimSuffix(parts[n-1], ".git")
	return strings.Join(parts, "/")
}

// copiedName is the name within a name copied with more than the name: a
// git remote's ".git", or a page of the repo ("acme/x/tree/main"); "" when
// name has neither.
func copiedName(name string) string {
	parts := strings.Split(name, "/")
	n := 2
	if _, ok := prefixes[parts[0]]; ok {
		n = 3
	}
	if len(parts) > n && slices.Contains([]string{"tree", "blob", "resolve", "commit", "commits", "discussions", "settings"}, parts[n]) {
		return repoFromPath(name)
	}
	if strings.HasSuffix(strings.ToLower(name), ".git") {
		return name[:len(name)-len(".git")]
	}
	return ""
}

// badChar explains the first character that can appear in neither a Hub
// name nor a variable name, so that the user sees exactly what is wrong
// rather than a generic "invalid name" (pasted YAML often brings quotes,
// spaces or control characters along).
func badChar(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("contains a control character (%U)", r)
		case r == ' ':
			return "contains a space; separate resources with commas or newlines"
		case unicode.IsSpace(r):
			return fmt.Sprintf("contains whitespace (%U)", r)
		case !isNameChar(r) && r != '/' && r != '=':
			return fmt.Sprintf("contains %q: a Hub name has only letters, digits, %q, %q and %q, and a variable name only letters, digits and %q",
				string(r), "-", "_", ".", "_")
		}
	}
	return ""
}

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

func isNameChar(r rune) bool { return isAlnum(r) || r == '-' || r == '_' || r == '.' }

// parseName checks a name against the forms the Hub's exchange endpoint
// takes and returns its kind, or why it is not one of them.
func parseName(name string) (Kind, string) {
	switch {
	case strings.HasPrefix(name, "/"):
		return 0, fmt.Sprintf("starts with %q; %s", "/", expected)
	case strings.HasSuffix(name, "/"):
		return 0, fmt.Sprintf("ends with %q; %s", "/", expected)
	case strings.Contains(name, "//"):
		return 0, fmt.Sprintf("contains %q; %s", "//", expected)
	}
	parts := strings.Split(name, "/")
	switch len(parts) {
	case 1:
		return User, checkSegment("username", parts[0])
	case 2:
		if parts[0] == "models" {
			return 0, fmt.Sprintf("a model is named %s (no %q prefix)", quote("ns/"+parts[1]), "models/")
		}
		if _, ok := prefixes[parts[0]]; ok {
			return 0, fmt.Sprintf("%s needs a namespace and a name after it: %q", quote(parts[0]+"/"), parts[0]+"/ns/name")
		}
		if r := checkSegment("namespace", parts[0]); r != "" {
			return 0, r
		}
		return Model, checkSegment("name", parts[1])
	case 3:
		kind, ok := prefixes[parts[0]]
		if !ok {
			return 0, unknownPrefix(parts)
		}
		if r := checkSegment("namespace", parts[1]); r != "" {
			return 0, r
		}
		return kind, checkSegment("name", parts[2])
	}
	return 0, fmt.Sprintf("has %d slashes; %s", len(parts)-1, expected)
}

func unknownPrefix(parts []string) string {
	rest := parts[1] + "/" + parts[2]
	switch parts[0] {
	case "models", "model":
		return fmt.Sprintf("a model is named %s (no %q prefix)", quote(rest), parts[0]+"/")
	case "dataset", "space", "kernel":
		return fmt.Sprintf("unknown prefix %s: did you mean %s?", quote(parts[0]+"/"), quote(parts[0]+"s/"+rest))
	}
	return fmt.Sprintf("unknown prefix %s; %s", quote(parts[0]+"/"), expected)
}

// checkSegment applies the Hub's rules for a namespace, repo name or
// username, so that a typo fails here instead of as an opaque
// invalid_request from the server.
func checkSegment(what, s string) string {
	switch {
	case len(s) > maxSegment:
		return fmt.Sprintf("%s %s is %d characters long, more than the Hub's %d", what, quote(s), len(s), maxSegment)
	case !isAlnum(rune(s[0])) || !isAlnum(rune(s[len(s)-1])):
		return fmt.Sprintf("%s %s must start and end with a letter or digit", what, quote(s))
	case strings.Contains(s, "--") || strings.Contains(s, ".."):
		return fmt.Sprintf("%s %s must not contain %q or %q", what, quote(s), "--", "..")
	case strings.HasSuffix(strings.ToLower(s), ".git"):
		return fmt.Sprintf("%s %s must not end in %q", what, quote(s), ".git")
	}
	for _, r := range s {
		if !isNameChar(r) {
			return fmt.Sprintf("%s %s contains %q; only letters, digits, %q, %q and %q are allowed", what, quote(s), string(r), "-", "_", ".")
		}
	}
	return ""
}

// A reserved name or prefix, and why a token must not take its place.
type reserved struct {
	name   string
	prefix bool
	why    string
}

const (
	whyShell = "the shell and the programs the job runs rely on it"
	whyLoad  = "it changes how programs are loaded or behave"
	whyNet   = "it changes where programs connect and whom they trust"
	whyGit   = "git reads it"
	whyCI    = "the CI system sets it and later steps rely on it"
	whyHub   = "huggingface_hub reads it with another meaning"
	whyOurs  = "hf-oidc reads it as configuration"
)

// reservedEnv are the names a token must not be exported as: overwriting one
// would break the job's later steps in ways far from their cause, or hand
// the token to a program as something else (a proxy, a preload, code).
var reservedEnv = []reserved{
	{"PATH", false, whyShell}, {"HOME", false, whyShell}, {"SHELL", false, whyShell},
	{"USER", false, whyShell}, {"LOGNAME", false, whyShell}, {"PWD", false, whyShell},
	{"OLDPWD", false, whyShell}, {"IFS", false, whyShell}, {"ENV", false, whyShell},
	{"BASH_ENV", false, whyShell}, {"BASH_FUNC_", true, whyShell}, {"CDPATH", false, whyShell},
	{"PS1", false, whyShell}, {"PS2", false, whyShell}, {"PS3", false, whyShell}, {"PS4", false, whyShell},
	{"PROMPT_COMMAND", false, whyShell}, {"SHELLOPTS", false, whyShell}, {"BASHOPTS", false, whyShell},
	{"TMPDIR", false, whyShell}, {"TMP", false, whyShell}, {"TEMP", false, whyShell},
	{"TERM", false, whyShell}, {"LANG", false, whyShell}, {"TZ", false, whyShell},
	{"LC_", true, whyShell}, {"LD_", true, whyLoad}, {"DYLD_", true, whyLoad},
	{"NODE_OPTIONS", false, whyLoad}, {"PYTHONPATH", false, whyLoad}, {"PYTHONHOME", false, whyLoad},
	{"PYTHONSTARTUP", false, whyLoad}, {"PERL5OPT", false, whyLoad}, {"RUBYOPT", false, whyLoad},
	{"JAVA_TOOL_OPTIONS", false, whyLoad}, {"_JAVA_OPTIONS", false, whyLoad},
	{"HTTP_PROXY", false, whyNet}, {"HTTPS_PROXY", false, whyNet}, {"ALL_PROXY", false, whyNet},
	{"NO_PROXY", false, whyNet}, {"SSL_CERT_FILE", false, whyNet}, {"SSL_CERT_DIR", false, whyNet},
	{"REQUESTS_CA_BUNDLE", false, whyNet}, {"CURL_CA_BUNDLE", false, whyNet},
	{"GIT_", true, whyGit},
	{"CI", false, whyCI}, {"CI_", true, whyCI}, {"GITHUB_", true, whyCI}, {"RUNNER_", true, whyCI},
	{"ACTIONS_", true, whyCI}, {"GITLAB_", true, whyCI}, {"CIRCLE", true, whyCI},
	{"BITBUCKET_", true, whyCI}, {"BUILDKITE", true, whyCI},
	{"HF_ENDPOINT", false, whyHub}, {"HF_HOME", false, whyHub}, {"HF_HUB_", true, whyHub},
	{"HF_TOKEN_PATH", false, whyHub}, {"HUGGING_FACE_HUB_TOKEN", false, whyHub},
	{"HF_OIDC_", true, whyOurs},
}

// allowedEnv says what an ENV_NAME may be, for every message that refuses one.
const allowedEnv = `a letter or "_" followed by letters, digits and "_", at most 128 characters, and not a name the shell, the CI or huggingface_hub uses`

// CheckEnv reports why name cannot be exported as a token's variable: not
// an identifier, too long, or reserved (PATH, LD_*, GITHUB_*, HF_OIDC_*, …;
// compared without case, as Windows does). HF_TOKEN is allowed: it is what
// the first resource's token is exported as anyway.
func CheckEnv(name string) error {
	if reason := checkEnv(name, ""); reason != "" {
		return errors.New(reason)
	}
	return nil
}

// checkEnv validates an ENV_NAME override; derived is the name the
// resource would get without one, offered as the alternative.
func checkEnv(env, derived string) string {
	switch {
	case env == "":
		return fmt.Sprintf("empty variable name after %q; write %q or leave out %q", "=", "R=ENV_NAME", "=")
	case len(env) > maxEnv:
		return fmt.Sprintf("variable name %s is %d characters long, more than %d; a variable name is %s", quote(env), len(env), maxEnv, allowedEnv)
	case !plugins.IsVarName(env):
		return fmt.Sprintf("variable name %s must be a letter or %q followed by letters, digits and %q (no spaces, quotes, \"$\" or other shell characters)", quote(env), "_", "_")
	}
	alt := ""
	if derived != "" {
		alt = fmt.Sprintf(", such as %q", derived)
	}
	// The name's companions are exported too: "GIT" would set
	// GIT_EXPIRES_AT and GIT_FILE.
	for _, v := range []string{env, env + "_EXPIRES_AT", env + "_FILE"} {
		r, ok := reservedName(v)
		if !ok {
			continue
		}
		what := r.name
		if r.prefix {
			what += "*"
		}
		if v != env {
			what = v + ", which is " + what
		}
		return fmt.Sprintf("variable name %q would overwrite %s: %s; choose another%s: %s", env, what, r.why, alt, allowedEnv)
	}
	return ""
}

// reservedName finds the reserved name or prefix that v is. Windows folds
// the case of variable names, and "path" on Linux is a typo of PATH more
// often than a wish: compare without case.
func reservedName(v string) (reserved, bool) {
	up := strings.ToUpper(v)
	for _, r := range reservedEnv {
		if up == r.name || r.prefix && strings.HasPrefix(up, r.name) {
			return r, true
		}
	}
	return reserved{}, false
}

// EnvName is the variable a resource's token is exported as when no
// ENV_NAME is given: "HF_TOKEN_" and the name upper-cased, with every
// character outside [A-Z0-9] turned into "_".
func EnvName(name string) string {
	var b strings.Builder
	b.Grow(len("HF_TOKEN_") + len(name))
	b.WriteString("HF_TOKEN_")
	for _, r := range name {
		switch {
		case 'a' <= r && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// ParseList parses the values of --resource (or HF_OIDC_RESOURCE). Each
// value may hold several entries separated by commas or newlines; blank
// entries are skipped. It fails when no entry is left, when an entry is
// listed twice, and when two resources would export the same variable.
// Errors are *Error.
func ParseList(values []string) ([]Resource, error) {
	var entries []string
	for _, v := range values {
		for _, e := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
	}
	switch {
	case len(entries) == 0:
		return nil, &Error{Reason: "no resource given; " + expected}
	case len(entries) > MaxResources:
		return nil, &Error{Reason: fmt.Sprintf("%d resources given, more than the %d hf-oidc exchanges in one run; split the job", len(entries), MaxResources)}
	}
	rs := make([]Resource, len(entries))
	for i, e := range entries {
		r, err := Parse(e)
		if err != nil {
			return nil, err
		}
		rs[i] = r
	}
	if err := checkClashes(rs, entries); err != nil {
		return nil, err
	}
	return rs, nil
}

// checkClashes fails when two entries name one resource or when two
// variables hf-oidc would export are one. Variables are compared without
// case, as Windows does.
func checkClashes(rs []Resource, entries []string) error {
	type exporter struct {
		index int    // of the resource; -1: hf-oidc itself
		name  string // the variable as that resource spells it
	}
	names := map[string]int{}
	owner := map[string]exporter{}
	for _, v := range []string{"HF_TOKEN", "HF_TOKEN_EXPIRES_AT", "HF_TOKEN_PATH"} {
		owner[v] = exporter{-1, v}
	}
	for i, r := range rs {
		if j, ok := names[r.Name]; ok {
			return &Error{Input: entries[i], Reason: fmt.Sprintf("listed twice (also as %q)", entries[j])}
		}
		names[r.Name] = i
		// <ENV>_FILE names the token file in the refreshing modes.
		for _, v := range []string{r.Env, r.Env + "_EXPIRES_AT", r.Env + "_FILE"} {
			up := strings.ToUpper(v)
			o, taken := owner[up]
			switch {
			case !taken:
				owner[up] = exporter{i, v}
				continue
			case o.index < 0 && i == 0 && r.Env == "HF_TOKEN":
				// The first resource's token is HF_TOKEN anyway: the
				// override only says so, and both are the same value.
				continue
			case o.index < 0 && r.Env == "HF_TOKEN":
				return &Error{Input: entries[i], Reason: fmt.Sprintf("only the first resource may be exported as HF_TOKEN, which holds the first resource's token; choose another name, such as %q", EnvName(r.Name))}
			}
			who, fix := "hf-oidc itself", fmt.Sprintf("choose another name with %q", r.Name+"=ENV_NAME")
			if o.index >= 0 {
				who, fix = fmt.Sprintf("resource %q", entries[o.index]), fmt.Sprintf("give one of them another name with %q", "R=ENV_NAME")
			}
			detail := "as does " + who
			if o.name != v {
				detail = fmt.Sprintf("and %s exports %s, the same variable on Windows, which ignores case", who, o.name)
			}
			return &Error{Input: entries[i], Reason: fmt.Sprintf("would export %s, %s; %s", v, detail, fix)}
		}
	}
	return nil
}
