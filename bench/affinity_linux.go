package bench

import (
	"fmt"

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
