package export

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// Shell writes POSIX `export NAME='value'` lines, for
// eval "$(hf-oidc exchange --format shell)".
type Shell struct {
	W        io.Writer
	FileMode bool
	Clear    []string // variables to unset (see StaleTokenVars)
}

func (s Shell) Export(entries []Entry) error {
	vars, err := variables(entries, s.FileMode)
	if err != nil {
		return err
	}
	if err := checkClear(s.Clear); err != nil {
		return err
	}
	var b bytes.Buffer
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v.Name, safetext.ShellQuote(v.Value))
	}
	if len(s.Clear) > 0 {
		fmt.Fprintf(&b, "unset %s\n", strings.Join(s.Clear, " "))
	}
	// One write, so that eval never runs half the lines.
	if _, err := s.W.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing shell exports: %w", err)
	}
	return nil
}
