package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/diag"
)

// A flagSet is one command's flags: only the flags that mean something to
// that command, shown in --help as --name VALUE, with nearest-name
// suggestions for a mistyped one.
type flagSet struct {
	*flag.FlagSet
	env                  Env
	cmd, synopsis, about string
	hidden               map[string]bool
	explain              map[string]string // why a flag other commands take is not one of this one's
}

// newFlagSet returns the flag set of command cmd; --help prints its usage
// to stdout and parse errors are returned, never printed by the flag
// package.
func newFlagSet(env Env, cmd, synopsis, about string) *flagSet {
	fs := &flagSet{
		FlagSet: flag.NewFlagSet(cmd, flag.ContinueOnError),
		env:     env, cmd: cmd, synopsis: synopsis, about: about,
		hidden: map[string]bool{}, explain: map[string]string{},
	}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// hide keeps flag name out of --help and suggestions: it is for hf-oidc's
// own use (refresh --keeper).
func (fs *flagSet) hide(name string) { fs.hidden[name] = true }

// notHere gives the reason shown when flag name, which other commands
// take, is given to this one.
func (fs *flagSet) notHere(name, why string) { fs.explain[name] = why }

// given reports whether flag name was on the command line.
func (fs *flagSet) given(name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// errHelp reports that --help was shown: success, nothing more to print.
var errHelp = errors.New("help shown")

// parse parses args; --help prints the usage and returns errHelp. Errors
// are usage errors that say the flag as --name and suggest the nearest
// flag for an unknown one.
func (fs *flagSet) parse(args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printUsage(fs.env.Stdout)
		return errHelp
	case err != nil:
		return config.Usagef("%s", fs.explainError(err))
	}
	return nil
}

// The flag package's parse errors, whose wording is part of its API.
const (
	undefinedPrefix = "flag provided but not defined: -"
	needsArgPrefix  = "flag needs an argument: -"
	badSyntaxPrefix = "bad flag syntax: "
)

var (
	invalidBool  = regexp.MustCompile(`^invalid boolean value ("(?:[^"\\]|\\.)*") for -([a-z-]+): `)
	invalidValue = regexp.MustCompile(`^invalid value ("(?:[^"\\]|\\.)*") for flag -([a-z-]+): (.*)$`)
)

// explainError rewrites a parse error of the flag package in the --name
// form --help shows, with a suggestion where one helps.
func (fs *flagSet) explainError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, undefinedPrefix); ok {
		if why, ok := fs.explain[name]; ok {
			return fmt.Sprintf("--%s does not apply here: %s", name, why)
		}
		s := fmt.Sprintf("unknown flag --%s", name)
		if m := diag.Nearest(name, fs.visible()); m != "" {
			s += fmt.Sprintf("; did you mean --%s?", m)
		} else if len(fs.visible()) == 0 {
			s += fmt.Sprintf(": %s takes no flags", fs.cmd)
		}
		return s
	}
	if name, ok := strings.CutPrefix(msg, needsArgPrefix); ok {
		arg := "VALUE"
		if f := fs.Lookup(name); f != nil {
			arg = placeholder(f)
		}
		return fmt.Sprintf("--%s needs a value: --%s %s", name, name, arg)
	}
	if arg, ok := strings.CutPrefix(msg, badSyntaxPrefix); ok {
		return fmt.Sprintf("bad flag syntax %q: flags are --name or --name=value", arg)
	}
	if m := invalidBool.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("invalid value %s for --%s: expected true or false", m[1], m[2])
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		if f := fs.Lookup(m[2]); f != nil && placeholder(f) == "DURATION" {
			m[3] = "expected a duration such as 90s, 10m or 1h"
		}
		return fmt.Sprintf("invalid value %s for --%s: %s", m[1], m[2], m[3])
	}
	return msg
}

// visible are the names of the flags --help shows.
func (fs *flagSet) visible() []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if !fs.hidden[f.Name] {
			names = append(names, f.Name)
		}
	})
	return names
}

// printUsage writes the command's usage: synopsis, description and flags.
func (fs *flagSet) printUsage(w io.Writer) {
	synopsis := strings.TrimSpace("hf-oidc " + fs.cmd + " " + fs.synopsis)
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", synopsis, fs.about)
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		if fs.hidden[f.Name] {
			return
		}
		left := "--" + f.Name
		if arg := placeholder(f); arg != "" {
			left += " " + arg
		}
		usage := f.Usage
		if usesBackquote(usage) {
			_, usage = flag.UnquoteUsage(f)
		}
		if shownDefault(f) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	})
	rows = append(rows, row{"-h, --help", "show this help"})
	width = min(max(width, len("-h, --help")), maxFlagColumn)
	for _, r := range rows {
		writeFlagRow(w, r.left, r.usage, width)
	}
}

// maxFlagColumn bounds the column of flag names: a longer name gets a line
// of its own.
const maxFlagColumn = 24

// usageWidth is the width usage is wrapped to, that of a narrow terminal.
const usageWidth = 80

func writeFlagRow(w io.Writer, left, usage string, width int) {
	indent := 2 + width + 2
	words := strings.Fields(usage)
	if len(left) > width {
		fmt.Fprintf(w, "  %s\n", left)
		left = ""
	}
	line := fmt.Sprintf("  %-*s  ", width, left)
	col := indent
	for i, word := range words {
		if i > 0 && col+1+len(word) > usageWidth {
			fmt.Fprintln(w, strings.TrimRight(line, " "))
			line, col = strings.Repeat(" ", indent), indent
		} else if i > 0 {
			line += " "
			col++
		}
		line += word
		col += len(word)
	}
	fmt.Fprintln(w, strings.TrimRight(line, " "))
}

// placeholder names a flag's value in --help: the Value's own name for
// it, else a `name` in its usage or the value's type (as the flag package
// does), in capitals; a boolean flag takes none.
func placeholder(f *flag.Flag) string {
	if p, ok := f.Value.(interface{ Placeholder() string }); ok {
		return p.Placeholder()
	}
	switch name, _ := flag.UnquoteUsage(f); name {
	case "string", "value":
		return "VALUE"
	default:
		return strings.ToUpper(name)
	}
}

func usesBackquote(usage string) bool { return strings.Count(usage, "`") >= 2 }

// shownDefault reports whether --help says the flag's default: only for
// the flag package's own values (not for a list), and not the zero value,
// which says nothing.
func shownDefault(f *flag.Flag) bool {
	if _, ok := f.Value.(flag.Getter); !ok {
		return false
	}
	switch f.DefValue {
	case "", "false", "0":
		return false
	}
	return true
}
