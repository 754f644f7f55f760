package bench

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/reports"
)

// TestServeScale: every scale host is asked at least once, the total is at
// least scaleServeMin, the pool stays at scaleServeConns connections
// whatever the number of hosts, and answers other than 200 are counted.
func TestServeScale(t *testing.T) {
	var (
		mu    sync.Mutex
		hosts = map[string]int{}
		conns atomic.Int64
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts[r.Host]++
		mu.Unlock()
		if r.Host == scaleHost(7) {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	e := &Env{Ctrl: &controllerProc{&launch.Controller{HTTPAddr: strings.TrimPrefix(srv.URL, "http://")}}}

	const size = 60
	sent, failed, first := e.serveScale(context.Background(), size)
	if sent != scaleServeMin {
		t.Errorf("sent %d, want %d", sent, scaleServeMin)
	}
	if len(hosts) != size {
		t.Errorf("%d hosts asked, want %d", len(hosts), size)
	}
	if want := hosts[scaleHost(7)]; failed != want || want == 0 {
		t.Errorf("failed %d, want the %d answers of the 404 host", failed, want)
	}
	if want := "GET http://" + scaleHost(7) + "/: 404 Not Found"; first != want {
		t.Errorf("first failure %q, want %q", first, want)
	}
	if n := conns.Load(); n > scaleServeConns {
		t.Errorf("%d connections, want at most %d", n, scaleServeConns)
	}
}

// TestMemoryGoal: the scale fit against 2 KiB per route; a fit with a note
// is not a measurement.
func TestMemoryGoal(t *testing.T) {
	pts := []reports.ScalePoint{{Routes: 100}, {Routes: 1000}, {Routes: 10000, TreeRSSBytes: 50 << 20}}
	g := memoryGoal(&reports.ScaleResult{Points: pts, Fit: &reports.LinearFit{Points: 3, Slope: 1900, R2: 0.999}})
	if !g.Met || g.Target != "<= 2048 bytes" || !strings.HasPrefix(g.Measured, "1900 bytes (R² 0.999 over 3 sizes; 50 MiB at 10000 routes") {
		t.Errorf("met: %+v", g)
	}
	if g := memoryGoal(&reports.ScaleResult{Points: pts, Fit: &reports.LinearFit{Points: 3, Slope: 2100, R2: 0.99}}); g.Met {
		t.Errorf("2100 bytes met: %+v", g)
	}
	if g := memoryGoal(&reports.ScaleResult{Points: pts[:2], Fit: &reports.LinearFit{Points: 2, Slope: 100, Note: "only 2 sizes"}}); g.Met || g.Measured != "unknown: only 2 sizes" {
		t.Errorf("noted fit: %+v", g)
	}
}

// TestMemoryGoalJudgesThePeak: with peaks sampled, the goal is judged on
// their fit and says so.
func TestMemoryGoalJudgesThePeak(t *testing.T) {
	pts := []reports.ScalePoint{{Routes: 100}, {Routes: 1000}, {Routes: 10000, TreeRSSBytes: 50 << 20, PeakTreeRSSBytes: 60 << 20, PeakSamples: 40}}
	sc := &reports.ScaleResult{Points: pts, Fit: &reports.LinearFit{Points: 3, Slope: 1900, R2: 0.999}, PeakFit: &reports.LinearFit{Points: 3, Slope: 2200, R2: 0.998}}
	g := memoryGoal(sc)
	if g.Met || g.Value != 2200 || g.Measured != "2200 bytes (R² 0.998 over 3 sizes; 60 MiB at 10000 routes, peak while serving them)" {
		t.Errorf("peak fit: %+v", g)
	}
}

// TestRSSPeak: each phase keeps its highest sample, a failed read is no
// sample, and Stop ends the sampling.
func TestRSSPeak(t *testing.T) {
	vals := make(chan uint64)
	p := startRSSPeakWith(time.Millisecond, func() (uint64, bool) {
		select {
		case v := <-vals:
			return v, v != 0
		default:
			return 0, false
		}
	})
	for _, v := range []uint64{5, 9, 0, 7} {
		vals <- v
	}
	if peak, n := p.Mark(); peak != 9 || n != 3 {
		t.Errorf("first phase: peak %d in %d samples, want 9 in 3", peak, n)
	}
	vals <- 4
	peak, n := p.Stop()
	if peak != 4 || n != 1 {
		t.Errorf("second phase: peak %d in %d samples, want 4 in 1", peak, n)
	}
	select {
	case <-p.done:
	default:
		t.Error("the sampler still runs after Stop")
	}
}

// TestRSSPeakReadsTheTree: the sampler reads this process's own tree.
func TestRSSPeakReadsTheTree(t *testing.T) {
	p := startRSSPeak(os.Getpid(), time.Millisecond)
	peak, n := p.Stop()
	if n < 1 || peak < 1<<20 {
		t.Errorf("peak %d bytes in %d samples", peak, n)
	}
}
