package enginetest

import "syscall"

// DieWithParent gives the attributes of a child process (an engine, a test's child process)
// that is killed when the test process dies, even by SIGKILL or a test timeout's panic, which
// skip Stop.
func DieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
