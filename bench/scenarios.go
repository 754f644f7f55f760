package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/internal/poll"
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
	// Optional scenarios run when named, or in a run with raw baselines
	// (Options.Baselines); the default set leaves them out.
	Optional bool
}

// errDeferred marks a scenario whose result another scenario produces.
var errDeferred = errors.New("measured by another scenario")

// Registry returns every scenario in run order.
func Registry() []Scenario {
	return append([]Scenario{
		{Name: "direct", Kind: reports.BenchKindLoad, Run: runDirect,
			Description: "the same load straight to one echo backend (no controller): the physical baseline of this machine; measured interleaved with single-route when both run"},
		{Name: "single-route", Kind: reports.BenchKindLoad, Run: runSingleRoute,
			Description: "one host, one Prefix path, HTTP/1.1 keep-alive through the controller, interleaved A/B with direct: closed-loop maximum of each, then latency and CPU at fractions of each one's own maximum"},
		{Name: "post", Kind: reports.BenchKindLoad, Run: runPost, Optional: true,
			Description: "the single route with a 4 KiB POST body (HTTP/1.1 keep-alive); every target is checked once to pass the whole body; optional: runs when named or with --baselines"},
		{Name: "policy", Kind: reports.BenchKindLoad, Run: runPolicy, Optional: true,
			Description: "one route with a typical policy: a regular-expression path rewritten (use-regex, rewrite-target /$2), CORS (enable-cors, requests with an Origin) and a per-client rate limit above the load (limit-rps 100000); every target is checked once to rewrite and add the CORS headers; optional: runs when named or with --baselines"},
		{Name: "many-routes", Kind: reports.BenchKindLoad, Run: runManyRoutes,
			Description: "hosts x paths spread over 10 backends, uniform and Zipf(1.1) mixes; every response checked for the expected backend (misroutes are errors)"},
		{Name: "tls", Kind: reports.BenchKindLoad, Run: runTLS,
			Description: "HTTPS (SNI = virtual host, TLS 1.3, no session resumption) with keep-alive over HTTP/1.1 and over h2, and with a new connection per request (handshake cost)"},
		{Name: "no-keepalive", Kind: reports.BenchKindLoad, Run: runNoKeepAlive,
			Description: "HTTP/1.1 with a new connection per request through the controller"},
		{Name: "propagation", Kind: reports.BenchKindPropagation, Run: runPropagation,
			Description: "time from an Ingress create/update/delete (API write sent) to the first correct response and to the last stale one"},
		{Name: "churn", Kind: reports.BenchKindChurn, Run: runChurn,
			Description: "constant rate while an Ingress is updated and endpoints are scaled (graceful: terminating first), one change per phase of >= 1,000 requests, each change observed over HTTP the same way for every controller; errors, misroutes and latency per second"},
		{Name: "scale", Kind: reports.BenchKindScale, Run: runScale,
			Description: "growing numbers of Ingresses (one host x path route each): time to full sync over HTTP (after writes and after a restart), RSS of the controller's process tree and heap once the restarted controller has served every route (at least 50,000 requests over 8 connections, at most 30 s), memory per route from a least-squares fit with its residual"},
	}, reliabilityScenarios()...)
}

const (
	singleHost      = "single.bench.test"
	tlsHost         = "tls.bench.test"
	noKeepAliveHost = "nokeepalive.bench.test"
	echoName        = "echo"
)

// The tls and no-keepalive scenarios have echo backends of their own,
// apart from single-route's echoName: a controller that opens a new
// upstream connection per request (NGINX Inc's default, no upstream
// keep-alive) leaves a TIME_WAIT socket per request towards the endpoint it
// used, for 60 s; on one endpoint address the next scenario would find the
// source ports to it nearly used up (28,000 by default, TIME_WAIT reuse on
// loopback only) and measure the kernel's search for a free one, not its
// own traffic.
const (
	tlsEcho         = "echo-tls"
	noKeepAliveEcho = "echo-nokeepalive"
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
	if e.remote != nil {
		return "", nil // backend Pods: reached only by generator Pods (their Service)
	}
	return e.directAddr(ctx, b, 0)
}

func singleTraffic(name, via, dial string, keepAlive bool, pid int) *Traffic {
	return &Traffic{Name: name, Via: via, Dial: dial, KeepAlive: keepAlive, PID: pid, Primary: keepAlive,
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
	if e.remote != nil && !e.distributed() {
		traffic = traffic[1:]
		e.noteOnce("single-route: proxied only, without its direct baseline (the backend Pods are not reachable from this machine; --generators >= 2 measures both)")
	}
	extra, stop, err := e.baselineTargets(ctx, plainRoute(direct), func(b *runningBaseline) []*Traffic {
		return []*Traffic{baselineTraffic(b, traffic[len(traffic)-1], "")}
	})
	if err != nil {
		return nil, err
	}
	defer stop()
	traffic = append(traffic, extra...)
	series, err := e.measureSeries(ctx, "single-route", traffic)
	if err != nil {
		return nil, err
	}
	if len(series) == 1 {
		return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
	}
	d := series[0]
	e.pairedDirect = &d
	if sat := series[1].Saturation; sat != nil {
		e.proxiedMaxRPS = sat.MaxRPS.Median
	}
	res := &reports.LoadResult{Series: series, Comparisons: []reports.ABComparison{compare(series[0], series[1])}}
	for _, s := range series[2:] {
		res.Comparisons = append(res.Comparisons, compare(series[0], s))
	}
	return &reports.BenchScenario{Load: res}, nil
}

func runNoKeepAlive(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	echo := noKeepAliveEcho
	if _, err := e.backend(ctx, echo, 1); err != nil {
		return nil, err
	}
	if err := e.apply(ctx, e.ingress("nokeepalive", []rule{{Host: noKeepAliveHost, Paths: []pathBackend{{"/", echo}}}}, "")); err != nil {
		return nil, err
	}
	if err := e.waitRoute(ctx, newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second), "http://"+noKeepAliveHost+"/", echo, 3, 30*time.Second); err != nil {
		return nil, err
	}
	traffic := &Traffic{Name: "proxied", Via: "controller", Dial: e.Ctrl.HTTPAddr, PID: e.Ctrl.PID(),
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://" + noKeepAliveHost + "/bench"}}, Expect: []string{echo}}
	series, err := e.measureSeries(ctx, "no-keepalive", []*Traffic{traffic})
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

func runTLS(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	echo := tlsEcho
	be, err := e.backend(ctx, echo, 1)
	if err != nil {
		return nil, err
	}
	pool, certPEM, err := e.tlsSecret(ctx, "bench-tls", tlsHost)
	if err != nil {
		return nil, err
	}
	if err := e.apply(ctx, e.ingress("tls", []rule{{Host: tlsHost, Paths: []pathBackend{{"/", echo}}}}, "bench-tls")); err != nil {
		return nil, err
	}
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
	if err := checkDial(ctx, e.guard, e.Ctrl.HTTPSAddr); err != nil {
		return nil, err
	}
	url := "https://" + tlsHost + "/bench"
	if err := e.waitRoute(ctx, newProber(e.Ctrl.HTTPSAddr, conf, 2*time.Second), url, echo, 3, 30*time.Second); err != nil {
		return nil, err
	}
	mk := func(name string, keepAlive, h2 bool) *Traffic {
		return &Traffic{Name: name, Via: "controller", Dial: e.Ctrl.HTTPSAddr, TLS: conf, KeepAlive: keepAlive, HTTP2: h2, PID: e.Ctrl.PID(),
			Targets: []vegeta.Target{{Method: http.MethodGet, URL: url}}, Expect: []string{echo}}
	}
	traffic := []*Traffic{mk("keepalive", true, false), mk("keepalive-h2", true, true), mk("new-connection", false, false)}
	e.notes = append(e.notes, handshakeNote(ctx, "the controller", e.Ctrl.HTTPSAddr, tlsHost, conf),
		handshakeNote(ctx, "the controller (h2 series)", e.Ctrl.HTTPSAddr, tlsHost, h2Client(conf)))
	if len(e.Opts.Baselines) > 0 && e.remote == nil {
		direct, err := e.directAddr(ctx, be, 0)
		if err != nil {
			return nil, err
		}
		rt := singleRoute("tls", tlsHost, echo, direct)
		rt.PEM, rt.Pool = certPEM, pool
		extra, stop, err := e.baselineTargets(ctx, rt, func(b *runningBaseline) []*Traffic {
			e.notes = append(e.notes, handshakeNote(ctx, "baseline "+b.engine.Name, b.addr, tlsHost, conf),
				handshakeNote(ctx, "baseline "+b.engine.Name+" (h2 series)", b.addr, tlsHost, h2Client(conf)))
			return []*Traffic{baselineTraffic(b, traffic[0], ""), baselineTraffic(b, traffic[1], "-h2"), baselineTraffic(b, traffic[2], "-new-connection")}
		})
		if err != nil {
			return nil, err
		}
		defer stop()
		traffic = append(traffic, extra...)
	}
	series, err := e.measureSeries(ctx, "tls", traffic)
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

// manyRoutesBackends is how many Services the many-routes table spreads over.
const manyRoutesBackends = 10

func runManyRoutes(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	hosts, paths := e.Opts.ManyRoutesHosts, e.Opts.ManyRoutesPaths
	upstreams := map[string]string{}
	for i := 0; i < manyRoutesBackends; i++ {
		b, err := e.backend(ctx, fmt.Sprintf("mr-%d", i), 1)
		if err != nil {
			return nil, err
		}
		if len(e.Opts.Baselines) > 0 && e.remote == nil {
			if upstreams[b.Spec.Name], err = e.directAddr(ctx, b, 0); err != nil {
				return nil, err
			}
		}
	}
	rt := baselineRoute{Scenario: "many-routes", Upstreams: upstreams}
	var targets []vegeta.Target
	var expect []string
	var names []string
	const hostsPerIngress = 10
	e.Progressf("many-routes: creating %d hosts x %d paths", hosts, paths)
	// The table is removed when the scenario ends, and the scenarios after
	// it start once the controller stopped serving it (see removeManyRoutes).
	defer func() {
		if len(targets) > 0 {
			e.removeManyRoutes(context.WithoutCancel(ctx), names, []vegeta.Target{targets[0], targets[len(targets)-1]}, []string{expect[0], expect[len(expect)-1]})
		}
	}()
	for first := 0; first < hosts; first += hostsPerIngress {
		var rules []rule
		for h := first; h < min(first+hostsPerIngress, hosts); h++ {
			r := rule{Host: fmt.Sprintf("h%d.many.bench.test", h)}
			bh := baselineHost{Host: r.Host}
			for p := 0; p < paths; p++ {
				svc := fmt.Sprintf("mr-%d", (h+p)%manyRoutesBackends)
				r.Paths = append(r.Paths, pathBackend{Path: fmt.Sprintf("/p%d", p), Service: svc})
				bh.Paths = append(bh.Paths, baselinePath{Prefix: fmt.Sprintf("/p%d/", p), Service: svc})
				targets = append(targets, vegeta.Target{Method: http.MethodGet, URL: fmt.Sprintf("http://%s/p%d/x", r.Host, p)})
				expect = append(expect, svc)
			}
			rules = append(rules, r)
			rt.Hosts = append(rt.Hosts, bh)
		}
		name := fmt.Sprintf("many-%d", first/hostsPerIngress)
		names = append(names, name)
		if err := e.apply(ctx, e.ingress(name, rules, "")); err != nil {
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
	traffic := []*Traffic{mk("uniform", uniform), mk("zipf", zipf)}
	if len(e.Opts.Baselines) > 0 && e.remote == nil {
		// The engines get the uniform mix (every route as often), the
		// goal's case; the requests are below each Prefix ("/p3/x"), the
		// part of Prefix matching both configurations express alike.
		extra, stop, err := e.baselineTargets(ctx, rt, func(b *runningBaseline) []*Traffic {
			return []*Traffic{baselineTraffic(b, traffic[0], "")}
		})
		if err != nil {
			return nil, err
		}
		defer stop()
		traffic = append(traffic, extra...)
	}
	series, err := e.measureSeries(ctx, "many-routes", traffic)
	if err != nil {
		return nil, err
	}
	return &reports.BenchScenario{Load: &reports.LoadResult{Series: series}}, nil
}

// manyRoutesRemoval bounds the wait for the controller to stop serving the
// many-routes table after its Ingresses are deleted.
const manyRoutesRemoval = 60 * time.Second

// removeManyRoutes deletes the many-routes Ingresses and waits until the
// controller no longer serves the probed routes (3 answers in a row that are
// not a 200 from the route's backend), bounded by manyRoutesRemoval. Left in
// place, the 10,000 routes stayed for every later scenario: propagation
// (documented as timing only the changed Ingress), churn, scale and the
// reliability scenarios measured a controller that rebuilt them on every
// change (nginx-inc: 9 s per nginx configuration parse, churn changes not
// seen within 30 s). A removal not seen in time is reported, not fatal.
func (e *Env) removeManyRoutes(ctx context.Context, names []string, probes []vegeta.Target, expect []string) {
	start := time.Now()
	if err := deleteIngresses(ctx, e.Kube, names); err != nil {
		e.Progressf("many-routes: %v", err)
		e.notes = append(e.notes, "many-routes: "+err.Error())
		return
	}
	p := newProber(e.Ctrl.HTTPAddr, nil, 2*time.Second)
	err := poll.Until(ctx, 20*time.Millisecond, manyRoutesRemoval, func(ctx context.Context) error {
		for i, t := range probes {
			for range 3 {
				if code, svc := p.probe(ctx, t.URL); !routeGone(code, svc, expect[i]) {
					return fmt.Errorf("%s still answers %d from %q", t.URL, code, svc)
				}
			}
		}
		return nil
	})
	if err != nil {
		n := fmt.Sprintf("many-routes: its %d Ingresses were deleted at the end, but the controller still served their routes after %s (%v); the scenarios after it ran while it removed them", len(names), manyRoutesRemoval, err)
		e.Progressf("%s", n)
		e.notes = append(e.notes, n)
		return
	}
	e.Progressf("many-routes: %d Ingresses deleted, routes gone after %.0f ms", len(names), float64(time.Since(start))/1e6)
}

// deleteIngresses deletes the named Ingresses of the bench namespace; one
// already gone is not an error.
func deleteIngresses(ctx context.Context, kube kubernetes.Interface, names []string) error {
	api := kube.NetworkingV1().Ingresses(Namespace)
	for _, n := range names {
		if err := api.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Ingress %s/%s: %w", Namespace, n, err)
		}
	}
	return nil
}

// routeGone reports whether an answer shows a deleted route no longer
// served: an answer (not a transport error, which a reload can cause) that
// is not a 200 from the route's backend.
func routeGone(code int, service, expect string) bool {
	return code != 0 && (code != http.StatusOK || service != expect)
}

// peerFraction is the load fraction of the peer series whose window a
// Traffic.Peer repeats.
const peerFraction = 0.5

// runsFraction reports whether measureSeries runs t's window at fraction f.
func runsFraction(o Options, t *Traffic, f float64) bool {
	return slices.Contains(o.Fractions, f) && (t.Primary || slices.Contains(o.SecondaryFractions, f))
}

// fractionWindow is one measured open-loop window of t at rate through at
// most pool connections, after the idle connections of the previous window
// are closed and an unmeasured warm-up at the same rate.
func (e *Env) fractionWindow(ctx context.Context, t *Traffic, rate float64, pool int, phase string) (reports.StepResult, error) {
	o := e.Opts
	// Connections left idle by the previous window go first: after an
	// overloaded window they number thousands, and with the in-process
	// echo backends they can exhaust the harness's file descriptors (the
	// /proc reads of the CPU sample then fail).
	t.closeIdle()
	// A warm-up at the same rate opens the connections (kept by the
	// traffic's client) and fills the controller's pools; it is not
	// measured.
	if err := e.warmUp(ctx, t, stepConfig{Rate: rate, Duration: warmUp(o.WindowDuration), Phase: "warm-up", SLO: o.SLO, Gates: o.Gates, PoolConnections: pool}); err != nil {
		return reports.StepResult{}, fmt.Errorf("warm-up at %.0f rps: %w", rate, err)
	}
	return e.window(ctx, t, stepConfig{Rate: rate, Duration: o.WindowDuration, Phase: phase, Detail: true, PoolConnections: pool})
}

// measureSeries measures every traffic the same way, interleaved (A/B/A/B
// within each repetition): first its closed-loop maximum (a connection
// sweep per repetition), then open-loop windows at fractions of that
// target's own maximum (all Fractions for primary traffic, the
// SecondaryFractions for the rest), and a traffic with a Peer at the
// peer's 50 % rate, next to the peer's own window (SameRatePairs pairs per
// repetition). A capped maximum
// (ceiling) is still a rate the target sustained, so its fractions are
// measured too; the reports say the maximum is a lower bound.
func (e *Env) measureSeries(ctx context.Context, scenario string, traffic []*Traffic) ([]reports.LoadSeries, error) {
	o := e.Opts
	// An overloaded open-loop window can leave a thousand idle keep-alive
	// connections to the target; they must not outlive the scenario
	// (a controller may cap connections per client address).
	defer func() {
		for _, t := range traffic {
			t.closeIdle()
		}
	}()
	series := make([]reports.LoadSeries, len(traffic))
	for i, t := range traffic {
		if err := e.checkTraffic(ctx, t); err != nil {
			return nil, err
		}
		series[i] = reports.LoadSeries{Name: t.Name, Via: t.Via}
	}
	so := SaturationOptions{Connections: o.Connections, Repetitions: o.Repetitions, GeneratorMargin: o.GeneratorMargin}
	if e.gen != nil {
		so.GeneratorMaxRPS = e.gen.MaxRPS
	}
	if err := so.check(); err != nil {
		return nil, err
	}
	sweeps := make([][]reports.ClosedLoopSweep, len(traffic))
	for rep := 1; rep <= o.Repetitions; rep++ {
		for i, t := range traffic {
			sw, err := sweepOnce(ctx, so, rep, func(ctx context.Context, n int) (reports.StepResult, error) {
				st, err := e.window(ctx, t, stepConfig{Connections: n, Duration: o.ClosedLoopDuration, Phase: "closed-loop"})
				if err == nil {
					e.Progressf("%s %s rep %d closed loop %d connections: %.0f rps, p99 %.2f ms, success %.2f%%, ctrl %.1f µs/req, %s", scenario, t.Name, rep, n,
						st.ThroughputRPS, st.Latency.P99/1000, st.SuccessRatio*100, st.ControllerCPUMicrosPerRequest, verdict(st))
				}
				return st, err
			})
			if err != nil {
				return nil, fmt.Errorf("%s %s repetition %d: %w", scenario, t.Name, rep, err)
			}
			sweeps[i] = append(sweeps[i], sw)
			e.Progressf("%s %s rep %d: closed-loop maximum %.0f rps with %d connections%s", scenario, t.Name, rep, sw.MaxRPS, sw.Connections, ceilingNote(sw.Ceiling))
		}
	}
	for i, t := range traffic {
		sat := concludeSaturation(so, sweeps[i])
		series[i].Saturation = &sat
		series[i].MaxSustainableRPS = sat.MaxRPS
		if sat.Ceiling != "" {
			e.Progressf("%s %s: maximum ≥ %.0f rps is a lower bound: %s", scenario, t.Name, sat.MaxRPS.Median, sat.CeilingReason)
		} else if sat.Note != "" {
			e.Progressf("%s %s: maximum %.0f rps: %s", scenario, t.Name, sat.MaxRPS.Median, sat.Note)
		}
	}
	windows := make([]map[float64][]reports.StepResult, len(traffic))
	peerWindows := make([][]reports.StepResult, len(traffic))
	pools := make([]int, len(traffic))
	for i := range windows {
		windows[i] = map[float64][]reports.StepResult{}
		pools[i] = poolConnections(sweeps[i])
	}
	// own measures traffic[i] at fraction f of its own maximum.
	own := func(rep, i int, f float64) error {
		t := traffic[i]
		rate := math.Round(series[i].Saturation.MaxRPS.Median * f)
		if rate <= 0 {
			return nil
		}
		st, err := e.fractionWindow(ctx, t, rate, pools[i], "fraction")
		if err != nil {
			return fmt.Errorf("%s %s %.0f %% (%.0f rps): %w", scenario, t.Name, f*100, rate, err)
		}
		st.Fraction = f
		windows[i][f] = append(windows[i][f], st)
		e.Progressf("%s %s rep %d at %.0f %% (%.0f rps): p50 %.0f µs, p99 %.0f µs, ctrl %s µs/req, %s", scenario, t.Name, rep, f*100, rate,
			st.Latency.P50, st.Latency.P99, ctrlCPU(st), verdict(st))
		return nil
	}
	// atPeer measures every traffic whose Peer is traffic[j] at traffic[j]'s
	// peerFraction rate, through traffic[j]'s pool.
	atPeer := func(rep, j int) error {
		rate := math.Round(series[j].Saturation.MaxRPS.Median * peerFraction)
		if rate <= 0 {
			return nil
		}
		for i, t := range traffic {
			if t.Peer != traffic[j] {
				continue
			}
			st, err := e.fractionWindow(ctx, t, rate, pools[j], "at "+traffic[j].Name+"'s")
			if err != nil {
				return fmt.Errorf("%s %s at %s's %.0f %% (%.0f rps): %w", scenario, t.Name, traffic[j].Name, peerFraction*100, rate, err)
			}
			st.Fraction = peerFraction
			peerWindows[i] = append(peerWindows[i], st)
			e.Progressf("%s %s rep %d at %s's %.0f %% (%.0f rps, %d connections): p50 %.0f µs, p99 %.0f µs, ctrl %s µs/req, %s", scenario, t.Name, rep,
				traffic[j].Name, peerFraction*100, rate, pools[j], st.Latency.P50, st.Latency.P99, ctrlCPU(st), verdict(st))
		}
		return nil
	}
	// A same-rate comparison is only as good as the two windows are close
	// in time (this machine's speed drifts over minutes): each peer window
	// runs next to the window it is compared with, SameRatePairs pairs per
	// repetition, the peer's window after the other in even-numbered pairs
	// of the run (counting from 0) and before it in odd ones (so neither
	// side always inherits the other's after-effects). A traffic that is
	// nobody's peer measures its window once.
	isPeer := make([]bool, len(traffic))
	for _, t := range traffic {
		if t.Peer != nil {
			if j := slices.Index(traffic, t.Peer); j >= 0 {
				isPeer[j] = true
			}
		}
	}
	pairNo := make([]int, len(traffic))
	for rep := 1; rep <= o.Repetitions; rep++ {
		for _, f := range o.Fractions {
			for i, t := range traffic {
				if !runsFraction(o, t, f) {
					continue
				}
				if f != peerFraction || !isPeer[i] {
					if err := own(rep, i, f); err != nil {
						return nil, err
					}
					continue
				}
				for range o.SameRatePairs {
					peerFirst := pairNo[i]%2 == 1
					pairNo[i]++
					if peerFirst {
						if err := atPeer(rep, i); err != nil {
							return nil, err
						}
					}
					if err := own(rep, i, f); err != nil {
						return nil, err
					}
					if !peerFirst {
						if err := atPeer(rep, i); err != nil {
							return nil, err
						}
					}
				}
			}
		}
	}
	for i := range series {
		fs := append(slices.Clone(o.Fractions), o.SecondaryFractions...)
		slices.Sort(fs)
		for _, f := range slices.Compact(fs) {
			if ws := windows[i][f]; len(ws) > 0 {
				series[i].AtLoad = append(series[i].AtLoad, summarizePoint(f, ws[0].OfferedRPS, ws))
			}
		}
		series[i].CPUMicrosPerRequest, _ = cpuAtHighestPassing(series[i].AtLoad)
		if ws := peerWindows[i]; len(ws) > 0 {
			series[i].AtPeerRate = &reports.PeerRatePoint{Peer: traffic[i].Peer.Name, Connections: pools[slices.Index(traffic, traffic[i].Peer)],
				Point: summarizePoint(peerFraction, ws[0].OfferedRPS, ws)}
		}
	}
	return series, nil
}

// poolConnections is the connection pool of a target's open-loop windows:
// the median, over the repetitions, of the connection count at which each
// sweep found its maximum (0 when no sweep found one: unbounded). The
// fractions of a maximum are offered through the pool that reached it.
func poolConnections(sweeps []reports.ClosedLoopSweep) int {
	var ns []int
	for _, sw := range sweeps {
		if sw.MaxRPS > 0 && sw.Connections > 0 {
			ns = append(ns, sw.Connections)
		}
	}
	if len(ns) == 0 {
		return 0
	}
	slices.Sort(ns)
	return ns[(len(ns)-1)/2]
}

// warmUp is the unmeasured lead-in of an open-loop window: a tenth of it,
// between 200 ms and 1 s. It only has to open the pool's connections (at
// most the pool's size, which reached the maximum in the closed loop) and
// fill the controller's upstream pools: a second at the window's rate is
// thousands of requests.
func warmUp(window time.Duration) time.Duration {
	return min(max(window/10, 200*time.Millisecond), time.Second)
}

func ceilingNote(c string) string {
	if c == "" {
		return ""
	}
	return " (ceiling: " + c + ", a lower bound)"
}

func verdict(st reports.StepResult) string {
	v := "ok"
	switch {
	case !st.Valid:
		v = "INVALID (" + st.InvalidReason + ")"
	case !st.PassSLO:
		v = "fails SLO (" + st.FailReason + ")"
	}
	if st.Noisy && st.CPU != nil {
		v += fmt.Sprintf(", noisy (%.2f external cores)", st.CPU.ExternalCores)
	}
	return v
}

// compare pairs series b with its interleaved baseline a: the throughput
// ratio of their maxima, refused when either is capped.
func compare(a, b reports.LoadSeries) reports.ABComparison {
	c := reports.ABComparison{Baseline: a.Name, Series: b.Name}
	c.ThroughputRatio, c.RatioRefused = reports.ThroughputRatio(a, b)
	return c
}

// ctrlCPU is the progress line's controller CPU per request; "n/a" when
// the window's CPU sample could not be taken (no 0 that looks measured).
func ctrlCPU(st reports.StepResult) string {
	if st.CPU == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", st.ControllerCPUMicrosPerRequest)
}
