//go:build unix

package local

import "syscall"

// processExists reports whether pid is a running process.
func processExists(pid int) bool { return syscall.Kill(pid, 0) == nil }

// killProcess sends SIGKILL to pid.
func killProcess(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }
