package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/reports"
)

// noiseAccount sums the machine noise of every window of the run.
type noiseAccount struct {
	sum     reports.NoiseSummary
	extSum  float64
	retries int // repeats left in the run's budget
}

func (n *noiseAccount) add(st reports.StepResult) {
	if st.CPU == nil {
		return
	}
	n.sum.Windows++
	if st.Noisy {
		n.sum.NoisyWindows++
	}
	n.extSum += st.CPU.ExternalCores
	n.sum.MaxExternal = max(n.sum.MaxExternal, st.CPU.ExternalCores)
	n.sum.MaxLoad1 = max(n.sum.MaxLoad1, st.CPU.LoadAverage1)
	n.sum.MeanExternal = n.extSum / float64(n.sum.Windows)
}

// summary returns the account for the report (nil when nothing was
// measured).
func (n *noiseAccount) summary() *reports.NoiseSummary {
	if n.sum.Windows == 0 {
		return nil
	}
	s := n.sum
	return &s
}

// generatorShare is the generator's calibrated CPU per request that
// splits t's harness CPU into generator and backends, or 0 (no split)
// where the calibration does not fit: it is measured with keep-alive
// connections, so a traffic that opens one per request would have the
// generator's connects and TLS handshakes charged to the backends (a TLS
// new-connection window showed 914 µs per request estimated against 203
// measured with Options.BackendProcesses).
func generatorShare(t *Traffic, gen *reports.GeneratorLimit) float64 {
	if gen == nil || !t.KeepAlive {
		return 0
	}
	return gen.MicrosPerRequest
}

// backendProcesses is a backend publisher whose echo backends run as
// processes of their own (the local cluster with Options.BackendProcesses).
type backendProcesses interface {
	BackendPIDs() []int
}

// window runs one measured window with the run's CPU accounting and noise
// rule: a window during which processes outside the run used more than
// NoiseMaxExternalCores is noisy and measured again while the run's repeat
// budget lasts; the last attempt is kept, marked.
func (e *Env) window(ctx context.Context, t *Traffic, cfg stepConfig) (reports.StepResult, error) {
	cfg.SLO, cfg.Gates = e.Opts.SLO, e.Opts.Gates
	cfg.NoiseMaxExternalCores = e.Opts.NoiseMaxExternalCores
	if e.distributed() {
		return e.distWindow(ctx, t, cfg)
	}
	e.checkAutogroup(t)
	cfg.GenMicrosPerRequest = generatorShare(t, e.gen)
	if bp, ok := e.Backends.(backendProcesses); ok && e.Opts.BackendProcesses {
		cfg.BackendPIDs = bp.BackendPIDs
	}
	if cfg.NoRepeat {
		st, err := runStep(ctx, t, cfg)
		st.Attempt = 1
		e.noise.add(st)
		return st, err
	}
	return e.noise.repeatNoisy(func() (reports.StepResult, error) { return runStep(ctx, t, cfg) }, func(st reports.StepResult) {
		e.Progressf("%s %s: noisy window (%.2f cores used outside the run, load %.2f): measuring again (%d repeats left)",
			t.Name, cfg.Phase, st.CPU.ExternalCores, st.CPU.LoadAverage1, e.noise.retries)
	})
}

// repeatNoisy measures once, and again while the window is noisy and the
// run's repeat budget lasts; every attempt is accounted, the last returned.
func (n *noiseAccount) repeatNoisy(measure func() (reports.StepResult, error), repeating func(reports.StepResult)) (reports.StepResult, error) {
	for attempt := 1; ; attempt++ {
		st, err := measure()
		st.Attempt = attempt
		n.add(st)
		if err != nil || !st.Noisy || n.retries <= 0 {
			return st, err
		}
		n.retries--
		n.sum.Repeated++
		repeating(st)
	}
}

// nullService is what the null target answers as.
const nullService = "null"

// calibrateGenerator measures the load generator alone: closed loop
// against a null in-process HTTP server on loopback, with the same
// connection sweep as the targets. The result bounds what any target can
// show on this machine; the harness CPU per request at the maximum splits
// later windows' harness CPU into generator and echo backends.
func (e *Env) calibrateGenerator(ctx context.Context) (*reports.GeneratorLimit, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("generator calibration: %w", err)
	}
	body := []byte(`{"service":"` + nullService + `"}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	// The null target is this process's own loopback listener, opened just
	// now: no cluster address, so no provider guard applies.
	t := &Traffic{Name: "generator", Via: "null", Dial: l.Addr().String(), KeepAlive: true,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://null.bench.test/"}}, Expect: []string{nullService}}
	o := SaturationOptions{Connections: e.Opts.Connections}
	if err := o.check(); err != nil {
		return nil, err
	}
	sw, err := sweepOnce(ctx, o, 1, func(ctx context.Context, n int) (reports.StepResult, error) {
		st, err := e.window(ctx, t, stepConfig{Connections: n, Duration: e.Opts.ClosedLoopDuration, Phase: "generator"})
		if err == nil {
			e.Progressf("generator alone, %d connections: %.0f rps", n, st.ThroughputRPS)
		}
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("generator calibration: %w", err)
	}
	g := &reports.GeneratorLimit{MaxRPS: sw.MaxRPS, Connections: sw.Connections, BoundMargin: e.Opts.GeneratorMargin, Points: sw.Points}
	for _, p := range sw.Points {
		if p.Connections == sw.Connections && p.CPU != nil && p.Requests > 0 {
			g.MicrosPerRequest = p.CPU.HarnessMicros / float64(p.Requests)
		}
	}
	if g.MaxRPS <= 0 {
		return nil, errors.New("generator calibration: the null target answered nothing")
	}
	rate := math.Round(g.MaxRPS / 2)
	if _, err := runStep(ctx, t, stepConfig{Rate: rate, Duration: warmUp(e.Opts.WindowDuration), Phase: "warm-up", SLO: e.Opts.SLO, Gates: e.Opts.Gates, PoolConnections: sw.Connections}); err != nil {
		return nil, fmt.Errorf("generator calibration: %w", err)
	}
	st, err := e.window(ctx, t, stepConfig{Rate: rate, Duration: e.Opts.WindowDuration, Phase: "generator open loop", PoolConnections: sw.Connections})
	if err != nil {
		return nil, fmt.Errorf("generator calibration: %w", err)
	}
	g.OpenLoop = &st
	e.Progressf("generator alone, open loop at %.0f rps: achieved %.0f, lag p99 %.0f µs, p99 %.0f µs, %s", rate, st.AchievedRPS, st.Lag.P99, st.Latency.P99, verdict(st))
	return g, nil
}
