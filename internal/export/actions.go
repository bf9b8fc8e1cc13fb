package export

import (
	"fmt"
	"io"
)

// Actions is the GitHub Actions runner that a step runs under, as the
// environment describes it. Every decision that depends on running inside
// GitHub Actions asks it, instead of reading GITHUB_ACTIONS again. Its
// methods are no-ops on a nil *Actions, which is what InActions returns
// outside GitHub Actions, so that callers need no test of their own.
type Actions struct {
	getenv func(string) string
}

// InActions returns the runner when GITHUB_ACTIONS is "true", else nil.
func InActions(getenv func(string) string) *Actions {
	if getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	return &Actions{getenv: getenv}
}

// Mask writes the mask command of each secret to w: the runner hides a
// secret in every log line after it sees the command, and reads commands
// from the step's stdout and stderr alike.
func (a *Actions) Mask(w io.Writer, secrets ...string) error {
	if a == nil {
		return nil
	}
	for _, s := range secrets {
		if err := Mask(w, s); err != nil {
			return fmt.Errorf("masking: %w", err)
		}
	}
	return nil
}

// Annotate writes an annotation of the run (level "error", "warning" or
// "notice") to w.
func (a *Actions) Annotate(w io.Writer, level, title, message string) error {
	if a == nil {
		return nil
	}
	return Annotate(w, level, title, message)
}

// HasSummary reports whether the step has a summary file: a real runner
// always sets GITHUB_STEP_SUMMARY; an environment that only claims to be
// GitHub Actions (the demo's) may not.
func (a *Actions) HasSummary() bool { return a != nil && a.getenv("GITHUB_STEP_SUMMARY") != "" }

// AppendSummary appends markdown to the step summary, if the step has one.
func (a *Actions) AppendSummary(markdown []byte) error {
	if !a.HasSummary() {
		return nil
	}
	return appendFile("GITHUB_STEP_SUMMARY", a.getenv("GITHUB_STEP_SUMMARY"), markdown)
}
