package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/reports"
)

const churnHost = "churn.bench.test"

// terminationGrace is how long a terminating endpoint keeps serving after
// the controller dropped it, before it stops.
const terminationGrace = 200 * time.Millisecond

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
	t := &Traffic{Name: "churn", Via: "controller", Dial: e.Ctrl.HTTPAddr, KeepAlive: true, PID: e.Ctrl.PID(),
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://" + churnHost + "/a/x"}, {Method: http.MethodGet, URL: "http://" + churnHost + "/b/x"}},
		Expect:  []string{"churn-a", "churn-b"}}

	o := e.Opts
	nWin := int(math.Ceil(o.ChurnDuration.Seconds())) + 6 // responses may end after the attack
	type window struct {
		lat                               []float64
		requests, non2xx, errs, misroutes int64
	}
	wins := make([]window, nWin)
	var mu sync.Mutex
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
	}

	// The changes run beside the load, at a fixed cadence, until the load
	// ends.
	var events []reports.ChurnEvent
	loadDone := make(chan struct{})
	changeErr := make(chan error, 1)
	began := time.Now()
	go func() {
		changeErr <- e.churnChanges(ctx, a, base, o.ChurnEvery, loadDone, func(kind, detail string) {
			mu.Lock()
			events = append(events, reports.ChurnEvent{AtSeconds: time.Since(began).Seconds(), Kind: kind, Detail: detail})
			mu.Unlock()
			e.Progressf("churn: %s %s", kind, detail)
		})
	}()
	st, err := runStep(ctx, t, stepConfig{Rate: o.ChurnRPS, Duration: o.ChurnDuration, Phase: "fixed", SLO: o.SLO, Gates: o.Gates, OnResult: onResult})
	close(loadDone)
	cerr := <-changeErr
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, fmt.Errorf("churn changes: %w", cerr)
	}
	res := &reports.ChurnResult{
		RateRPS: o.ChurnRPS, DurationSeconds: o.ChurnDuration.Seconds(), Requests: st.Requests, Errors: st.Errors, Non2xx: st.Non2xx,
		Misroutes: st.Misroutes, Latency: st.Latency, Lag: st.Lag, Valid: st.Valid, InvalidReason: st.InvalidReason, ErrorSamples: st.ErrorSamples,
	}
	mu.Lock()
	res.Events = events
	mu.Unlock()
	for i, w := range wins {
		if w.requests == 0 {
			continue
		}
		res.Windows = append(res.Windows, reports.ChurnWindow{StartSeconds: float64(i), Requests: w.requests, Non2xx: w.non2xx, Errors: w.errs,
			Misroutes: w.misroutes, Latency: percentiles(w.lat)})
	}
	e.Progressf("churn: %d requests, %d errors, %d non-2xx, %d misroutes, p99 %.0f µs, %d events", res.Requests, res.Errors, res.Non2xx, res.Misroutes, res.Latency.P99, len(res.Events))
	return &reports.BenchScenario{Churn: res}, nil
}

// churnChanges cycles through Ingress updates and graceful endpoint
// scaling of a every cadence until done is closed. A scale-down first marks
// the endpoint terminating (not ready), waits for the controller to publish
// a table without it, then stops it, as a kubelet would.
func (e *Env) churnChanges(ctx context.Context, a *cluster.Backend, base []pathBackend, every time.Duration, done <-chan struct{}, mark func(kind, detail string)) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		var err error
		switch i % 4 {
		case 0: // add a path
			paths := append(append([]pathBackend(nil), base...), pathBackend{Path: fmt.Sprintf("/extra-%d", i), Service: "churn-b"})
			err = e.apply(ctx, e.ingress("churn", []rule{{Host: churnHost, Paths: paths}}, ""))
			mark("ingress-update", fmt.Sprintf("add path /extra-%d", i))
		case 1: // scale up
			err = e.Backends.ScaleBackend(ctx, a, 3)
			mark("scale-up", "churn-a 2 -> 3")
		case 2: // back to the base paths
			err = e.apply(ctx, e.ingress("churn", []rule{{Host: churnHost, Paths: base}}, ""))
			mark("ingress-update", "remove extra path")
		case 3: // graceful scale down
			gen, _ := e.Ctrl.Generation(ctx)
			if err = e.Backends.SetEndpointConditions(ctx, a, 2, cluster.EndpointConditions{Serving: true, Terminating: true}); err != nil {
				break
			}
			mark("endpoint-terminating", "churn-a-2")
			e.Ctrl.waitGeneration(ctx, gen.Generation, 2*time.Second)
			// A termination grace period: requests already sent to the
			// endpoint finish before it stops.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(terminationGrace):
			}
			err = e.Backends.ScaleBackend(ctx, a, 2)
			mark("scale-down", "churn-a 3 -> 2")
		}
		if err != nil {
			return err
		}
	}
}
