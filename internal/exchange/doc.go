// Package exchange is the client of the Hub's token exchange: it trades one
// CI ID token for a short-lived Hugging Face token per resource, retrying
// what is worth retrying within one bounded round.
package exchange
