package export

import (
	"io"
	"os"
)

// IsTerminal reports whether w is a terminal, where tokens must not be
// printed. It counts every character device but the null device, which
// is where output sent nowhere goes.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
