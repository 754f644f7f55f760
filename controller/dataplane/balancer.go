package dataplane

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// backendState is the runtime state of one backend that outlives tables: it is
// keyed by routing.Backend.Key in the statePool.
type backendState struct {
	key    string
	cursor atomic.Uint64 // round-robin position
}

// endpointState is the runtime state of one endpoint address, shared by
// every backend that lists the address: passive health and the fast path's
// idle connections.
type endpointState struct {
	addr string
	pool connPool
	// downUntil is the unix-nano time until which the endpoint is skipped;
	// 0 means healthy (the common case needs no clock read).
	downUntil atomic.Int64
}

// statePool keeps backend and endpoint state across table swaps. Only
// Publish (newSnapshot, prune) and the janitor take its lock; requests reach
// the state through the snapshot.
type statePool struct {
	mu        sync.Mutex
	backends  map[string]*backendState
	endpoints map[string]*endpointState
}

func newStatePool() *statePool {
	return &statePool{backends: map[string]*backendState{}, endpoints: map[string]*endpointState{}}
}

// resolve returns the table-specific view of backend be.
func (p *statePool) resolve(be *routing.Backend) *backendInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.backends[be.Key]
	if st == nil {
		st = &backendState{key: be.Key}
		p.backends[be.Key] = st
	}
	bi := &backendInfo{be: be, state: st, health: make([]*endpointState, len(be.Endpoints)),
		service: be.Namespace + "/" + be.Service}
	for i, ep := range be.Endpoints {
		h := p.endpoints[ep.Address]
		if h == nil {
			h = &endpointState{addr: ep.Address}
			p.endpoints[ep.Address] = h
		}
		bi.health[i] = h
	}
	return bi
}

// prune drops the state of backend keys and endpoint addresses that the
// backends of a new table (live) do not reference. It runs at Publish, off
// the request path; requests still using an older table keep using the
// pruned state, which is harmless. It returns how many backend keys are
// live.
func (p *statePool) prune(live map[*routing.Backend]*backendInfo) int {
	keys := make(map[string]struct{}, len(live))
	addrs := map[string]struct{}{}
	for b := range live {
		keys[b.Key] = struct{}{}
		for _, ep := range b.Endpoints {
			addrs[ep.Address] = struct{}{}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.backends {
		if _, ok := keys[k]; !ok {
			delete(p.backends, k)
		}
	}
	for a, es := range p.endpoints {
		if _, ok := addrs[a]; !ok {
			delete(p.endpoints, a)
			es.pool.sweep(0, true)
		}
	}
	return len(keys)
}

// sweepIdle closes fast-path connections idle for longer than maxIdle; with
// all set it closes every idle connection.
func (p *statePool) sweepIdle(maxIdle time.Duration, all bool) {
	p.mu.Lock()
	eps := make([]*endpointState, 0, len(p.endpoints))
	for _, es := range p.endpoints {
		eps = append(eps, es)
	}
	p.mu.Unlock()
	for _, es := range eps {
		es.pool.sweep(maxIdle, all)
	}
}

// sizes reports how many states the pool holds (for tests).
func (p *statePool) sizes() (backends, endpoints int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.backends), len(p.endpoints)
}

// backendInfo is a backend of one table joined with its runtime state.
type backendInfo struct {
	be     *routing.Backend
	state  *backendState
	health []*endpointState // aligned with be.Endpoints
	// service is the metric label of the backend's Service
	// ("namespace/name"), made once per backend and table.
	service string
}

// next returns the index of the endpoint to try first: the round-robin
// position, moved past endpoints in passive-health backoff. When every
// endpoint is backing off it returns the round-robin position anyway.
func (b *backendInfo) next() int {
	n := len(b.health)
	start := int((b.state.cursor.Add(1) - 1) % uint64(n))
	return b.after(start)
}

// after returns the first endpoint at or after start (cyclically) that is not
// in backoff, or start when every endpoint is.
func (b *backendInfo) after(start int) int {
	n := len(b.health)
	var now int64
	for i := range n {
		j := (start + i) % n
		d := b.health[j].downUntil.Load()
		if d == 0 {
			return j
		}
		if now == 0 {
			now = time.Now().UnixNano()
		}
		if d <= now {
			return j
		}
	}
	return start
}

// markDown puts endpoint i into backoff.
func (b *backendInfo) markDown(i int, backoff time.Duration) {
	b.health[i].downUntil.Store(time.Now().Add(backoff).UnixNano())
}

// markUp clears endpoint i's backoff after a successful connection.
func (b *backendInfo) markUp(i int) {
	if h := b.health[i]; h.downUntil.Load() != 0 {
		h.downUntil.Store(0)
	}
}

// routeInfo is a route of one table with what requests need besides it.
type routeInfo struct {
	route   *routing.Route
	backend *backendInfo // nil when the route has no backend
	metrics *metrics.RouteMetrics
	// policy is route.Policy (nil for the plain fast path).
	policy *routing.Policy
	// limiter counts the rate limits of the route's Ingress; nil without.
	limiter *limiter
	// canary is the route's canary as a routeInfo of its own (canary
	// Ingress and backend, the main route's policy); nil without.
	canary *routeInfo
	// up is route.Upstream resolved to its transport (upstreamtls.go);
	// nil without.
	up *upstreamRT
	// isCanary marks the canary's routeInfo (its Ingress is the canary's).
	isCanary bool
}

// ingressName returns the namespace/name of the route's Ingress (the
// canary's for a canary), or metrics.NoIngress, for logs and messages:
// made when asked rather than kept, as a routeInfo is one per route.
func (ri *routeInfo) ingressName() string {
	ref := ri.route.Ingress
	if ri.isCanary {
		ref = ri.route.Canary.Ingress
	}
	if s := ref.String(); s != "" {
		return s
	}
	return metrics.NoIngress
}

// snapshot is what one request loads: a published table and the routeInfo
// of each of its routes. newSnapshot builds it once per table, when the
// table is published; afterwards it is read-only, so requests read it
// without locks and it dies with the table. The runtime state a routeInfo
// points to (backendState, endpointState, limiter, upstream transports)
// lives in the Server's pools and outlives the table.
type snapshot struct {
	table  *routing.Table
	routes map[*routing.Route]*routeInfo // every route of table
	s      *Server
}

// newSnapshot joins every route of t with its runtime state. Publish calls
// it, off the request path. The routeBuilder it returns holds what the
// routes use (backends, limiters, upstream transports), for pruning the
// pools; the metric handles it resolves are marked live (BeginRoutes).
//
// A route of prev (the snapshot served so far, nil for none) keeps its
// routeInfo: a table patched from the previous one (routing.Table.Patch)
// shares the routes of every Ingress that did not change, and routes are
// immutable, so only the changed Ingresses' routes are resolved again.
func (s *Server) newSnapshot(t *routing.Table, prev *snapshot) (*snapshot, *routeBuilder) {
	_, n := t.Size()
	b := &routeBuilder{s: s, backends: map[*routing.Backend]*backendInfo{}}
	s.metrics.BeginRoutes() // the handles route() resolves are the live ones
	snap := &snapshot{table: t, routes: make(map[*routing.Route]*routeInfo, n), s: s}
	for r := range t.Routes() {
		if _, ok := snap.routes[r]; ok {
			continue
		}
		if prev != nil {
			if ri := prev.routes[r]; ri != nil {
				b.keep(ri)
				snap.routes[r] = ri
				continue
			}
		}
		snap.routes[r] = b.route(r)
	}
	return snap, b
}

// keep records what ri, a routeInfo of the previous snapshot, uses as live,
// as route does for a new one.
func (b *routeBuilder) keep(ri *routeInfo) {
	for x := ri; x != nil; x = x.canary {
		if x.backend != nil {
			b.backends[x.backend.be] = x.backend
		}
		b.s.metrics.KeepRoute(x.metrics)
		if x.up != nil && x.up.tls {
			b.liveUpstream(x.up.key)
		}
	}
	if k, ok := keyOf(ri.route); ok {
		b.liveLimit(k)
	}
}

// route returns the routeInfo of r, a route of s.table: a map read.
func (s *snapshot) route(r *routing.Route) *routeInfo {
	if ri := s.routes[r]; ri != nil {
		return ri
	}
	// Not reached: Table.Routes yields every route Match returns. Should a
	// table break that, serve the request correctly (and slowly) rather
	// than fail it.
	return (&routeBuilder{s: s.s}).route(r)
}

// routeBuilder builds the routeInfos of one table, sharing one backendInfo
// per *routing.Backend among its routes.
type routeBuilder struct {
	s        *Server
	backends map[*routing.Backend]*backendInfo // nil: not shared
	// limits and upstreams collect the rate limiters and upstream TLS
	// transports the routes use (nil until one does), for the pools'
	// prune.
	limits    map[limitKey]struct{}
	upstreams map[string]struct{}
}

func (b *routeBuilder) backend(be *routing.Backend) *backendInfo {
	if bi := b.backends[be]; bi != nil {
		return bi
	}
	bi := b.s.pool.resolve(be)
	if b.backends != nil {
		b.backends[be] = bi
	}
	return bi
}

func (b *routeBuilder) route(r *routing.Route) *routeInfo {
	s := b.s
	ri := &routeInfo{route: r, policy: r.Policy}
	service := metrics.NoService
	if be := r.Backend; be != nil {
		ri.backend = b.backend(be)
		service = ri.backend.service
	}
	ri.metrics = s.metrics.Route(ri.ingressName(), service)
	if u := r.Upstream; u != nil {
		ri.up = b.upstream(u, r.Backend)
	}
	ri.limiter = b.limiter(r)
	if c := r.Canary; c != nil && c.Backend != nil {
		cb := b.backend(c.Backend)
		ci := &routeInfo{route: r, policy: ri.policy, limiter: ri.limiter, backend: cb, isCanary: true}
		ci.metrics = s.metrics.Route(ci.ingressName(), cb.service)
		if u := r.Upstream; u != nil {
			ci.up = b.upstream(u, c.Backend)
		}
		ri.canary = ci
	}
	return ri
}

// limiter resolves r's rate limiter and records its key as live.
func (b *routeBuilder) limiter(r *routing.Route) *limiter {
	k, ok := keyOf(r)
	if !ok {
		return nil
	}
	b.liveLimit(k)
	return b.s.limits.resolveKey(k, r.Policy.RateLimit)
}

// liveLimit records rate-limit key k as used by this table.
func (b *routeBuilder) liveLimit(k limitKey) {
	if b.limits == nil {
		b.limits = map[limitKey]struct{}{}
	}
	b.limits[k] = struct{}{}
}

// liveUpstream records the upstream TLS transport key as used by this
// table.
func (b *routeBuilder) liveUpstream(key string) {
	if b.upstreams == nil {
		b.upstreams = map[string]struct{}{}
	}
	b.upstreams[key] = struct{}{}
}

// upstream resolves upstream u to backend be and records its TLS transport
// as live.
func (b *routeBuilder) upstream(u *routing.Upstream, be *routing.Backend) *upstreamRT {
	up := b.s.resolveUpstream(u, be)
	if up.tls {
		b.liveUpstream(up.key)
	}
	return up
}
