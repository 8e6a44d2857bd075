//go:build !linux

package zetasql

import "syscall"

// dieWithParent has no equivalent outside Linux: Close must stop the server.
func dieWithParent() *syscall.SysProcAttr { return nil }
