package agent

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ingresslab/ingresslab/reports"
)

// Merged is one window measured by N generators, merged.
type Merged struct {
	// Step is the window as one result: counts and rates added, latency
	// and lag percentiles from the merged histograms, every generator's
	// part in Step.Generators, Valid/InvalidReason from the gates per
	// generator and overall. The SLO is left to the caller.
	Step reports.StepResult
	// Latency and Lag are the merged histograms (microseconds).
	Latency, Lag *hdrhistogram.Histogram
}

// Merge merges the results of one window from generators 0..n-1 (exactly
// one each) and applies the gates: each generator's achieved/offered rate
// and lag p99, and its start skew (at most the lag bound), then the same
// gates on the merged window.
func Merge(rs []Result, n int, g reports.Gates) (*Merged, error) {
	if n < 1 || len(rs) != n {
		return nil, fmt.Errorf("merge: %d results for %d generators", len(rs), n)
	}
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Result) int { return a.Generator - b.Generator })
	var errs []error
	for i, r := range rs {
		if r.Generator != i {
			errs = append(errs, fmt.Errorf("generator %d: missing (results are from generators %v)", i, generatorIndexes(rs)))
			break
		}
		if r.Window != rs[0].Window {
			errs = append(errs, fmt.Errorf("generator %d: result of window %d, not %d", i, r.Window, rs[0].Window))
		}
		if r.Failure != "" {
			errs = append(errs, fmt.Errorf("generator %d (pod %s): %s", i, r.Pod, r.Failure))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("merge window %d: %w", rs[0].Window, err)
	}
	m := &Merged{Latency: NewHistogram(), Lag: NewHistogram()}
	st := &m.Step
	st.Phase = rs[0].Phase
	st.DurationMillis = rs[0].DurationMillis
	st.StatusCodes = map[string]int64{}
	closed := rs[0].Workers > 0
	var ok int64
	for _, r := range rs {
		lat, err := DecodeHistogram(r.Latency)
		if err != nil {
			return nil, fmt.Errorf("merge window %d: generator %d latency: %w", r.Window, r.Generator, err)
		}
		lag, err := DecodeHistogram(r.Lag)
		if err != nil {
			return nil, fmt.Errorf("merge window %d: generator %d lag: %w", r.Window, r.Generator, err)
		}
		if lat.TotalCount() != r.Requests {
			return nil, fmt.Errorf("merge window %d: generator %d: latency histogram counts %d values for %d requests", r.Window, r.Generator, lat.TotalCount(), r.Requests)
		}
		m.Latency.Merge(lat)
		m.Lag.Merge(lag)
		st.Requests += r.Requests
		ok += r.OK
		st.Errors += r.Errors
		st.Non2xx += r.Non2xx
		st.Misroutes += r.Misroutes
		st.OfferedRPS += r.OfferedRPS
		st.Connections += r.Workers
		for k, v := range r.StatusCodes {
			st.StatusCodes[k] += v
		}
		for _, s := range r.ErrorSamples {
			if len(st.ErrorSamples) < 5 && !slices.Contains(st.ErrorSamples, s) {
				st.ErrorSamples = append(st.ErrorSamples, s)
			}
		}
		if r.ElapsedNanos > 0 {
			st.ThroughputRPS += float64(r.OK) / time.Duration(r.ElapsedNanos).Seconds()
		}
		gw := reports.GeneratorWindow{Index: r.Generator, Pod: r.Pod, Node: r.Node, OfferedRPS: r.OfferedRPS, Workers: r.Workers,
			Requests: r.Requests, LagP99Micros: float64(lag.ValueAtQuantile(99)), StartSkewMicros: float64(r.StartSkew().Microseconds())}
		if r.DurationMillis > 0 {
			gw.AchievedRPS = float64(r.Requests) / (float64(r.DurationMillis) / 1000)
		}
		gw.Valid, gw.InvalidReason = gate(r.Requests, gw.AchievedRPS, gw.OfferedRPS, gw.LagP99Micros, closed, g)
		if gw.Valid && gw.StartSkewMicros > g.MaxLagP99Micros {
			gw.Valid, gw.InvalidReason = false, fmt.Sprintf("began %.0f µs after the agreed start (> %.0f µs)", gw.StartSkewMicros, g.MaxLagP99Micros)
		}
		st.Generators = append(st.Generators, gw)
	}
	if len(st.StatusCodes) == 0 {
		st.StatusCodes = nil
	}
	if st.DurationMillis > 0 {
		st.AchievedRPS = float64(st.Requests) / (float64(st.DurationMillis) / 1000)
	}
	if st.Requests > 0 {
		st.SuccessRatio = float64(ok) / float64(st.Requests)
	}
	st.Latency = Percentiles(m.Latency)
	if !closed {
		st.Lag = Percentiles(m.Lag)
	}
	st.Valid, st.InvalidReason = gate(st.Requests, st.AchievedRPS, st.OfferedRPS, st.Lag.P99, closed, g)
	if st.Valid {
		var bad []string
		for _, gw := range st.Generators {
			if !gw.Valid {
				bad = append(bad, fmt.Sprintf("generator %d: %s", gw.Index, gw.InvalidReason))
			}
		}
		if len(bad) > 0 {
			st.Valid, st.InvalidReason = false, strings.Join(bad, "; ")
		}
	}
	return m, nil
}

// gate is the validity of a window (or one generator's part): requests
// measured, and open loop the achieved/offered rate and lag p99.
func gate(requests int64, achieved, offered, lagP99 float64, closed bool, g reports.Gates) (bool, string) {
	switch {
	case requests == 0:
		return false, "no requests"
	case closed:
		return true, ""
	case offered > 0 && achieved/offered < g.MinAchievedRatio:
		return false, fmt.Sprintf("achieved/offered %.3f < %.2f", achieved/offered, g.MinAchievedRatio)
	case lagP99 > g.MaxLagP99Micros:
		return false, fmt.Sprintf("generator lag p99 %.0f µs > %.0f µs", lagP99, g.MaxLagP99Micros)
	}
	return true, ""
}

func generatorIndexes(rs []Result) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Generator)
	}
	return out
}

// Percentiles of h (microseconds) as the report gives them; an empty
// histogram gives zeros.
func Percentiles(h *hdrhistogram.Histogram) reports.Percentiles {
	if h.TotalCount() == 0 {
		return reports.Percentiles{}
	}
	return reports.Percentiles{
		P50: float64(h.ValueAtQuantile(50)), P90: float64(h.ValueAtQuantile(90)), P99: float64(h.ValueAtQuantile(99)),
		P999: float64(h.ValueAtQuantile(99.9)), Max: float64(h.Max()), Mean: h.Mean(),
	}
}

// Spectrum is the latency of h at each percentile (0..100).
func Spectrum(h *hdrhistogram.Histogram, percentiles []float64) []reports.SpectrumPoint {
	out := make([]reports.SpectrumPoint, 0, len(percentiles))
	for _, p := range percentiles {
		out = append(out, reports.SpectrumPoint{Percentile: p, LatencyMicros: float64(h.ValueAtQuantile(p))})
	}
	return out
}

// ByWindow groups results by window index, sorted.
func ByWindow(rs []Result) map[int][]Result {
	out := map[int][]Result{}
	for _, r := range rs {
		out[r.Window] = append(out[r.Window], r)
	}
	for _, k := range slices.Sorted(maps.Keys(out)) {
		slices.SortFunc(out[k], func(a, b Result) int { return a.Generator - b.Generator })
	}
	return out
}
