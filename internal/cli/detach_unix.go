//go:build unix

package cli

import (
	"os/exec"
	"syscall"
)

// detachedCommand runs in a session of its own, so that the end of the
// step's shell (and its SIGHUP) does not end it.
func detachedCommand(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}
