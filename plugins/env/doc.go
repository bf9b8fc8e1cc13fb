// Package env hands out a pre-minted OIDC ID token given in the environment
// or in a file, and registers itself with plugins as the "env" provider.
package env
