// Package github gets OIDC ID tokens from the GitHub Actions runtime and
// registers itself with plugins as the "github" provider.
package github
