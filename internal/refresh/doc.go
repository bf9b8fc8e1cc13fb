// Package refresh keeps Hub tokens valid for as long as a job runs: a token
// source that re-exchanges a margin before expiry, and a keeper that writes
// the tokens to files in a private directory until told to stop.
package refresh
