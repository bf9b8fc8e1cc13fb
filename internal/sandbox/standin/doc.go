// Command standin plays a CI provider's CLI against the sandbox: installed
// as `circleci` it answers `circleci run oidc get [--claims JSON]`, and as
// `buildkite-agent` it answers `buildkite-agent oidc request-token
// [--audience A] [--lifetime N]`, each by asking the sandbox's mint endpoint
// named by SANDBOX_MINT_URL with the bearer secret in SANDBOX_MINT_SECRET
// (see sandbox.Env).
//
// STANDIN_FAIL, when set, is printed to stderr and the command fails, as a
// broken or outdated CLI would; STANDIN_LOG names a file that each run
// appends its command line to, so tests can check what was passed.
package main
