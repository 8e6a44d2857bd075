package zetasql

import "syscall"

// dieWithParent makes the kernel kill the server when the process that
// started it exits, so a test binary that never calls Close (or crashes)
// leaves no server behind. Strictly the signal follows the exit of the OS
// thread that started the server; the Go runtime does not end its threads
// while the program runs, except ones a goroutine locked and never unlocked.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
