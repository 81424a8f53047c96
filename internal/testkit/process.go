package testkit

import (
	"os/exec"
	"syscall"
	"time"
)

// StopProcess asks cmd's process to end (SIGTERM), so that it removes what it made, and kills
// it when it has not ended within grace; exited is closed once cmd.Wait has returned.
func StopProcess(cmd *exec.Cmd, exited <-chan struct{}, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
	}
}
