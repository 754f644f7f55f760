package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// With kernel.sched_autogroup_enabled (the default of most distributions)
// the kernel puts every session in a scheduler autogroup of its own and
// shares the CPUs between autogroups first, then between the threads of
// each. The harness starts the controller and the engines in its own
// session, so they compete with the load generator and the echo backends
// thread against thread. A data plane that daemonizes with setsid (a
// wrapper that starts haproxy in the background, nginx without
// "daemon off") gets an autogroup, and so a share of the machine, of its
// own: on two busy cores it then waits less for a CPU than a target that
// did not, and its latency is not comparable. The bench cannot undo that,
// so it says so.

// autogroupsEnabled reports kernel.sched_autogroup_enabled.
func autogroupsEnabled() bool {
	b, err := os.ReadFile(filepath.Join(procRoot, "sys", "kernel", "sched_autogroup_enabled"))
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// autogroupOf is the name of a process's autogroup ("/autogroup-6" of
// "/autogroup-6 nice 0"), "" when unknown.
func autogroupOf(pid int) string {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "autogroup"))
	if err != nil {
		return ""
	}
	name, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	return name
}

// autogroupNote is a report note when processes of the tree of a target
// (name, its controllerTree from pid) run in another autogroup than the
// harness; "" when they all share the harness's, or nothing is known.
func autogroupNote(name string, pid int) string {
	if pid <= 0 || !autogroupsEnabled() {
		return ""
	}
	own := autogroupOf(os.Getpid())
	if own == "" {
		return ""
	}
	procs, err := allProcs()
	if err != nil {
		return ""
	}
	tree := controllerTree(procs, pid)
	var others []string
	n := 0
	for _, p := range tree {
		if g := autogroupOf(p.PID); g != "" && g != own {
			n++
			if !slices.Contains(others, g) {
				others = append(others, g)
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %d of the %d processes of its tree ran in a scheduler autogroup other than the harness's (%s; the harness: %s), as a process that calls setsid does: with kernel.sched_autogroup_enabled=1 the kernel shares the CPUs between autogroups before threads, so it did not compete with the load generator and the echo backends for a CPU on the terms the other targets did, and its latency and maxima are not comparable with theirs; set kernel.sched_autogroup_enabled=0, or keep the data plane in the foreground, to compare them",
		name, n, len(tree), strings.Join(others, ", "), own)
}

// checkAutogroup adds autogroupNote for a target once, at its first
// window (the processes of its tree are up then).
func (e *Env) checkAutogroup(t *Traffic) {
	if t.PID <= 0 || e.autogroupChecked[t.Name] {
		return
	}
	if e.autogroupChecked == nil {
		e.autogroupChecked = map[string]bool{}
	}
	e.autogroupChecked[t.Name] = true
	if n := autogroupNote(t.Name, t.PID); n != "" {
		e.notes = append(e.notes, n)
		e.Progressf("%s", n)
	}
}
