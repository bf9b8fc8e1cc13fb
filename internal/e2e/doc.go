// Package e2e runs the real hf-oidc binary against the embedded sandbox over
// loopback, the way a CI job runs it, and checks every output for leaks.
package e2e
