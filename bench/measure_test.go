package bench

import (
	"slices"
	"testing"

	"github.com/ingresslab/ingresslab/reports"
)

// TestNoisyWindowsAreRepeatedWithinTheRunBudget: a noisy window is measured
// again, the last attempt is kept and marked, and the run-wide budget bounds
// the repeats however noisy the machine is.
func TestNoisyWindowsAreRepeatedWithinTheRunBudget(t *testing.T) {
	n := noiseAccount{retries: 3}
	calls := 0
	noisyTwice := func() (reports.StepResult, error) {
		calls++
		ext := 0.1
		if calls <= 2 {
			ext = 1.5
		}
		return reports.StepResult{Noisy: ext > 0.25, CPU: &reports.WindowCPU{ExternalCores: ext, LoadAverage1: 3}}, nil
	}
	st, err := n.repeatNoisy(noisyTwice, func(reports.StepResult) {})
	if err != nil || st.Noisy || st.Attempt != 3 || calls != 3 || n.retries != 1 {
		t.Fatalf("st %+v after %d calls, %d retries left", st, calls, n.retries)
	}
	always := func() (reports.StepResult, error) {
		calls++
		return reports.StepResult{Noisy: true, CPU: &reports.WindowCPU{ExternalCores: 2}}, nil
	}
	calls = 0
	st, _ = n.repeatNoisy(always, func(reports.StepResult) {})
	if !st.Noisy || calls != 2 || n.retries != 0 {
		t.Fatalf("budget not bounding: %d calls, st %+v", calls, st)
	}
	calls = 0
	if st, _ = n.repeatNoisy(always, func(reports.StepResult) {}); calls != 1 || !st.Noisy {
		t.Fatalf("exhausted budget still repeats: %d calls", calls)
	}
	s := n.summary()
	if s.Windows != 6 || s.NoisyWindows != 5 || s.Repeated != 3 || s.MaxExternal != 2 || s.MaxLoad1 != 3 {
		t.Fatalf("summary %+v", s)
	}
}

func TestCensoredPercentiles(t *testing.T) {
	xs := []float64{50, 10, 40, 20, 30}
	// 10 of 15 events timed out (the quick-mode case): the median
	// and beyond are past the timeout, never the timeout's value.
	pc, beyond := reports.CensoredPercentiles(slices.Clone(xs), 10)
	if !slices.Equal(beyond, []string{"p50", "p90", "p99", "p999", "max", "mean"}) || pc.P50 != 0 {
		t.Fatalf("pc %+v beyond %v", pc, beyond)
	}
	// 1 of 6 censored: p50 is known (rank 3), p90 (rank 6) is not.
	pc, beyond = reports.CensoredPercentiles(slices.Clone(xs), 1)
	if pc.P50 != 30 || !slices.Equal(beyond, []string{"p90", "p99", "p999", "max", "mean"}) {
		t.Fatalf("pc %+v beyond %v", pc, beyond)
	}
	pc, beyond = reports.CensoredPercentiles(slices.Clone(xs), 0)
	if len(beyond) != 0 || pc.P50 != 30 || pc.Max != 50 || pc.Mean != 30 {
		t.Fatalf("uncensored pc %+v beyond %v", pc, beyond)
	}
}

func TestSummarizePropagationCensorsTimeouts(t *testing.T) {
	var evs []reports.PropagationEvent
	for i := 0; i < 15; i++ {
		evs = append(evs, reports.PropagationEvent{Kind: "create", FirstCorrectMillis: 30000, TimedOut: i < 10})
	}
	for i := 10; i < 15; i++ {
		evs[i].FirstCorrectMillis = float64(100 + i)
	}
	r := summarizePropagation(evs, 30e9)
	if r.TimedOut != 10 || !r.Censored || r.FirstCorrectMillis.P50 == 30000 || !slices.Contains(r.BeyondTimeout, "p50") {
		t.Fatalf("%+v", r)
	}
	if got := r.CensoredText(r.TimedOut, r.Events); got != "> 30 s: 10 of 15" {
		t.Fatalf("censored text %q", got)
	}
	if got := r.Cell(r.FirstCorrectMillis, r.BeyondTimeout, "p99"); got != "> 30 s" {
		t.Fatalf("p99 cell %q", got)
	}
}

func TestParsePinning(t *testing.T) {
	p, err := parsePinning("generator=1,target=0;2-3")
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasGen || !p.HasTarget || p.Generator.Count() != 1 || !p.Generator.IsSet(1) || p.Target.Count() != 3 || p.Target.IsSet(1) {
		t.Fatalf("%+v", p)
	}
	for _, bad := range []string{"generator", "gen=1", "target=x", "target=3-1"} {
		if _, err := parsePinning(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCPUFlagsAndChurnPhase(t *testing.T) {
	if f := cpuFlags("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse2 avx2\n\nprocessor\t: 1\nflags\t: fpu\n"); !slices.Equal(f, []string{"fpu", "sse2", "avx2"}) {
		t.Fatalf("flags %v", f)
	}
	o := Options{BinDir: "b", Quick: true}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	if ph := churnPhase(o); ph.Seconds()*o.ChurnRPS < minPhaseRequests {
		t.Fatalf("quick churn phase %v at %v rps carries fewer than %d requests", ph, o.ChurnRPS, minPhaseRequests)
	}
}
