package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/bench/generators"
	"github.com/ingresslab/ingresslab/reports"
)

// distributed reports whether load windows run as generator Jobs.
func (e *Env) distributed() bool { return e.remote != nil && e.remote.dist != nil }

// checkTraffic checks where t's load goes before any is sent: the address
// this process dials (provider guard), or with distributed generators the
// in-cluster address the generator Pods dial (the controller address the
// run was given or one of its own backends).
func (e *Env) checkTraffic(ctx context.Context, t *Traffic) error {
	if !e.distributed() {
		return checkDial(ctx, e.guard, t.Dial)
	}
	dial, err := e.generatorDial(t)
	if err != nil {
		return err
	}
	for _, a := range e.generatorAllowed() {
		if strings.EqualFold(a, dial) {
			return nil
		}
	}
	return fmt.Errorf("%w: generator target %s is neither the controller nor a backend of this run", errNotAllowed, dial)
}

// warmUp runs the unmeasured lead-in of an open-loop window in this
// process; generator Jobs run their own warm-up window first.
func (e *Env) warmUp(ctx context.Context, t *Traffic, cfg stepConfig) error {
	if e.distributed() {
		return nil
	}
	_, err := runStep(ctx, t, cfg)
	return err
}

// generatorDial is where the generator Pods send t's traffic: the
// controller's in-cluster address for controller traffic, the echo
// backend's Service for direct traffic.
func (e *Env) generatorDial(t *Traffic) (string, error) {
	r := e.Opts.Remote
	switch {
	case t.Via == "direct":
		return fmt.Sprintf("%s.%s.svc:80", echoName, Namespace), nil
	case t.Dial == e.Ctrl.HTTPAddr:
		return r.GeneratorAddress, nil
	case t.Dial == e.Ctrl.HTTPSAddr && r.GeneratorHTTPSAddress != "":
		return r.GeneratorHTTPSAddress, nil
	}
	return "", fmt.Errorf("traffic %s (%s): no in-cluster address for the generator Pods", t.Name, t.Dial)
}

// generatorAllowed are the addresses generator Pods may target: the
// controller's (as given) and the Services of the run's own backends.
func (e *Env) generatorAllowed() []string {
	r := e.Opts.Remote
	out := []string{r.GeneratorAddress}
	if r.GeneratorHTTPSAddress != "" {
		out = append(out, r.GeneratorHTTPSAddress)
	}
	for _, b := range e.published {
		for _, p := range b.Spec.Ports {
			out = append(out, fmt.Sprintf("%s.%s.svc:%d", b.Spec.Name, b.Spec.Namespace, p.Port))
		}
	}
	return out
}

// maxOrder bounds the target sequence a generator Job carries (its config
// travels in the Pod spec).
const maxOrder = 2048

// distWindow measures one window with the run's generator Job: a warm-up
// window (open loop) then the measured one, both from the agreed start
// instant; the merged result is judged like an in-process window (CPU is
// not measured: the generators and the controller are not on this
// machine).
func (e *Env) distWindow(ctx context.Context, t *Traffic, cfg stepConfig) (reports.StepResult, error) {
	r := e.Opts.Remote
	dial, err := e.generatorDial(t)
	if err != nil {
		return reports.StepResult{}, err
	}
	c := agent.Config{Series: t.Name, Dial: dial, TLS: t.TLS != nil, InsecureSkipVerify: t.TLS != nil, KeepAlive: t.KeepAlive, Generators: r.Generators}
	if cfg.Timeout > 0 {
		c.TimeoutMillis = cfg.Timeout.Milliseconds()
	}
	target := func(i int) agent.Target {
		tg := agent.Target{Method: t.Targets[i].Method, URL: t.Targets[i].URL}
		if i < len(t.Expect) {
			tg.Expect = t.Expect[i]
		}
		return tg
	}
	if len(t.Order) > 0 {
		for _, i := range t.Order[:min(len(t.Order), maxOrder)] {
			c.Targets = append(c.Targets, target(i))
		}
	} else {
		for i := range t.Targets {
			c.Targets = append(c.Targets, target(i))
		}
	}
	closed := cfg.Connections > 0
	if closed {
		c.Windows = []agent.Window{{Phase: cfg.Phase, Workers: max(cfg.Connections, r.Generators), DurationMillis: cfg.Duration.Milliseconds()}}
	} else {
		c.Windows = []agent.Window{
			{Phase: "warm-up", RateRPS: cfg.Rate, Connections: cfg.PoolConnections, DurationMillis: warmUp(cfg.Duration).Milliseconds()},
			{Phase: cfg.Phase, RateRPS: cfg.Rate, Connections: cfg.PoolConnections, DurationMillis: cfg.Duration.Milliseconds()},
		}
	}
	c.Start = time.Now().Add(r.GeneratorStartLead)
	e.remote.jobs++
	name := fmt.Sprintf("bench-gen-%d", e.remote.jobs)
	out, err := e.remote.dist.Run(ctx, generators.JobOptions{
		Namespace: Namespace, Name: name, Image: r.GeneratorImage, Config: c, Allowed: e.generatorAllowed(), Labels: e.remote.labels,
	})
	if err != nil {
		return reports.StepResult{}, err
	}
	m := out.Windows[len(out.Windows)-1]
	st := m.Step
	st.Phase = cfg.Phase
	if !closed {
		st.OfferedRPS = cfg.Rate
		st.Connections = 0
		st.PoolConnections = cfg.PoolConnections
	}
	if cfg.Detail {
		st.Spectrum = agent.Spectrum(m.Latency, spectrumPercentiles)
	}
	judgeSLO(&st, cfg.SLO, !closed)
	if len(out.Nodes) < r.Generators {
		e.noteOnce(fmt.Sprintf("generator Pods shared nodes (%d generators on %d nodes: %s): anti-affinity is preferred, not required", r.Generators, len(out.Nodes), strings.Join(out.Nodes, ", ")))
	}
	return st, nil
}

// noteOnce adds a report note unless it is there already.
func (e *Env) noteOnce(n string) {
	for _, x := range e.remote.notes {
		if x == n {
			return
		}
	}
	e.remote.notes = append(e.remote.notes, n)
}
