//go:build !unix

package procs

import "time"

// processCPU is not read here: New returns nil.
func processCPU() (time.Duration, bool) { return 0, false }
