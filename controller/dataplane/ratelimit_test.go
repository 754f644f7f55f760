package dataplane

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// fakeClock is the clock a limiter is given (acquire's now), advanced by
// hand.
type fakeClock struct{ now int64 }

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
}

func (c *fakeClock) advance(d time.Duration) { c.now += int64(d) }

var limitClient = netip.MustParseAddr("192.0.2.1")

// accepted counts how many of n requests at the clock's current time l
// accepts, releasing each.
func accepted(l *limiter, c *fakeClock, n int) int {
	ok := 0
	for range n {
		if l.acquire(limitClient, c.now) {
			ok++
			l.release(limitClient)
		}
	}
	return ok
}

func TestLimiterRefill(t *testing.T) {
	type step struct {
		after time.Duration // advance the clock first
		send  int
		want  int // accepted
	}
	for _, tc := range []struct {
		name  string
		rl    routing.RateLimit
		steps []step
	}{
		{"per second, burst multiplier 3", routing.RateLimit{RPS: 2, BurstMultiplier: 3}, []step{
			{0, 10, 6},                      // a new client starts with a full bucket of 2*3
			{499 * time.Millisecond, 1, 0},  // 0.998 tokens
			{2 * time.Millisecond, 2, 1},    // 1.002 tokens: one request
			{1001 * time.Millisecond, 3, 2}, // two per second
			{10 * time.Second, 10, 6},       // refill stops at the burst
		}},
		{"per minute, burst multiplier 2", routing.RateLimit{RPM: 6, BurstMultiplier: 2}, []step{
			{0, 20, 12},
			{9990 * time.Millisecond, 1, 0}, // one token per 10s
			{20 * time.Millisecond, 2, 1},
			{time.Minute, 10, 6}, // six per minute
			{time.Hour, 20, 12},
		}},
		{"burst multiplier 0 is 1", routing.RateLimit{RPS: 3}, []step{
			{0, 5, 3},
			{time.Second + time.Millisecond, 5, 3},
		}},
		// nginx's limit_req burst counts the requests beyond the first
		// (the nginx dialect): one more passes at once, the rate is the same.
		{"burst excess, per second", routing.RateLimit{RPS: 1, BurstMultiplier: 1, BurstExcess: true}, []step{
			{0, 6, 2},
			{1001 * time.Millisecond, 3, 1},
			{10 * time.Second, 6, 2},
		}},
		{"burst excess, per minute", routing.RateLimit{RPM: 6, BurstMultiplier: 2, BurstExcess: true}, []step{
			{0, 20, 13},
			{10010 * time.Millisecond, 3, 1},
		}},
		{"both: the smaller budget applies", routing.RateLimit{RPS: 4, RPM: 6, BurstMultiplier: 1}, []step{
			{0, 10, 4},                       // per second bucket first
			{1001 * time.Millisecond, 10, 2}, // per minute bucket: 6 in all
			{10001 * time.Millisecond, 10, 1},
			{time.Minute, 10, 4}, // per minute refilled to 6, per second caps at 4
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(&tc.rl)
			c := newFakeClock()
			var elapsed time.Duration
			for i, s := range tc.steps {
				c.advance(s.after)
				elapsed += s.after
				if got := accepted(l, c, s.send); got != s.want {
					t.Errorf("step %d (at +%v): %d of %d requests accepted, want %d", i, elapsed, got, s.send, s.want)
				}
			}
		})
	}
}

// TestLimiterRefusalSpendsNoToken checks that a request one bucket refuses
// takes a token from neither.
func TestLimiterRefusalSpendsNoToken(t *testing.T) {
	// limit-rps 1 and limit-rpm 2: two requests, then the per-minute
	// bucket refuses until it has a token again, 30s after the start. A
	// request refused just before must not spend the per-second token the
	// request just after needs.
	l := newLimiter(&routing.RateLimit{RPS: 1, RPM: 2, BurstMultiplier: 1})
	c := newFakeClock()
	for i, s := range []struct {
		at   time.Duration // since the start
		want bool
	}{
		{0, true},
		{time.Second, true},
		{2 * time.Second, false}, // per-minute bucket empty
		{29900 * time.Millisecond, false},
		{30010 * time.Millisecond, true}, // per-minute token back; per-second bucket full
	} {
		c.now = newFakeClock().now + int64(s.at)
		if got := accepted(l, c, 1) == 1; got != s.want {
			t.Errorf("request %d at +%v: accepted %v, want %v", i, s.at, got, s.want)
		}
	}

	// At one instant: the per-minute bucket refuses, the per-second
	// bucket keeps its tokens.
	l = newLimiter(&routing.RateLimit{RPS: 5, RPM: 2, BurstMultiplier: 1})
	c = newFakeClock()
	if got := accepted(l, c, 10); got != 2 {
		t.Fatalf("%d accepted, want 2", got)
	}
	cl := l.shard(limitClient).clients[limitClient]
	if cl.sec.tokens != 3 || cl.min.tokens != 0 {
		t.Errorf("after 2 accepted and 8 refused: per-second tokens %v, per-minute %v; want 3 and 0", cl.sec.tokens, cl.min.tokens)
	}
}

// TestRateLimitSettingsFollowTable checks that a table swap that changes
// only limit-whitelist or the reject status applies them at once, while the
// counters (same rates) are kept.
func TestRateLimitSettingsFollowTable(t *testing.T) {
	up := newEcho(t, "up")
	mk := func(gen uint64, status int, exempt ...string) *routing.Table {
		rl := &routing.RateLimit{RPM: 1, BurstMultiplier: 1, RejectStatus: status}
		for _, p := range exempt {
			rl.Exempt = append(rl.Exempt, netip.MustParsePrefix(p))
		}
		return buildTable(t, gen, nil,
			policyRoute("ns/lim", "lim.example", "/", backend("ns/up:80", up.addr()), &routing.Policy{RateLimit: rl}))
	}
	s := startServer(t, Options{}, mk(1, http.StatusServiceUnavailable))
	c := clientTo(t, s.HTTPAddr(), nil)
	code := func() int {
		resp, _ := do(t, c, http.MethodGet, "http://lim.example/", nil, nil)
		return resp.StatusCode
	}
	if a, b := code(), code(); a != 200 || b != http.StatusServiceUnavailable {
		t.Fatalf("limit-rpm 1: %d %d, want 200 503", a, b)
	}
	s.Publish(mk(2, http.StatusTooManyRequests))
	if got := code(); got != http.StatusTooManyRequests {
		t.Errorf("after a swap to reject status 429: %d, want 429 (counters kept, status from the new table)", got)
	}
	s.Publish(mk(3, http.StatusTooManyRequests, "127.0.0.0/8"))
	if got := code(); got != 200 {
		t.Errorf("after a swap that exempts 127.0.0.0/8: %d, want 200", got)
	}
	s.Publish(mk(4, http.StatusTooManyRequests))
	if got := code(); got != http.StatusTooManyRequests {
		t.Errorf("after a swap that removes the exemption: %d, want 429 (counters kept)", got)
	}
}
