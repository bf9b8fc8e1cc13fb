// Package testkit holds what the test packages share: the scan of outputs
// for leaked secrets, a GitHub Actions step's environment and command
// files, a release server that can stall, YAML read through PyYAML, and
// the lookup of the tools a test runs. Only _test.go files import it.
package testkit
