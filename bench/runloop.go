package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/reports"
)

// newRun starts the report and the scenarios' environment (every provider).
func newRun(o Options, prof *profile.Profile, scenarios []Scenario) (*reports.BenchReport, *Env) {
	began := time.Now()
	rep := &reports.BenchReport{
		Command: o.Command, Started: began, Quick: o.Quick, Provider: o.Provider, Machine: Fingerprint(),
		Controller: reports.BenchController{Name: prof.Name, Version: versionOf(prof), Profile: prof.Source},
		Settings: reports.BenchSettings{SLO: o.SLO, Gates: o.Gates, Repetitions: o.Repetitions,
			Connections: o.Connections, ClosedLoopMillis: o.ClosedLoopDuration.Milliseconds(), Fractions: o.Fractions, SecondaryFractions: o.SecondaryFractions,
			WindowMillis: o.WindowDuration.Milliseconds(), GeneratorBoundMargin: o.GeneratorMargin, NoiseMaxExternalCores: o.NoiseMaxExternalCores,
			NoiseRetries: o.NoiseRetries, PropagationTimeoutMillis: o.PropagationTimeout.Milliseconds(), ChurnPhaseMillis: churnPhase(o).Milliseconds(),
			CPUPinning: o.CPUPinning, SameRatePairs: sameRatePairs(o), BackendProcesses: o.BackendProcesses},
	}
	e := &Env{Opts: o, Profile: prof, began: began, out: o.Out, selected: map[string]bool{}, published: map[string]*cluster.Backend{}}
	e.noise.retries = o.NoiseRetries
	for _, s := range scenarios {
		e.selected[s.Name] = true
	}
	return rep, e
}

// runScenarios runs the scenarios in order and appends their results to
// rep. A scenario the provider cannot run is recorded as skipped with the
// reason (see Env.unsupported). after, when set, checks the controller
// after each scenario that ran (it may fail the scenario, or end the run
// with an error).
func (e *Env) runScenarios(ctx context.Context, rep *reports.BenchReport, scenarios []Scenario, after func(name string, res *reports.BenchScenario) error) error {
	deferred := -1
	// The direct series is measured with single-route's (paired); it fills
	// the deferred direct scenario at the end, interrupted or not.
	defer func() {
		if deferred >= 0 && e.pairedDirect != nil {
			s := &rep.Scenarios[deferred]
			s.Status, s.Error = reports.BenchOK, ""
			s.Load = &reports.LoadResult{Series: []reports.LoadSeries{*e.pairedDirect}}
			if sr := rep.Scenario("single-route"); sr != nil {
				s.DurationSeconds = sr.DurationSeconds / 2
			}
		} else if deferred >= 0 && rep.Interrupted != "" {
			rep.Scenarios[deferred].Error = "not measured: the run was interrupted before single-route finished"
		}
	}()
	for i, s := range scenarios {
		if err := ctx.Err(); err != nil {
			interrupted(ctx, rep, scenarios[i:], "before scenario "+s.Name)
			return err
		}
		if why := e.unsupported(s.Name); why != "" {
			e.Progressf("scenario %s skipped: %s", s.Name, why)
			rep.Scenarios = append(rep.Scenarios, reports.BenchScenario{Name: s.Name, Description: s.Description, Kind: s.Kind, Status: reports.BenchSkipped, Error: why})
			continue
		}
		e.Progressf("scenario %s: %s", s.Name, s.Description)
		t0 := time.Now()
		res, err := s.Run(ctx, e)
		if skip := (*skipError)(nil); errors.As(err, &skip) {
			e.Progressf("scenario %s skipped: %s", s.Name, skip.reason)
			rep.Scenarios = append(rep.Scenarios, reports.BenchScenario{Name: s.Name, Description: s.Description, Kind: s.Kind, Status: reports.BenchSkipped, Error: skip.reason})
			continue
		}
		if errors.Is(err, errDeferred) {
			deferred = len(rep.Scenarios)
			rep.Scenarios = append(rep.Scenarios, reports.BenchScenario{Name: s.Name, Description: s.Description, Kind: s.Kind, Status: reports.BenchSkipped})
			continue
		}
		if res == nil {
			res = &reports.BenchScenario{}
		}
		res.Name, res.Description, res.Kind, res.DurationSeconds = s.Name, s.Description, s.Kind, time.Since(t0).Seconds()
		res.Status = reports.BenchOK
		if err != nil {
			res.Status, res.Error = reports.BenchFailed, err.Error()
			res.Load, res.Propagation, res.Churn, res.Scale, res.Reliability = nil, nil, nil, nil, nil
			if ctx.Err() != nil {
				res.Error = fmt.Sprintf("interrupted after %.0f s: %v", res.DurationSeconds, err)
				rep.Scenarios = append(rep.Scenarios, *res)
				interrupted(ctx, rep, scenarios[i+1:], "during scenario "+s.Name)
				return ctx.Err()
			}
			e.Progressf("scenario %s FAILED: %v", s.Name, err)
		}
		if after != nil {
			if err := after(s.Name, res); err != nil {
				return err
			}
		}
		rep.Scenarios = append(rep.Scenarios, *res)
	}
	return nil
}

// interrupted records in rep that ctx ended the run at where, and lists the
// scenarios that did not run as skipped, so the report of an interrupted
// run still names every selected scenario.
func interrupted(ctx context.Context, rep *reports.BenchReport, notRun []Scenario, where string) {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	rep.Interrupted = fmt.Sprintf("%v, %s", cause, where)
	for _, s := range notRun {
		rep.Scenarios = append(rep.Scenarios, reports.BenchScenario{Name: s.Name, Description: s.Description, Kind: s.Kind, Status: reports.BenchSkipped,
			Error: "not run: the run was interrupted"})
	}
}
