// Package gitcred speaks git's credential-helper protocol for the Hub's host
// and writes the git configuration that routes the Hub's remotes, HTTPS and
// SSH-style alike, through that helper.
package gitcred
