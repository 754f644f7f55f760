//go:build unix

package cluster

import (
	"os"
	"syscall"
)

// terminate sends SIGTERM to p alone.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup sends SIGKILL to p's process group.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }
