//go:build !unix

package cli

import "os/exec"

// detachedCommand is a plain command here: without sessions the keeper
// ends with its console.
func detachedCommand(name string, args ...string) *exec.Cmd {
	return exec.Command(name, args...)
}
