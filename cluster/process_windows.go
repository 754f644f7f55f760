package cluster

import (
	"os"
	"syscall"
)

// sysProcAttr: no process groups to set up on Windows.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate kills p (Windows has no SIGTERM).
func terminate(p *os.Process) error { return p.Kill() }

// killGroup kills p.
func killGroup(p *os.Process) error { return p.Kill() }
