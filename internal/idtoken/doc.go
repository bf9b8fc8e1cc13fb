// Package idtoken reads the claims of a CI provider's OIDC ID token and keeps
// one ready for the exchange, re-minting it only when the provider can.
package idtoken
