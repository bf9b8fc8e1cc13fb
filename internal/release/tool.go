package release

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// A UsageError is bad input to one of the release tools (cmd/build,
// cmd/dryrun): exit status 2, with a pointer to -help.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }

// Usage wraps err as bad input.
func Usage(err error) error { return UsageError{err} }

// ExitStatus reports a release tool's outcome on stderr, naming the tool,
// and returns its exit status: 0 done (or -help shown), 2 bad input, 1
// anything else.
func ExitStatus(tool string, err error, stderr io.Writer) int {
	var ue UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v.\nRun it with -help for usage.\n", tool, ue.Err)
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", tool, err)
		return 1
	}
}
