package bench

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/ingresslab/ingresslab/reports"
)

// ClosedMeasure runs one closed-loop window with n connections. The
// result's ThroughputRPS (successful responses per second) is the rate.
type ClosedMeasure func(ctx context.Context, connections int) (reports.StepResult, error)

// SaturationOptions bound one closed-loop search.
type SaturationOptions struct {
	// Connections is the sweep, ascending; the last is the configured
	// maximum: throughput still rising there is a ceiling, not a maximum.
	Connections []int
	// Plateau: a window that adds less than this share to the best
	// throughput so far is flat. Default 0.05.
	Plateau float64
	// Patience ends a sweep after this many flat windows in a row. Default
	// 2: one 2-second window is a noisy sample, and a target whose
	// throughput rises slowly at low connection counts (a proxy that is
	// already efficient with few connections) must not be cut off at its
	// first flat step while a steeper one sweeps on (observed: the
	// reference stopped at 16 connections with 16.2k rps in one
	// repetition and reached 20.6k at 64 in another).
	Patience int
	// Repetitions of the sweep. Default 1.
	Repetitions int
	// GeneratorMaxRPS is the generator's own maximum on this machine (0:
	// unknown); a median within GeneratorMargin (default 0.15) of it is
	// generator-bound.
	GeneratorMaxRPS, GeneratorMargin float64
}

// The sweep's stopping rule by default (SaturationOptions).
const (
	defaultPlateau  = 0.05
	defaultPatience = 2
)

// FindSaturation sweeps connection counts, Repetitions times, and returns
// the closed-loop maximum with how it was obtained. A sweep ends after
// Patience flat windows in a row (each adding < Plateau to the best so
// far: a plateau or past the peak), or when a window fails (errors or
// misroutes beyond the SLO: the target is overloaded, the best passing
// window is its maximum). A sweep that ends because the
// connection list ran out while throughput was still rising is capped by
// the configured maximum; a maximum close to the generator's own is capped
// by the generator. A capped maximum is a lower bound ("≥ N") and the
// reports never turn it into a ratio. Pure apart from measure.
func FindSaturation(ctx context.Context, o SaturationOptions, measure ClosedMeasure) (reports.Saturation, error) {
	if err := o.check(); err != nil {
		return reports.Saturation{Method: "closed-loop"}, err
	}
	var sweeps []reports.ClosedLoopSweep
	for rep := 1; rep <= o.Repetitions; rep++ {
		sw, err := sweepOnce(ctx, o, rep, measure)
		if err != nil {
			return reports.Saturation{Method: "closed-loop", Sweeps: sweeps}, err
		}
		sweeps = append(sweeps, sw)
	}
	return concludeSaturation(o, sweeps), nil
}

// check validates o and fills its defaults.
func (o *SaturationOptions) check() error {
	if len(o.Connections) == 0 || !slices.IsSorted(o.Connections) || o.Connections[0] <= 0 {
		return fmt.Errorf("saturation: connections %v must be positive and ascending", o.Connections)
	}
	if o.Plateau <= 0 {
		o.Plateau = defaultPlateau
	}
	if o.Repetitions <= 0 {
		o.Repetitions = 1
	}
	if o.Patience <= 0 {
		o.Patience = defaultPatience
	}
	if o.GeneratorMargin <= 0 {
		o.GeneratorMargin = 0.15
	}
	return nil
}

// sweepOnce is one repetition of the connection sweep (o checked). The
// sweep is capped by its configured maximum when the last window still
// added at least Plateau (throughput rising where the sweep ran out).
func sweepOnce(ctx context.Context, o SaturationOptions, rep int, measure ClosedMeasure) (reports.ClosedLoopSweep, error) {
	sw := reports.ClosedLoopSweep{Repetition: rep}
	flat := 0
	for _, n := range o.Connections {
		if err := ctx.Err(); err != nil {
			return sw, err
		}
		st, err := measure(ctx, n)
		if err != nil {
			return sw, fmt.Errorf("closed loop with %d connections: %w", n, err)
		}
		st.Connections = n
		sw.Points = append(sw.Points, st)
		if !st.Valid || !st.PassSLO {
			return sw, nil // overloaded: the best passing window stands
		}
		tp := st.ThroughputRPS
		rising := sw.MaxRPS <= 0 || tp > sw.MaxRPS*(1+o.Plateau)
		if tp > sw.MaxRPS {
			sw.MaxRPS, sw.Connections = tp, n
		}
		if rising {
			flat = 0
			continue
		}
		if flat++; flat >= o.Patience {
			return sw, nil // plateau or past the peak
		}
	}
	if flat == 0 {
		sw.Ceiling = reports.CeilingConfigured
	}
	return sw, nil
}

// concludeSaturation summarises sweeps (o checked): the median maximum and
// its ceiling, if any.
//
// A repetition still rising at the last connection count gives a lower
// bound, not a value (a right-censored sample). The median of the
// repetitions is still exact when every such repetition ranks above the
// median's position: a censored value can only be larger than recorded,
// which cannot change the order statistics below it. Only when a censored
// repetition ranks at or below the median (for an even count, at or below
// the upper middle) is the median a lower bound, and the maximum capped.
func concludeSaturation(o SaturationOptions, sweeps []reports.ClosedLoopSweep) reports.Saturation {
	sat := reports.Saturation{Method: "closed-loop", Sweeps: sweeps}
	type sample struct {
		rps      float64
		censored bool
	}
	var samples []sample
	var maxes []float64
	configured := 0
	for _, sw := range sweeps {
		if sw.MaxRPS > 0 {
			maxes = append(maxes, sw.MaxRPS)
			samples = append(samples, sample{sw.MaxRPS, sw.Ceiling == reports.CeilingConfigured})
			if sw.Ceiling == reports.CeilingConfigured {
				configured++
			}
		}
	}
	// Ascending; at equal values a censored sample ranks higher (its true
	// value is at least as large).
	slices.SortFunc(samples, func(a, b sample) int {
		if c := cmp.Compare(a.rps, b.rps); c != 0 {
			return c
		}
		return cmp.Compare(boolRank(a.censored), boolRank(b.censored))
	})
	medianCensored := false
	for i, smp := range samples {
		if smp.censored && i <= len(samples)/2 {
			medianCensored = true
		}
	}
	sat.MaxRPS = reports.NewStat(maxes)
	last := o.Connections[len(o.Connections)-1]
	switch {
	case sat.MaxRPS.N == 0:
		// Nothing passed: no maximum (and no ceiling to claim).
	case o.GeneratorMaxRPS > 0 && sat.MaxRPS.Median >= (1-o.GeneratorMargin)*o.GeneratorMaxRPS:
		sat.Ceiling = reports.CeilingGenerator
		sat.CeilingReason = fmt.Sprintf("%.0f rps is within %.0f %% of the load generator's own %.0f rps on this machine", sat.MaxRPS.Median, o.GeneratorMargin*100, o.GeneratorMaxRPS)
	case medianCensored:
		sat.Ceiling = reports.CeilingConfigured
		sat.CeilingReason = fmt.Sprintf("%d of %d repetitions: throughput still rising at %d connections (the sweep's maximum), at or below the median", configured, len(samples), last)
	case configured > 0:
		sat.Note = fmt.Sprintf("%d of %d repetitions still rising at %d connections (a lower bound each), all above the median: the median is exact", configured, len(samples), last)
	}
	return sat
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// summarizePoint summarises the windows of one load fraction.
func summarizePoint(fraction, rate float64, windows []reports.StepResult) reports.LoadPoint {
	pt := reports.LoadPoint{Fraction: fraction, RateRPS: rate, Windows: windows, PassSLO: len(windows) > 0}
	var p50, p99, p999, ctrl, backend, perCore []float64
	for _, w := range windows {
		if !w.Valid {
			pt.PassSLO = false
			continue
		}
		if !w.PassSLO {
			pt.PassSLO = false
		}
		p50, p99, p999 = append(p50, w.Latency.P50), append(p99, w.Latency.P99), append(p999, w.Latency.P999)
		if w.CPU != nil && w.Requests > 0 {
			if w.CPU.ControllerMicros > 0 {
				c := w.CPU.ControllerMicros / float64(w.Requests)
				ctrl = append(ctrl, c)
				perCore = append(perCore, 1e6/c)
			}
			if w.CPU.BackendMicrosEstimate > 0 {
				backend = append(backend, w.CPU.BackendMicrosEstimate/float64(w.Requests))
			}
		}
	}
	pt.P50Micros, pt.P99Micros, pt.P999Micros = reports.NewStat(p50), reports.NewStat(p99), reports.NewStat(p999)
	pt.ControllerCPUMicrosPerRequest, pt.BackendCPUMicrosPerRequest, pt.RPSPerCore = reports.NewStat(ctrl), reports.NewStat(backend), reports.NewStat(perCore)
	return pt
}

// cpuAtHighestPassing is the controller CPU per request at the highest
// load fraction that met the SLO (0 when none did).
func cpuAtHighestPassing(points []reports.LoadPoint) (cpu float64, at *reports.LoadPoint) {
	for i := range points {
		p := &points[i]
		if p.PassSLO && p.ControllerCPUMicrosPerRequest.N > 0 && (at == nil || p.Fraction > at.Fraction) {
			at = p
		}
	}
	if at == nil {
		return 0, nil
	}
	return at.ControllerCPUMicrosPerRequest.Median, at
}
