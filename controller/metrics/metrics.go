// Package metrics defines the reference controller's Prometheus metrics in a
// registry of its own (never the global one), so that several controllers can
// run in one test process. The data plane reports requests through cheap,
// cached per-route handles (RouteMetrics); the control loop reports table
// builds, publication latency and status writes through the nil-safe methods.
//
// Every method on a nil *Metrics or nil *RouteMetrics is a no-op, so callers
// can leave metrics disabled without guarding each call.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "ingresslab"

// Label values used when a request matched no route.
const (
	// NoIngress is the ingress label of requests answered by the controller
	// itself (no route, redirect before routing).
	NoIngress = "-"
	// NoService is the service label of requests that reached no service.
	NoService = "-"
)

// latencyBuckets spans a fast proxy hop (100µs) to a slow upstream (10s).
var latencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// controlBuckets spans a small table build (100µs) to a slow convergence (30s).
var controlBuckets = []float64{
	0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// Metrics holds the controller's collectors and their registry.
type Metrics struct {
	registry *prometheus.Registry

	requests       *prometheus.CounterVec   // ingress, service, code
	latency        *prometheus.HistogramVec // ingress, service
	inFlight       atomic.Int64             // exported through a GaugeFunc: one atomic add per change
	upstreamErrors *prometheus.CounterVec   // reason
	retries        prometheus.Counter

	generation     prometheus.Gauge
	buildDuration  prometheus.Histogram
	eventToPublish prometheus.Histogram
	routes         prometheus.Gauge
	hosts          prometheus.Gauge
	backends       prometheus.Gauge
	warnings       prometheus.Gauge
	statusWrites   *prometheus.CounterVec // result

	// routeHandles are the handles Route returns. A plain map under a
	// mutex: only table publishes (one at a time) use it, once for every
	// route of a table (a sync.Map lookup was 12 % of a 10,000-route
	// build's CPU profile).
	handlesMu    sync.Mutex
	routeHandles map[RouteLabels]*RouteMetrics
	// epoch counts BeginRoutes calls; a handle records the epoch in which
	// Route last returned it (both under handlesMu).
	epoch uint64
}

// RouteLabels are the ingress and service labels of one route's request
// series (see Route).
type RouteLabels struct{ Ingress, Service string }

// New returns Metrics registered in a fresh registry that also carries the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "requests_total",
		Help: "Requests handled by the data plane, by Ingress (namespace/name), Service and status code.",
	}, []string{"ingress", "service", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "request_duration_seconds",
		Help:    "Time from reading the request headers to the end of the response, by Ingress and Service.",
		Buckets: latencyBuckets,
	}, []string{"ingress", "service"})
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "requests_in_flight",
		Help: "Requests the data plane is currently handling (upgraded connections included).",
	}, func() float64 { return float64(m.inFlight.Load()) })
	m.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "upstream_errors_total",
		Help: "Failed upstream round trips, by reason (dial, timeout, canceled, other).",
	}, []string{"reason"})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "upstream_retries_total",
		Help: "Requests retried on another endpoint after a connect error.",
	})
	m.generation = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "table_generation",
		Help: "Generation of the routing table the data plane serves.",
	})
	m.buildDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "table_build_duration_seconds",
		Help: "Time to translate a snapshot and build a routing table.", Buckets: controlBuckets,
	})
	m.eventToPublish = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "event_to_publish_seconds",
		Help:    "Time from the first Kubernetes event of a batch to publishing the table that includes it.",
		Buckets: controlBuckets,
	})
	m.routes = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "table_routes", Help: "Routes in the published table.",
	})
	m.hosts = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "table_hosts", Help: "Hosts in the published table.",
	})
	m.backends = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "table_backends", Help: "Backends in the published table.",
	})
	m.warnings = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "translate_warnings",
		Help: "Warnings reported by the last translation.",
	})
	m.statusWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "status_writes_total",
		Help: "Ingress status writes to the API server, by result (ok, error).",
	}, []string{"result"})

	m.registry.MustRegister(
		m.requests, m.latency, inFlight, m.upstreamErrors, m.retries,
		m.generation, m.buildDuration, m.eventToPublish, m.routes, m.hosts, m.backends,
		m.warnings, m.statusWrites,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, for callers that add collectors of their own.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.registry
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Route returns the cached handle for requests of one Ingress ("namespace/name"
// or NoIngress) to one Service ("namespace/name" or NoService). The data plane
// resolves it once per route and table, off the per-request path.
func (m *Metrics) Route(ingress, service string) *RouteMetrics {
	if m == nil {
		return nil
	}
	k := RouteLabels{ingress, service}
	m.handlesMu.Lock()
	defer m.handlesMu.Unlock()
	h := m.routeHandles[k]
	if h == nil {
		if m.routeHandles == nil {
			m.routeHandles = make(map[RouteLabels]*RouteMetrics)
		}
		h = &RouteMetrics{m: m, ingress: ingress, service: service}
		m.routeHandles[k] = h
	}
	h.epoch = m.epoch
	return h
}

// KeepRoute marks h live for the next RetainRoutes, as Route returning it
// would: the data plane calls it for the routes a table shares with the
// previous one, without looking their labels up again. A nil h is ignored.
func (m *Metrics) KeepRoute(h *RouteMetrics) {
	if m == nil || h == nil {
		return
	}
	m.handlesMu.Lock()
	h.epoch = m.epoch
	m.handlesMu.Unlock()
}

// BeginRoutes starts the collection of one table's route handles: the
// handles Route returns from now on are live for the next RetainRoutes.
// The data plane calls it when it publishes a table, before joining the
// table's routes with their handles.
func (m *Metrics) BeginRoutes() {
	if m == nil {
		return
	}
	m.handlesMu.Lock()
	m.epoch++
	m.handlesMu.Unlock()
}

// RetainRoutes deletes the request series (requests_total and
// request_duration_seconds) and the cached handles of every ingress and
// service pair that Route has not returned since the last BeginRoutes, so
// that deleted Ingresses and Services do not leave series behind (so a
// publish builds no set of live pairs). The pair (NoIngress,
// NoService) is always kept. A request still running on an older table may
// record into a removed handle (the sample is dropped) or, for a status
// code new to it, recreate its series until the next call. It returns how
// many pairs were removed.
func (m *Metrics) RetainRoutes() int {
	if m == nil {
		return 0
	}
	m.handlesMu.Lock()
	var gone []RouteLabels
	for rl, h := range m.routeHandles {
		if h.epoch != m.epoch && rl != (RouteLabels{NoIngress, NoService}) {
			gone = append(gone, rl)
			delete(m.routeHandles, rl)
		}
	}
	m.handlesMu.Unlock()
	for _, rl := range gone {
		m.requests.DeletePartialMatch(prometheus.Labels{"ingress": rl.Ingress, "service": rl.Service})
		m.latency.DeleteLabelValues(rl.Ingress, rl.Service)
	}
	return len(gone)
}

// InFlightInc and InFlightDec track requests in progress.
func (m *Metrics) InFlightInc() {
	if m != nil {
		m.inFlight.Add(1)
	}
}

// InFlightDec: see InFlightInc.
func (m *Metrics) InFlightDec() {
	if m != nil {
		m.inFlight.Add(-1)
	}
}

// UpstreamError counts a failed upstream round trip; reason is one of dial,
// timeout, canceled or other.
func (m *Metrics) UpstreamError(reason string) {
	if m != nil {
		m.upstreamErrors.WithLabelValues(reason).Inc()
	}
}

// Retry counts a request retried on another endpoint.
func (m *Metrics) Retry() {
	if m != nil {
		m.retries.Inc()
	}
}

// SetGeneration records the generation of the table being served.
func (m *Metrics) SetGeneration(gen uint64) {
	if m != nil {
		m.generation.Set(float64(gen))
	}
}

// SetTableSize records the size of the published table.
func (m *Metrics) SetTableSize(routes, hosts, backends int) {
	if m != nil {
		m.routes.Set(float64(routes))
		m.hosts.Set(float64(hosts))
		m.backends.Set(float64(backends))
	}
}

// ObserveBuild records how long translating and building a table took.
func (m *Metrics) ObserveBuild(d time.Duration) {
	if m != nil {
		m.buildDuration.Observe(d.Seconds())
	}
}

// ObserveEventToPublish records the time from a batch's first event to the
// publication of the table that includes it.
func (m *Metrics) ObserveEventToPublish(d time.Duration) {
	if m != nil {
		m.eventToPublish.Observe(d.Seconds())
	}
}

// SetWarnings records the number of warnings of the last translation.
func (m *Metrics) SetWarnings(n int) {
	if m != nil {
		m.warnings.Set(float64(n))
	}
}

// StatusWrite counts one Ingress status write.
func (m *Metrics) StatusWrite(err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.statusWrites.WithLabelValues(result).Inc()
}

// maxCachedCodes bounds the per-route status code cache; rarer codes go
// through the (slower, still correct) labelled lookup.
const maxCachedCodes = 16

type codeCounter struct {
	code int
	c    prometheus.Counter
}

// RouteMetrics is the per-route handle of the request metrics. Observe is
// lock-free and allocation-free once a status code has been seen. The
// route's latency histogram is created by its first request: a histogram
// (16 buckets, two copies of the counts, its label pairs) costs about a
// kilobyte, so routes that see no traffic cost none.
type RouteMetrics struct {
	m                *Metrics
	ingress, service string
	epoch            uint64 // Metrics.epoch when last returned by Route (under handlesMu)
	latency          atomic.Pointer[observer]
	codes            atomic.Pointer[[]codeCounter] // copy-on-write
}

// observer holds a histogram child for an atomic pointer.
type observer struct{ prometheus.Observer }

// Observe records one finished request.
func (r *RouteMetrics) Observe(code int, d time.Duration) {
	if r == nil {
		return
	}
	r.counter(code).Inc()
	o := r.latency.Load()
	if o == nil {
		// Racing first requests get the same child from the vector.
		o = &observer{r.m.latency.WithLabelValues(r.ingress, r.service)}
		r.latency.Store(o)
	}
	o.Observe(d.Seconds())
}

func (r *RouteMetrics) counter(code int) prometheus.Counter {
	for {
		old := r.codes.Load()
		var cached []codeCounter
		if old != nil {
			cached = *old
		}
		for _, cc := range cached {
			if cc.code == code {
				return cc.c
			}
		}
		c := r.m.requests.WithLabelValues(r.ingress, r.service, codeLabel(code))
		if len(cached) >= maxCachedCodes {
			return c
		}
		next := append(append(make([]codeCounter, 0, len(cached)+1), cached...), codeCounter{code, c})
		if r.codes.CompareAndSwap(old, &next) {
			return c
		}
	}
}

func codeLabel(code int) string {
	if code >= 100 && code < 600 {
		return codeStrings[code-100]
	}
	return strconv.Itoa(code)
}

var codeStrings = func() (s [500]string) {
	for i := range s {
		s[i] = strconv.Itoa(i + 100)
	}
	return s
}()
