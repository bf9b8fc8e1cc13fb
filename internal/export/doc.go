// Package export hands exchanged tokens to the rest of the CI job: as
// GitHub Actions file commands, shell export lines, a dotenv file or JSON.
package export
