package bench

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestOpenLoopMaxInFlight(t *testing.T) {
	for _, c := range []struct {
		rate    float64
		timeout time.Duration
		fds     int
		want    int
	}{
		{rate: 100, timeout: 5 * time.Second, fds: 0, want: 564},           // Little's law + 64
		{rate: 8000, timeout: 5 * time.Second, fds: 20000, want: 6496},     // (20000-512)/3
		{rate: 100, timeout: 5 * time.Second, fds: 20000, want: 564},       // under the descriptor cap
		{rate: 1e6, timeout: 5 * time.Second, fds: 100, want: 16},          // never below 16
		{rate: 0.1, timeout: 100 * time.Millisecond, fds: 20000, want: 65}, // rounds up
	} {
		if got := openLoopMaxInFlight(c.rate, c.timeout, c.fds); got != c.want {
			t.Errorf("openLoopMaxInFlight(%v, %v, %d) = %d, want %d", c.rate, c.timeout, c.fds, got, c.want)
		}
	}
}

// TestOpenLoopStalledTargetBounded: against a target that accepts and
// never answers, an open-loop window opens at most MaxInFlight
// connections (before, one per request until the process ran out of file
// descriptors) and is reported invalid, naming the bound.
func TestOpenLoopStalledTargetBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		accepted atomic.Int64
		mu       sync.Mutex
		conns    []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	tr := &Traffic{Name: "stalled", Dial: l.Addr().String(), KeepAlive: true,
		Targets: []vegeta.Target{{Method: http.MethodGet, URL: "http://stalled.bench.invalid/"}}}
	cfg := loose
	cfg.Rate, cfg.Duration, cfg.Phase, cfg.Timeout, cfg.MaxInFlight = 500, 400*time.Millisecond, "step", time.Second, 20
	st, err := runStep(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 500 rps for 0.4 s would be 200 connections unbounded. Bounded: the 20
	// first, and once those time out (1 s) the few requests the blocked
	// pacer still hands over before the attack ends.
	if n := accepted.Load(); n > 30 {
		t.Errorf("the generator opened %d connections to a stalled target, bound 20", n)
	}
	if st.Valid || !strings.Contains(st.InvalidReason, "in-flight bound (20 requests)") || st.PeakInFlight != 20 || st.MaxInFlight != 20 {
		t.Errorf("window: valid %v (%s), peak %d of %d", st.Valid, st.InvalidReason, st.PeakInFlight, st.MaxInFlight)
	}
}
