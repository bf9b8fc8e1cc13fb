// Package hubmatch decides, the way the Hub does, whether an ID token's claims
// match the claims configured on a Trusted Publisher.
package hubmatch
