//go:build !linux

package bench

import "errors"

// cpuPinning is not measured outside Linux (benchmarks run on Linux).
func cpuPinning(int) string { return "" }

// pinTasks is Linux-only (sched_setaffinity).
func pinTasks(int, cpuSet) error {
	return errors.New("bench: CPU pinning (--cpus) needs Linux")
}
