// Package diag explains an ID token as the Hub will judge it: what to enter on
// the Hub's publisher form, and every problem visible from the job, each with
// its fix and its entry in docs/troubleshooting.md.
package diag
