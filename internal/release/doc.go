// Package release builds hf-oidc's release archives reproducibly, and writes
// and checks the SHA-256 checksums that the GitHub Action verifies downloads
// against.
package release
