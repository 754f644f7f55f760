//go:build unix && !linux

package cluster

import "syscall"

// sysProcAttr puts a child in its own process group (there is no
// parent-death signal outside Linux).
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
