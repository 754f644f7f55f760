package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/reports"
)

const churnHost = "churn.bench.test"

// terminationGrace is how long a terminating endpoint keeps serving after
// traffic showed the controller dropped it (or the wait for that timed
// out), before it stops: a pod's grace period.
const terminationGrace = 200 * time.Millisecond

// minPhaseRequests is the least traffic one churn phase carries.
const minPhaseRequests = 1000

// drainStreak is how many consecutive answers must avoid a terminating
// endpoint before it counts as drained ((2/3)^20 < 0.1 % with 3 endpoints
// if the controller still used it).
const drainStreak = 20

// drainedAnswer reports whether one answer through the controller shows
// churn-a's terminating endpoint (churn-a-2) gone: a correct answer from
// another endpoint of churn-a. A failed answer (a transport error, a 503
// while the controller reloads) says nothing about where traffic goes and
// does not count towards the streak: counted, it let the endpoint stop
// while the controller still sent to it.
func drainedAnswer(code int, service, pod string) bool {
	return code == http.StatusOK && service == "churn-a" && pod != "" && pod != "churn-a-2"
}

// churnTermination describes the protocol, for the report.
const churnTermination = "every controller the same: a change is applied when HTTP probes see it (new path answers 3 times from its backend, removed path 404 3 times, new endpoint answers, terminating endpoint absent from 20 consecutive correct answers from the others); the endpoint stops 200 ms after that, or after the timeout"

// churnPhase is the length of one churn phase: at least ChurnEvery and
// long enough for minPhaseRequests at ChurnRPS (5 % margin: phase starts
// and request timestamps are taken on different goroutines).
func churnPhase(o Options) time.Duration {
	need := time.Duration(math.Ceil(1.05 * minPhaseRequests / o.ChurnRPS * float64(time.Second)))
	return max(o.ChurnEvery, need)
}

func runChurn(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	a, err := e.backend(ctx, "churn-a", 2)
	if err != nil {
		return nil, err
	}
	if _, err := e.backend(ctx, "churn-b", 1); err != nil {
		return nil, err
	}
	base := []pathBackend{{"/a", "churn-a"}, {"/b", "churn-b"}}
	if err := e.apply(ctx, e.ingress("churn", []rule{{Host: churnHost, Paths: base}}, "")); err != nil {
		return nil, err
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	for _, pb := range base {
		if err := e.waitRoute(ctx, p, "http://"+churnHost+pb.Path+"/x", pb.Service, 3, 30*time.Second); err != nil {
			return nil, err
		}
	}
	if err := checkDial(ctx, e.guard, e.Ctrl.HTTPAddr); err != nil {
		return nil, err
	}
	// The load only asks for paths that exist throughout: every failure is
	// a request that should have succeeded.
	t := &Traffic{Name: "churn", Via: "controller", Dial: e.Ctrl.HTTPAddr, KeepAlive: true, PID: e.Ctrl.PID(),
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://" + churnHost + "/a/x"}, {Method: http.MethodGet, URL: "http://" + churnHost + "/b/x"}},
		Expect:  []string{"churn-a", "churn-b"}}

	o := e.Opts
	phaseLen := churnPhase(o)
	// Whole phases (at least one cycle of the four changes), and the load
	// lasts them all plus a tail for the last one's answers.
	nPhases := max(4, int(o.ChurnDuration/phaseLen))
	loadDur := time.Duration(nPhases)*phaseLen + 500*time.Millisecond
	nWin := int(math.Ceil(loadDur.Seconds())) + 6 // responses may end after the attack
	type window struct {
		lat                               []float64
		requests, non2xx, errs, misroutes int64
	}
	wins := make([]window, nWin)
	var mu sync.Mutex
	var phases []reports.ChurnPhase
	onResult := func(r *vegeta.Result, off time.Duration, class outcome) {
		i := min(int(off/time.Second), nWin-1)
		w := &wins[i]
		w.requests++
		w.lat = append(w.lat, float64(r.Latency)/1e3)
		switch class {
		case outcomeError:
			w.errs++
		case outcomeNon2xx:
			w.non2xx++
		case outcomeMisroute:
			w.misroutes++
		}
		mu.Lock()
		defer mu.Unlock()
		for j := len(phases) - 1; j >= 0; j-- {
			if off.Seconds() >= phases[j].StartSeconds {
				phases[j].Requests++
				if class != outcomeOK {
					phases[j].Failed++
				}
				break
			}
		}
	}

	var events []reports.ChurnEvent
	began := time.Now()
	changeErr := make(chan error, 1)
	var excluded int64
	go func() {
		cc := &churnChanger{e: e, a: a, base: base, prober: newProber(e.Ctrl.HTTPAddr, nil, time.Second), timeout: o.PropagationTimeout}
		err := cc.run(ctx, phaseLen, nPhases, func(ph reports.ChurnPhase) int {
			mu.Lock()
			defer mu.Unlock()
			ph.StartSeconds = time.Since(began).Seconds()
			phases = append(phases, ph)
			events = append(events, reports.ChurnEvent{AtSeconds: ph.StartSeconds, Kind: ph.Kind, Detail: ph.Detail})
			return len(phases) - 1
		}, func(i int, applied bool, after time.Duration) {
			mu.Lock()
			phases[i].Applied, phases[i].AppliedMillis = applied, float64(after)/1e6
			mu.Unlock()
			e.Progressf("churn: %s %s applied=%t after %.0f ms", phases[i].Kind, phases[i].Detail, applied, float64(after)/1e6)
		})
		excluded = cc.excluded
		changeErr <- err
	}()
	// The changes happen once, beside this one window: a noisy churn window
	// is marked, never repeated.
	st, err := e.window(ctx, t, stepConfig{Rate: o.ChurnRPS, Duration: loadDur, Phase: "churn", OnResult: onResult, NoRepeat: true})
	cerr := <-changeErr
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, fmt.Errorf("churn changes: %w", cerr)
	}
	res := &reports.ChurnResult{
		RateRPS: o.ChurnRPS, DurationSeconds: loadDur.Seconds(), Requests: st.Requests, Errors: st.Errors, Non2xx: st.Non2xx,
		Misroutes: st.Misroutes, Latency: st.Latency, Lag: st.Lag, Valid: st.Valid, InvalidReason: st.InvalidReason, ErrorSamples: st.ErrorSamples,
		Termination: churnTermination, Excluded: excluded,
	}
	mu.Lock()
	res.Events, res.Phases = events, phases
	mu.Unlock()
	for _, ph := range res.Phases {
		if ph.Applied {
			res.ChangesApplied++
		}
	}
	for i, w := range wins {
		if w.requests == 0 {
			continue
		}
		res.Windows = append(res.Windows, reports.ChurnWindow{StartSeconds: float64(i), Requests: w.requests, Non2xx: w.non2xx, Errors: w.errs,
			Misroutes: w.misroutes, Latency: percentiles(w.lat)})
	}
	e.Progressf("churn: %d requests, %d errors, %d non-2xx, %d misroutes, p99 %.0f µs, %d/%d changes applied", res.Requests, res.Errors, res.Non2xx, res.Misroutes, res.Latency.P99, res.ChangesApplied, len(res.Phases))
	if res.ChangesApplied < len(res.Phases) {
		return &reports.BenchScenario{Churn: res}, fmt.Errorf("churn: only %d of %d changes were seen applied in traffic", res.ChangesApplied, len(res.Phases))
	}
	return &reports.BenchScenario{Churn: res}, nil
}

// churnChanger makes the churn changes and observes each one in traffic.
type churnChanger struct {
	e       *Env
	a       *cluster.Backend
	base    []pathBackend
	prober  *prober
	timeout time.Duration
	// excluded counts probe answers that were allowed to be wrong (the
	// change was not applied yet).
	excluded int64
}

// run cycles through Ingress updates and graceful endpoint scaling of a,
// one change per phase, for phases phases.
// begin records a phase and returns its index; applied reports whether
// (and when) traffic showed the change.
func (c *churnChanger) run(ctx context.Context, phaseLen time.Duration, phases int, begin func(reports.ChurnPhase) int, applied func(int, bool, time.Duration)) error {
	e := c.e
	for i := 0; i < phases; i++ {
		phaseStart := time.Now()
		var (
			ok  bool
			err error
			idx int
		)
		t0 := time.Now()
		switch i % 4 {
		case 0: // add a path
			path := fmt.Sprintf("/extra-%d", i)
			paths := append(append([]pathBackend(nil), c.base...), pathBackend{Path: path, Service: "churn-b"})
			idx = begin(reports.ChurnPhase{Kind: "ingress-update", Detail: "add path " + path})
			if err = e.replace(ctx, e.ingress("churn", []rule{{Host: churnHost, Paths: paths}}, "")); err == nil {
				ok = c.await(ctx, func() bool {
					code, svc, _ := c.prober.probeFull(ctx, "http://"+churnHost+path+"/x")
					return code == http.StatusOK && svc == "churn-b"
				}, 3)
			}
		case 1: // scale up: the new endpoint must answer
			idx = begin(reports.ChurnPhase{Kind: "scale-up", Detail: "churn-a 2 -> 3"})
			if err = e.Backends.ScaleBackend(ctx, c.a, 3); err == nil {
				ok = c.await(ctx, func() bool {
					_, _, pod := c.prober.probeFull(ctx, "http://"+churnHost+"/a/x")
					return pod == "churn-a-2"
				}, 1)
			}
		case 2: // back to the base paths: the extra path must 404
			path := fmt.Sprintf("/extra-%d", i-2)
			idx = begin(reports.ChurnPhase{Kind: "ingress-update", Detail: "remove path " + path})
			if err = e.replace(ctx, e.ingress("churn", []rule{{Host: churnHost, Paths: c.base}}, "")); err == nil {
				ok = c.await(ctx, func() bool {
					code, _, _ := c.prober.probeFull(ctx, "http://"+churnHost+path+"/x")
					return code == http.StatusNotFound
				}, 3)
			}
		case 3: // graceful scale down: terminating, drained, then stopped
			idx = begin(reports.ChurnPhase{Kind: "scale-down", Detail: "churn-a 3 -> 2 (terminating first)"})
			if err = e.Backends.SetEndpointConditions(ctx, c.a, 2, cluster.EndpointConditions{Serving: true, Terminating: true}); err == nil {
				ok = c.await(ctx, func() bool {
					return drainedAnswer(c.prober.probeFull(ctx, "http://"+churnHost+"/a/x"))
				}, drainStreak)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(terminationGrace):
				}
				err = e.Backends.ScaleBackend(ctx, c.a, 2)
			}
		}
		if err != nil {
			return err
		}
		applied(idx, ok, time.Since(t0))
		// Hold the phase so it carries its share of traffic.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(phaseStart.Add(phaseLen))):
		}
	}
	return nil
}

// await probes until check holds n times in a row, or the timeout; answers
// before that are expected to be wrong and only counted as excluded.
func (c *churnChanger) await(ctx context.Context, check func() bool, n int) bool {
	return poll.Until(ctx, probeInterval, c.timeout, func(context.Context) error {
		for range n { // n in a row, without a pause between correct answers
			if !check() {
				c.excluded++
				return errNotYet
			}
		}
		return nil
	}) == nil
}

var errNotYet = errors.New("change not applied yet")
