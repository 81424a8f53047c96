//go:build !linux

package enginetest

import "syscall"

// DieWithParent: elsewhere than Linux there is no parent-death signal, and only Stop ends
// the engines.
func DieWithParent() *syscall.SysProcAttr { return nil }
