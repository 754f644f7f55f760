package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// pinning is a parsed --cpus value: CPU sets for the harness (load
// generator and in-process echo backends) and the controller's tree.
type pinning struct {
	Generator, Target cpuSet
	HasGen, HasTarget bool
}

// cpuSet is a set of CPU numbers (portable; pinTasks turns it into the
// kernel's mask on Linux).
type cpuSet map[int]bool

// Set adds cpu.
func (s cpuSet) Set(cpu int) { s[cpu] = true }

// IsSet reports whether cpu is in the set.
func (s cpuSet) IsSet(cpu int) bool { return s[cpu] }

// Count is the number of CPUs in the set.
func (s cpuSet) Count() int { return len(s) }

// parsePinning reads "generator=1,target=0" (CPU lists like taskset's:
// "0-1", "0;2" separate CPUs inside one role with ';').
func parsePinning(s string) (pinning, error) {
	var p pinning
	for _, part := range strings.Split(s, ",") {
		role, list, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, fmt.Errorf("bench: CPU pinning %q: want role=cpus, e.g. generator=1,target=0", s)
		}
		set, err := parseCPUList(list)
		if err != nil {
			return p, fmt.Errorf("bench: CPU pinning %q: %w", s, err)
		}
		switch role {
		case "generator":
			p.Generator, p.HasGen = set, true
		case "target":
			p.Target, p.HasTarget = set, true
		default:
			return p, fmt.Errorf("bench: CPU pinning %q: unknown role %q (generator, target)", s, role)
		}
	}
	return p, nil
}

func parseCPUList(list string) (cpuSet, error) {
	set := cpuSet{}
	for _, r := range strings.Split(list, ";") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(r), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return set, fmt.Errorf("CPU %q: %w", r, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return set, fmt.Errorf("CPU range %q", r)
			}
		}
		for c := a; c <= b; c++ {
			set.Set(c)
		}
	}
	if set.Count() == 0 {
		return set, fmt.Errorf("empty CPU list %q", list)
	}
	return set, nil
}

// apply pins the harness and the controller's tree (ctrlPID, 0 for none)
// and describes what it did.
func (p pinning) apply(ctrlPID int) (string, error) {
	var did []string
	if p.HasGen {
		if err := pinTasks(os.Getpid(), p.Generator); err != nil {
			return "", err
		}
		did = append(did, fmt.Sprintf("harness (generator, echo backends) on %d CPU(s)", p.Generator.Count()))
	}
	if p.HasTarget && ctrlPID > 0 {
		procs, err := allProcs()
		if err != nil {
			return "", err
		}
		tree := controllerTree(procs, ctrlPID)
		for _, s := range tree {
			if err := pinTasks(s.PID, p.Target); err != nil {
				return "", err
			}
		}
		did = append(did, fmt.Sprintf("controller tree (%d processes) on %d CPU(s)", len(tree), p.Target.Count()))
	}
	return strings.Join(did, "; "), nil
}
