package procs

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

func TestPolicyNext(t *testing.T) {
	p := policy{raiseAt: 0.9, raiseAfter: 2, lowerAt: 0.7, lowerAfter: time.Second, max: 8}
	const tick = 20 * time.Millisecond
	cases := []struct {
		name  string
		start int
		cores []float64 // CPU used over each tick, in cores
		want  []int     // GOMAXPROCS after each tick
	}{
		{"saturated twice doubles", 1, []float64{0.95, 0.95, 1.9, 1.9, 3.7, 3.7, 8}, []int{1, 2, 2, 4, 4, 8, 8}},
		{"saturated once in a while stays", 1, []float64{0.95, 0.5, 0.95, 0.5, 0.95}, []int{1, 1, 1, 1, 1}},
		{"below raiseAt stays", 2, []float64{1.7, 1.79, 1.79}, []int{2, 2, 2}},
		{"idle for a window lowers to one", 8, repeat(0.0, 50), append(repeat(8, 49), 1)},
		{"a window at 1.5 cores keeps three", 8, repeat(1.5, 50), append(repeat(8, 49), 3)},
		{"a window at 0.7 cores keeps one", 2, repeat(0.7, 50), append(repeat(2, 49), 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			s := state{procs: c.start, lastAt: t0, winStart: t0}
			now, used := t0, time.Duration(0)
			for i, cores := range c.cores {
				now = now.Add(tick)
				used += time.Duration(cores * float64(tick))
				if got := p.next(&s, now, used); got != c.want[i] {
					t.Fatalf("tick %d at %.2f cores: GOMAXPROCS %d, want %d", i+1, cores, got, c.want[i])
				}
			}
		})
	}
}

func repeat[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestPolicyHysteresis(t *testing.T) {
	// A load that lowers 2 Ps to 1 (0.6 cores, below 0.7) does not raise
	// them again (it is below 0.9 of one P), and a raise starts a new
	// window: half a second of low load after a raise does not lower.
	p := policy{raiseAt: 0.9, raiseAfter: 2, lowerAt: 0.7, lowerAfter: time.Second, max: 2}
	t0 := time.Unix(1000, 0)
	s := state{procs: 2, lastAt: t0, winStart: t0}
	now, used := t0, time.Duration(0)
	run := func(cores float64, d time.Duration) int {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(20 * time.Millisecond)
			used += time.Duration(cores * float64(20*time.Millisecond))
			p.next(&s, now, used)
		}
		return s.procs
	}
	if got := run(0.6, 1100*time.Millisecond); got != 1 {
		t.Fatalf("after 1.1s at 0.6 cores: %d Ps, want 1", got)
	}
	if got := run(0.85, 3*time.Second); got != 1 {
		t.Fatalf("after 3s at 0.85 cores on 1 P: %d Ps, want 1", got)
	}
	if got := run(0.95, 20*time.Millisecond); got != 1 {
		t.Fatalf("one tick at 0.95 cores on 1 P: %d Ps, want 1", got)
	}
	if got := run(0.95, 20*time.Millisecond); got != 2 {
		t.Fatalf("two ticks at 0.95 cores on 1 P: %d Ps, want 2", got)
	}
	if got := run(0.1, 900*time.Millisecond); got != 2 {
		t.Fatalf("0.9s at 0.1 cores right after a raise: %d Ps, want 2", got)
	}
	if got := run(0.1, 200*time.Millisecond); got != 1 {
		t.Fatalf("1.1s at 0.1 cores after a raise: %d Ps, want 1", got)
	}
}

// TestGovernor runs a real Governor on the process: idle, it lowers
// GOMAXPROCS to 1; with goroutines spinning, it raises it back to the
// ceiling; Stop gives back Go's default.
func TestGovernor(t *testing.T) {
	defer runtime.SetDefaultGOMAXPROCS()
	runtime.GOMAXPROCS(2) // the ceiling, also on a 1-CPU machine
	g := start(Options{Interval: 5 * time.Millisecond, LowerAfter: 100 * time.Millisecond},
		slog.New(slog.DiscardHandler), processCPU)
	if g == nil {
		t.Fatal("no governor with a ceiling of 2")
	}
	defer g.Stop()
	if _, ceiling := g.Procs(); ceiling != 2 {
		t.Fatalf("ceiling %d, want 2", ceiling)
	}
	until := func(want int, what string) {
		t.Helper()
		// Long bounds: other tests' processes may hold the CPUs.
		if err := wait.PollUntilContextTimeout(t.Context(), 5*time.Millisecond, 30*time.Second, true,
			func(context.Context) (bool, error) { return runtime.GOMAXPROCS(0) == want, nil }); err != nil {
			p, _ := g.Procs()
			t.Fatalf("%s: GOMAXPROCS %d (governor: %d), want %d", what, runtime.GOMAXPROCS(0), p, want)
		}
	}
	until(1, "idle")

	var stop atomic.Bool
	defer stop.Store(true)
	for range 2 {
		go func() {
			for !stop.Load() { // bounded: stopped when the test returns
			}
		}()
	}
	until(2, "2 goroutines spinning")
	stop.Store(true)
	until(1, "idle again")

	g.Stop()
	g.Stop() // twice is fine
	runtime.SetDefaultGOMAXPROCS()
	if got, want := runtime.GOMAXPROCS(0), runtime.NumCPU(); got > want {
		t.Fatalf("after Stop: GOMAXPROCS %d, want Go's default (at most %d)", got, want)
	}
}

func TestCeilingOneIsLeftAlone(t *testing.T) {
	defer runtime.SetDefaultGOMAXPROCS()
	runtime.GOMAXPROCS(1)
	if g := start(Options{}, slog.New(slog.DiscardHandler), processCPU); g != nil {
		g.Stop()
		t.Fatal("a governor with a ceiling of 1")
	}
}

func TestNewLeavesEnvironmentSetting(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	if g := New(Options{Logger: slog.New(slog.DiscardHandler)}); g != nil {
		g.Stop()
		t.Fatal("New governs although GOMAXPROCS is set")
	}
	var nilGov *Governor
	nilGov.Stop() // safe
}

func TestDefaults(t *testing.T) {
	o := withDefaults(Options{})
	if o.Interval != DefaultInterval || o.RaiseAt != DefaultRaiseAt || o.RaiseAfter != DefaultRaiseAfter ||
		o.LowerAfter != DefaultLowerAfter || o.LowerAt != DefaultLowerAt || o.Refresh != DefaultRefresh {
		t.Errorf("defaults: %+v", o)
	}
	if o := withDefaults(Options{RaiseAt: 0.6}); o.LowerAt < 0.44 || o.LowerAt > 0.46 {
		t.Errorf("LowerAt %v with RaiseAt 0.6, want 0.45: below it", o.LowerAt)
	}
}
