package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/reports"
)

// TestBaselinesServeOneRoute starts each raw engine with its generated
// configuration in front of an echo-like upstream: the routed host reaches
// the upstream with X-Forwarded-For over reused connections, other hosts
// get 404, and the process stops. The engines are Debian packages (haproxy,
// nginx-light); `make test` (INGRESSLAB_REQUIRE_TOOLS) requires them.
func TestBaselinesServeOneRoute(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Forwarded-For") == "" || r.Host != singleHost {
			http.Error(w, "missing X-Forwarded-For or Host "+r.Host, http.StatusTeapot)
			return
		}
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

	for _, eng := range baselineEngines() {
		t.Run(eng.Name, func(t *testing.T) {
			if _, err := exec.LookPath(eng.Binary); err != nil {
				if os.Getenv("INGRESSLAB_REQUIRE_TOOLS") != "" {
					t.Fatalf("%s not on PATH (install the Debian package %s): %v", eng.Binary, eng.Package, err)
				}
				t.Skipf("%s not on PATH (install the Debian package %s)", eng.Binary, eng.Package)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var progress bytes.Buffer
			e := &Env{Opts: Options{ReportDir: t.TempDir(), Baselines: []string{eng.Name}, BaselineThreads: 1}, out: &progress, began: time.Now()}
			started, skipped, err := e.startBaselines(ctx, upstream)
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
			p := newProber(b.addr, nil, 2*time.Second)
			before := conns.Load()
			for range 20 {
				if code, svc := p.probe(ctx, "http://"+singleHost+"/x"); code != http.StatusOK || svc != echoName {
					t.Fatalf("routed host: %d from %q", code, svc)
				}
			}
			if n := conns.Load() - before; n > 2 {
				t.Errorf("%d new upstream connections for 20 sequential requests: no keep-alive to the upstream", n)
			}
			if code, _ := p.probe(ctx, "http://other.bench.test/x"); code != http.StatusNotFound {
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
	if err := o.defaults(); err == nil || !strings.Contains(err.Error(), "single-route scenario, which is not selected") {
		t.Fatalf("err = %v", err)
	}
}

func TestBaselineSkippedWithHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var progress bytes.Buffer
	e := &Env{Opts: Options{ReportDir: t.TempDir(), Baselines: []string{"haproxy", "nginx"}}, out: &progress, began: time.Now()}
	started, skipped, err := e.startBaselines(context.Background(), "127.0.0.1:1")
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
	r.Scenarios[0].Load.Series = r.Scenarios[0].Load.Series[:2]
	if g := baselineGoals(r); len(g) != 0 {
		t.Fatalf("goals without baselines: %+v", g)
	}
}
