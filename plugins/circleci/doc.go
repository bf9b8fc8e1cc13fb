// Package circleci mints OIDC ID tokens with `circleci run oidc get`, and
// registers itself with plugins as the "circleci" provider.
package circleci
