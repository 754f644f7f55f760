package dataplane

import (
	"net/netip"
	"sync"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Rate limits (limit-rps, limit-rpm, limit-connections, with
// limit-burst-multiplier and limit-whitelist) are counted per client
// address and per Ingress, like ingress-nginx's limit_req / limit_conn
// zones: every path of the Ingress shares one budget per client. The
// counters live outside the table, in a limitPool keyed by the Ingress and
// its limit values, so they survive table swaps that keep the Ingress's
// limits (and start afresh when the limits change); limit-whitelist and the
// reject status are not part of the key and are read from the current
// table's policy. Publish drops the limiters no route references any more;
// the janitor forgets clients idle for limitIdle.
//
// Requests over a limit get Policy.RateLimit.RejectStatus (503, as
// ingress-nginx's limit-req-status-code default) without reaching the
// backend. Token buckets refill continuously: limit-rps r allows bursts of
// r*multiplier requests (one more with RateLimit.BurstExcess, as nginx's
// limit_req burst counts the requests beyond the first) and then r per
// second; limit-rpm likewise per minute; both apply when both are set.

// limitIdle is how long a client's counters are kept without requests.
const limitIdle = 2 * time.Minute

// limitShards spreads clients over independently locked maps.
const limitShards = 16

// limitKey identifies a limiter: the Ingress and the limit values.
type limitKey struct {
	ingress                   routing.ObjectRef
	rps, rpm, conns, burstMul int
	burstExcess               bool
}

// limitPool holds the limiters across tables.
type limitPool struct {
	mu       sync.Mutex
	limiters map[limitKey]*limiter
}

func newLimitPool() *limitPool { return &limitPool{limiters: map[limitKey]*limiter{}} }

func keyOf(r *routing.Route) (limitKey, bool) {
	if r.Policy == nil || r.Policy.RateLimit == nil {
		return limitKey{}, false
	}
	rl := r.Policy.RateLimit
	return limitKey{ingress: r.Ingress, rps: rl.RPS, rpm: rl.RPM, conns: rl.Connections, burstMul: rl.BurstMultiplier, burstExcess: rl.BurstExcess}, true
}

// resolveKey returns the limiter of key k (made from rl when new).
func (p *limitPool) resolveKey(k limitKey, rl *routing.RateLimit) *limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.limiters[k]
	if l == nil {
		l = newLimiter(rl)
		p.limiters[k] = l
	}
	return l
}

// prune drops the limiters whose keys are not live (those a new table's
// routes use).
func (p *limitPool) prune(live map[limitKey]struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.limiters {
		if _, ok := live[k]; !ok {
			delete(p.limiters, k)
		}
	}
}

// sweep forgets clients idle since before cutoff.
func (p *limitPool) sweep(cutoff time.Time) {
	p.mu.Lock()
	ls := make([]*limiter, 0, len(p.limiters))
	for _, l := range p.limiters {
		ls = append(ls, l)
	}
	p.mu.Unlock()
	for _, l := range ls {
		l.sweep(cutoff.UnixNano())
	}
}

// limiter counts the requests of one Ingress per client address. It holds
// only what its key fixes (the limit values): tables that share it may
// differ in RateLimit.Exempt and RejectStatus, which the request path reads
// from its own table's policy.
type limiter struct {
	conns int // limit-connections; 0: none
	// per-second and per-minute refill rates (tokens per nanosecond) and
	// bucket sizes; a zero size disables the bucket.
	secRate, minRate float64
	secBurst, minBur float64
	shards           [limitShards]limitShard
}

type limitShard struct {
	mu      sync.Mutex
	clients map[netip.Addr]*clientLimit
}

type clientLimit struct {
	sec, min tokenBucket
	conns    int
	last     int64 // unix nano of the last request
}

// tokenBucket holds tokens as of at (unix nano).
type tokenBucket struct {
	tokens float64
	at     int64
}

// refill adds the tokens earned since b.at, up to burst.
func (b *tokenBucket) refill(now int64, rate, burst float64) {
	if now > b.at {
		b.tokens = min(burst, b.tokens+float64(now-b.at)*rate)
		b.at = now
	}
}

func newLimiter(rl *routing.RateLimit) *limiter {
	l := &limiter{conns: rl.Connections}
	mul := float64(max(rl.BurstMultiplier, 1))
	extra := 0.0
	if rl.BurstExcess {
		extra = 1
	}
	if rl.RPS > 0 {
		l.secRate, l.secBurst = float64(rl.RPS)/1e9, float64(rl.RPS)*mul+extra
	}
	if rl.RPM > 0 {
		l.minRate, l.minBur = float64(rl.RPM)/60e9, float64(rl.RPM)*mul+extra
	}
	for i := range l.shards {
		l.shards[i].clients = map[netip.Addr]*clientLimit{}
	}
	return l
}

func (l *limiter) shard(a netip.Addr) *limitShard {
	b := a.As16()
	var h byte
	for _, x := range b {
		h ^= x
	}
	return &l.shards[h%limitShards]
}

// acquire counts a request of client a at now (unix nano): false when a
// limit refuses it. A refused request takes a token from no bucket: both
// buckets are checked before either is taken from (under the shard's lock).
// When it returns true and limit-connections is set, release must follow.
func (l *limiter) acquire(a netip.Addr, now int64) bool {
	sh := l.shard(a)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.clients[a]
	if c == nil {
		// A new client starts with full buckets.
		c = &clientLimit{sec: tokenBucket{l.secBurst, now}, min: tokenBucket{l.minBur, now}}
		sh.clients[a] = c
	}
	c.last = now
	if l.conns > 0 && c.conns >= l.conns {
		return false
	}
	sec, perMin := l.secBurst > 0, l.minBur > 0
	if sec {
		c.sec.refill(now, l.secRate, l.secBurst)
		if c.sec.tokens < 1 {
			return false
		}
	}
	if perMin {
		c.min.refill(now, l.minRate, l.minBur)
		if c.min.tokens < 1 {
			return false
		}
	}
	if sec {
		c.sec.tokens--
	}
	if perMin {
		c.min.tokens--
	}
	if l.conns > 0 {
		c.conns++
	}
	return true
}

// release ends a request counted by acquire (limit-connections).
func (l *limiter) release(a netip.Addr) {
	sh := l.shard(a)
	sh.mu.Lock()
	if c := sh.clients[a]; c != nil && c.conns > 0 {
		c.conns--
	}
	sh.mu.Unlock()
}

func (l *limiter) sweep(cutoff int64) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for a, c := range sh.clients {
			if c.conns == 0 && c.last < cutoff {
				delete(sh.clients, a)
			}
		}
		sh.mu.Unlock()
	}
}
