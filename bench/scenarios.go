package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/reports"
)

// Scenario is one declared benchmark.
type Scenario struct {
	// Name is what --scenario selects.
	Name string
	// Description says what is measured, for the report.
	Description string
	// Kind is reports.BenchKindLoad, ...Propagation, ...Churn or ...Scale.
	Kind string
	// Run measures and returns the result with exactly the field of its
	// kind set; the runner fills name, status and timing.
	Run func(ctx context.Context, e *Env) (*reports.BenchScenario, error)
}

// errDeferred marks a scenario whose result another scenario produces.
var errDeferred = errors.New("measured by another scenario")

// Registry returns every scenario in run order.
func Registry() []Scenario {
	return []Scenario{
		{Name: "direct", Kind: reports.BenchKindLoad, Run: runDirect,
			Description: "the same load straight to one echo backend (no controller): the physical baseline of this machine; measured interleaved with single-route when both run"},
		{Name: "single-route", Kind: reports.BenchKindLoad, Run: runSingleRoute,
			Description: "one host, one Prefix path, HTTP/1.1 keep-alive through the controller, interleaved A/B with direct; added latency at half the direct maximum"},
		{Name: "many-routes", Kind: reports.BenchKindLoad, Run: runManyRoutes,
			Description: "hosts x paths spread over 10 backends, uniform and Zipf(1.1) mixes; every response checked for the expected backend (misroutes are errors)"},
		{Name: "tls", Kind: reports.BenchKindLoad, Run: runTLS,
			Description: "HTTPS (SNI = virtual host, TLS 1.3, no session resumption) with keep-alive, and with a new connection per request (handshake cost)"},
		{Name: "no-keepalive", Kind: reports.BenchKindLoad, Run: runNoKeepAlive,
			Description: "HTTP/1.1 with a new connection per request through the controller"},
		{Name: "propagation", Kind: reports.BenchKindPropagation, Run: runPropagation,
			Description: "time from an Ingress create/update/delete (API write sent) to the first correct response and to the last stale one"},
		{Name: "churn", Kind: reports.BenchKindChurn, Run: runChurn,
			Description: "constant rate while an Ingress is updated and endpoints are scaled (graceful: terminating first) at a fixed cadence; errors, misroutes and latency per second"},
		{Name: "scale", Kind: reports.BenchKindScale, Run: runScale,
			Description: "growing numbers of Ingresses: time to full sync (after writes and after a restart), controller RSS and heap, memory per route"},
	}
}

const (
	singleHost = "single.bench.test"
	tlsHost    = "tls.bench.test"
	echoName   = "echo"
)

// setupSingle publishes the echo backend and the single-route Ingress and
// waits until the controller serves it.
func (e *Env) setupSingle(ctx context.Context) (direct string, err error) {
	b, err := e.backend(ctx, echoName, 1)
	if err != nil {
		return "", err
	}
	if err := e.apply(ctx, e.ingress("single", []rule{{Host: singleHost, Paths: []pathBackend{{"/", echoName}}}}, "")); err != nil {
		return "", err
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	if err := e.waitRoute(ctx, p, "http://"+singleHost+"/", echoName, 3, 30*time.Second); err != nil {
		return "", err
	}
	return e.directAddr(ctx, b, 0)
}

func singleTraffic(name, via, dial string, keepAlive bool, pid int) *Traffic {
	return &Traffic{Name: name, Via: via, Dial: dial, KeepAlive: keepAlive, PID: pid,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://" + singleHost + "/bench"}}, Expect: []string{echoName}}
}

func runDirect(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	if e.selected["single-route"] {
		return nil, errDeferred
	}
	direct, err := e.setupSingle(ctx)
	if err != nil {
		return nil, err
	}
	series, err := e.measureSeries(ctx, "direct", []*Traffic{singleTraffic("direct", "direct", direct, true, 0)})
	if err != nil {
		return nil, err
	}
	fixedRate := series[0].MaxSustainableRPS.Median / 2
	if fixedRate > 0 {
		if err := e.measureFixed(ctx, "direct", []*Traffic{singleTraffic("direct", "direct", direct, true, 0)}, fixedRate, series); err != nil {
			return nil, err
		}
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

func runSingleRoute(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	direct, err := e.setupSingle(ctx)
	if err != nil {
		return nil, err
	}
	pid := e.Ctrl.PID()
	traffic := []*Traffic{
		singleTraffic("direct", "direct", direct, true, 0),
		singleTraffic("proxied", "controller", e.Ctrl.HTTPAddr, true, pid),
	}
	series, err := e.measureSeries(ctx, "single-route", traffic)
	if err != nil {
		return nil, err
	}
	fixedRate := series[0].MaxSustainableRPS.Median / 2
	if fixedRate > 0 {
		if err := e.measureFixed(ctx, "single-route", traffic, fixedRate, series); err != nil {
			return nil, err
		}
	}
	d := series[0]
	e.pairedDirect = &d
	res := &reports.LoadResult{Series: series, Comparisons: []reports.ABComparison{compare(series[0], series[1], fixedRate)}}
	return &reports.BenchScenario{Load: res}, nil
}

func runNoKeepAlive(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	if _, err := e.setupSingle(ctx); err != nil {
		return nil, err
	}
	series, err := e.measureSeries(ctx, "no-keepalive", []*Traffic{singleTraffic("proxied", "controller", e.Ctrl.HTTPAddr, false, e.Ctrl.PID())})
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

func runTLS(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	if _, err := e.backend(ctx, echoName, 1); err != nil {
		return nil, err
	}
	pool, err := e.tlsSecret(ctx, "bench-tls", tlsHost)
	if err != nil {
		return nil, err
	}
	if err := e.apply(ctx, e.ingress("tls", []rule{{Host: tlsHost, Paths: []pathBackend{{"/", echoName}}}}, "bench-tls")); err != nil {
		return nil, err
	}
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
	if err := checkDial(ctx, e.guard, e.Ctrl.HTTPSAddr); err != nil {
		return nil, err
	}
	url := "https://" + tlsHost + "/bench"
	if err := e.waitRoute(ctx, newProber(e.Ctrl.HTTPSAddr, conf, 2*time.Second), url, echoName, 3, 30*time.Second); err != nil {
		return nil, err
	}
	mk := func(name string, keepAlive bool) *Traffic {
		return &Traffic{Name: name, Via: "controller", Dial: e.Ctrl.HTTPSAddr, TLS: conf, KeepAlive: keepAlive, PID: e.Ctrl.PID(),
			Targets: []vegeta.Target{{Method: http.MethodGet, URL: url}}, Expect: []string{echoName}}
	}
	series, err := e.measureSeries(ctx, "tls", []*Traffic{mk("keepalive", true), mk("new-connection", false)})
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

// manyRoutesBackends is how many Services the many-routes table spreads over.
const manyRoutesBackends = 10

func runManyRoutes(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	hosts, paths := e.Opts.ManyRoutesHosts, e.Opts.ManyRoutesPaths
	for i := 0; i < manyRoutesBackends; i++ {
		if _, err := e.backend(ctx, fmt.Sprintf("mr-%d", i), 1); err != nil {
			return nil, err
		}
	}
	var targets []vegeta.Target
	var expect []string
	const hostsPerIngress = 10
	e.Progressf("many-routes: creating %d hosts x %d paths", hosts, paths)
	for first := 0; first < hosts; first += hostsPerIngress {
		var rules []rule
		for h := first; h < min(first+hostsPerIngress, hosts); h++ {
			r := rule{Host: fmt.Sprintf("h%d.many.bench.test", h)}
			for p := 0; p < paths; p++ {
				svc := fmt.Sprintf("mr-%d", (h+p)%manyRoutesBackends)
				r.Paths = append(r.Paths, pathBackend{Path: fmt.Sprintf("/p%d", p), Service: svc})
				targets = append(targets, vegeta.Target{Method: http.MethodGet, URL: fmt.Sprintf("http://%s/p%d/x", r.Host, p)})
				expect = append(expect, svc)
			}
			rules = append(rules, r)
		}
		if err := e.apply(ctx, e.ingress(fmt.Sprintf("many-%d", first/hostsPerIngress), rules, "")); err != nil {
			return nil, err
		}
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	for _, i := range []int{0, len(targets) - 1} {
		if err := e.waitRoute(ctx, p, targets[i].URL, expect[i], 3, 60*time.Second); err != nil {
			return nil, err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	uniform := make([]int, 1<<16)
	for i := range uniform {
		uniform[i] = rng.IntN(len(targets))
	}
	zipf := make([]int, 1<<16)
	z := rand.NewZipf(rng, 1.1, 1, uint64(len(targets)-1))
	perm := rng.Perm(len(targets)) // popular routes spread over hosts
	for i := range zipf {
		zipf[i] = perm[z.Uint64()]
	}
	mk := func(name string, order []int) *Traffic {
		return &Traffic{Name: name, Via: "controller", Dial: e.Ctrl.HTTPAddr, KeepAlive: true, PID: e.Ctrl.PID(), Targets: targets, Expect: expect, Order: order}
	}
	series, err := e.measureSeries(ctx, "many-routes", []*Traffic{mk("uniform", uniform), mk("zipf", zipf)})
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

// measureSeries runs Repetitions rate searches of every traffic,
// interleaved (A/B/A/B), and summarises them.
func (e *Env) measureSeries(ctx context.Context, scenario string, traffic []*Traffic) ([]reports.LoadSeries, error) {
	o := e.Opts
	series := make([]reports.LoadSeries, len(traffic))
	for i, t := range traffic {
		if err := checkDial(ctx, e.guard, t.Dial); err != nil {
			return nil, err
		}
		series[i] = reports.LoadSeries{Name: t.Name, Via: t.Via}
	}
	for rep := 1; rep <= o.Repetitions; rep++ {
		for i, t := range traffic {
			measure := func(ctx context.Context, rate float64, phase string) (reports.StepResult, error) {
				st, err := runStep(ctx, t, stepConfig{Rate: rate, Duration: o.StepDuration, Phase: phase, SLO: o.SLO, Gates: o.Gates})
				if err == nil {
					e.Progressf("%s %s rep %d %s %.0f rps: achieved %.0f, p99 %.2f ms, success %.2f%%, %s", scenario, t.Name, rep, phase, rate,
						st.AchievedRPS, st.Latency.P99/1000, st.SuccessRatio*100, verdict(st))
				}
				return st, err
			}
			s, err := SearchMaxRate(ctx, SearchOptions{StartRPS: o.StartRPS, Factor: o.StepFactor, MaxRPS: o.MaxRPS, MaxSteps: o.MaxSteps, Bisections: o.Bisections, Retries: o.Retries}, measure)
			if err != nil {
				return nil, fmt.Errorf("%s %s repetition %d: %w", scenario, t.Name, rep, err)
			}
			s.Repetition = rep
			series[i].Searches = append(series[i].Searches, s)
			e.Progressf("%s %s rep %d: max sustainable %.0f rps", scenario, t.Name, rep, s.MaxSustainableRPS)
		}
	}
	for i := range series {
		var maxes, cpus []float64
		for _, s := range series[i].Searches {
			if s.MaxSustainableRPS > 0 {
				maxes = append(maxes, s.MaxSustainableRPS)
			}
			if st, ok := passingStep(s); ok && st.ControllerCPUMicrosPerRequest > 0 {
				cpus = append(cpus, st.ControllerCPUMicrosPerRequest)
			}
		}
		series[i].MaxSustainableRPS = reports.NewStat(maxes)
		series[i].CPUMicrosPerRequest = reports.NewStat(cpus).Median
	}
	return series, nil
}

// measureFixed runs every traffic at rate, interleaved, Repetitions times,
// with the latency spectrum, appending to series[i].Fixed.
func (e *Env) measureFixed(ctx context.Context, scenario string, traffic []*Traffic, rate float64, series []reports.LoadSeries) error {
	o := e.Opts
	for rep := 1; rep <= o.Repetitions; rep++ {
		for i, t := range traffic {
			st, err := runStep(ctx, t, stepConfig{Rate: rate, Duration: o.StepDuration, Phase: "fixed", Detail: true, SLO: o.SLO, Gates: o.Gates})
			if err != nil {
				return fmt.Errorf("%s %s fixed %.0f rps: %w", scenario, t.Name, rate, err)
			}
			e.Progressf("%s %s rep %d fixed %.0f rps: p50 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, %s", scenario, t.Name, rep, rate, st.Latency.P50, st.Latency.P99, st.Latency.P999, verdict(st))
			series[i].Fixed = append(series[i].Fixed, st)
		}
	}
	return nil
}

func verdict(st reports.StepResult) string {
	switch {
	case !st.Valid:
		return "INVALID (" + st.InvalidReason + ")"
	case !st.PassSLO:
		return "fails SLO (" + st.FailReason + ")"
	}
	return "ok"
}

// compare pairs series b with its interleaved baseline a.
func compare(a, b reports.LoadSeries, fixedRate float64) reports.ABComparison {
	c := reports.ABComparison{Baseline: a.Name, Series: b.Name, FixedRPS: fixedRate}
	var ratio, p50, p99, p999 []float64
	for i := range min(len(a.Searches), len(b.Searches)) {
		if a.Searches[i].MaxSustainableRPS > 0 {
			ratio = append(ratio, b.Searches[i].MaxSustainableRPS/a.Searches[i].MaxSustainableRPS)
		}
	}
	for i := range min(len(a.Fixed), len(b.Fixed)) {
		fa, fb := a.Fixed[i], b.Fixed[i]
		if !fa.Valid || !fb.Valid {
			continue
		}
		p50 = append(p50, fb.Latency.P50-fa.Latency.P50)
		p99 = append(p99, fb.Latency.P99-fa.Latency.P99)
		p999 = append(p999, fb.Latency.P999-fa.Latency.P999)
	}
	c.ThroughputRatio = reports.NewStat(ratio)
	c.AddedP50Micros, c.AddedP99Micros, c.AddedP999Micros = reports.NewStat(p50), reports.NewStat(p99), reports.NewStat(p999)
	return c
}
