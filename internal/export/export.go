package export

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// An Entry is one exchanged token and where it goes.
type Entry struct {
	Resource  string    // as the Hub names it
	Env       string    // the per-resource variable
	Token     string    // the Hugging Face token: secret
	ExpiresAt time.Time // when the Hub stops accepting Token
	File      string    // the token file, in file mode; else empty
}

// An Exporter hands tokens to the steps that follow. Entries come in
// resource order: the first is the one HF_TOKEN holds.
type Exporter interface {
	Export(entries []Entry) error
}

// A Var is one environment variable to export.
type Var struct {
	Name   string
	Value  string
	Secret bool // a token: masked, never printed
}

// Variables lists what the job's later steps get: for each entry its
// variable and <variable>_EXPIRES_AT, then HF_TOKEN and HF_TOKEN_EXPIRES_AT
// from the first entry.
//
// In file mode HF_TOKEN is left out, even where an entry asked for it by
// name, and HF_TOKEN_PATH names the first entry's file instead:
// huggingface_hub prefers HF_TOKEN to the file, which is the one that stays
// fresh. Each entry's <variable>_FILE then names its file too, since its
// variable goes stale when the file is refreshed. Every name appears once.
func Variables(entries []Entry, fileMode bool) []Var {
	if len(entries) == 0 {
		return nil
	}
	var vars []Var
	seen := map[string]bool{}
	add := func(v Var) {
		if !seen[v.Name] {
			seen[v.Name] = true
			vars = append(vars, v)
		}
	}
	for _, e := range entries {
		if fileMode && e.Env == "HF_TOKEN" {
			continue
		}
		add(Var{Name: e.Env, Value: e.Token, Secret: true})
		add(Var{Name: e.Env + "_EXPIRES_AT", Value: formatTime(e.ExpiresAt)})
		if fileMode && e.File != "" {
			add(Var{Name: e.Env + "_FILE", Value: e.File})
		}
	}
	first := entries[0]
	if fileMode {
		add(Var{Name: "HF_TOKEN_PATH", Value: first.File})
	} else {
		add(Var{Name: "HF_TOKEN", Value: first.Token, Secret: true})
	}
	add(Var{Name: "HF_TOKEN_EXPIRES_AT", Value: formatTime(first.ExpiresAt)})
	return vars
}

// formatTime is RFC 3339 in UTC to the second: what `date -d` and Python's
// datetime.fromisoformat read, without a zone to get wrong.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

var errNoEntries = errors.New("no tokens to export")

// StaleTokenVars are the variables huggingface_hub prefers to HF_TOKEN_PATH.
// In file mode a value left in them from before (a stored secret, an
// earlier exchange) would win over the file that stays fresh, and fail
// once it expires: the file-mode exporters clear them (Clear).
var StaleTokenVars = []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}

// checkClear checks the names an exporter is to clear, which every format
// writes unquoted.
func checkClear(names []string) error {
	for _, n := range names {
		if !plugins.IsVarName(n) {
			return fmt.Errorf("clearing %s: not a variable name", safetext.Quote(n, maxShown))
		}
	}
	return nil
}

// variables is Variables, checked: every format writes names unquoted, so
// a name that is not an identifier would be code, and no environment
// variable can hold a NUL byte.
func variables(entries []Entry, fileMode bool) ([]Var, error) {
	if len(entries) == 0 {
		return nil, errNoEntries
	}
	// The resource list refused these names already; checked again here,
	// where a wrong one would be written, since an Entry can come from
	// anywhere.
	for _, e := range entries {
		if err := resource.CheckEnv(e.Env); err != nil {
			return nil, fmt.Errorf("exporting the token for %s: %w", safetext.Clip(e.Resource, maxShown), err)
		}
	}
	vars := Variables(entries, fileMode)
	for _, v := range vars {
		if !plugins.IsVarName(v.Name) {
			return nil, fmt.Errorf("exporting %s: not a variable name", safetext.Quote(v.Name, maxShown))
		}
		if strings.Contains(v.Value, "\x00") {
			return nil, fmt.Errorf("exporting %s: the value holds a NUL byte, which no environment variable can", v.Name)
		}
	}
	return vars, nil
}

// maxShown is how many runes of a name a message quotes.
const maxShown = 100
