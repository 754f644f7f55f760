//go:build unix

package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// terminate sends SIGTERM to pid.
func terminate(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }

// processAlive reports whether pid runs (a zombie counts as ended).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
