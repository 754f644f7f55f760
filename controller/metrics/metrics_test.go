package metrics

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestRequestMetrics(t *testing.T) {
	m := New()
	r := m.Route("ns/ing", "ns/svc")
	if m.Route("ns/ing", "ns/svc") != r {
		t.Error("Route does not cache its handle")
	}
	for range 3 {
		r.Observe(200, time.Millisecond)
	}
	for code := 200; code < 220; code++ { // more codes than a chunk of slots holds
		r.Observe(code, time.Millisecond)
	}
	m.InFlightInc()
	m.InFlightInc()
	m.InFlightDec()
	m.Retry()
	m.UpstreamError("dial")
	out := scrape(t, m)
	for _, want := range []string{
		`ingresslab_requests_total{code="200",ingress="ns/ing",service="ns/svc"} 4`,
		`ingresslab_requests_total{code="219",ingress="ns/ing",service="ns/svc"} 1`,
		`ingresslab_request_duration_seconds_count{ingress="ns/ing",service="ns/svc"} 23`,
		`ingresslab_requests_in_flight 1`,
		`ingresslab_upstream_retries_total 1`,
		`ingresslab_upstream_errors_total{reason="dial"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want+" ") {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// TestRouteWithoutTrafficHasNoHistogram: a route exports series from its
// first request on, so thousands of idle routes cost no series.
func TestRouteWithoutTrafficHasNoHistogram(t *testing.T) {
	m := New()
	r := m.Route("ns/idle", "ns/svc")
	if out := scrape(t, m); strings.Contains(out, `ingress="ns/idle"`) {
		t.Fatalf("an idle route has series:\n%s", out)
	}
	r.Observe(200, 3*time.Millisecond)
	r.Observe(200, 3*time.Millisecond)
	if out := scrape(t, m); !strings.Contains(out, `ingresslab_request_duration_seconds_count{ingress="ns/idle",service="ns/svc"} 2`) {
		t.Errorf("histogram after two requests missing:\n%s", out)
	}
}

func TestControllerMetrics(t *testing.T) {
	m := New()
	m.SetGeneration(12)
	m.SetTableSize(5, 3, 2)
	m.ObserveBuild(2 * time.Millisecond)
	m.ObserveEventToPublish(300 * time.Millisecond)
	m.SetWarnings(4)
	m.StatusWrite(nil)
	m.StatusWrite(errors.New("conflict"))
	out := scrape(t, m)
	for _, want := range []string{
		"ingresslab_table_generation 12", "ingresslab_table_routes 5", "ingresslab_table_hosts 3",
		"ingresslab_table_backends 2", "ingresslab_table_build_duration_seconds_count 1",
		"ingresslab_event_to_publish_seconds_count 1", "ingresslab_translate_warnings 4",
		`ingresslab_status_writes_total{result="ok"} 1`, `ingresslab_status_writes_total{result="error"} 1`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestNilMetricsAreNoOps(t *testing.T) {
	var m *Metrics
	m.Route("a", "b").Observe(200, time.Second)
	m.InFlightInc()
	m.SetGeneration(1)
	m.StatusWrite(nil)
	if m.Registry() != nil {
		t.Error("nil Metrics has a registry")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Metrics handler: %d, want 404", rec.Code)
	}
}

func BenchmarkRouteObserve(b *testing.B) {
	r := New().Route("ns/ing", "ns/svc")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Observe(200, time.Millisecond)
		}
	})
}

func TestRetainRoutesDeletesStaleSeries(t *testing.T) {
	m := New()
	m.Route(NoIngress, NoService).Observe(404, time.Millisecond)
	m.BeginRoutes() // the first table
	m.Route("ns/kept", "ns/svc").Observe(200, time.Millisecond)
	m.Route("ns/gone", "ns/svc").Observe(200, time.Millisecond)
	m.Route("ns/gone", "ns/svc").Observe(503, time.Millisecond)
	m.Route("ns/kept", "ns/old-svc").Observe(200, time.Millisecond)
	if n := m.RetainRoutes(); n != 0 {
		t.Errorf("RetainRoutes after the first table removed %d pairs, want 0", n)
	}
	m.BeginRoutes() // the next table has one pair of those
	m.Route("ns/kept", "ns/svc")
	if n := m.RetainRoutes(); n != 2 {
		t.Errorf("RetainRoutes removed %d pairs, want 2", n)
	}
	out := scrape(t, m)
	for _, gone := range []string{`ingress="ns/gone"`, `service="ns/old-svc"`} {
		if strings.Contains(out, gone) {
			t.Errorf("exposition still has a series with %s", gone)
		}
	}
	for _, kept := range []string{
		`ingresslab_requests_total{code="200",ingress="ns/kept",service="ns/svc"} 1`,
		`ingresslab_requests_total{code="404",ingress="-",service="-"} 1`,
	} {
		if !strings.Contains(out, kept+"\n") {
			t.Errorf("exposition lacks %q", kept)
		}
	}
	// A pair seen again starts from zero.
	m.Route("ns/gone", "ns/svc").Observe(200, time.Millisecond)
	if out := scrape(t, m); !strings.Contains(out, `ingresslab_requests_total{code="200",ingress="ns/gone",service="ns/svc"} 1`+"\n") {
		t.Error("a removed pair is not recreated from zero")
	}
	var nilM *Metrics
	nilM.BeginRoutes()
	if nilM.RetainRoutes() != 0 {
		t.Error("nil Metrics removed something")
	}
}

// TestHistogramBuckets: each request is counted in the first bucket whose
// bound it does not exceed (Prometheus's "le"), cumulatively, with the sum.
func TestHistogramBuckets(t *testing.T) {
	m := New()
	r := m.Route("ns/h", "ns/svc")
	for _, d := range []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 101 * time.Microsecond, 3 * time.Millisecond, 20 * time.Second} {
		r.Observe(200, d)
	}
	out := scrape(t, m)
	for _, want := range []string{
		`ingresslab_request_duration_seconds_bucket{ingress="ns/h",service="ns/svc",le="0.0001"} 2`,
		`ingresslab_request_duration_seconds_bucket{ingress="ns/h",service="ns/svc",le="0.00025"} 3`,
		`ingresslab_request_duration_seconds_bucket{ingress="ns/h",service="ns/svc",le="0.0025"} 3`,
		`ingresslab_request_duration_seconds_bucket{ingress="ns/h",service="ns/svc",le="0.005"} 4`,
		`ingresslab_request_duration_seconds_bucket{ingress="ns/h",service="ns/svc",le="10"} 4`,
		`ingresslab_request_duration_seconds_bucket{ingress="ns/h",service="ns/svc",le="+Inf"} 5`,
		`ingresslab_request_duration_seconds_sum{ingress="ns/h",service="ns/svc"} 20.003251`,
		`ingresslab_request_duration_seconds_count{ingress="ns/h",service="ns/svc"} 5`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// TestConcurrentObserve: requests racing on one route, with more codes than
// a chunk of slots, are all counted, each under its own code.
func TestConcurrentObserve(t *testing.T) {
	m := New()
	r := m.Route("ns/c", "ns/svc")
	const workers, each = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.Observe(200+(w+i)%12, time.Millisecond)
			}
		})
	}
	wg.Wait()
	out := scrape(t, m)
	if want := fmt.Sprintf(`ingresslab_request_duration_seconds_count{ingress="ns/c",service="ns/svc"} %d`, workers*each); !strings.Contains(out, want+"\n") {
		t.Errorf("exposition lacks %q", want)
	}
	total := 0
	for code := 200; code < 212; code++ {
		prefix := fmt.Sprintf(`ingresslab_requests_total{code="%d",ingress="ns/c",service="ns/svc"} `, code)
		i := strings.Index(out, prefix)
		if i < 0 {
			t.Fatalf("no series for code %d", code)
		}
		var n int
		fmt.Sscan(out[i+len(prefix):], &n)
		total += n
	}
	if total != workers*each || strings.Count(out, `ingress="ns/c",service="ns/svc"} `) != 12+2 {
		t.Errorf("%d requests counted over the codes, want %d; exposition:\n%s", total, workers*each, out)
	}
}

// TestRouteMetricsSize: the handle stays in the 192-byte size class (one
// per route and Service of every published table).
func TestRouteMetricsSize(t *testing.T) {
	if n := unsafe.Sizeof(RouteMetrics{}); n > 192 {
		t.Errorf("RouteMetrics is %d bytes, want at most 192", n)
	}
}

// TestCodeSlotsOutOfRange: a code a slot cannot hold counts as code 0;
// slots hold their count beside the code.
func TestCodeSlotsOutOfRange(t *testing.T) {
	var c codeSlots
	for _, code := range []int{-1, maxSlotCode + 1, 1 << 40} {
		c.add(code)
	}
	c.add(maxSlotCode)
	c.add(200)
	c.add(200)
	got := map[int]uint64{}
	for i := range c.slots {
		if code, n := unpackSlot(c.slots[i].Load()); n > 0 {
			got[code] = n
		}
	}
	if want := map[int]uint64{0: 3, maxSlotCode: 1, 200: 2}; !maps.Equal(got, want) {
		t.Errorf("slots %v, want %v", got, want)
	}
}
