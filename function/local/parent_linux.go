package main

import (
	"os"
	"syscall"
)

// endWithParent asks the kernel to send this process SIGTERM when its parent ends, so that
// killing a backgrounded `make serve` (the parent: the Makefile execs this binary) stops the
// server too, through the same clean shutdown as Ctrl-C. A parent that ended before the
// request was made is caught by comparing the parent's pid before and after.
func endWithParent(stop func()) {
	parent := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0); errno != 0 {
		watchParent(parent, stop) // not expected on Linux; the portable way still works
		return
	}
	if os.Getppid() != parent {
		stop()
	}
}
