// Package export hands exchanged tokens to the rest of the CI job: as
// GitHub Actions file commands, shell export lines, a dotenv file or JSON.
package export

import "time"

// An Entry is one exchanged token and where it goes.
type Entry struct {
	Resource  string    // as the Hub names it
	Env       string    // the per-resource variable
	Token     string    // the Hugging Face token: secret
	ExpiresAt time.Time // when the Hub stops accepting Token
	File      string    // the token file, in file mode; else empty
}

// TODO(helper C): Exporter, Variables, the formats — see the task description.
