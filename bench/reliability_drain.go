package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/reports"
)

// drainRequestDelay is how long the backend holds each drain request, so
// that about rate × delay requests are in flight at the signal.
const drainRequestDelay = 100 * time.Millisecond

// drainBeforeSignal is the load before SIGTERM; drainAfterSignal the load
// after it (requests then meet a closed listener: they are counted apart).
const (
	drainBeforeSignal = 1 * time.Second
	drainAfterSignal  = 1500 * time.Millisecond
)

func runDrain(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	rate, _ := e.reliabilityRate()
	t, err := e.stableTraffic(ctx, e.Ctrl.HTTPAddr, fmt.Sprintf("/drain?delay=%s", drainRequestDelay))
	if err != nil {
		return nil, err
	}
	res := &reports.DrainResult{RateRPS: rate, RequestMillis: float64(drainRequestDelay) / 1e6, ShutdownTimeout: flagValue(e.Ctrl.Flags(), "--shutdown-timeout")}
	var inFlight, exitMs []float64
	for rep := 1; rep <= e.Opts.Repetitions; rep++ {
		run, err := e.drainOnce(ctx, t, rate)
		if err != nil {
			return nil, fmt.Errorf("drain run %d: %w", rep, err)
		}
		e.Progressf("drain run %d: %d in flight at SIGTERM, %d failed; %d queued before it and refused at connect; %d sent after it (%d served); exit after %.0f ms (killed: %t); restart: ready %.0f ms, serving %.0f ms",
			rep, run.InFlight, run.InFlightFailed, run.RefusedAtConnect, run.After, run.AfterServed, run.ExitMillis, run.Killed, run.RestartReadyMillis, run.RestartServingMillis)
		res.Runs = append(res.Runs, run)
		res.InFlightFailed += run.InFlightFailed
		inFlight = append(inFlight, float64(run.InFlight))
		exitMs = append(exitMs, run.ExitMillis)
	}
	res.InFlight, res.ExitMillis = reports.NewStat(inFlight), reports.NewStat(exitMs)
	// Lost requests are the controller's result, judged by the goals
	// (reliabilityGoals), not a failure of the measurement.
	return &reports.BenchScenario{Reliability: &reports.ReliabilityResult{Drain: res}}, nil
}

// drainOnce sends SIGTERM during a constant load, waits for the exit,
// classifies every request by when it was sent, and starts the controller
// again.
func (e *Env) drainOnce(ctx context.Context, t *Traffic, rate float64) (reports.DrainRun, error) {
	var run reports.DrainRun
	var mu sync.Mutex
	var signalAt time.Time
	var results []drainSample
	tl := newTally()
	tl.each = func(r *vegeta.Result, class outcome) {
		ds := drainSample{start: r.Timestamp, end: r.Timestamp.Add(r.Latency), ok: class == outcomeOK, refused: refusedAtConnect(r)}
		if !ds.ok {
			ds.desc = fmt.Sprintf("%s (sent %s, answered %s)", describe(r, class), r.Timestamp.Format("15:04:05.000"), ds.end.Format("15:04:05.000"))
		}
		results = append(results, ds)
	}
	type exit struct {
		err error
		at  time.Time
	}
	exited := make(chan exit, 1)
	timer := time.AfterFunc(drainBeforeSignal, func() {
		mu.Lock()
		signalAt = time.Now()
		mu.Unlock()
		err := e.Ctrl.Stop(ctx) // SIGTERM; SIGKILL after 30 s
		exited <- exit{err, time.Now()}
	})
	defer timer.Stop()
	_, err := e.window(ctx, t, stepConfig{Rate: rate, Duration: drainBeforeSignal + drainAfterSignal, Phase: "drain", OnResult: tl.observe, NoRepeat: true})
	t.closeIdle()
	ex := <-exited
	if err != nil {
		return run, err
	}
	mu.Lock()
	sig := signalAt
	mu.Unlock()
	run.ExitMillis = float64(ex.at.Sub(sig)) / 1e6
	run.SignalAt = sig.UTC().Format("15:04:05.000")
	if ex.err != nil {
		run.Killed = true
	}
	tl.mu.Lock()
	classifyDrain(&run, results, sig)
	tl.mu.Unlock()
	restart := time.Now()
	if err := e.Ctrl.Start(ctx); err != nil {
		return run, fmt.Errorf("restart after SIGTERM: %w", err)
	}
	run.RestartReadyMillis = float64(time.Since(restart)) / 1e6
	if err := e.waitRoute(ctx, newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second), "http://"+stableHost+"/ready", stableService, 1, 30*time.Second); err != nil {
		return run, fmt.Errorf("after the restart: %w", err)
	}
	run.RestartServingMillis = float64(time.Since(restart)) / 1e6
	return run, nil
}

// classifyDrain counts results into run by when each was sent and
// answered relative to the signal sig.
func classifyDrain(run *reports.DrainRun, results []drainSample, sig time.Time) {
	for _, r := range results {
		switch {
		case !r.start.Before(sig):
			run.After++
			if r.ok {
				run.AfterServed++
			}
		case !r.end.Before(sig) && r.refused:
			// Queued in the generator before the signal, dialled after the
			// listener closed: never reached the controller.
			run.RefusedAtConnect++
		case !r.end.Before(sig):
			run.InFlight++
			if !r.ok {
				run.InFlightFailed++
				if len(run.FailedSamples) < 3 {
					run.FailedSamples = append(run.FailedSamples, r.desc)
				}
			}
		}
	}
}

type drainSample struct {
	start, end time.Time
	ok         bool
	refused    bool   // refused at connect: see refusedAtConnect
	desc       string // a failure
}

// refusedAtConnect reports whether r failed because its connection was
// refused: the request never reached the controller. A generator on a
// loaded machine may time-stamp a request before SIGTERM and dial it
// after the controller closed its listener; such a request was never in
// flight at the controller, and counting it as a drained request lost
// (as the first drain runs did) blames the controller for the generator's
// queue.
func refusedAtConnect(r *vegeta.Result) bool {
	return r.Code == 0 && strings.Contains(r.Error, "connect: connection refused")
}

// flagValue returns the value of --name=value in flags ("" when absent).
func flagValue(flags []string, name string) string {
	for i, f := range flags {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
		if f == name && i+1 < len(flags) {
			return flags[i+1]
		}
	}
	return ""
}
