package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// cpuPinning describes a CPU affinity of the harness narrower than the
// machine's total CPUs; "" when there is none.
func cpuPinning(total int) string {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && total > 0 && set.Count() < total {
		return fmt.Sprintf("harness affinity limited to %d of %d CPUs", set.Count(), total)
	}
	return ""
}

// pinTasks sets the affinity of every thread of pid (new threads inherit
// it from the thread that creates them).
func pinTasks(pid int, cpus cpuSet) error {
	var set unix.CPUSet
	for c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir(filepath.Join(procRoot, strconv.Itoa(pid), "task"))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pin thread %d of %d: %w", tid, pid, err)
		}
	}
	return nil
}
