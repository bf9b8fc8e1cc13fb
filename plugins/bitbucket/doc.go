// Package bitbucket hands out the ID token of a Bitbucket Pipelines step with
// OIDC on, and registers itself with plugins as the "bitbucket" provider.
package bitbucket
