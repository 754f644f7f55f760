package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/reports"
)

// Traffic describes what one load series sends and where.
type Traffic struct {
	// Name of the series ("proxied", "direct", "uniform", ...).
	Name string
	// Via is "direct" or "controller" (for the report).
	Via string
	// Dial is the one address every connection goes to (host:port). It
	// must have passed the provider's CheckTarget (see Env.guard).
	Dial string
	// TLS, when set, makes connections TLS with this config (ServerName
	// comes from each URL's host, so SNI is the virtual host).
	TLS *tls.Config
	// KeepAlive reuses connections; false opens one per request.
	KeepAlive bool
	// HTTP2 speaks h2 over TLS (ALPN); the default is HTTP/1.1 only.
	// Go's client then multiplexes the concurrent requests on as few
	// connections as the server's stream limit allows.
	HTTP2 bool
	// Targets are the requests; Expect[i] is the Service that must answer
	// Targets[i] ("" accepts any 2xx).
	Targets []vegeta.Target
	Expect  []string
	// Order, when set, is the sequence of target indexes (cycled), e.g. a
	// Zipf mix; default round-robin.
	Order []int
	// PID of the controller process whose CPU is charged, with every
	// descendant (0: none).
	PID int
	// Primary traffic gets every load fraction (Options.Fractions), the
	// others Options.SecondaryFractions.
	Primary bool
	// Peer, when set, is the series whose 50 % window this traffic repeats
	// at the same rate through the same connection pool (LoadSeries
	// AtPeerRate): raw HAProxy at the controller's rate.
	Peer *Traffic

	// open is the open-loop client, kept across windows so a warm-up's
	// connections serve the window after it (created on first use).
	openMu    sync.Mutex
	open      *http.Client
	openTO    time.Duration
	openConns int
}

// openClient returns the traffic's open-loop client for timeout and a pool
// of at most conns connections (0: unbounded), made anew when either
// changes.
func (t *Traffic) openClient(timeout time.Duration, conns int) *http.Client {
	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.open == nil || t.openTO != timeout || t.openConns != conns {
		if t.open != nil {
			t.open.CloseIdleConnections()
		}
		t.open, t.openTO, t.openConns = t.clientConns(timeout, conns), timeout, conns
	}
	return t.open
}

// closeIdle closes the idle connections of the open-loop client.
func (t *Traffic) closeIdle() {
	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.open != nil {
		t.open.CloseIdleConnections()
	}
}

// targeter returns a concurrency-safe vegeta.Targeter cycling through the
// traffic's targets in Order.
func (t *Traffic) targeter() vegeta.Targeter {
	var n atomic.Uint64
	return func(tgt *vegeta.Target) error {
		if tgt == nil {
			return vegeta.ErrNilTarget
		}
		i := n.Add(1) - 1
		idx := int(i % uint64(len(t.Targets)))
		if len(t.Order) > 0 {
			idx = t.Order[i%uint64(len(t.Order))]
		}
		*tgt = t.Targets[idx]
		return nil
	}
}

// client builds the HTTP/1.1 client every attacker of this traffic uses:
// whatever the URL says, connections go to t.Dial.
func (t *Traffic) client(timeout time.Duration) *http.Client {
	return t.clientConns(timeout, 0)
}

// clientConns is client with at most conns connections (0: unbounded).
func (t *Traffic) clientConns(timeout time.Duration, conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := t.Dial
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, dial)
			if tc, ok := c.(*net.TCPConn); ok {
				// Closed with a reset, leaving no TIME_WAIT socket: a window
				// that opens thousands of connections (an open loop against
				// a target that slows down) would otherwise use up the
				// source ports towards that endpoint for a minute, and every
				// later connect to it, the controller's upstream ones
				// included, would pay for the kernel's search for a free one.
				_ = tc.SetLinger(0)
			}
			return c, err
		},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 10000,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
		DisableKeepAlives:   !t.KeepAlive,
		DisableCompression:  true,
		// HTTP/1.1 only: an empty TLSNextProto disables h2.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		// A copy: h2's setup adds to NextProtos in place, and one
		// tls.Config serves several traffics (HTTP/1.1 and h2).
		TLSClientConfig: t.TLS.Clone(),
	}
	if t.HTTP2 {
		tr.TLSNextProto = nil
		tr.ForceAttemptHTTP2 = true
	}
	return &http.Client{
		Transport: agent.Pool(tr, t.TLS != nil, len(t.Targets), func(i int) string { return t.Targets[i].URL }),
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// latencyBuckets are the vegeta histogram buckets in the report.
var latencyBuckets = vegeta.Buckets{0, 250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
	4 * time.Millisecond, 8 * time.Millisecond, 16 * time.Millisecond, 32 * time.Millisecond, 64 * time.Millisecond,
	128 * time.Millisecond, 256 * time.Millisecond, time.Second}

// spectrumPercentiles are the percentiles of the spectrum in fixed runs.
var spectrumPercentiles = []float64{0, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9, 99.95, 99.99, 100}

// stepConfig is what one step needs besides the traffic.
type stepConfig struct {
	Rate     float64
	Duration time.Duration
	Phase    string
	// Detail adds the spectrum and histogram (fixed runs).
	Detail bool
	SLO    reports.SLO
	Gates  reports.Gates
	// Timeout of one request. Default 5s.
	Timeout time.Duration
	// OnResult, when set, sees every classified result (churn windows).
	OnResult func(r *vegeta.Result, offset time.Duration, class outcome)
	// Connections > 0 makes the window closed-loop: that many workers (and
	// connections), each sending as soon as its previous answer came; Rate
	// is then ignored.
	Connections int
	// GenMicrosPerRequest is the generator's calibrated CPU per request
	// (splits the harness CPU into generator and backends; 0: unknown).
	GenMicrosPerRequest float64
	// BackendPIDs, when set, gives the echo backends' processes, whose CPU
	// is then measured (Options.BackendProcesses).
	BackendPIDs func() []int
	// NoiseMaxExternalCores marks the window noisy when processes outside
	// the run used more CPU (0: never).
	NoiseMaxExternalCores float64
	// NoRepeat keeps a noisy window (marked) instead of measuring it again:
	// for windows with side effects beside them (churn).
	NoRepeat bool
	// MaxInFlight bounds an open-loop window's concurrent requests;
	// reaching it makes the window invalid. Default:
	// openLoopMaxInFlight(Rate, Timeout, the process's descriptor limit).
	MaxInFlight int
	// PoolConnections bounds an open-loop window's connections (0:
	// unbounded, one per request in flight). The arrivals stay open-loop:
	// a request that finds every connection busy waits for one, and the
	// wait counts in its latency, as behind any client's connection pool.
	// Without the bound, every stall of the target makes the generator
	// open connections, each of which makes every request dearer: on two
	// shared cores an open loop at a quarter of a target's closed-loop
	// maximum ran up thousands of connections and collapsed.
	PoolConnections int
}

// outcome classifies one response.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeError
	outcomeNon2xx
	outcomeMisroute
)

// runStep runs one open-loop constant-rate attack and measures it. The
// attack is bounded by cfg.Duration plus the request timeout.
func runStep(ctx context.Context, t *Traffic, cfg stepConfig) (reports.StepResult, error) {
	closed := cfg.Connections > 0
	if (cfg.Rate <= 0 && !closed) || cfg.Duration <= 0 || len(t.Targets) == 0 {
		return reports.StepResult{}, fmt.Errorf("step %s: rate %v, duration %v, %d targets", t.Name, cfg.Rate, cfg.Duration, len(t.Targets))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	expect := map[string]string{}
	for i, tg := range t.Targets {
		if i < len(t.Expect) {
			expect[tg.Method+" "+tg.URL] = t.Expect[i]
		}
	}
	var (
		atk            *vegeta.Attacker
		pacer          vegeta.ConstantPacer
		interval       time.Duration
		inFlight       *inFlightCounter
		stoppedAtBound atomic.Bool
	)
	if closed {
		// Closed loop: a zero pacer is an unbounded rate; the worker count
		// (= connections) bounds the load.
		n := uint64(cfg.Connections)
		client := t.clientConns(cfg.Timeout, cfg.Connections) // this window's own
		defer client.CloseIdleConnections()
		atk = vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(n), vegeta.MaxWorkers(n), vegeta.MaxBody(8192))
	} else {
		if cfg.MaxInFlight <= 0 {
			cfg.MaxInFlight = openLoopMaxInFlight(cfg.Rate, cfg.Timeout, fdLimit())
		}
		var client *http.Client
		client, inFlight = counting(t.openClient(cfg.Timeout, cfg.PoolConnections))
		// A window that reaches its in-flight bound is invalid whatever
		// follows; it stops there. Run on, it would keep the bound's worth
		// of requests waiting for the request timeout, each abandoned one
		// closing its connection: tens of thousands of TIME_WAIT sockets
		// towards one endpoint within a minute, which slow down every
		// later connect to it, the controller's upstream ones included
		// (seen with ingress-nginx on a loaded 2-core machine: direct at
		// 1 % of its offered rate and the controller at 2.7 ms CPU per
		// request for the rest of the run).
		inFlight.bound = int64(cfg.MaxInFlight)
		inFlight.atBound = func() {
			stoppedAtBound.Store(true)
			if atk != nil {
				atk.Stop()
			}
		}
		atk = vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(min(16, cfg.MaxInFlight))), vegeta.MaxWorkers(uint64(cfg.MaxInFlight)), vegeta.MaxBody(8192))
		// Rates to 0.1 rps: Freq per 10 s.
		pacer = vegeta.ConstantPacer{Freq: max(1, int(math.Round(cfg.Rate*10))), Per: 10 * time.Second}
		interval = pacer.Per / time.Duration(pacer.Freq)
	}
	var backends []int
	if cfg.BackendPIDs != nil {
		backends = cfg.BackendPIDs()
	}
	snap0 := snapCPU(t.PID, backends...)
	began := time.Now()
	results := atk.Attack(t.targeter(), pacer, cfg.Duration, t.Name)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	var (
		metrics   = vegeta.Metrics{Histogram: &vegeta.Histogram{Buckets: latencyBuckets}}
		latencies = make([]float64, 0, int(cfg.Rate*cfg.Duration.Seconds())+16)
		lags      = make([]float64, 0, cap(latencies))
		st        reports.StepResult
		ok        int64
		codes     = map[string]int64{}
		samples   []string
	)
	for r := range results {
		metrics.Add(r)
		st.Requests++
		lat := float64(r.Latency) / 1e3
		latencies = append(latencies, lat)
		if !closed {
			lag := r.Timestamp.Sub(began) - time.Duration(r.Seq)*interval
			lags = append(lags, math.Max(0, float64(lag)/1e3))
		}
		class := classify(r, expect)
		switch class {
		case outcomeOK:
			ok++
		case outcomeError:
			st.Errors++
		case outcomeNon2xx:
			st.Non2xx++
		case outcomeMisroute:
			st.Misroutes++
		}
		if r.Code != 0 {
			codes[strconv.Itoa(int(r.Code))]++
		}
		if class != outcomeOK && len(samples) < 5 {
			samples = appendSample(samples, describe(r, class))
		}
		if cfg.OnResult != nil {
			cfg.OnResult(r, r.Timestamp.Sub(began), class)
		}
	}
	metrics.Close()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	snap1 := snapCPU(t.PID, backends...)
	st.Phase = cfg.Phase
	st.Connections = cfg.Connections
	if !closed {
		st.OfferedRPS = cfg.Rate
		st.MaxInFlight, st.PeakInFlight = cfg.MaxInFlight, int(inFlight.peak.Load())
		st.PoolConnections = cfg.PoolConnections
	}
	st.DurationMillis = cfg.Duration.Milliseconds()
	st.StatusCodes = codes
	st.ErrorSamples = samples
	elapsed := metrics.Duration + metrics.Wait
	if st.Requests > 0 {
		st.AchievedRPS = float64(st.Requests) / cfg.Duration.Seconds()
		st.SuccessRatio = float64(ok) / float64(st.Requests)
	}
	if elapsed > 0 {
		st.ThroughputRPS = float64(ok) / elapsed.Seconds()
	}
	st.Latency = percentiles(latencies)
	st.Lag = percentiles(lags)
	if cfg.Detail {
		slices.Sort(latencies)
		for _, p := range spectrumPercentiles {
			st.Spectrum = append(st.Spectrum, reports.SpectrumPoint{Percentile: p, LatencyMicros: quantileSorted(latencies, p/100)})
		}
		for i, b := range metrics.Histogram.Buckets {
			st.Histogram = append(st.Histogram, reports.HistogramBucket{LowMicros: float64(b) / 1e3, Count: metrics.Histogram.Counts[i]})
		}
	}
	st.CPU = windowCPU(snap0, snap1, st.Requests, cfg.GenMicrosPerRequest)
	if t.PID > 0 && st.CPU != nil && st.Requests > 0 {
		st.ControllerCPUMicrosPerRequest = st.CPU.ControllerMicros / float64(st.Requests)
		st.ControllerRSSBytes = snap1.ctrlRSS
	}
	if st.CPU != nil && cfg.NoiseMaxExternalCores > 0 && st.CPU.ExternalCores > cfg.NoiseMaxExternalCores {
		st.Noisy = true
	}
	if closed {
		judgeClosed(&st, cfg.SLO)
	} else {
		judge(&st, cfg.SLO, cfg.Gates)
		if stoppedAtBound.Load() && !st.Valid {
			st.InvalidReason += "; the window stopped there"
		}
	}
	return st, nil
}

// judgeClosed judges a closed-loop window: it is valid when it measured
// anything (there is no offered rate to fall behind), and passes when the
// answers were right; its latency is queueing by construction and is not
// judged (latency is measured open-loop at fractions of the maximum).
func judgeClosed(st *reports.StepResult, slo reports.SLO) {
	st.Valid = st.Requests > 0
	if !st.Valid {
		st.InvalidReason = "no requests"
	}
	judgeSLO(st, slo, false)
}

// judge sets Valid/InvalidReason from the gates and PassSLO/FailReason
// from the SLO.
func judge(st *reports.StepResult, slo reports.SLO, g reports.Gates) {
	st.Valid = true
	switch {
	case st.Requests == 0:
		st.Valid, st.InvalidReason = false, "no requests"
	case st.MaxInFlight > 0 && st.PeakInFlight >= st.MaxInFlight:
		st.Valid, st.InvalidReason = false, fmt.Sprintf("generator reached its in-flight bound (%d requests): the target answered too slowly for the offered rate", st.MaxInFlight)
	case st.AchievedRPS/st.OfferedRPS < g.MinAchievedRatio:
		st.Valid, st.InvalidReason = false, fmt.Sprintf("achieved/offered %.3f < %.2f", st.AchievedRPS/st.OfferedRPS, g.MinAchievedRatio)
	case st.Lag.P99 > g.MaxLagP99Micros:
		st.Valid, st.InvalidReason = false, fmt.Sprintf("generator lag p99 %.0f µs > %.0f µs", st.Lag.P99, g.MaxLagP99Micros)
	}
	judgeSLO(st, slo, true)
}

func appendSample(samples []string, s string) []string {
	if slices.Contains(samples, s) {
		return samples
	}
	return append(samples, s)
}

func describe(r *vegeta.Result, class outcome) string {
	switch class {
	case outcomeError:
		return "error: " + r.Error
	case outcomeNon2xx:
		return fmt.Sprintf("%d from %s", r.Code, r.URL)
	default:
		return fmt.Sprintf("misroute: %s answered by %s", r.URL, agent.ServiceOf(r.Body))
	}
}

// classify sorts a result into ok, transport error, non-2xx or misroute.
func classify(r *vegeta.Result, expect map[string]string) outcome {
	switch {
	case r.Code == 0:
		return outcomeError
	case r.Code < 200 || r.Code > 299:
		return outcomeNon2xx
	}
	want := expect[r.Method+" "+r.URL]
	if want != "" && agent.ServiceOf(r.Body) != want {
		return outcomeMisroute
	}
	return outcomeOK
}

// percentiles computes exact percentiles of xs (sorted in place).
func percentiles(xs []float64) reports.Percentiles {
	if len(xs) == 0 {
		return reports.Percentiles{}
	}
	slices.Sort(xs)
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return reports.Percentiles{
		P50: quantileSorted(xs, 0.5), P90: quantileSorted(xs, 0.9), P99: quantileSorted(xs, 0.99),
		P999: quantileSorted(xs, 0.999), Max: xs[len(xs)-1], Mean: sum / float64(len(xs)),
	}
}

// quantileSorted is the nearest-rank quantile of sorted xs.
func quantileSorted(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// errNotAllowed is returned when an address fails the traffic guard.
var errNotAllowed = errors.New("traffic guard refused the address")

// checkDial verifies host:port with the provider's guard.
func checkDial(ctx context.Context, guard func(context.Context, netip.Addr) error, hostPort string) error {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("target %q: %w", hostPort, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("target %q: not an IP address: %w", hostPort, err)
	}
	if err := guard(ctx, a); err != nil {
		return fmt.Errorf("%w: %s: %w", errNotAllowed, hostPort, err)
	}
	return nil
}

// judgeSLO sets PassSLO/FailReason: success ratio and misroutes always,
// the p99 bound only when latency is judged (open loop).
func judgeSLO(st *reports.StepResult, slo reports.SLO, latency bool) {
	st.PassSLO = true
	switch {
	case st.SuccessRatio < slo.MinSuccessRatio:
		st.PassSLO, st.FailReason = false, fmt.Sprintf("success %.3f %% < %.1f %%", st.SuccessRatio*100, slo.MinSuccessRatio*100)
	case st.Misroutes > slo.MaxMisroutes:
		st.PassSLO, st.FailReason = false, fmt.Sprintf("%d misroutes", st.Misroutes)
	case latency && st.Latency.P99 > slo.MaxP99Micros:
		st.PassSLO, st.FailReason = false, fmt.Sprintf("p99 %.0f µs > %.0f µs", st.Latency.P99, slo.MaxP99Micros)
	}
}
