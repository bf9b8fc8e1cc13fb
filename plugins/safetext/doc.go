// Package safetext makes text safe to print: it redacts secrets and tokens,
// keeps untrusted text to one short line, and quotes words for a shell.
package safetext
