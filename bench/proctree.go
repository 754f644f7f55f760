package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/reports"
)

// procRoot is where the proc filesystem is mounted (tests use a fake).
var procRoot = "/proc"

// procStat is what the harness needs from one /proc/PID/stat.
type procStat struct {
	PID, PPID int
	// PGID is the process group (field 5).
	PGID int
	// OwnMicros is utime+stime; ChildMicros cutime+cstime (children that
	// exited and were reaped by this process).
	OwnMicros, ChildMicros int64
	// RSSPages is field 24.
	RSSPages int64
}

// parseProcStat parses one /proc/PID/stat line.
func parseProcStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	i := bytes.LastIndexByte(b, ')')
	if open < 0 || i < open {
		return s, fmt.Errorf("stat %q: no command field", b)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return s, fmt.Errorf("stat: pid: %w", err)
	}
	// Fields after ')': state(3) ppid(4) ... utime(14) stime(15)
	// cutime(16) cstime(17) ... rss(24).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 22 {
		return s, fmt.Errorf("stat of %d: %d fields", pid, len(f))
	}
	n := func(field int) int64 {
		v, e := strconv.ParseInt(f[field-3], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("stat of %d: field %d %q: %w", pid, field, f[field-3], e)
		}
		return v
	}
	s.PID = pid
	s.PPID = int(n(4))
	s.PGID = int(n(5))
	s.OwnMicros = (n(14) + n(15)) * 1e6 / clockTicks
	s.ChildMicros = (n(16) + n(17)) * 1e6 / clockTicks
	s.RSSPages = n(24)
	return s, err
}

// allProcs reads every process's stat (processes that vanish while being
// read are skipped).
func allProcs() (map[int]procStat, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	out := make(map[int]procStat, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if s, err := parseProcStat(b); err == nil {
			out[pid] = s
		}
	}
	return out, nil
}

// treeOf returns the roots and every descendant of them in procs.
func treeOf(procs map[int]procStat, roots ...int) []procStat {
	children := map[int][]int{}
	for pid, s := range procs {
		children[s.PPID] = append(children[s.PPID], pid)
	}
	seen := map[int]bool{}
	var out []procStat
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		s, ok := procs[pid]
		if !ok || seen[pid] || pid <= 0 {
			continue
		}
		seen[pid] = true
		out = append(out, s)
		queue = append(queue, children[pid]...)
	}
	return out
}

// controllerTree is the controller's process tree: its descendants, and
// the descendants of every process still in its process group (the
// harness starts it as the leader of a group of its own). A data plane
// that daemonizes (a wrapper starts haproxy's master in the background and
// exits, as the haproxy-tech profile does) is re-parented away from the
// controller but stays in its group, and is the controller's all the same.
func controllerTree(procs map[int]procStat, ctrlPID int) []procStat {
	if ctrlPID <= 0 {
		return nil
	}
	roots := []int{ctrlPID}
	for pid, s := range procs {
		if s.PGID == ctrlPID && pid != ctrlPID {
			roots = append(roots, pid)
		}
	}
	slices.Sort(roots[1:])
	return treeOf(procs, roots...)
}

// treeCPU is the CPU time of a process tree: every live member's own time
// plus the time of children that exited and were reaped by a member
// (cutime/cstime). A child's time moves from its own counters to its
// parent's child counters when it is reaped, so the sum is continuous.
func treeCPU(tree []procStat) int64 {
	var t int64
	for _, s := range tree {
		t += s.OwnMicros + s.ChildMicros
	}
	return t
}

// treeRSS sums the resident set of a tree (shared pages are counted once
// per process, so this is an upper bound).
func treeRSS(tree []procStat) uint64 {
	var pages int64
	for _, s := range tree {
		pages += s.RSSPages
	}
	return uint64(pages) * uint64(os.Getpagesize())
}

// machineStat is the first line of /proc/stat in microseconds.
type machineStat struct {
	Busy, Steal, Total int64
}

func readMachineStat() (machineStat, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return machineStat{}, err
	}
	return parseMachineStat(b)
}

// parseMachineStat reads the "cpu" line: user nice system idle iowait irq
// softirq steal guest guest_nice (guest time is already in user).
func parseMachineStat(b []byte) (machineStat, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return machineStat{}, fmt.Errorf("/proc/stat: first line %q", line)
	}
	var v [8]int64
	for i := range v {
		x, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return machineStat{}, fmt.Errorf("/proc/stat: %w", err)
		}
		v[i] = x * 1e6 / clockTicks
	}
	user, nice, system, idle, iowait, irq, softirq, steal := v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
	busy := user + nice + system + irq + softirq
	return machineStat{Busy: busy, Steal: steal, Total: busy + idle + iowait + steal}, nil
}

func loadAverage1() float64 {
	b, err := os.ReadFile(filepath.Join(procRoot, "loadavg"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuSnap is one sample of every CPU counter a window needs.
type cpuSnap struct {
	at time.Time
	// ctrl is the controller tree's CPU and size; harness the harness
	// process's own CPU; run every process of the run; backend the echo
	// backends' processes (backendProcs of them).
	ctrl, harness, run, backend int64
	ctrlProcs, backendProcs     int
	ctrlRSS                     uint64
	// ctrlWait, harnessWait and backendWait are the same processes'
	// run-queue waits (treeWait); waitOK says the kernel keeps them.
	ctrlWait, harnessWait, backendWait int64
	waitOK                             bool
	machine                            machineStat
	ok                                 bool
}

// snapCPU samples the controller tree (ctrlPID, 0 for none), the harness
// process, the backend processes (backendPIDs, with their descendants) and
// everything the run started (the harness's tree and the controller's
// tree), and the machine.
func snapCPU(ctrlPID int, backendPIDs ...int) cpuSnap {
	s := cpuSnap{at: time.Now(), waitOK: true}
	procs, err := allProcs()
	if err != nil {
		return s
	}
	self := os.Getpid()
	if p, ok := procs[self]; ok {
		s.harness = p.OwnMicros
		var ok bool
		s.harnessWait, ok = treeWait([]procStat{p})
		s.waitOK = ok
	}
	ctrl := controllerTree(procs, ctrlPID)
	run := treeOf(procs, self)
	inRun := make(map[int]bool, len(run))
	for _, p := range run {
		inRun[p.PID] = true
	}
	for _, p := range ctrl {
		if !inRun[p.PID] {
			run = append(run, p)
		}
	}
	// Children the harness reaped (a restarted controller, the API server
	// of an earlier cluster) were part of the run too: cutime stays in.
	s.run = treeCPU(run)
	if ctrlPID > 0 {
		t := ctrl
		s.ctrl, s.ctrlProcs, s.ctrlRSS = treeCPU(t), len(t), treeRSS(t)
		var ok bool
		s.ctrlWait, ok = treeWait(t)
		s.waitOK = s.waitOK && ok
	}
	if len(backendPIDs) > 0 {
		t := treeOf(procs, backendPIDs...)
		s.backend, s.backendProcs = treeCPU(t), len(t)
		var ok bool
		s.backendWait, ok = treeWait(t)
		s.waitOK = s.waitOK && ok
	}
	s.machine, err = readMachineStat()
	s.ok = err == nil
	return s
}

// windowCPU turns two samples into the window's CPU account; genPerReq is
// the generator's calibrated harness CPU per request (0: unknown).
func windowCPU(a, b cpuSnap, requests int64, genPerReq float64) *reports.WindowCPU {
	if !a.ok || !b.ok {
		return nil
	}
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return nil
	}
	w := &reports.WindowCPU{
		WallMillis:          float64(wall) / 1e6,
		ControllerMicros:    float64(b.ctrl - a.ctrl),
		ControllerProcesses: b.ctrlProcs,
		HarnessMicros:       float64(b.harness - a.harness),
		RunMicros:           float64(b.run - a.run),
		LoadAverage1:        loadAverage1(),
	}
	wallMicros := float64(wall) / 1e3
	w.BusyCores = float64(b.machine.Busy-a.machine.Busy) / wallMicros
	w.StealCores = float64(b.machine.Steal-a.machine.Steal) / wallMicros
	w.ExternalCores = max(0, (float64(b.machine.Busy-a.machine.Busy)-w.RunMicros)/wallMicros)
	if genPerReq > 0 {
		w.GeneratorMicrosEstimate = min(w.HarnessMicros, genPerReq*float64(requests))
		w.BackendMicrosEstimate = w.HarnessMicros - w.GeneratorMicrosEstimate
	}
	if a.backendProcs > 0 && b.backendProcs > 0 {
		// The backends' own processes: measured, and not in the harness.
		w.BackendMicros, w.BackendProcesses = float64(b.backend-a.backend), b.backendProcs
		w.BackendMicrosEstimate = w.BackendMicros
	}
	if a.waitOK && b.waitOK {
		// A thread that exited during the window takes its wait with it:
		// a difference below 0 is clamped, not reported.
		w.ControllerWaitMicros = float64(max(0, b.ctrlWait-a.ctrlWait))
		w.HarnessWaitMicros = float64(max(0, b.harnessWait-a.harnessWait))
		if w.BackendProcesses > 0 {
			w.BackendWaitMicros = float64(max(0, b.backendWait-a.backendWait))
		}
	}
	return w
}

// treeWait is how long the threads of the processes in tree were ready to
// run but waited for a CPU: the second field of every
// /proc/PID/task/TID/schedstat, summed, in µs. ok is false when a live
// process of the tree has no such file (a kernel without
// CONFIG_SCHED_INFO). Threads that exited took their time with them, and
// a process that exits between the two reads is skipped, so a window's
// difference is a lower bound when threads come and go; the data planes
// measured here keep theirs.
func treeWait(tree []procStat) (micros int64, ok bool) {
	ok = true
	for _, p := range tree {
		dir := filepath.Join(procRoot, strconv.Itoa(p.PID), "task")
		tids, err := os.ReadDir(dir)
		if err != nil {
			continue // exited meanwhile
		}
		for _, tid := range tids {
			b, err := os.ReadFile(filepath.Join(dir, tid.Name(), "schedstat"))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && tid.Name() == strconv.Itoa(p.PID) {
					ok = false // the main thread lives as long as the process
				}
				continue
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				ok = false
				continue
			}
			ns, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				ok = false
				continue
			}
			micros += ns / 1000
		}
	}
	return micros, ok
}
