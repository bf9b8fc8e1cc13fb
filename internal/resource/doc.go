// Package resource parses the resources hf-oidc exchanges tokens for, as the
// Hub names them, and the environment variable each token is exported as.
package resource
