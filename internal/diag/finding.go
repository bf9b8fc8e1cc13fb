package diag

import (
	"encoding/json"
	"fmt"
)

// A Severity says how much a finding matters.
type Severity int

const (
	// Note is worth knowing when configuring the publisher.
	Note Severity = iota
	// Warning can make the exchange fail, or its tokens go unused.
	Warning
	// Error makes the exchange fail as things stand.
	Error
)

func (s Severity) String() string {
	switch s {
	case Note:
		return "note"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText writes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// A Finding is one problem and its fix.
type Finding struct {
	Anchor   Anchor // its entry in docs/troubleshooting.md; stable, usable as an ID
	Severity Severity
	Problem  string // what is wrong: lowercase, no trailing period
	Fix      string // what to change: a full sentence
	// Snippet is what to paste, line by line, when the fix is a change to
	// a file (a workflow's YAML): shown as it is, never wrapped.
	Snippet []string
}

// Next is the finding's "Next:" line without its label: the fix and the link
// to its entry.
func (f Finding) Next() string { return f.Fix + " " + f.Anchor.See() }

// MarshalJSON writes the finding with its anchor as "id" and its link.
func (f Finding) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID       Anchor   `json:"id"`
		Severity Severity `json:"severity"`
		Problem  string   `json:"problem"`
		Fix      string   `json:"fix"`
		Snippet  []string `json:"snippet,omitempty"`
		Link     string   `json:"link"`
	}{f.Anchor, f.Severity, f.Problem, f.Fix, f.Snippet, f.Anchor.URL()})
}

// Worst is the highest severity among findings, and false when there are none.
func Worst(findings []Finding) (Severity, bool) {
	worst, any := Note, false
	for _, f := range findings {
		if !any || f.Severity > worst {
			worst, any = f.Severity, true
		}
	}
	return worst, any
}
