package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/reports"
)

func startEcho(t *testing.T, service string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := echoserver.New(echoserver.Options{Listener: l, Identity: echoserver.Identity{Namespace: "ns", Service: service, Pod: service + "-0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

var loose = stepConfig{SLO: reports.SLO{MinSuccessRatio: 0.999, MaxP99Micros: 1e9}, Gates: reports.Gates{MinAchievedRatio: 0, MaxLagP99Micros: 1e12}}

// TestRunStepKeepsVirtualHostAndChecksBackend sends real requests through
// the custom dialer: the URL names a virtual host that does not resolve,
// the connection goes to the echo server, and the echo body proves which
// Service answered.
func TestRunStepKeepsVirtualHostAndChecksBackend(t *testing.T) {
	addr := startEcho(t, "svc-a")
	tr := &Traffic{Name: "t", Dial: addr, KeepAlive: true,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://virtual.bench.invalid/x"}}, Expect: []string{"svc-a"}}
	cfg := loose
	cfg.Rate, cfg.Duration, cfg.Phase, cfg.Detail = 200, 300*time.Millisecond, "fixed", true
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests < 50 || st.Errors+st.Non2xx+st.Misroutes != 0 || st.SuccessRatio != 1 || !st.PassSLO {
		t.Fatalf("step: %d requests, %d errors, %d non-2xx, %d misroutes, success %v, samples %v", st.Requests, st.Errors, st.Non2xx, st.Misroutes, st.SuccessRatio, st.ErrorSamples)
	}
	if len(st.Spectrum) != len(spectrumPercentiles) || len(st.Histogram) != len(latencyBuckets) || st.Latency.P50 <= 0 || st.Latency.Max < st.Latency.P99 {
		t.Fatalf("detail missing or inconsistent: spectrum %d, histogram %d, latency %+v", len(st.Spectrum), len(st.Histogram), st.Latency)
	}
	var total uint64
	for _, b := range st.Histogram {
		total += b.Count
	}
	if int64(total) != st.Requests {
		t.Fatalf("histogram counts %d requests, step %d", total, st.Requests)
	}

	// The same traffic expecting another Service: every answer is a misroute.
	tr.Expect = []string{"svc-b"}
	cfg.Detail = false
	st, err = runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Misroutes != st.Requests || st.PassSLO || st.FailReason == "" {
		t.Fatalf("misroutes %d of %d, pass %v (%s)", st.Misroutes, st.Requests, st.PassSLO, st.FailReason)
	}
}

func TestRunStepCountsTransportErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: connections are refused
	tr := &Traffic{Name: "t", Dial: addr, KeepAlive: true, Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://x.invalid/"}}}
	cfg := loose
	cfg.Rate, cfg.Duration, cfg.Phase = 100, 200*time.Millisecond, "step"
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests == 0 || st.Errors != st.Requests || st.PassSLO || len(st.ErrorSamples) == 0 {
		t.Fatalf("errors %d of %d, pass %v, samples %v", st.Errors, st.Requests, st.PassSLO, st.ErrorSamples)
	}
}

func TestJudge(t *testing.T) {
	slo := reports.SLO{MinSuccessRatio: 0.999, MaxP99Micros: 1000}
	g := reports.Gates{MinAchievedRatio: 0.99, MaxLagP99Micros: 5000}
	base := reports.StepResult{OfferedRPS: 100, AchievedRPS: 100, Requests: 100, SuccessRatio: 1, Latency: reports.Percentiles{P99: 500}}
	cases := []struct {
		name        string
		mod         func(*reports.StepResult)
		valid, pass bool
	}{
		{"good", func(*reports.StepResult) {}, true, true},
		{"slow generator", func(s *reports.StepResult) { s.AchievedRPS = 90 }, false, true},
		{"lagging generator", func(s *reports.StepResult) { s.Lag.P99 = 6000 }, false, true},
		{"errors", func(s *reports.StepResult) { s.SuccessRatio = 0.99 }, true, false},
		{"misroute", func(s *reports.StepResult) { s.Misroutes = 1 }, true, false},
		{"p99", func(s *reports.StepResult) { s.Latency.P99 = 1001 }, true, false},
		{"no requests", func(s *reports.StepResult) { s.Requests = 0 }, false, true},
	}
	for _, c := range cases {
		s := base
		c.mod(&s)
		judge(&s, slo, g)
		if s.Valid != c.valid || s.PassSLO != c.pass {
			t.Errorf("%s: valid %v (%s) pass %v (%s), want %v %v", c.name, s.Valid, s.InvalidReason, s.PassSLO, s.FailReason, c.valid, c.pass)
		}
	}
}

func TestServiceOfAndPercentiles(t *testing.T) {
	if got := agent.ServiceOf([]byte(`{"path":"/","service":"a-b","pod":"x"}`)); got != "a-b" {
		t.Fatalf("compact: %q", got)
	}
	if got := agent.ServiceOf([]byte("{\"service\": \"spaced\"}")); got != "spaced" {
		t.Fatalf("spaced: %q", got)
	}
	if got := agent.ServiceOf([]byte("not json")); got != "" {
		t.Fatalf("garbage: %q", got)
	}
	xs := make([]float64, 1000)
	for i := range xs {
		xs[len(xs)-1-i] = float64(i + 1)
	}
	p := percentiles(xs)
	if p.P50 != 500 || p.P99 != 990 || p.P999 != 999 || p.Max != 1000 || p.Mean != 500.5 {
		t.Fatalf("percentiles %+v", p)
	}
	if got := slope([]float64{1, 2, 3}, []float64{10, 20, 30}); got != 10 {
		t.Fatalf("slope = %v", got)
	}
}

func TestCheckDialUsesGuard(t *testing.T) {
	allowLoopback := func(_ context.Context, a netip.Addr) error {
		if a.IsLoopback() {
			return nil
		}
		return errors.New("not loopback")
	}
	if err := checkDial(context.Background(), allowLoopback, "127.0.0.1:80"); err != nil {
		t.Fatal(err)
	}
	if err := checkDial(context.Background(), allowLoopback, "192.0.2.1:80"); !errors.Is(err, errNotAllowed) {
		t.Fatalf("outside address: %v", err)
	}
	if err := checkDial(context.Background(), allowLoopback, "example.invalid:80"); err == nil {
		t.Fatal("host name accepted")
	}
}

// TestRunStepClosedLoop: a zero pacer with a bounded worker count sends as
// fast as answers come over at most that many connections; the window
// carries its CPU account.
func TestRunStepClosedLoop(t *testing.T) {
	addr := startEcho(t, "svc-a")
	tr := &Traffic{Name: "t", Dial: addr, KeepAlive: true,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://virtual.bench.invalid/x"}}, Expect: []string{"svc-a"}}
	cfg := loose
	cfg.Connections, cfg.Duration, cfg.Phase = 2, 300*time.Millisecond, "closed-loop"
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests < 20 || st.Connections != 2 || st.OfferedRPS != 0 || st.ThroughputRPS <= 0 || !st.Valid || !st.PassSLO || st.Misroutes != 0 {
		t.Fatalf("closed-loop window %+v", st)
	}
	if st.CPU == nil || st.CPU.HarnessMicros <= 0 || st.CPU.WallMillis < 250 {
		t.Fatalf("closed-loop window CPU %+v", st.CPU)
	}
}

// TestCalibrateGenerator measures the generator against the null target.
func TestCalibrateGenerator(t *testing.T) {
	o := Options{BinDir: "b", Quick: true, Connections: []int{1, 4}, ClosedLoopDuration: 200 * time.Millisecond, WindowDuration: 300 * time.Millisecond, NoiseRetries: -1}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	e := &Env{Opts: o, out: io.Discard, began: time.Now()}
	g, err := e.calibrateGenerator(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.MaxRPS <= 0 || g.Connections == 0 || g.MicrosPerRequest <= 0 || len(g.Points) == 0 || g.BoundMargin != 0.15 {
		t.Fatalf("generator %+v", g)
	}
	if g.OpenLoop == nil || g.OpenLoop.OfferedRPS <= 0 || g.OpenLoop.Requests == 0 {
		t.Fatalf("no open-loop check of the generator: %+v", g.OpenLoop)
	}
	if s := e.noise.summary(); s == nil || s.Windows != len(g.Points)+1 {
		t.Fatalf("noise summary %+v for %d windows", s, len(g.Points))
	}
}

// TestRunStepStopsAtTheInFlightBound: against a target that accepts and
// never answers, an open-loop window stops once its in-flight bound is
// reached (it is invalid from then on) instead of offering its rate for
// the whole window, each request abandoned at the timeout.
func TestRunStepStopsAtTheInFlightBound(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { close(release); _ = srv.Close() })
	tr := &Traffic{Name: "t", Dial: l.Addr().String(), KeepAlive: true, Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://stall.invalid/"}}}
	cfg := loose
	cfg.Rate, cfg.Duration, cfg.Timeout, cfg.Phase, cfg.MaxInFlight = 400, 8*time.Second, time.Second, "step", 20
	began := time.Now()
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("the window ran %v of its 8 s after reaching the bound", took)
	}
	if st.Valid || !strings.Contains(st.InvalidReason, "in-flight bound") || !strings.Contains(st.InvalidReason, "stopped there") {
		t.Errorf("valid %v, reason %q", st.Valid, st.InvalidReason)
	}
	if st.PeakInFlight != 20 || st.Requests > 40 {
		t.Errorf("peak in flight %d, %d requests sent", st.PeakInFlight, st.Requests)
	}
}

// TestGeneratorConnectionsLeaveNoTimeWait: the generator closes its
// connections with a reset, so a window leaves no TIME_WAIT socket towards
// the target (they would use up the source ports to that endpoint).
func TestGeneratorConnectionsLeaveNoTimeWait(t *testing.T) {
	addr := startEcho(t, "svc-a")
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	tr := &Traffic{Name: "t", Dial: addr, KeepAlive: true, Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://x.invalid/"}}, Expect: []string{"svc-a"}}
	cfg := loose
	cfg.Connections, cfg.Duration, cfg.Phase = 8, 200*time.Millisecond, "closed"
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests == 0 || st.Errors != 0 {
		t.Fatalf("%d requests, %d errors", st.Requests, st.Errors)
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	tw := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// local_address rem_address st: TIME_WAIT is 06; the generator's
		// sockets have the echo server's port as their remote port.
		if len(f) > 3 && f[3] == "06" && strings.HasSuffix(f[2], fmt.Sprintf(":%04X", port)) {
			tw++
		}
	}
	if tw != 0 {
		t.Errorf("%d generator sockets in TIME_WAIT towards the target", tw)
	}
}

// TestOpenLoopPoolBoundsConnections: an open-loop window of 100 rps through
// a pool of 2 connections, against a target that holds each request 40 ms
// (4 in flight on average), keeps its arrivals (the rate is offered in
// full; requests wait for a connection, and the wait counts in their
// latency) and never opens a third connection; without a pool, the same
// window opens one per request in flight.
func TestOpenLoopPoolBoundsConnections(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opened atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(40 * time.Millisecond) // the target's service time, what the test is about
		_, _ = w.Write([]byte(`{"service":"svc-a"}`))
	}), ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	tr := &Traffic{Name: "t", Dial: l.Addr().String(), KeepAlive: true,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://pool.invalid/"}}, Expect: []string{"svc-a"}}
	cfg := loose
	cfg.Rate, cfg.Duration, cfg.Phase, cfg.PoolConnections = 100, 500*time.Millisecond, "fraction", 2
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := opened.Load(); n > 2 {
		t.Errorf("a pool of 2 opened %d connections", n)
	}
	if st.PoolConnections != 2 || st.Requests < 35 || st.SuccessRatio != 1 || !st.Valid {
		t.Errorf("pooled window: pool %d, %d requests, success %v, valid %v (%s)", st.PoolConnections, st.Requests, st.SuccessRatio, st.Valid, st.InvalidReason)
	}
	// Two connections serve 50 rps: the rest queue for the pool, and the
	// wait is in their latency.
	if st.Latency.Max < 200_000 {
		t.Errorf("latency max %.0f µs: the wait for a pooled connection is not in it", st.Latency.Max)
	}

	opened.Store(0)
	tr.closeIdle()
	cfg.PoolConnections = 0
	if _, err := runStep(context.Background(), tr, cfg); err != nil {
		t.Fatal(err)
	}
	if n := opened.Load(); n < 3 {
		t.Errorf("without a pool, %d connections for 4 requests in flight on average: the test does not tell the two apart", n)
	}
}

// TestTrafficProtocolsShareTLSConfig: an h2 traffic and an HTTP/1.1 one
// built on one tls.Config (as the tls scenario's are) each speak their own
// protocol to a server that offers both, in either order: setting up h2
// must not change the shared config's ALPN for the other.
func TestTrafficProtocolsShareTLSConfig(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	conf := &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, MinVersion: tls.VersionTLS12}
	h1 := &Traffic{Dial: addr, TLS: conf, KeepAlive: true}
	h2 := &Traffic{Dial: addr, TLS: conf, KeepAlive: true, HTTP2: true}
	for _, tr := range []*Traffic{h2, h1, h2, h1} {
		c := tr.client(5 * time.Second)
		resp, err := c.Get("https://example.com/")
		if err != nil {
			t.Fatalf("HTTP2 %v: %v", tr.HTTP2, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "HTTP/1.1"
		if tr.HTTP2 {
			want = "HTTP/2.0"
		}
		if string(body) != want || resp.Proto != want {
			t.Fatalf("HTTP2 %v: the server saw %q, the client %q; want %s", tr.HTTP2, body, resp.Proto, want)
		}
		c.CloseIdleConnections()
	}
	if len(conf.NextProtos) != 0 {
		t.Errorf("the shared config's NextProtos became %q", conf.NextProtos)
	}
}

// TestManyHostsShareThePool: plain-HTTP traffic to many virtual hosts
// behind one address goes over the window's bounded pool, not a pool per
// host (http.Transport keys its pools by URL host), and each request keeps
// its host in the Host header; a single-host traffic keeps its URL.
func TestManyHostsShareThePool(t *testing.T) {
	var conns atomic.Int64
	var mu sync.Mutex
	hosts := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts[r.Host]++
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	var targets []vegeta.Target
	for h := range 50 {
		targets = append(targets, vegeta.Target{Method: http.MethodGet, URL: fmt.Sprintf("http://h%d.many.bench.test/p/x", h)})
	}
	tr := &Traffic{Name: "many", Dial: strings.TrimPrefix(srv.URL, "http://"), KeepAlive: true, Targets: targets}
	cfg := loose
	cfg.Connections, cfg.Duration, cfg.Phase = 2, 300*time.Millisecond, "closed-loop"
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Requests < 100 || st.SuccessRatio != 1 {
		t.Fatalf("window %+v", st)
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("%d connections for a window of 2 over 50 hosts: a pool per host", n)
	}
	mu.Lock()
	if len(hosts) != 50 || hosts["h0.many.bench.test"] == 0 || hosts["pool.bench.invalid"] != 0 {
		t.Errorf("Host headers seen: %d distinct (%v)", len(hosts), hosts)
	}
	mu.Unlock()
	resp, err := tr.client(time.Second).Get(targets[7].URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Host != "h7.many.bench.test" {
		t.Errorf("the response's request is the copy: %s", resp.Request.URL)
	}
}
