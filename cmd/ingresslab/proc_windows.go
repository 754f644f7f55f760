package main

import "os"

// terminate ends pid (Windows has no SIGTERM: a foreground `cluster up`
// is killed without its clean-up; `cluster down` then deletes the cluster
// directly where it can).
func terminate(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// processAlive reports whether pid runs: on Windows FindProcess opens the
// process and fails when there is none.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
