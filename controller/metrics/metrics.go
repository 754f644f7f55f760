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
var latencyBuckets = [...]float64{
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

	inFlight       atomic.Int64           // exported through a GaugeFunc: one atomic add per change
	upstreamErrors *prometheus.CounterVec // reason
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
		newRequestCollector(m), inFlight, m.upstreamErrors, m.retries,
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
		h = &RouteMetrics{}
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

// RetainRoutes deletes the cached handles, and with them the request series
// (requests_total and request_duration_seconds), of every ingress and
// service pair that Route has not returned since the last BeginRoutes, so
// that deleted Ingresses and Services do not leave series behind (so a
// publish builds no set of live pairs). The pair (NoIngress,
// NoService) is always kept. A request still running on an older table may
// record into a removed handle (the sample is dropped). It returns how many
// pairs were removed.
func (m *Metrics) RetainRoutes() int {
	if m == nil {
		return 0
	}
	m.handlesMu.Lock()
	defer m.handlesMu.Unlock()
	gone := 0
	for rl, h := range m.routeHandles {
		if h.epoch != m.epoch && rl != (RouteLabels{NoIngress, NoService}) {
			delete(m.routeHandles, rl)
			gone++
		}
	}
	return gone
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

// RouteMetrics is the per-route handle of the request metrics: the route's
// own counters, read by the registry's collector at scrape time (see
// requestCollector), instead of series of client_golang vectors. Observe is
// lock-free and allocation-free. A handle is 192 bytes (four status codes
// before it chains more; its labels are its key in Metrics.routeHandles),
// made when a table is published; a client_golang
// histogram and counter for the same route cost about 2 KiB (two copies of
// the bucket counts, label pairs, exemplar and native-histogram fields),
// which at 10,000 routes was as much memory as the whole routing state. A
// route that has seen no request exports no series.
type RouteMetrics struct {
	epoch uint64 // Metrics.epoch when last returned by Route (under handlesMu)

	codes codeSlots
	// buckets[i] counts requests of at most latencyBounds[i] (not
	// cumulative; the last one counts the rest); sumNanos is their total
	// duration.
	buckets  [len(latencyBuckets) + 1]atomic.Uint64
	sumNanos atomic.Int64
}

// latencyBounds are latencyBuckets as durations.
var latencyBounds = func() (b [len(latencyBuckets)]time.Duration) {
	for i, s := range latencyBuckets {
		b[i] = time.Duration(s * float64(time.Second))
	}
	return b
}()

// Observe records one finished request.
func (r *RouteMetrics) Observe(code int, d time.Duration) {
	if r == nil {
		return
	}
	r.codes.add(code)
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	r.buckets[i].Add(1)
	r.sumNanos.Add(int64(d))
}

// codeSlots count requests by status code: slots are claimed by the first
// request with their code (compare-and-swap), and a route with more codes
// than a chunk holds chains another chunk, so any code is counted exactly
// without a lock. A slot is one word: the code + 1 in its top 16 bits
// (0: free), the count in the other 48 (2^48 requests, ten years at a
// million a second, before it would overflow into the code).
type codeSlots struct {
	slots [4]atomic.Uint64
	next  atomic.Pointer[codeSlots]
}

const (
	slotCodeShift = 48
	slotCountMask = 1<<slotCodeShift - 1
	// maxSlotCode is the largest code a slot holds; others count as 0.
	maxSlotCode = 1<<(64-slotCodeShift) - 2
)

// unpackSlot returns the code and count of a slot's word (n 0: free).
func unpackSlot(v uint64) (code int, n uint64) {
	return int(v>>slotCodeShift) - 1, v & slotCountMask
}

func (c *codeSlots) add(code int) {
	if code < 0 || code > maxSlotCode {
		code = 0
	}
	key := uint64(code+1) << slotCodeShift
	for s := c; ; {
		for i := range s.slots {
			x := &s.slots[i]
			v := x.Load()
			if v == 0 {
				if x.CompareAndSwap(0, key|1) {
					return
				}
				v = x.Load() // another code took it
			}
			if v&^slotCountMask == key {
				x.Add(1)
				return
			}
		}
		nx := s.next.Load()
		if nx == nil {
			s.next.CompareAndSwap(nil, new(codeSlots))
			nx = s.next.Load()
		}
		s = nx
	}
}

// requestCollector exports every live route handle's counters as
// requests_total and request_duration_seconds.
type requestCollector struct {
	m                 *Metrics
	requests, latency *prometheus.Desc
}

func newRequestCollector(m *Metrics) *requestCollector {
	return &requestCollector{m: m,
		requests: prometheus.NewDesc(Namespace+"_requests_total",
			"Requests handled by the data plane, by Ingress (namespace/name), Service and status code.",
			[]string{"ingress", "service", "code"}, nil),
		latency: prometheus.NewDesc(Namespace+"_request_duration_seconds",
			"Time from reading the request headers to the end of the response, by Ingress and Service.",
			[]string{"ingress", "service"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *requestCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.latency
}

// Collect implements prometheus.Collector. The counts are read one atomic
// at a time while requests go on: a histogram's count is the sum of the
// bucket counts read, its sum may include a request those did not.
func (c *requestCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.handlesMu.Lock()
	type labeled struct {
		RouteLabels
		h *RouteMetrics
	}
	hs := make([]labeled, 0, len(c.m.routeHandles))
	for rl, h := range c.m.routeHandles {
		hs = append(hs, labeled{rl, h})
	}
	c.m.handlesMu.Unlock()
	for _, x := range hs {
		h := x.h
		var count uint64
		buckets := make(map[float64]uint64, len(latencyBuckets))
		for i := range h.buckets {
			count += h.buckets[i].Load()
			if i < len(latencyBuckets) {
				buckets[latencyBuckets[i]] = count
			}
		}
		if count == 0 {
			continue
		}
		ch <- prometheus.MustNewConstHistogram(c.latency, count, float64(h.sumNanos.Load())/1e9, buckets, x.Ingress, x.Service)
		for s := &h.codes; s != nil; s = s.next.Load() {
			for i := range s.slots {
				if code, n := unpackSlot(s.slots[i].Load()); n > 0 {
					ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(n), x.Ingress, x.Service, codeLabel(code))
				}
			}
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
