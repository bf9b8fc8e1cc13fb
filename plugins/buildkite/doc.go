// Package buildkite mints OIDC ID tokens with `buildkite-agent oidc
// request-token`, and registers itself with plugins as the "buildkite"
// provider.
package buildkite
