package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/reports"
)

// TestBaselinesServeOneRoute starts each raw engine with its generated
// configuration in front of an echo-like upstream, for plain HTTP and with
// TLS terminated: the routed host reaches the upstream with
// X-Forwarded-For over reused connections, other hosts get 404, TLS
// clients verify the given certificate, and the process stops. The engines
// are Debian packages (haproxy, nginx-light); `make test`
// (INGRESSLAB_REQUIRE_TOOLS) requires them.
func TestBaselinesServeOneRoute(t *testing.T) {
	var conns atomic.Int64
	var mu sync.Mutex
	var last http.Header         // the forwarding headers of the last request
	ids := map[string]struct{}{} // the X-Request-Id values seen
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Forwarded-For") == "" || r.Host != singleHost && r.Host != tlsHost {
			http.Error(w, "missing X-Forwarded-For or Host "+r.Host, http.StatusTeapot)
			return
		}
		mu.Lock()
		last = r.Header.Clone()
		ids[r.Header.Get("X-Request-Id")] = struct{}{}
		mu.Unlock()
		_, _ = io.WriteString(w, `{"service":"echo"}`)
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	upstream := strings.TrimPrefix(up.URL, "http://")
	cert, err := echoserver.GenerateCertificate(tlsHost)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	tlsRoute := singleRoute("tls", tlsHost, echoName, upstream)
	tlsRoute.Pool = pool
	tlsRoute.PEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: key})...)

	for _, c := range []struct {
		eng baselineEngine
		rt  baselineRoute
	}{
		{baselineEngines()[0], plainRoute(upstream)}, {baselineEngines()[1], plainRoute(upstream)},
		{baselineEngines()[0], tlsRoute}, {baselineEngines()[1], tlsRoute},
	} {
		eng, rt := c.eng, c.rt
		t.Run(eng.Name+"-"+rt.scheme(), func(t *testing.T) {
			requireEngine(t, eng)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var progress bytes.Buffer
			e := &Env{Opts: Options{ReportDir: t.TempDir(), Baselines: []string{eng.Name}, BaselineThreads: 1}, out: &progress, began: time.Now()}
			started, skipped, err := e.startBaselines(ctx, rt)
			if err != nil {
				t.Fatalf("start: %v\n%s", err, progress.String())
			}
			if len(started) != 1 || len(skipped) != 0 {
				t.Fatalf("started %d, skipped %v", len(started), skipped)
			}
			b := started[0]
			if b.threads != 1 || b.version == "unknown" || !strings.Contains(strings.ToLower(b.version), eng.Name) {
				t.Errorf("threads %d, version %q", b.threads, b.version)
			}
			p := newProber(b.addr, rt.clientTLS(), 2*time.Second)
			mu.Lock()
			clear(ids) // the start's readiness probes
			mu.Unlock()
			before := conns.Load()
			for range 20 {
				if code, svc := p.probe(ctx, rt.scheme()+"://"+rt.Hosts[0].Host+"/x"); code != http.StatusOK || svc != echoName {
					t.Fatalf("routed host: %d from %q", code, svc)
				}
			}
			if n := conns.Load() - before; n > 2 {
				t.Errorf("%d new upstream connections for 20 sequential requests: no keep-alive to the upstream", n)
			}
			// The forwarding headers the controller sets, so that the
			// backend's work is the same behind every target.
			_, port, _ := net.SplitHostPort(b.addr)
			mu.Lock()
			got, nIDs := last, len(ids)
			mu.Unlock()
			for k, want := range map[string]string{"X-Forwarded-Proto": rt.scheme(), "X-Forwarded-Host": rt.Hosts[0].Host, "X-Forwarded-Port": port} {
				if g := got.Values(k); len(g) != 1 || g[0] != want {
					t.Errorf("upstream %s %q, want %q", k, g, want)
				}
			}
			if nIDs != 20 {
				t.Errorf("%d distinct X-Request-Id values over 20 requests, want 20", nIDs)
			}
			if rt.PEM != nil {
				// TLS 1.3, as the controller speaks it (nginx 1.22 does not
				// enable it by default).
				if note := handshakeNote(ctx, eng.Name, b.addr, rt.Hosts[0].Host, rt.clientTLS()); !strings.Contains(note, "TLS 1.3") {
					t.Errorf("handshake: %s", note)
				}
				// h2 by ALPN, and requests over it (the h2 series).
				if note := handshakeNote(ctx, eng.Name, b.addr, rt.Hosts[0].Host, h2Client(rt.clientTLS())); !strings.Contains(note, "ALPN h2") {
					t.Errorf("h2 handshake: %s", note)
				}
				h2 := (&Traffic{Dial: b.addr, TLS: rt.clientTLS(), KeepAlive: true, HTTP2: true}).client(2 * time.Second)
				resp, err := h2.Get("https://" + rt.Hosts[0].Host + "/x")
				if err != nil {
					t.Fatalf("h2 request: %v", err)
				}
				resp.Body.Close()
				if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
					t.Errorf("h2 request: %s %d", resp.Proto, resp.StatusCode)
				}
				// The engine presents the given certificate: a client that
				// does not trust it fails the handshake.
				other := newProber(b.addr, &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}, 2*time.Second)
				if code, _ := other.probe(ctx, "https://"+rt.Hosts[0].Host+"/x"); code != 0 {
					t.Errorf("a client without the certificate's CA got %d, want a failed handshake", code)
				}
			} else if code, _ := p.probe(ctx, "http://other.bench.test/x"); code != http.StatusNotFound {
				t.Errorf("other host: %d, want 404", code)
			}
			stopBaselines(ctx, started)
			if exited, _ := b.proc.Exited(); !exited {
				t.Errorf("%s still running after stop", eng.Name)
			}
		})
	}
}

func TestBaselinesUnknownName(t *testing.T) {
	o := Options{BinDir: "bin", Scenarios: []string{"single-route"}, Baselines: []string{"envoy"}}
	if err := o.defaults(); err == nil || !strings.Contains(err.Error(), `unknown baseline "envoy" (known: haproxy, nginx)`) {
		t.Fatalf("err = %v", err)
	}
	o = Options{BinDir: "bin", Provider: "kind", Scenarios: []string{"single-route"}, Baselines: []string{"haproxy"}}
	if err := o.defaults(); err == nil || !strings.Contains(err.Error(), "baselines haproxy need --provider local") {
		t.Fatalf("err = %v", err)
	}
	o = Options{BinDir: "bin", Scenarios: []string{"propagation"}, Baselines: []string{"haproxy"}}
	if err := o.defaults(); err == nil || !strings.Contains(err.Error(), "single-route, post, policy, many-routes, tls scenarios, none of which is selected") {
		t.Fatalf("err = %v", err)
	}
}

func TestBaselineSkippedWithHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var progress bytes.Buffer
	e := &Env{Opts: Options{ReportDir: t.TempDir(), Baselines: []string{"haproxy", "nginx"}}, out: &progress, began: time.Now()}
	started, skipped, err := e.startBaselines(context.Background(), plainRoute("127.0.0.1:1"))
	if err != nil || len(started) != 0 || len(skipped) != 2 {
		t.Fatalf("started %d, skipped %v, err %v", len(started), skipped, err)
	}
	for _, want := range []string{"baseline haproxy skipped: haproxy not found on PATH (install the Debian package haproxy)", "baseline nginx skipped"} {
		if !strings.Contains(progress.String(), want) || !strings.Contains(strings.Join(skipped, "\n"), want) {
			t.Errorf("progress and notes lack %q:\n%s", want, progress.String())
		}
	}
}

func TestBaselineGoals(t *testing.T) {
	at := func(name string, cpu float64) reports.LoadSeries {
		return reports.LoadSeries{Name: name, AtLoad: []reports.LoadPoint{{Fraction: 0.5, ControllerCPUMicrosPerRequest: reports.NewStat([]float64{cpu})}}}
	}
	r := &reports.BenchReport{Scenarios: []reports.BenchScenario{{Name: "single-route", Load: &reports.LoadResult{Series: []reports.LoadSeries{
		at("direct", 0), at("proxied", 30), at("haproxy", 20), at("nginx", 30),
	}}}}}
	g := baselineGoals(r)
	if len(g) != 2 || g[0].Met || g[0].Value != 1.5 || g[0].Measured != "1.50 (30.0 / 20.0 µs)" || !g[1].Met || g[1].Value != 1 {
		t.Fatalf("goals %+v", g)
	}
	r.Scenarios = append(r.Scenarios, reports.BenchScenario{Name: "tls", Load: &reports.LoadResult{Series: []reports.LoadSeries{
		at("keepalive", 24), at("keepalive-h2", 30), at("new-connection", 900),
		at("haproxy", 20), at("haproxy-h2", 20), at("haproxy-new-connection", 700),
	}}})
	g = baselineGoals(r)
	if len(g) != 4 || g[2].Name != "TLS keep-alive CPU per request / raw haproxy's (at 50 %)" || g[2].Value != 1.2 || !g[2].Met ||
		g[3].Name != "TLS h2 keep-alive CPU per request / raw haproxy's (at 50 %)" || g[3].Value != 1.5 || g[3].Met {
		t.Fatalf("goals with tls baselines %+v", g)
	}
	// post, policy and many-routes: one row per engine each, labelled,
	// many-routes comparing the uniform mix.
	r.Scenarios = append(r.Scenarios,
		reports.BenchScenario{Name: "post", Load: &reports.LoadResult{Series: []reports.LoadSeries{at("proxied", 40), at("haproxy", 20)}}},
		reports.BenchScenario{Name: "policy", Load: &reports.LoadResult{Series: []reports.LoadSeries{at("proxied", 22), at("haproxy", 20)}}},
		reports.BenchScenario{Name: "many-routes", Load: &reports.LoadResult{Series: []reports.LoadSeries{at("uniform", 30), at("zipf", 10), at("haproxy", 20)}}})
	g = baselineGoals(r)
	if len(g) != 7 || g[2].Name != "POST 4 KiB CPU per request / raw haproxy's (at 50 %)" || g[2].Value != 2 || g[2].Met ||
		g[3].Name != "Policy (rewrite, CORS, rate limit) CPU per request / raw haproxy's (at 50 %)" || g[3].Value != 1.1 || !g[3].Met ||
		g[4].Name != "Many routes (uniform) CPU per request / raw haproxy's (at 50 %)" || g[4].Value != 1.5 || g[4].Met ||
		g[5].Name != "TLS keep-alive CPU per request / raw haproxy's (at 50 %)" {
		t.Fatalf("goals with every case %+v", g)
	}
	if c := g[0]; c.Case != "Plain GET" || c.Engine != "haproxy" || c.Measure != reports.GoalCPU || g[1].Engine != "nginx" || g[2].Case != "POST 4 KiB" ||
		g[6].Case != "TLS h2 keep-alive" {
		t.Errorf("goal cases %+v", g)
	}
	// A 50 % window without a valid CPU sample (overloaded): the goal is
	// unknown, not absent.
	r.Scenarios[2].Load.Series[0].AtLoad[0].ControllerCPUMicrosPerRequest = reports.Stat{}
	r.Scenarios[3].Load.Series[1].AtLoad[0].ControllerCPUMicrosPerRequest = reports.Stat{}
	g = baselineGoals(r)
	if len(g) != 7 || g[2].Met || g[2].Measured != "unknown: no valid window of the controller at 50 % of its maximum" ||
		g[3].Met || g[3].Measured != "unknown: no valid window of haproxy at 50 % of its maximum" {
		t.Fatalf("goals with invalid windows %+v", g[2:4])
	}
	r.Scenarios[0].Load.Series = r.Scenarios[0].Load.Series[:2]
	r.Scenarios = r.Scenarios[:1]
	if g := baselineGoals(r); len(g) != 0 {
		t.Fatalf("goals without baselines: %+v", g)
	}
}

// TestRunTimeGoalWithBaselines: raw engines are extra targets, so a run
// with them reports its time without holding it to the 900 s limit; the
// same run without them is.
func TestRunTimeGoalWithBaselines(t *testing.T) {
	runTime := func(r *reports.BenchReport) reports.GoalResult {
		for _, g := range Goals(r) {
			if strings.Contains(g.Name, "run time") {
				return g
			}
		}
		t.Fatal("no run-time goal")
		return reports.GoalResult{}
	}
	r := &reports.BenchReport{DurationSeconds: 1200, Scenarios: []reports.BenchScenario{{Name: "single-route", Load: &reports.LoadResult{Series: []reports.LoadSeries{
		{Name: "proxied", Via: "controller"}, {Name: "haproxy", Via: "baseline"},
	}}}}}
	if g := runTime(r); g.Name != "bench run time (with raw baselines)" || !g.Met || g.Measured != "1200 s" {
		t.Errorf("with baselines: %+v", g)
	}
	r.Scenarios[0].Load.Series = r.Scenarios[0].Load.Series[:1]
	if g := runTime(r); g.Name != "bench run time" || g.Met {
		t.Errorf("without baselines: %+v", g)
	}
}

// TestThroughputGoal: the controller's closed-loop maximum against raw
// HAProxy's; a maximum that is only a lower bound never makes a ratio,
// unless it is the controller's and already meets the goal.
func TestThroughputGoal(t *testing.T) {
	sat := func(name string, max float64, ceiling string) reports.LoadSeries {
		return reports.LoadSeries{Name: name, Saturation: &reports.Saturation{MaxRPS: reports.NewStat([]float64{max}), Ceiling: ceiling}}
	}
	for _, tc := range []struct {
		ctrl, base reports.LoadSeries
		met        bool
		measured   string
	}{
		{sat("proxied", 8000, ""), sat("haproxy", 10000, ""), false, "0.80 (8000 / 10000 rps)"},
		{sat("proxied", 9500, ""), sat("haproxy", 10000, ""), true, "0.95 (9500 / 10000 rps)"},
		{sat("proxied", 9500, reports.CeilingConfigured), sat("haproxy", 10000, ""), true, "≥ 0.95 (≥ 9500 / 10000 rps)"},
		{sat("proxied", 8000, reports.CeilingConfigured), sat("haproxy", 10000, ""), false, "unknown: ≥ 0.80"},
		{sat("proxied", 8000, ""), sat("haproxy", 10000, reports.CeilingConfigured), false, "unknown: the engine's maximum is a lower bound"},
	} {
		g, ok := throughputGoal(&reports.LoadResult{Series: []reports.LoadSeries{tc.ctrl, tc.base}}, "proxied", "haproxy", "throughput")
		if !ok || g.Met != tc.met || !strings.HasPrefix(g.Measured, tc.measured) || g.Target != ">= 0.9" {
			t.Errorf("%v / %v: %+v, want met %v, measured %q", tc.ctrl.Saturation, tc.base.Saturation, g, tc.met, tc.measured)
		}
	}
	if _, ok := throughputGoal(&reports.LoadResult{Series: []reports.LoadSeries{sat("proxied", 1, "")}}, "proxied", "haproxy", "x"); ok {
		t.Error("a goal without the engine's series")
	}
}

// TestThroughputGoalPairsRepetitions: with true maxima the value is the
// median of each repetition's ratio (the two sweeps run next to each
// other), not the ratio of the medians, which mixes repetitions; a sweep
// with a ceiling is left out of the pairs, and too few pairs fall back to
// the ratio of the medians.
func TestThroughputGoalPairsRepetitions(t *testing.T) {
	series := func(name string, sweeps ...reports.ClosedLoopSweep) reports.LoadSeries {
		maxes := make([]float64, len(sweeps))
		for i := range sweeps {
			sweeps[i].Repetition = i + 1
			maxes[i] = sweeps[i].MaxRPS
		}
		return reports.LoadSeries{Name: name, Saturation: &reports.Saturation{MaxRPS: reports.NewStat(maxes), Sweeps: sweeps}}
	}
	sw := func(max float64) reports.ClosedLoopSweep { return reports.ClosedLoopSweep{MaxRPS: max} }
	capped := func(max float64) reports.ClosedLoopSweep {
		return reports.ClosedLoopSweep{MaxRPS: max, Ceiling: reports.CeilingConfigured}
	}
	goal := func(ctrl, base reports.LoadSeries) reports.GoalResult {
		t.Helper()
		g, ok := throughputGoal(&reports.LoadResult{Series: []reports.LoadSeries{ctrl, base}}, "proxied", "haproxy", "throughput")
		if !ok {
			t.Fatal("no goal")
		}
		return g
	}
	// The machine was fast in the second repetition and the engine's
	// sweep caught it: the medians give 11000 / 13500 = 0.81, each
	// repetition 0.95, 0.79 and 0.96.
	g := goal(series("proxied", sw(9000), sw(11000), sw(13000)), series("haproxy", sw(9500), sw(14000), sw(13500)))
	if !g.Met || math.Abs(g.Value-9000.0/9500) > 1e-9 ||
		g.Measured != "0.95 (median of 3 repetitions' ratios: 0.95, 0.79, 0.96; ratio of the medians 0.81, 11000 / 13500 rps)" {
		t.Errorf("paired: %+v", g)
	}
	// And the other way: pairs below the goal although the medians meet it.
	g = goal(series("proxied", sw(8000), sw(12000), sw(14000)), series("haproxy", sw(9500), sw(11000), sw(16000)))
	if g.Met || math.Abs(g.Value-14000.0/16000) > 1e-9 || !strings.HasPrefix(g.Measured, "0.88 (median of 3 repetitions' ratios: 0.84, 1.09, 0.88; ratio of the medians 1.09") {
		t.Errorf("paired, not met: %+v", g)
	}
	// One capped sweep of three: the other two pairs decide.
	g = goal(series("proxied", sw(9000), capped(11000), sw(13000)), series("haproxy", sw(9500), sw(14000), sw(13500)))
	if !strings.HasPrefix(g.Measured, "0.96 (median of 2 repetitions' ratios: 0.95, 0.96;") {
		t.Errorf("one capped sweep: %+v", g)
	}
	// Two of three: no longer most of them, so the ratio of the medians.
	g = goal(series("proxied", capped(9000), capped(11000), sw(13000)), series("haproxy", sw(9500), sw(14000), sw(13500)))
	if g.Met || g.Measured != "0.81 (11000 / 13500 rps)" {
		t.Errorf("two capped sweeps: %+v", g)
	}
	// Repetitions that do not line up are not paired.
	g = goal(series("proxied", sw(9000), sw(11000)), series("haproxy", sw(9500), sw(14000), sw(13500)))
	if g.Measured != "0.74 (10000 / 13500 rps)" {
		t.Errorf("unequal repetitions: %+v", g)
	}
}
