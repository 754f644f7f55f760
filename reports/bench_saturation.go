package reports

import (
	"fmt"
	"math"
	"slices"
)

// Ceilings: what limited a maximum that is therefore only a lower bound
// ("≥ N"). A capped maximum is never turned into a ratio.
const (
	// CeilingConfigured: the search's configured maximum (rate, connection
	// count or step budget) ended it before the target failed.
	CeilingConfigured = "configured"
	// CeilingGenerator: the target came within the generator-bound margin of
	// the load generator's own maximum on this machine.
	CeilingGenerator = "generator"
	// CeilingLegacy: a version 1 open-loop search that never saw a failing
	// step (e.g. --quick stopping at 8,000 rps).
	CeilingLegacy = "legacy unbounded search"
)

// Saturation is a target's closed-loop maximum: N connections sending as
// fast as answers come, swept over connection counts, repeated.
type Saturation struct {
	// Method is "closed-loop".
	Method string `json:"method"`
	// MaxRPS summarises the repetitions' maxima (successful responses per
	// second).
	MaxRPS Stat `json:"maxRPS"`
	// Ceiling is empty for a true maximum, else one of the Ceiling*
	// constants: MaxRPS is then only a lower bound.
	Ceiling string `json:"ceiling,omitempty"`
	// CeilingReason says what was seen ("throughput still rising at 64
	// connections", "within 15 % of the generator's 41,000 rps").
	CeilingReason string `json:"ceilingReason,omitempty"`
	// Note, for a true maximum, says which repetitions were lower bounds
	// that did not affect the median (they ranked above it).
	Note string `json:"note,omitempty"`
	// Sweeps are the repetitions.
	Sweeps []ClosedLoopSweep `json:"sweeps"`
}

// ClosedLoopSweep is one repetition of the connection sweep.
type ClosedLoopSweep struct {
	Repetition int `json:"repetition"`
	// MaxRPS is the best successful throughput of the sweep, reached with
	// Connections connections.
	MaxRPS      float64 `json:"maxRPS"`
	Connections int     `json:"connections"`
	Ceiling     string  `json:"ceiling,omitempty"`
	// Points are the windows, one per connection count.
	Points []StepResult `json:"points"`
}

// LoadPoint is open-loop traffic at one fraction of the target's own
// maximum, repeated.
type LoadPoint struct {
	Fraction float64 `json:"fraction"`
	RateRPS  float64 `json:"rateRPS"`
	// Latency percentiles over the valid windows (medians and spread of
	// the repetitions), µs.
	P50Micros  Stat `json:"p50Micros"`
	P99Micros  Stat `json:"p99Micros"`
	P999Micros Stat `json:"p999Micros"`
	// CPU per request of the controller's process tree and of the
	// harness-side (generator and in-process echo backends), µs.
	ControllerCPUMicrosPerRequest Stat `json:"controllerCPUMicrosPerRequest"`
	BackendCPUMicrosPerRequest    Stat `json:"backendCPUMicrosPerRequest"`
	// RPSPerCore is requests per second of controller CPU (1e6 / µs per
	// request).
	RPSPerCore Stat `json:"rpsPerCore"`
	// PassSLO is true when every valid window met the SLO.
	PassSLO bool `json:"passSLO"`
	// Windows are the repetitions (noisy repeats included, marked).
	Windows []StepResult `json:"windows"`
}

// WindowCPU is the CPU every party used during one measured window.
type WindowCPU struct {
	WallMillis float64 `json:"wallMillis"`
	// ControllerMicros is the controller's whole process tree (every
	// descendant, plus exited children reaped by it); ControllerProcesses is
	// the tree's size at the end of the window.
	ControllerMicros    float64 `json:"controllerMicros"`
	ControllerProcesses int     `json:"controllerProcesses"`
	// HarnessMicros is the harness process (load generator, in-process echo
	// backends, API clients).
	HarnessMicros float64 `json:"harnessMicros"`
	// GeneratorMicrosEstimate is the generator's share of HarnessMicros from
	// its calibration (µs per request against the null target x requests);
	// BackendMicrosEstimate the rest, or BackendMicros where measured.
	GeneratorMicrosEstimate float64 `json:"generatorMicrosEstimate"`
	BackendMicrosEstimate   float64 `json:"backendMicrosEstimate"`
	// BackendMicros is the CPU of the echo backends' own processes
	// (BenchSettings.BackendProcesses), BackendProcesses how many there
	// were; 0 when the backends ran inside the harness.
	BackendMicros    float64 `json:"backendMicros,omitempty"`
	BackendProcesses int     `json:"backendProcesses,omitempty"`
	// ControllerWaitMicros, HarnessWaitMicros and BackendWaitMicros are
	// how long the threads of the controller's tree, of the harness and of
	// the backend processes were ready to run but waited for a CPU (the
	// kernel's run-queue wait, /proc/PID/task/TID/schedstat): on a
	// machine whose cores are shared, the part of the latency that is the
	// scheduler's, not the data plane's. Absent (0) where not measured.
	ControllerWaitMicros float64 `json:"controllerWaitMicros,omitempty"`
	HarnessWaitMicros    float64 `json:"harnessWaitMicros,omitempty"`
	BackendWaitMicros    float64 `json:"backendWaitMicros,omitempty"`
	// RunMicros is every process of the run (harness tree and controller
	// tree: API server, etcd...); ExternalCores the machine's busy CPU minus
	// RunMicros, in cores; BusyCores all of it.
	RunMicros     float64 `json:"runMicros"`
	BusyCores     float64 `json:"busyCores"`
	ExternalCores float64 `json:"externalCores"`
	StealCores    float64 `json:"stealCores,omitempty"`
	LoadAverage1  float64 `json:"loadAverage1"`
}

// GeneratorLimit is the load generator measured against a null in-process
// target on the same machine.
type GeneratorLimit struct {
	// MaxRPS is the closed-loop maximum against the null target (a lower
	// bound of what the generator alone could do, since the null target
	// shares the process).
	MaxRPS      float64 `json:"maxRPS"`
	Connections int     `json:"connections"`
	// MicrosPerRequest is the harness CPU per request (generator plus the
	// trivial null handler).
	MicrosPerRequest float64 `json:"microsPerRequest"`
	// BoundMargin: a target whose maximum is within this fraction of MaxRPS
	// is generator-bound (0.15).
	BoundMargin float64      `json:"boundMargin"`
	Points      []StepResult `json:"points,omitempty"`
	// OpenLoop is the generator pacing the null target open-loop at half
	// its closed-loop maximum: when even this window is invalid (achieved
	// below offered, lag), open-loop windows near that rate measure the
	// generator, not the target.
	OpenLoop *StepResult `json:"openLoop,omitempty"`
}

// NoiseSummary is the machine's load during the run's windows.
type NoiseSummary struct {
	Windows      int     `json:"windows"`
	NoisyWindows int     `json:"noisyWindows"`
	Repeated     int     `json:"repeated"`
	MaxExternal  float64 `json:"maxExternalCores"`
	MeanExternal float64 `json:"meanExternalCores"`
	MaxLoad1     float64 `json:"maxLoadAverage1"`
}

// BinaryDigest is one binary the run used.
type BinaryDigest struct {
	Role   string `json:"role"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Maximum is a series' maximum rate with how it was obtained.
type Maximum struct {
	// RPS is the median maximum; a lower bound when Ceiling is set.
	RPS  float64
	Stat Stat
	// Ceiling is empty for a true maximum.
	Ceiling string
	// Legacy is true for a version 1 open-loop search result.
	Legacy bool
}

// Capped reports whether the maximum is only a lower bound.
func (m Maximum) Capped() bool { return m.Ceiling != "" }

// String renders "12345" or "≥ 8000 (ceiling: configured)"; "–" when
// nothing was measured.
func (m Maximum) String() string {
	switch {
	case m.Stat.N == 0 && m.RPS == 0:
		return "–"
	case m.Capped():
		return fmt.Sprintf("≥ %.0f (ceiling: %s)", m.RPS, m.Ceiling)
	}
	return fmt.Sprintf("%.0f", m.RPS)
}

// Short renders "12345" or "≥ 8000" (the ceiling named elsewhere).
func (m Maximum) Short() string {
	switch {
	case m.Stat.N == 0 && m.RPS == 0:
		return "–"
	case m.Capped():
		return fmt.Sprintf("≥ %.0f", m.RPS)
	}
	return fmt.Sprintf("%.0f", m.RPS)
}

// Max returns the series' maximum: the closed-loop saturation (schema 2)
// or, for a version 1 report, the open-loop search result, capped when any
// repetition's search never saw a failing step.
func (s LoadSeries) Max() Maximum {
	if sat := s.Saturation; sat != nil {
		return Maximum{RPS: sat.MaxRPS.Median, Stat: sat.MaxRPS, Ceiling: sat.Ceiling}
	}
	m := Maximum{RPS: s.MaxSustainableRPS.Median, Stat: s.MaxSustainableRPS, Legacy: true}
	for _, se := range s.Searches {
		if !se.Bounded {
			m.Ceiling = se.Ceiling
			if m.Ceiling == "" {
				m.Ceiling = CeilingLegacy
			}
			break
		}
	}
	return m
}

// ThroughputRatio is series / baseline maximum per repetition, or why it
// is refused: a capped maximum (configured ceiling, generator-bound, legacy
// unbounded search) is never turned into a ratio.
func ThroughputRatio(baseline, series LoadSeries) (Stat, string) {
	a, b := baseline.Max(), series.Max()
	switch {
	case a.Capped() && b.Capped():
		return Stat{}, fmt.Sprintf("both capped: %s %s, %s %s", baseline.Name, a, series.Name, b)
	case a.Capped():
		return Stat{}, fmt.Sprintf("%s capped: %s", baseline.Name, a)
	case b.Capped():
		return Stat{}, fmt.Sprintf("%s capped: %s", series.Name, b)
	case a.RPS <= 0 || b.Stat.N == 0:
		return Stat{}, "no maximum measured"
	}
	var xs []float64
	if baseline.Saturation != nil && series.Saturation != nil {
		for i := range min(len(baseline.Saturation.Sweeps), len(series.Saturation.Sweeps)) {
			if d := baseline.Saturation.Sweeps[i].MaxRPS; d > 0 {
				xs = append(xs, series.Saturation.Sweeps[i].MaxRPS/d)
			}
		}
	} else {
		for i := range min(len(baseline.Searches), len(series.Searches)) {
			if d := baseline.Searches[i].MaxSustainableRPS; d > 0 {
				xs = append(xs, series.Searches[i].MaxSustainableRPS/d)
			}
		}
	}
	return NewStat(xs), ""
}

// RatioCell renders a comparison's throughput ratio, or the reason it is
// refused.
func (c ABComparison) RatioCell() string {
	switch {
	case c.RatioRefused != "":
		return "no ratio (" + c.RatioRefused + ")"
	case c.ThroughputRatio.N == 0:
		return "–"
	}
	return fmt.Sprintf("%.2f (%.2f..%.2f)", c.ThroughputRatio.Median, c.ThroughputRatio.Min, c.ThroughputRatio.Max)
}

// Checked returns c with its ratio removed when either series of l is
// capped: a version 1 report stored ratios of capped searches (1.00 for
// "both reached 8,000 rps").
func (c ABComparison) Checked(l *LoadResult) ABComparison {
	a, b := l.SeriesNamed(c.Baseline), l.SeriesNamed(c.Series)
	if a == nil || b == nil {
		return c
	}
	if st, why := ThroughputRatio(*a, *b); why != "" {
		c.ThroughputRatio, c.RatioRefused = Stat{}, why
	} else if c.ThroughputRatio.N == 0 {
		c.ThroughputRatio = st
	}
	return c
}

// PointAt returns the load point closest to fraction f, or nil.
func (s LoadSeries) PointAt(f float64) *LoadPoint {
	var best *LoadPoint
	for i := range s.AtLoad {
		if best == nil || math.Abs(s.AtLoad[i].Fraction-f) < math.Abs(best.Fraction-f) {
			best = &s.AtLoad[i]
		}
	}
	return best
}

// CensoredText says how many events timed out: "none timed out" or
// "> 30 s: 10 of 15".
func (p *PropagationResult) CensoredText(timedOut, events int) string {
	if timedOut == 0 {
		return "none timed out"
	}
	if p.TimeoutMillis > 0 {
		return fmt.Sprintf("> %s: %d of %d", fmtMillis(p.TimeoutMillis), timedOut, events)
	}
	return fmt.Sprintf("%d of %d timed out", timedOut, events)
}

// Cell renders one percentile ("p50", "p99" or "max") of a first-correct
// distribution: a value, or "> 30 s" when censored events put it past the
// timeout.
func (p *PropagationResult) Cell(pc Percentiles, beyond []string, which string) string {
	for _, b := range beyond {
		if b == which {
			return "> " + fmtMillis(p.TimeoutMillis)
		}
	}
	v := map[string]float64{"p50": pc.P50, "p99": pc.P99, "max": pc.Max}[which]
	return fmt.Sprintf("%.1f", v)
}

func fmtMillis(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%g s", ms/1000)
	}
	return fmt.Sprintf("%g ms", ms)
}

// CensoredPercentiles are nearest-rank percentiles of len(xs)+censored
// values of which the censored ones are only known to be larger than every
// x. A percentile whose rank falls among the censored values is unknown:
// it is named in beyond and left 0. The mean is unknown when anything is
// censored.
func CensoredPercentiles(xs []float64, censored int) (Percentiles, []string) {
	n := len(xs) + censored
	if n == 0 {
		return Percentiles{}, nil
	}
	slices.Sort(xs)
	var beyond []string
	q := func(name string, p float64) float64 {
		rank := max(int(math.Ceil(p*float64(n))), 1)
		if rank > len(xs) {
			beyond = append(beyond, name)
			return 0
		}
		return xs[rank-1]
	}
	pc := Percentiles{P50: q("p50", 0.5), P90: q("p90", 0.9), P99: q("p99", 0.99), P999: q("p999", 0.999), Max: q("max", 1)}
	if censored == 0 && len(xs) > 0 {
		sum := 0.0
		for _, x := range xs {
			sum += x
		}
		pc.Mean = sum / float64(len(xs))
	} else {
		beyond = append(beyond, "mean")
	}
	return pc, beyond
}

// CensoredView returns pr with timed-out events censored: pr itself for a
// schema-2 result, or, for a version 1 result (which counted a timeout at
// its timeout value), percentiles recomputed from its samples with the
// timed-out ones censored at the longest wait seen.
func (pr *PropagationResult) CensoredView() *PropagationResult {
	if pr == nil || pr.Censored || pr.TimedOut == 0 || len(pr.Samples) == 0 {
		return pr
	}
	c := *pr
	c.Censored = true
	var xs []float64
	censored := 0
	for _, ev := range pr.Samples {
		if ev.TimedOut {
			censored++
			c.TimeoutMillis = math.Max(c.TimeoutMillis, ev.FirstCorrectMillis)
			continue
		}
		xs = append(xs, ev.FirstCorrectMillis)
	}
	c.TimeoutMillis = math.Floor(c.TimeoutMillis/1000) * 1000 // the wait ends just past the timeout
	c.FirstCorrectMillis, c.BeyondTimeout = CensoredPercentiles(xs, censored)
	return &c
}
