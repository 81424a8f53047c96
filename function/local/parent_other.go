//go:build !linux

package main

import "os"

// endWithParent stops the process when its parent ends, so that killing a backgrounded
// `make serve` stops the server too: without Linux's PR_SET_PDEATHSIG, by watching the
// parent's pid, which changes when the process is re-parented.
func endWithParent(stop func()) {
	watchParent(os.Getppid(), stop)
}
