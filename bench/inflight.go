package bench

import (
	"math"
	"net/http"
	"sync/atomic"
	"time"
)

// fdReserve is the part of the file-descriptor limit an open-loop window
// leaves to everything else in the harness process (API clients, the
// propagation sampler, listeners).
const fdReserve = 512

// openLoopMaxInFlight bounds an open-loop window's concurrent requests
// (vegeta workers, hence connections). An open-loop generator opens a
// worker per request it cannot hand to a free one, so a target that
// stalls makes it open connections until the process runs out of file
// descriptors, and the failure is the generator's, not the target's.
// The bound is Little's law at the request timeout (no more requests can
// be in flight when every one is answered or abandoned within it), with
// headroom, capped at a third of the descriptors left after fdReserve:
// each request may hold a generator socket, and with in-process echo
// backends (direct) the backend's socket and the controller's upstream
// socket too. fdLimit <= 0 means unknown (no cap from it).
func openLoopMaxInFlight(rate float64, timeout time.Duration, fdLimit int) int {
	n := int(math.Ceil(rate*timeout.Seconds())) + 64
	if fdLimit > 0 {
		n = min(n, max(16, (fdLimit-fdReserve)/3))
	}
	return n
}

// inFlightCounter counts a window's requests in flight and their peak.
type inFlightCounter struct {
	rt        http.RoundTripper
	cur, peak atomic.Int64
	// bound, when > 0, makes the first request that reaches it call
	// atBound (once, on its own goroutine).
	bound   int64
	atBound func()
	fired   atomic.Bool
}

// RoundTrip implements http.RoundTripper. The count covers the round trip
// only (to the response headers); vegeta reads the body right after, on
// the same worker, so the worker bound still holds for the whole request.
func (c *inFlightCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.cur.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer c.cur.Add(-1)
	if c.bound > 0 && n >= c.bound && c.atBound != nil && c.fired.CompareAndSwap(false, true) {
		go c.atBound()
	}
	return c.rt.RoundTrip(r)
}

// counting returns a client that shares base's transport (and so its
// pooled connections) and counts in flight.
func counting(base *http.Client) (*http.Client, *inFlightCounter) {
	c := &inFlightCounter{rt: base.Transport}
	cl := *base
	cl.Transport = c
	return &cl, c
}
