package bench

import (
	"context"
	"fmt"

	"github.com/ingresslab/ingresslab/reports"
)

// Measure runs one open-loop step at rate and reports it; phase is "step"
// or "bisect". It must set Valid and PassSLO.
type Measure func(ctx context.Context, rate float64, phase string) (reports.StepResult, error)

// SearchOptions bound one rate search.
type SearchOptions struct {
	// StartRPS is the first rate; each step multiplies it by Factor.
	StartRPS, Factor float64
	// MaxRPS caps the rate; reaching it ends the stepped phase.
	MaxRPS float64
	// MaxSteps bounds the stepped phase; Bisections the bisection phase.
	MaxSteps, Bisections int
	// Resolution stops bisection early once (hi-lo)/hi is below it.
	// Default 0.03.
	Resolution float64
	// Retries is how many invalid steps (a disturbed measurement, not an
	// SLO failure) are measured once more at the same rate, per search.
	// Default 0.
	Retries int
}

// SearchMaxRate finds the highest rate that is valid and meets the SLO:
// open-loop steps from StartRPS growing by Factor until one fails (or
// MaxRPS/MaxSteps is reached), then bisection between the last passing and
// the first failing rate. An invalid step counts as failing: a rate that
// cannot be measured honestly is not claimed. The number of measurements is
// at most MaxSteps + Bisections + Retries. It is pure apart from measure.
func SearchMaxRate(ctx context.Context, o SearchOptions, measure Measure) (reports.RateSearch, error) {
	var s reports.RateSearch
	if o.StartRPS <= 0 || o.Factor <= 1 || o.MaxRPS < o.StartRPS || o.MaxSteps <= 0 || o.Bisections < 0 {
		return s, fmt.Errorf("rate search: invalid options %+v", o)
	}
	if o.Resolution <= 0 {
		o.Resolution = 0.03
	}
	lo, hi := 0.0, 0.0
	rate := o.StartRPS
	retries := o.Retries
	// try measures rate, once more when the step is invalid and a retry
	// is left; it reports whether the rate is sustainable.
	try := func(rate float64, phase string) (bool, error) {
		for {
			st, err := measure(ctx, rate, phase)
			if err != nil {
				return false, fmt.Errorf("rate search at %.0f rps: %w", rate, err)
			}
			s.Steps = append(s.Steps, st)
			if st.Valid || retries <= 0 {
				return st.Valid && st.PassSLO, nil
			}
			retries--
			phase = "retry"
		}
	}
	for i := 0; i < o.MaxSteps; i++ {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		ok, err := try(rate, "step")
		if err != nil {
			return s, err
		}
		if !ok {
			hi = rate
			break
		}
		lo = rate
		if rate >= o.MaxRPS {
			break
		}
		rate = min(rate*o.Factor, o.MaxRPS)
	}
	s.Bounded = hi > 0
	for i := 0; i < o.Bisections && hi > 0 && (hi-lo)/hi > o.Resolution; i++ {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		mid := (lo + hi) / 2
		ok, err := try(mid, "bisect")
		if err != nil {
			return s, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	s.MaxSustainableRPS = lo
	return s, nil
}

// passingStep returns the step measured at the search's result rate.
func passingStep(s reports.RateSearch) (reports.StepResult, bool) {
	for _, st := range s.Steps {
		if st.OfferedRPS == s.MaxSustainableRPS && st.Valid && st.PassSLO {
			return st, true
		}
	}
	return reports.StepResult{}, false
}
