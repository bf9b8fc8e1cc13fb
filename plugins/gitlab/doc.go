// Package gitlab hands out the ID token a GitLab CI job declares with
// `id_tokens:`, and registers itself with plugins as the "gitlab" provider.
package gitlab
