package dataplane

import (
	"net/http"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// stateTable is a table with every kind of route a snapshot joins with
// runtime state: plain, rate limited, canary (on a wildcard host), host-less,
// a host default and the table-wide default. Each call builds new Route and
// Backend values with the same keys, as the translation does for every
// table.
func stateTable(t testing.TB, gen uint64) *routing.Table {
	a := func() *routing.Backend { return backend("ns/a:80", "127.0.0.1:1", "127.0.0.1:2") }
	limited := &routing.Policy{RateLimit: &routing.RateLimit{RPS: 5, BurstMultiplier: 1, RejectStatus: http.StatusServiceUnavailable}}
	can := policyRoute("ns/main", "*.wild.example", "/", a(), &routing.Policy{})
	can.Canary = &routing.Canary{Ingress: routing.ObjectRef{Namespace: "ns", Name: "canary"},
		Backend: backend("ns/c:80", "127.0.0.1:4"), Rule: &routing.CanaryRule{Weight: 1, WeightTotal: 2}}
	return buildTable(t, gen, func(b *routing.Builder) {
		b.SetHostDefault("plain.example", route("ns/plain", "plain.example", "", routing.PathPrefix, backend("ns/d:80", "127.0.0.1:5")))
		b.SetDefault(route("", "", "", routing.PathPrefix, backend("ns/default:80", "127.0.0.1:6")))
	},
		route("ns/plain", "plain.example", "/app", routing.PathPrefix, a()),
		policyRoute("ns/lim", "lim.example", "/", backend("ns/b:80", "127.0.0.1:3"), limited),
		can,
		route("ns/any", "", "/any", routing.PathExact, a()),
	)
}

// TestRouteInfoBuiltAtPublish checks that Publish joins every route of the
// table with its runtime state, so that a request only reads a map: the
// routeInfo of each route (and of each route Match returns) exists right
// after Publish, and looking it up allocates nothing.
func TestRouteInfoBuiltAtPublish(t *testing.T) {
	s, err := New(Options{DisableHTTPS: true, Logger: testLogger(t), Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	table := stateTable(t, 1)
	s.Publish(table)
	snap := s.cur.Load()

	var routes []*routing.Route
	for r := range table.Routes() {
		routes = append(routes, r)
		ri := cached(snap, r)
		if ri == nil {
			t.Errorf("route %s %q%s: no routeInfo right after Publish", r.Ingress, r.Host, r.Path)
			continue
		}
		if ri.route != r || ri.metrics == nil || ri.backend == nil || ri.backend.be != r.Backend ||
			len(ri.backend.health) != len(r.Backend.Endpoints) {
			t.Errorf("route %s %q%s: routeInfo %+v does not match the route", r.Ingress, r.Host, r.Path, ri)
		}
		if limited := r.Policy != nil && r.Policy.RateLimit != nil; limited != (ri.limiter != nil) {
			t.Errorf("route %s %q%s: limiter %v, want one: %v", r.Ingress, r.Host, r.Path, ri.limiter, limited)
		}
		if hasCanary := r.Canary != nil; hasCanary != (ri.canary != nil) {
			t.Errorf("route %s %q%s: canary %v, want one: %v", r.Ingress, r.Host, r.Path, ri.canary, hasCanary)
		} else if hasCanary && (ri.canary.backend == nil || ri.canary.backend.be != r.Canary.Backend || ri.canary.metrics == nil) {
			t.Errorf("route %s %q%s: canary routeInfo %+v does not match", r.Ingress, r.Host, r.Path, ri.canary)
		}
	}
	if len(routes) != 6 {
		t.Fatalf("table has %d routes, want 6", len(routes))
	}
	for _, hp := range [][2]string{{"plain.example", "/app/x"}, {"plain.example", "/other"}, {"lim.example", "/"},
		{"x.wild.example", "/y"}, {"else.example", "/any"}, {"else.example", "/"}} {
		m := table.Match(hp[0], hp[1])
		if m.Route == nil || cached(snap, m.Route) == nil {
			t.Errorf("Match(%s, %s) = %v: no routeInfo", hp[0], hp[1], m.Route)
		}
	}
	// The backends and limiters are in their pools before any request.
	if b, e := s.pool.sizes(); b != 5 || e != 6 {
		t.Errorf("state pool holds %d backends %d endpoints after Publish, want 5 and 6", b, e)
	}
	// The request path's look-up is a plain read.
	if n := testing.AllocsPerRun(100, func() {
		for _, r := range routes {
			if snap.route(r) == nil {
				t.Fatal("route returned nil")
			}
		}
	}); n != 0 {
		t.Errorf("route look-up allocates %v times per run, want 0", n)
	}
}

// TestRouteStateSurvivesPublish checks that the per-backend and per-endpoint
// state joined at Publish (round-robin cursor, passive health, rate limiter)
// is the same objects in the next table, whose routes and backends are new
// values with the same keys.
func TestRouteStateSurvivesPublish(t *testing.T) {
	s, err := New(Options{DisableHTTPS: true, Logger: testLogger(t), Metrics: metrics.New()})
	if err != nil {
		t.Fatal(err)
	}
	find := func(host, path string) *routeInfo {
		t.Helper()
		snap := s.cur.Load()
		m := snap.table.Match(host, path)
		if m.Route == nil {
			t.Fatalf("no route for %s%s", host, path)
		}
		return snap.route(m.Route)
	}
	s.Publish(stateTable(t, 1))
	a1, lim1 := find("plain.example", "/app"), find("lim.example", "/")
	if first := a1.backend.next(); first != 0 {
		t.Fatalf("first endpoint %d, want 0", first)
	}
	a1.backend.markDown(1, time.Hour)

	s.Publish(stateTable(t, 2))
	a2, lim2 := find("plain.example", "/app"), find("lim.example", "/")
	if a2.route == a1.route || a2.backend == a1.backend {
		t.Fatal("the second table's routeInfo is the first's: test tables share values")
	}
	if a2.backend.state != a1.backend.state {
		t.Error("round-robin state of ns/a:80 not kept across Publish")
	}
	for i := range a1.backend.health {
		if a2.backend.health[i] != a1.backend.health[i] {
			t.Errorf("endpoint %d state of ns/a:80 not kept across Publish", i)
		}
	}
	// The cursor continues at 1, which is down: endpoint 0 again.
	if got := a2.backend.next(); got != 0 {
		t.Errorf("after Publish next endpoint %d, want 0 (cursor kept, endpoint 1 down)", got)
	}
	// The canary and the host-less route share backend ns/a:80's state.
	if c := find("x.wild.example", "/"); c.backend.state != a2.backend.state {
		t.Error("routes to the same backend key have different state")
	}
	if lim2.limiter == nil || lim2.limiter != lim1.limiter {
		t.Errorf("limiter %p after Publish, want %p (same limits)", lim2.limiter, lim1.limiter)
	}
}

// TestPublishWhileServing publishes tables while clients send requests
// (run it with -race): every request is answered by the upstreams, and the
// round-robin cursor shared across the tables spreads them evenly.
func TestPublishWhileServing(t *testing.T) {
	ups := []*echoUpstream{newEcho(t, "u0"), newEcho(t, "u1")}
	limited := func() *routing.Policy {
		return &routing.Policy{RateLimit: &routing.RateLimit{RPS: 1000000, BurstMultiplier: 1, RejectStatus: http.StatusTooManyRequests}}
	}
	mk := func(gen uint64) *routing.Table {
		return buildTable(t, gen, nil,
			route("ns/plain", "plain.example", "/", routing.PathPrefix, backend("ns/up:80", ups[0].addr(), ups[1].addr())),
			policyRoute("ns/lim", "lim.example", "/", backend("ns/up:80", ups[0].addr(), ups[1].addr()), limited()))
	}
	s := startServer(t, Options{}, mk(1))
	c := clientTo(t, s.HTTPAddr(), nil)

	const clients, perClient = 4, 25
	var wg sync.WaitGroup
	for i := range clients {
		host := []string{"plain.example", "lim.example"}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				resp, err := c.Get("http://" + host + "/")
				if err != nil {
					t.Errorf("GET %s: %v", host, err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d", host, resp.StatusCode)
				}
			}
		}()
	}
	for gen := uint64(2); gen < 50; gen++ {
		s.Publish(mk(gen))
	}
	wg.Wait()
	if h0, h1 := ups[0].hits.Load(), ups[1].hits.Load(); h0 != h1 || h0+h1 != clients*perClient {
		t.Errorf("upstream hits %d and %d, want %d each", h0, h1, clients*perClient/2)
	}
}

// cached returns the routeInfo snap holds for r, without building one.
func cached(snap *snapshot, r *routing.Route) *routeInfo { return snap.routes[r] }

// TestPatchedTableKeepsRouteInfo publishes a table patched from the served
// one (routing.Table.Patch, as translate.Update makes): the routes it
// shares keep their routeInfo, their backends, limiters and metric handles
// stay live through the pools' prune, and the replaced host's routes are
// resolved anew.
func TestPatchedTableKeepsRouteInfo(t *testing.T) {
	m := metrics.New()
	s, err := New(Options{DisableHTTPS: true, Logger: testLogger(t), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	first := stateTable(t, 1)
	s.Publish(first)
	before := s.cur.Load()
	lim := before.route(first.Match("lim.example", "/").Route)
	lim.backend.markDown(0, time.Hour)

	add := buildTable(t, 0, nil, route("ns/new", "new.example", "/", routing.PathPrefix, backend("ns/n:80", "127.0.0.1:7")))
	patched, ok := first.Patch([]string{"plain.example"}, add, 2)
	if !ok {
		t.Fatal("Patch refused")
	}
	s.Publish(patched)
	after := s.cur.Load()
	for r := range patched.Routes() {
		ri := cached(after, r)
		if ri == nil {
			t.Fatalf("route %s %q%s: no routeInfo", r.Ingress, r.Host, r.Path)
		}
		if old := cached(before, r); old != nil && old != ri {
			t.Errorf("route %s %q%s: shared with the first table, but resolved again", r.Ingress, r.Host, r.Path)
		}
	}
	if got := after.route(patched.Match("lim.example", "/").Route); got != lim || got.limiter == nil || got.backend.health[0] != lim.backend.health[0] {
		t.Errorf("the rate-limited route's state was not kept: %+v", got)
	}
	if ri := after.route(patched.Match("new.example", "/").Route); ri == nil || ri.backend == nil || ri.metrics == nil {
		t.Fatalf("the added host has no runtime state: %+v", ri)
	}
	// ns/d:80 (plain.example's default) is gone with its host; the other
	// four backends and ns/n:80 are live, with their endpoints.
	if b, e := s.pool.sizes(); b != 5 || e != 6 {
		t.Errorf("state pool holds %d backends %d endpoints, want 5 and 6", b, e)
	}
	// A third publish of the same patched table resolves nothing again
	// and keeps every metric handle: the shared routes were marked live.
	s.Publish(patched)
	for r := range patched.Routes() {
		ri := cached(s.cur.Load(), r)
		if ri != cached(after, r) {
			t.Errorf("route %s %q%s: resolved again on an identical publish", r.Ingress, r.Host, r.Path)
		}
		// Route returns the cached handle unless the publish dropped it.
		if h := m.Route(ri.ingressName(), ri.backend.service); h != ri.metrics {
			t.Errorf("route %s %q%s: its metric handle was dropped by the publish", r.Ingress, r.Host, r.Path)
		}
	}
}

// TestRouteInfoSize keeps a routeInfo (one per route of a published table)
// in the 64-byte size class, and its Ingress name made when asked: the
// route's, the canary's for the canary, NoIngress for the default backend.
func TestRouteInfoSize(t *testing.T) {
	if n := unsafe.Sizeof(routeInfo{}); n > 64 {
		t.Errorf("routeInfo is %d bytes, want at most 64", n)
	}
	r := &routing.Route{Ingress: routing.ObjectRef{Namespace: "ns", Name: "main"},
		Canary: &routing.Canary{Ingress: routing.ObjectRef{Namespace: "ns", Name: "canary"}}}
	for _, tc := range []struct {
		ri   *routeInfo
		want string
	}{
		{&routeInfo{route: r}, "ns/main"},
		{&routeInfo{route: r, isCanary: true}, "ns/canary"},
		{&routeInfo{route: &routing.Route{}}, metrics.NoIngress},
	} {
		if got := tc.ri.ingressName(); got != tc.want {
			t.Errorf("ingressName() = %q, want %q", got, tc.want)
		}
	}
}
