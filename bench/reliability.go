package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/reports"
)

// Reliability scenarios: churn at scale (reliability_churn.go), graceful
// shutdown under load (drain) and leader failover under load
// (reliability_failover.go). Each keeps a constant load on routes that stay
// correct throughout, so every failed request is one that should have
// succeeded; the rate is half the proxied maximum single-route measured in
// the same run, else Options.ReliabilityRPS, at most
// Options.ReliabilityMaxRPS.

func reliabilityScenarios() []Scenario {
	return []Scenario{
		{Name: "churn-scale", Kind: reports.BenchKindReliability, Run: runChurnScale,
			Description: "Ingress, Service, EndpointSlice and Secret changes one after another (1,000; quick 40), each timed from its API write to the first correct answer over HTTP, while stable routes carry a constant load (50 % of the measured maximum, bounded): errors, misroutes, time to ready per kind"},
		{Name: "drain", Kind: reports.BenchKindReliability, Run: runDrain,
			Description: "SIGTERM to the controller while a constant load of slow requests (100 ms at the backend) flows: requests in flight at the signal and how many failed, time to exit, then time to serve again after a restart; repeated"},
		{Name: "failover", Kind: reports.BenchKindReliability, Run: runFailover,
			Description: "two replicas with leader election, load on the follower, the leader killed (SIGKILL): errors on the survivor and the time until the new leader writes the status of an Ingress created after the kill (not in --quick: it waits for the lease to expire)"},
	}
}

// skipError makes the runner record a scenario as skipped, with the reason.
type skipError struct{ reason string }

func (s *skipError) Error() string { return "skipped: " + s.reason }

const (
	stableHost    = "stable.rel.bench.test"
	stableService = "rel-stable"
	// defaultReliabilityRPS and defaultReliabilityMaxRPS are the defaults
	// of Options.ReliabilityRPS and ReliabilityMaxRPS.
	defaultReliabilityRPS    = 1000
	defaultReliabilityMaxRPS = 2000
	// loadChunk is the length of one load window; the load runs in
	// consecutive windows until the scenario's changes are done.
	loadChunk = 2 * time.Second
)

// reliabilityRate is the constant load of a reliability scenario and where
// it comes from.
func (e *Env) reliabilityRate() (float64, string) {
	o := e.Opts
	maxRPS := o.ReliabilityMaxRPS
	if maxRPS <= 0 {
		maxRPS = defaultReliabilityMaxRPS
	}
	if e.proxiedMaxRPS > 0 {
		basis := fmt.Sprintf("50 %% of the single-route proxied maximum measured in this run (%.0f rps)", e.proxiedMaxRPS)
		if r := e.proxiedMaxRPS / 2; r <= maxRPS {
			return r, basis
		}
		return maxRPS, fmt.Sprintf("%s, bounded at %.0f rps", basis, maxRPS)
	}
	r := o.ReliabilityRPS
	if r <= 0 {
		r = defaultReliabilityRPS
	}
	return min(r, maxRPS), "configured rate (single-route did not run before)"
}

// stableTraffic publishes (once) the stable route and returns traffic to it
// through dial, after the route answers there. path is the request path
// (the echo controls apply, e.g. "/x?delay=100ms").
func (e *Env) stableTraffic(ctx context.Context, dial, path string) (*Traffic, error) {
	if _, err := e.backend(ctx, stableService, 2); err != nil {
		return nil, err
	}
	if err := e.apply(ctx, e.ingress(stableService, []rule{{Host: stableHost, Paths: []pathBackend{{"/", stableService}}}}, "")); err != nil {
		return nil, err
	}
	if err := checkDial(ctx, e.guard, dial); err != nil {
		return nil, err
	}
	if err := e.waitRoute(ctx, newProber(dial, nil, 2*time.Second), "http://"+stableHost+"/ready", stableService, 3, 30*time.Second); err != nil {
		return nil, err
	}
	return &Traffic{Name: "stable", Via: "controller", Dial: dial, KeepAlive: true,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://" + stableHost + path}}, Expect: []string{stableService}}, nil
}

// tally accumulates the results of consecutive load windows.
type tally struct {
	mu                           sync.Mutex
	lat                          []float64
	requests, errs, non2xx, miss int64
	duration                     time.Duration
	valid                        bool
	invalid                      []string
	samples                      []string
	// each, when set, sees every result too.
	each func(r *vegeta.Result, class outcome)
}

func newTally() *tally { return &tally{valid: true} }

func (t *tally) observe(r *vegeta.Result, _ time.Duration, class outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.requests++
	t.lat = append(t.lat, float64(r.Latency)/1e3)
	switch class {
	case outcomeError:
		t.errs++
	case outcomeNon2xx:
		t.non2xx++
	case outcomeMisroute:
		t.miss++
	}
	if t.each != nil {
		t.each(r, class)
	}
}

func (t *tally) window(st reports.StepResult, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.duration += d
	if !st.Valid {
		t.valid = false
		t.invalid = append(t.invalid, st.InvalidReason)
	}
	for _, s := range st.ErrorSamples {
		if len(t.samples) < 5 {
			t.samples = append(t.samples, s)
		}
	}
}

func (t *tally) result(rate float64, basis string) reports.StableTraffic {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := reports.StableTraffic{RateRPS: rate, RateBasis: basis, DurationSeconds: t.duration.Seconds(), Requests: t.requests, Errors: t.errs,
		Non2xx: t.non2xx, Misroutes: t.miss, Latency: percentiles(t.lat), Valid: t.valid, ErrorSamples: t.samples}
	if !t.valid {
		st.InvalidReason = strings.Join(compactStrings(t.invalid), "; ")
	}
	return st
}

func compactStrings(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// loadUntil keeps t at rate in consecutive windows of loadChunk until done
// is closed (the window running then ends normally) or ctx ends.
func (e *Env) loadUntil(ctx context.Context, t *Traffic, rate float64, tl *tally, phase string, done <-chan struct{}) error {
	defer t.closeIdle()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		st, err := e.window(ctx, t, stepConfig{Rate: rate, Duration: loadChunk, Phase: phase, OnResult: tl.observe, NoRepeat: true})
		if err != nil {
			return err
		}
		tl.window(st, loadChunk)
	}
}

// reliabilityGoals are the reference controller's reliability goals: no
// failed request on stable routes under churn and failover, none of the
// requests in flight at SIGTERM lost, status written after a failover. The
// scenarios report these as measurements (status ok); the goals judge them.
func reliabilityGoals(r *reports.BenchReport) []reports.GoalResult {
	var g []reports.GoalResult
	rel := func(name string) *reports.ReliabilityResult {
		if s := r.Scenario(name); s != nil {
			return s.Reliability
		}
		return nil
	}
	if x := rel("churn-scale"); x != nil && x.ChurnScale != nil {
		c := x.ChurnScale
		bad := c.Traffic.Failed()
		g = append(g, reports.GoalResult{Name: "churn-scale failed requests on stable routes", Target: "0", Value: float64(bad),
			Measured: fmt.Sprintf("%d of %d during %d changes (ready p99 %.0f ms, %d timed out)", bad, c.Traffic.Requests, c.Changes, c.All.ReadyMillis.P99, c.All.TimedOut),
			Met:      bad == 0 && c.All.TimedOut == 0})
	}
	if x := rel("drain"); x != nil && x.Drain != nil {
		d := x.Drain
		g = append(g, reports.GoalResult{Name: "drain: in-flight requests failed at SIGTERM", Target: "0", Value: float64(d.InFlightFailed),
			Measured: fmt.Sprintf("%d of %.0f..%.0f in flight over %d runs; exit %.0f ms (median)", d.InFlightFailed, d.InFlight.Min, d.InFlight.Max, len(d.Runs), d.ExitMillis.Median),
			Met:      d.InFlightFailed == 0})
	}
	if x := rel("failover"); x != nil && x.Failover != nil {
		f := x.Failover
		g = append(g, reports.GoalResult{Name: "failover: survivor errors, status written", Target: "0, yes", Value: float64(f.Traffic.Failed()),
			Measured: fmt.Sprintf("%d of %d failed; status written %t after %.0f ms", f.Traffic.Failed(), f.Traffic.Requests, f.StatusWritten, f.StatusMillis),
			Met:      f.Traffic.Failed() == 0 && f.StatusWritten})
	}
	return g
}
