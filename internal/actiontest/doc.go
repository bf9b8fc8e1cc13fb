// Package actiontest runs the GitHub Action (action.yml) in a real runner,
// nektos/act, against the sandbox, and lints the action and the workflows.
package actiontest
