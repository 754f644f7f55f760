package cluster

import (
	"os"
	"syscall"
)

// sysProcAttr: no process groups to set up on Windows.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminateGroup kills p (Windows has no SIGTERM; children are not reached).
func terminateGroup(p *os.Process) error { return p.Kill() }

// killGroup kills p.
func killGroup(p *os.Process) error { return p.Kill() }
