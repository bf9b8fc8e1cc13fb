// Package providerinfo says, for each CI provider hf-oidc has a plugin for,
// what its ID tokens look like and which of their claims the Hub's publisher
// form pins, for diagnostics and the sandbox; how to get a token stays in the
// plugin.
package providerinfo
