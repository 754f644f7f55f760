package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/reports"
)

// probeInterval is the pace of the churn and reliability probers.
const probeInterval = 5 * time.Millisecond

// propagationProbeInterval is the propagation prober's pace, its time
// resolution: a first correct answer is timed at the send of its probe, so
// it is late by less than this (the probes are sequential, so at most one
// per interval reaches the controller).
const propagationProbeInterval = time.Millisecond

// propagationEvent is one change and how to judge answers after it.
type propagationEvent struct {
	kind  string
	write func(ctx context.Context) error
	// correct and stale classify an answer (code, service).
	correct, stale func(code int, svc string) bool
}

func runPropagation(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	for _, n := range []string{"prop-a", "prop-b"} {
		if _, err := e.backend(ctx, n, 1); err != nil {
			return nil, err
		}
	}
	if err := checkDial(ctx, e.guard, e.Ctrl.HTTPAddr); err != nil {
		return nil, err
	}
	bg := e.Opts.PropagationBackground
	var bgStatus *reports.BackgroundStatus
	if bg > 0 {
		bgStart := time.Now()
		if err := e.createBackground(ctx, bg); err != nil {
			return nil, err
		}
		bgStatus = e.waitBackgroundStatus(ctx, bg, bgStart)
		defer func() {
			if err := e.deleteBackground(context.WithoutCancel(ctx), bg); err != nil {
				e.Progressf("propagation: %v", err)
			}
		}()
	}
	timeout := e.Opts.PropagationTimeout
	settle := 100 * time.Millisecond
	p := newProber(e.Ctrl.HTTPAddr, nil, time.Second)
	api := e.Kube.NetworkingV1().Ingresses(Namespace)
	is := func(svc string) func(int, string) bool {
		return func(code int, got string) bool { return code == http.StatusOK && got == svc }
	}
	var events []reports.PropagationEvent
	n := e.Opts.PropagationEvents
	// A controller that misses changes costs a whole timeout per event: the
	// budget bounds the scenario, and the report says it stopped early.
	deadline := time.Now().Add(e.Opts.PropagationBudget)
	stopped := ""
	for i := 0; len(events) < n && stopped == ""; i++ {
		name := fmt.Sprintf("prop-%d", i)
		host := fmt.Sprintf("prop-%d.bench.test", i)
		url := "http://" + host + "/"
		cycle := []propagationEvent{
			{kind: "create", correct: is("prop-a"), stale: func(code int, _ string) bool { return code != http.StatusOK },
				write: func(ctx context.Context) error {
					_, err := api.Create(ctx, e.ingress(name, []rule{{Host: host, Paths: []pathBackend{{"/", "prop-a"}}}}, ""), metav1.CreateOptions{})
					return err
				}},
			{kind: "update", correct: is("prop-b"), stale: is("prop-a"),
				write: func(ctx context.Context) error {
					return e.replace(ctx, e.ingress(name, []rule{{Host: host, Paths: []pathBackend{{"/", "prop-b"}}}}, ""))
				}},
			{kind: "delete", correct: func(code int, _ string) bool { return code == http.StatusNotFound },
				stale: func(code int, _ string) bool { return code == http.StatusOK },
				write: func(ctx context.Context) error { return api.Delete(ctx, name, metav1.DeleteOptions{}) }},
		}
		for _, ev := range cycle {
			if len(events) >= n {
				break
			}
			if time.Now().After(deadline) {
				stopped = fmt.Sprintf("time budget of %s reached after %d of %d events", e.Opts.PropagationBudget, len(events), n)
				e.Progressf("propagation: %s", stopped)
				break
			}
			r, err := timeChange(ctx, p, url, ev, timeout, settle)
			if err != nil {
				return nil, fmt.Errorf("propagation event %d (%s %s): %w", len(events), ev.kind, name, err)
			}
			events = append(events, r)
			if len(events)%20 == 0 || len(events) == n {
				e.Progressf("propagation: %d/%d events, last %s %.1f ms", len(events), n, r.Kind, r.FirstCorrectMillis)
			}
		}
	}
	res := summarizePropagation(events, timeout)
	res.Planned, res.StoppedEarly, res.BackgroundIngresses, res.BackgroundStatus = n, stopped, bg, bgStatus
	res.RequestsPerUpdate = 1 // e.replace: one JSON patch
	return &reports.BenchScenario{Propagation: res}, nil
}

// backgroundLabel marks the propagation scenario's background Ingresses,
// so one request removes them all.
const backgroundLabel = "ingresslab.dev/bench-background"

// backgroundIngress is background Ingress i: one host with one Prefix path
// to the prop-a backend, labelled backgroundLabel.
func (e *Env) backgroundIngress(i int) *networkingv1.Ingress {
	ing := e.ingress(fmt.Sprintf("bg-%d", i), []rule{{Host: backgroundHost(i), Paths: []pathBackend{{"/", "prop-a"}}}}, "")
	ing.Labels[backgroundLabel] = "propagation"
	return ing
}

func backgroundHost(i int) string { return fmt.Sprintf("b%d.background.bench.test", i) }

// createBackground creates n background Ingresses and waits until the
// controller serves them (observed over HTTP, like scale).
func (e *Env) createBackground(ctx context.Context, n int) error {
	start := time.Now()
	if err := e.createIngresses(ctx, 0, n, e.backgroundIngress); err != nil {
		return fmt.Errorf("propagation background: %w", err)
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	deadline := time.Now().Add(5 * time.Minute)
	for _, i := range scaleSample(n, scaleProbes) {
		if err := e.waitRoute(ctx, p, "http://"+backgroundHost(i)+"/", "prop-a", 1, time.Until(deadline)); err != nil {
			return fmt.Errorf("propagation background: %w", err)
		}
	}
	e.Progressf("propagation: %d background Ingresses served %.1f s after the first write", n, time.Since(start).Seconds())
	return nil
}

// deleteBackground removes the background Ingresses (one request) and
// waits until the last one is no longer served, so that later scenarios
// start without them.
func (e *Env) deleteBackground(ctx context.Context, n int) error {
	err := e.Kube.NetworkingV1().Ingresses(Namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
		metav1.ListOptions{LabelSelector: backgroundLabel + "=propagation"})
	if err != nil {
		return fmt.Errorf("delete background Ingresses: %w", err)
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	url := "http://" + backgroundHost(n-1) + "/"
	err = poll.Until(ctx, 20*time.Millisecond, time.Minute, func(ctx context.Context) error {
		if code, svc := p.probe(ctx, url); code != http.StatusNotFound {
			return fmt.Errorf("last answer: %d from %q", code, svc)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("background Ingresses still served after their deletion: %w", err)
	}
	return nil
}

// timeChange writes one change while probing url every
// propagationProbeInterval, and
// returns the times (from just before the write) to the first correct
// answer and to the last stale one seen within settle after it.
func timeChange(ctx context.Context, p *prober, url string, ev propagationEvent, timeout, settle time.Duration) (reports.PropagationEvent, error) {
	res := reports.PropagationEvent{Kind: ev.kind}
	start := time.Now()
	werr := make(chan error, 1)
	go func() { werr <- ev.write(ctx) }()
	tick := time.NewTicker(propagationProbeInterval)
	defer tick.Stop()
	var first time.Duration = -1
	var writeErr error
	written := false
	for {
		sent := time.Since(start)
		code, svc := p.probe(ctx, url)
		switch {
		case ev.correct(code, svc):
			if first < 0 {
				first = sent
			}
		case ev.stale(code, svc):
			res.LastStaleMillis = float64(sent) / 1e6
		}
		if !written {
			select {
			case writeErr = <-werr:
				written = true
				if writeErr != nil {
					return res, writeErr
				}
			default:
			}
		}
		elapsed := time.Since(start)
		if first >= 0 && written && elapsed > first+settle {
			break
		}
		if elapsed > timeout {
			res.TimedOut = true
			first = elapsed
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
	}
	if !written {
		if err := <-werr; err != nil {
			return res, err
		}
	}
	res.FirstCorrectMillis = float64(first) / 1e6
	return res, nil
}

// propagationConvergence describes when an event ends, for the report.
const propagationConvergence = "HTTP only, the same for every controller: each change is one API write, timed from just before it; the first correct answer ends the wait (probes every 1 ms, one at a time, through the controller's listener), probing continues 100 ms to catch stale answers; no controller endpoint is asked"

// summarizePropagation summarises events. Timed-out events are censored:
// they are only known to exceed timeout, so they are ranked last and a
// percentile that falls among them is reported as beyond the timeout, never
// as the timeout's value.
func summarizePropagation(events []reports.PropagationEvent, timeout time.Duration) *reports.PropagationResult {
	r := &reports.PropagationResult{Events: len(events), ProbeIntervalMillis: float64(propagationProbeInterval) / 1e6, Samples: events,
		Censored: true, TimeoutMillis: float64(timeout) / 1e6, Convergence: propagationConvergence}
	byKind := map[string][]reports.PropagationEvent{}
	var kinds []string
	for _, ev := range events {
		if ev.TimedOut {
			r.TimedOut++
		}
		if _, ok := byKind[ev.Kind]; !ok {
			kinds = append(kinds, ev.Kind)
		}
		byKind[ev.Kind] = append(byKind[ev.Kind], ev)
	}
	r.FirstCorrectMillis, r.BeyondTimeout, r.LastStaleMillis = propagationPercentiles(events)
	for _, k := range kinds {
		fc, beyond, ls := propagationPercentiles(byKind[k])
		timedOut := 0
		for _, ev := range byKind[k] {
			if ev.TimedOut {
				timedOut++
			}
		}
		r.ByKind = append(r.ByKind, reports.PropagationKind{Kind: k, Events: len(byKind[k]), TimedOut: timedOut, FirstCorrectMillis: fc, BeyondTimeout: beyond, LastStaleMillis: ls})
	}
	return r
}

func propagationPercentiles(events []reports.PropagationEvent) (first reports.Percentiles, beyond []string, last reports.Percentiles) {
	var f, l []float64
	censored := 0
	for _, ev := range events {
		l = append(l, ev.LastStaleMillis)
		if ev.TimedOut {
			censored++
			continue
		}
		f = append(f, ev.FirstCorrectMillis)
	}
	first, beyond = reports.CensoredPercentiles(f, censored)
	return first, beyond, percentiles(l)
}
