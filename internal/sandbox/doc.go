// Package sandbox is a local stand-in for the Hugging Face Hub's token
// exchange and for the CI providers' OIDC issuers, with real keys, real JWTs
// and real HTTP on loopback, for tests, the demo and manual runs.
package sandbox
