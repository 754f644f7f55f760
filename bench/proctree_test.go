package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/reports"
)

// fakeProc writes a /proc with the given stat lines and a /proc/stat.
func fakeProc(t *testing.T, stats map[int]string, machine string) {
	t.Helper()
	root := t.TempDir()
	for pid, line := range stats {
		dir := filepath.Join(root, fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte(machine), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "loadavg"), []byte("1.50 1.00 0.50 2/300 1234\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := procRoot
	procRoot = root
	t.Cleanup(func() { procRoot = old })
}

// statLine builds a /proc/PID/stat line (times in ticks of 10 ms).
func statLine(pid, ppid int, comm string, utime, stime, cutime, cstime, rss int) string {
	return fmt.Sprintf("%d (%s) S %d 1 1 0 -1 4194560 100 0 0 0 %d %d %d %d 20 0 4 0 100 1000000 %d 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		pid, comm, ppid, utime, stime, cutime, cstime, rss)
}

func TestParseProcStatCommandWithSpacesAndParens(t *testing.T) {
	s, err := parseProcStat([]byte(statLine(42, 7, "nginx: worker (x) y", 150, 50, 20, 10, 300)))
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != 42 || s.PPID != 7 || s.OwnMicros != 2_000_000 || s.ChildMicros != 300_000 || s.RSSPages != 300 {
		t.Fatalf("%+v", s)
	}
}

// TestTreeCPUCountsEveryDescendant is the haproxy/nginx case: a controller
// whose data plane is a child (with its own workers) is charged for all of
// it, plus children it already reaped; unrelated processes are not.
func TestTreeCPUCountsEveryDescendant(t *testing.T) {
	fakeProc(t, map[int]string{
		1:   statLine(1, 0, "init", 1000, 1000, 0, 0, 10),
		100: statLine(100, 1, "controller", 100, 100, 30, 20, 1000),  // 2 s own, 0.5 s reaped children
		101: statLine(101, 100, "haproxy", 300, 100, 0, 0, 2000),     // 4 s
		102: statLine(102, 101, "haproxy worker", 50, 50, 0, 0, 500), // 1 s
		200: statLine(200, 1, "unrelated", 9999, 9999, 0, 0, 10),
	}, "cpu  100 0 100 800 0 0 0 0 0 0\n")
	procs, err := allProcs()
	if err != nil {
		t.Fatal(err)
	}
	tree := treeOf(procs, 100)
	if len(tree) != 3 {
		t.Fatalf("tree %+v", tree)
	}
	if got := treeCPU(tree); got != 7_500_000 {
		t.Fatalf("tree CPU %d µs, want 7.5 s", got)
	}
	if got := treeRSS(tree); got != 3500*uint64(os.Getpagesize()) {
		t.Fatalf("tree RSS %d", got)
	}
}

// TestControllerTreeKeepsItsDaemonizedDataPlane is the haproxy-tech case:
// the controller runs a wrapper that starts haproxy's master in the
// background and exits, so the master is re-parented to init, but it stays
// in the controller's process group and is charged to the controller, with
// its workers. A process of another group that init adopted is not.
func TestControllerTreeKeepsItsDaemonizedDataPlane(t *testing.T) {
	group := func(line string, pgid int) string {
		// statLine writes pgrp (field 5, the third after the command) as 1.
		i := strings.LastIndexByte(line, ')')
		f := strings.Fields(line[i+1:])
		f[2] = strconv.Itoa(pgid)
		return line[:i+1] + " " + strings.Join(f, " ") + "\n"
	}
	fakeProc(t, map[int]string{
		1:   statLine(1, 0, "init", 1000, 1000, 0, 0, 10),
		50:  group(statLine(50, 1, "ingresslab", 10, 10, 0, 0, 10), 50),
		100: group(statLine(100, 50, "controller", 100, 100, 0, 0, 1000), 100),     // 2 s
		101: group(statLine(101, 1, "haproxy master", 100, 100, 0, 0, 2000), 100),  // 2 s, adopted by init
		102: group(statLine(102, 101, "haproxy worker", 200, 100, 0, 0, 500), 100), // 3 s
		103: group(statLine(103, 101, "haproxy worker 2", 50, 50, 0, 0, 500), 103), // 1 s, its own group: still a descendant
		200: group(statLine(200, 1, "unrelated daemon", 9999, 9999, 0, 0, 10), 200),
	}, "cpu  100 0 100 800 0 0 0 0 0 0\n")
	procs, err := allProcs()
	if err != nil {
		t.Fatal(err)
	}
	tree := controllerTree(procs, 100)
	var pids []int
	for _, p := range tree {
		pids = append(pids, p.PID)
	}
	slices.Sort(pids)
	if fmt.Sprint(pids) != "[100 101 102 103]" {
		t.Fatalf("controller tree %v, want [100 101 102 103]", pids)
	}
	if got := treeCPU(tree); got != 8_000_000 {
		t.Fatalf("tree CPU %d µs, want 8 s", got)
	}
	if controllerTree(procs, 0) != nil {
		t.Fatal("no controller: a tree")
	}
	// The run's CPU has the harness and the whole controller tree.
	s := snapCPU(100)
	if s.ctrl != 8_000_000 || s.ctrlProcs != 4 || s.backendProcs != 0 {
		t.Fatalf("snapshot: controller %d µs in %d processes, %d backend processes", s.ctrl, s.ctrlProcs, s.backendProcs)
	}
	// Backend processes (with their descendants) are counted apart.
	s = snapCPU(100, 101, 200)
	if s.ctrl != 8_000_000 || s.backendProcs != 4 || s.backend != 2_000_000+3_000_000+1_000_000+199_980_000 {
		t.Fatalf("snapshot with backends 101 and 200: %d µs in %d processes", s.backend, s.backendProcs)
	}
}

func TestWindowCPUSeparatesExternalLoad(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := cpuSnap{at: t0, ctrl: 0, harness: 0, run: 0, machine: machineStat{Busy: 0}, ok: true}
	// 1 s window: controller 0.4 s, harness 0.6 s, run 1.2 s (API server
	// 0.2 s), machine busy 1.7 s: 0.5 cores used by others.
	b := cpuSnap{at: t0.Add(time.Second), ctrl: 400_000, ctrlProcs: 3, harness: 600_000, run: 1_200_000, machine: machineStat{Busy: 1_700_000}, ok: true}
	fakeProc(t, nil, "cpu 0 0 0 0 0 0 0 0\n")
	w := windowCPU(a, b, 10000, 20)
	if w == nil {
		t.Fatal("nil window")
	}
	if w.ControllerMicros != 400_000 || w.ExternalCores < 0.499 || w.ExternalCores > 0.501 || w.BusyCores < 1.699 || w.LoadAverage1 != 1.5 {
		t.Fatalf("%+v", w)
	}
	// Generator: 20 µs x 10,000 requests = 0.2 s of the harness's 0.6 s.
	if w.GeneratorMicrosEstimate != 200_000 || w.BackendMicrosEstimate != 400_000 || w.BackendMicros != 0 || w.BackendProcesses != 0 {
		t.Fatalf("generator/backend split %+v", w)
	}
	// Backends in processes of their own: measured, not the harness's rest.
	a.backend, a.backendProcs = 50_000, 1
	b.backend, b.backendProcs = 300_000, 1
	w = windowCPU(a, b, 10000, 20)
	if w.BackendMicros != 250_000 || w.BackendProcesses != 1 || w.BackendMicrosEstimate != 250_000 || w.GeneratorMicrosEstimate != 200_000 {
		t.Fatalf("measured backends %+v", w)
	}
}

func TestParseMachineStat(t *testing.T) {
	m, err := parseMachineStat([]byte("cpu  10 2 3 100 5 1 1 4 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Busy != 170_000 || m.Steal != 40_000 || m.Total != 1_260_000 {
		t.Fatalf("%+v", m)
	}
}

// TestGeneratorShareKeepAliveOnly: the calibrated generator share splits
// the harness CPU only for keep-alive traffic, like the calibration.
func TestGeneratorShareKeepAliveOnly(t *testing.T) {
	gen := &reports.GeneratorLimit{MicrosPerRequest: 68}
	if got := generatorShare(&Traffic{KeepAlive: true}, gen); got != 68 {
		t.Errorf("keep-alive: %v, want 68", got)
	}
	if got := generatorShare(&Traffic{KeepAlive: false}, gen); got != 0 {
		t.Errorf("a connection per request: %v, want 0 (no split)", got)
	}
	if got := generatorShare(&Traffic{KeepAlive: true}, nil); got != 0 {
		t.Errorf("no calibration: %v, want 0", got)
	}
}

// TestTreeWaitSumsEveryThread: the run-queue wait of a tree is the second
// field of each thread's schedstat, summed over its processes; a process
// that exited between the reads is skipped; a kernel without schedstat
// says so instead of reporting 0.
func TestTreeWaitSumsEveryThread(t *testing.T) {
	fakeProc(t, map[int]string{
		100: statLine(100, 1, "controller", 100, 100, 0, 0, 1000),
		101: statLine(101, 100, "haproxy", 300, 100, 0, 0, 2000),
	}, "cpu  100 0 100 800 0 0 0 0 0 0\n")
	sched := func(pid, tid int, line string) {
		dir := filepath.Join(procRoot, strconv.Itoa(pid), "task", strconv.Itoa(tid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "schedstat"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sched(100, 100, "5000000 2000000 40\n") // 2 ms waited
	sched(100, 105, "9000000 1500000 90\n") // 1.5 ms
	sched(101, 101, "7000000 250000 10\n")  // 0.25 ms
	procs, err := allProcs()
	if err != nil {
		t.Fatal(err)
	}
	tree := treeOf(procs, 100)
	tree = append(tree, procStat{PID: 999}) // exited: no /proc/999
	if w, ok := treeWait(tree); !ok || w != 3750 {
		t.Fatalf("treeWait = %d µs, %v; want 3750, true", w, ok)
	}
	// The snapshot's windows carry it; the difference is the window's.
	a := snapCPU(100)
	sched(100, 105, "9500000 2500000 95\n") // +1 ms
	b := snapCPU(100)
	if w := windowCPU(a, b, 100, 0); w == nil || w.ControllerWaitMicros != 1000 {
		t.Fatalf("window wait %+v", w)
	}
	// No schedstat for a live process's main thread: not measured.
	if err := os.Remove(filepath.Join(procRoot, "101", "task", "101", "schedstat")); err != nil {
		t.Fatal(err)
	}
	if _, ok := treeWait(tree); ok {
		t.Fatal("treeWait ok without schedstat")
	}
	if w := windowCPU(a, snapCPU(100), 100, 0); w == nil || w.ControllerWaitMicros != 0 || w.HarnessWaitMicros != 0 {
		t.Fatalf("unmeasured wait reported: %+v", w)
	}
}

// TestTreeWaitOfThisProcess reads the real kernel's account of this test
// process's threads (Linux; the bench's machines keep schedstat).
func TestTreeWaitOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc: run-queue waits are Linux's")
	}
	if _, ok := treeWait([]procStat{{PID: os.Getpid()}}); !ok {
		t.Fatal("no /proc/PID/task/TID/schedstat for this process: the kernel keeps no run-queue wait (CONFIG_SCHED_INFO)")
	}
}
