package export

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Dotenv writes NAME=value lines that `docker run --env-file`,
// python-dotenv and `set -a; . ./file` all read back as the exact value.
//
// The three agree only on plain values: docker takes everything after "="
// literally, quotes included, while sh and python-dotenv strip quotes and
// differ on backslashes, "$" and line breaks. So a value made only of
// letters, digits and -_.:/@%+,= (every token, timestamp and usual path) is
// written bare, which all three read alike. Any other value is written in
// single quotes, which sh and python-dotenv read literally but docker
// keeps. A value holding a single quote, a backslash or "${" is refused,
// because no quoting reads back the same in sh and python-dotenv (which
// expands "${NAME}" even in single quotes), and so is one holding a line
// break, which would let the value start a variable of its own.
type Dotenv struct {
	W        io.Writer
	FileMode bool
	// Clear are variables to set empty, which huggingface_hub reads as
	// unset (see StaleTokenVars): dotenv has no way to unset.
	Clear []string
}

func (d Dotenv) Export(entries []Entry) error {
	vars, err := variables(entries, d.FileMode)
	if err != nil {
		return err
	}
	if err := checkClear(d.Clear); err != nil {
		return err
	}
	for _, n := range d.Clear {
		vars = append(vars, Var{Name: n})
	}
	var b bytes.Buffer
	for _, v := range vars {
		q, err := dotenvQuote(v.Value)
		if err != nil {
			return fmt.Errorf("exporting %s: %w", v.Name, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", v.Name, q)
	}
	if _, err := d.W.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing dotenv lines: %w", err)
	}
	return nil
}

func dotenvQuote(s string) (string, error) {
	if strings.ContainsAny(s, "'\\\r\n\x00") || strings.Contains(s, "${") {
		return "", fmt.Errorf("the value holds a quote, backslash, \"${\" or line break, which dotenv readers disagree on; use --format shell or json")
	}
	for _, r := range s {
		if !isBare(r) {
			return "'" + s + "'", nil
		}
	}
	return s, nil
}

// isBare reports whether r means itself unquoted to docker, python-dotenv
// and sh alike, wherever it stands in the value. "~" is not: sh expands it
// after ":" in an assignment.
func isBare(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.:/@%+,=", r)
}
