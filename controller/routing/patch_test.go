package routing

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// patchRoutes is the routes of host h in the patch tests: one or more
// Prefix and Exact paths (more than smallPaths for some hosts, so both
// encodings are patched), owned by an Ingress named after the host and
// version v.
func patchRoutes(h string, v int) []*Route {
	ing := ObjectRef{Namespace: "ns", Name: h}
	be := &Backend{Key: fmt.Sprintf("ns/svc-%d:80", v)}
	rs := []*Route{{Ingress: ing, Host: h, Path: "/", PathType: PathPrefix, Backend: be},
		{Ingress: ing, Host: h, Path: fmt.Sprintf("/v%d", v), PathType: PathExact, Backend: be}}
	if len(h)%3 == 0 {
		for i := range smallPaths + 2 {
			rs = append(rs, &Route{Ingress: ing, Host: h, Path: fmt.Sprintf("/p%d/%d", i, v), PathType: PathPrefix, Backend: be})
		}
	}
	return rs
}

// buildHosts builds a table of the exact hosts (version of each in
// versions), one wildcard host with an HTTPS redirect, rules without host
// and a default.
func buildHosts(t *testing.T, versions map[string]int, generation uint64) *Table {
	t.Helper()
	b := NewBuilder()
	for h, v := range versions {
		for _, r := range patchRoutes(h, v) {
			if err := b.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	be := &Backend{Key: "ns/other:80"}
	for _, r := range []*Route{{Host: "*.wild.test", Path: "/w", PathType: PathPrefix, Backend: be},
		{Host: "", Path: "/any", PathType: PathPrefix, Backend: be}} {
		if err := b.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	b.SetHTTPSRedirect("*.wild.test")
	b.SetDefault(&Route{Path: "/", PathType: PathPrefix, Backend: be})
	return b.Build(generation)
}

// TestPatchMatchesAFullBuild patches a table again and again (hosts
// removed, changed and added, the index growing and shrinking) and checks
// that each patched table answers every request as a table built in full
// from the same hosts, and dumps the same.
func TestPatchMatchesAFullBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	versions := map[string]int{}
	for i := range 40 {
		versions[fmt.Sprintf("h%d.wild.test", i)] = 0
	}
	cur := buildHosts(t, versions, 1)
	next := 100
	for step := range 300 {
		var remove []string
		add := NewBuilder()
		names := slices.Sorted(func(yield func(string) bool) {
			for h := range versions {
				if !yield(h) {
					return
				}
			}
		})
		for range rng.IntN(4) + 1 {
			switch op := rng.IntN(3); {
			case op == 0 && len(names) > 0: // delete
				h := names[rng.IntN(len(names))]
				if slices.Contains(remove, h) {
					continue
				}
				remove = append(remove, h)
				delete(versions, h)
			case op == 1 && len(names) > 0: // change
				h := names[rng.IntN(len(names))]
				if slices.Contains(remove, h) {
					continue
				}
				remove = append(remove, h)
				versions[h] = step + 1
				for _, r := range patchRoutes(h, step+1) {
					if err := add.AddRoute(r); err != nil {
						t.Fatal(err)
					}
				}
			default: // add (under the wildcard's suffix or not)
				next++
				h := fmt.Sprintf("n%d.plain.test", next)
				if next%2 == 0 {
					h = fmt.Sprintf("n%d.wild.test", next)
				}
				versions[h] = step + 1
				for _, r := range patchRoutes(h, step+1) {
					if err := add.AddRoute(r); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		gen := uint64(step + 2)
		patched, ok := cur.Patch(remove, add.Build(0), gen)
		if !ok {
			t.Fatalf("step %d: Patch refused", step)
		}
		// No vhost may point into an index: a vhost a later table shares
		// would keep that table's index arrays alive (one per patch).
		for _, v := range patched.vhosts {
			if v.slot != nil {
				t.Fatalf("step %d: vhost %q keeps a pointer into an index", step, v.name)
			}
		}
		full := buildHosts(t, versions, gen)
		if got, want := patched.Dump(), full.Dump(); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: dump differs:\n got %+v\nwant %+v", step, got, want)
		}
		if gh, gr := patched.Size(); true {
			if wh, wr := full.Size(); gh != wh || gr != wr {
				t.Fatalf("step %d: size %d/%d, want %d/%d", step, gh, gr, wh, wr)
			}
		}
		probe := func(host string) {
			for _, p := range []string{"/", "/v0", fmt.Sprintf("/v%d", versions[host]), "/p3/0", "/w", "/any", "/x"} {
				g, w := patched.Match(host, p), full.Match(host, p)
				if label(g.Route) != label(w.Route) || g.HTTPSRedirect != w.HTTPSRedirect || g.Route != nil && g.Route.Backend.Key != w.Route.Backend.Key {
					t.Fatalf("step %d: %s%s: patched %s (redirect %v), full %s (redirect %v)", step, host, p, label(g.Route), g.HTTPSRedirect, label(w.Route), w.HTTPSRedirect)
				}
			}
		}
		for h := range versions {
			probe(h)
		}
		for _, h := range remove {
			probe(h)
		}
		probe("unknown.wild.test")
		probe("unknown.test")
		cur = patched
	}
}

// TestPatchRefuses checks what Patch must leave to a full build.
func TestPatchRefuses(t *testing.T) {
	cur := buildHosts(t, map[string]int{"a.test": 0, "b.test": 0}, 1)
	be := &Backend{Key: "ns/x:80"}
	build := func(rs ...*Route) *Table {
		b := NewBuilder()
		for _, r := range rs {
			if err := b.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
		return b.Build(0)
	}
	cases := map[string]struct {
		remove []string
		add    *Table
	}{
		"a wildcard host":       {nil, build(&Route{Host: "*.x.test", Path: "/", PathType: PathPrefix, Backend: be})},
		"rules without host":    {nil, build(&Route{Path: "/", PathType: PathPrefix, Backend: be})},
		"a host t has":          {nil, build(&Route{Host: "a.test", Path: "/", PathType: PathPrefix, Backend: be})},
		"removing a wildcard":   {[]string{"*.wild.test"}, build()},
		"removing the any-host": {[]string{""}, build()},
	}
	for name, c := range cases {
		if _, ok := cur.Patch(c.remove, c.add, 2); ok {
			t.Errorf("%s: Patch accepted", name)
		}
	}
	if _, ok := cur.Patch([]string{"a.test"}, build(&Route{Host: "a.test", Path: "/", PathType: PathPrefix, Backend: be}), 2); !ok {
		t.Error("replacing a host: Patch refused")
	}
}
