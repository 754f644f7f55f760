package routing

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// fuzzRules is the fixed table FuzzMatch looks up in.
var fuzzRules = []rt{
	{"foo.com", "Exact /"}, {"foo.com", "Prefix /a"}, {"foo.com", "Exact /a"}, {"foo.com", "Prefix /a/b/"},
	{"foo.com", "Exact /a/b/"}, {"foo.com", "ImplementationSpecific /c//d"},
	{"*.foo.com", "Prefix /"}, {"*.foo.com", "Exact /a/b"}, {"*.foo.com", "Prefix /x/y"},
	{"a.b.c", "Prefix /%2F"}, {"*.b.c", "Exact /"},
	{"", "Prefix /a/b/c"}, {"", "Exact /x"}, {"", "Prefix /q"},
}

// reference is a naive matcher: it scans every rule of the candidate hosts,
// comparing normalised request and rule paths.
func reference(rules []rt, host, path string) string {
	path = NormalizePath(path)
	var buf [maxHostLen]byte
	n, ok := requestHost(host, &buf)
	h := string(buf[:n])
	candidates := []string{}
	if ok {
		candidates = append(candidates, h)
		if i := strings.IndexByte(h, '.'); i > 0 && i < len(h)-1 {
			candidates = append(candidates, "*."+h[i+1:])
		}
	}
	candidates = append(candidates, "")
	for _, ch := range candidates {
		best, bestLen, bestExact := "", -1, false
		for _, r := range rules {
			if r.host != ch {
				continue
			}
			typ, p, _ := strings.Cut(r.spec, " ")
			p = NormalizePath(p)
			if typ == "Exact" {
				if p == path && (len(p) > bestLen || len(p) == bestLen && !bestExact) {
					best, bestLen, bestExact = r.host+"|"+r.spec, len(p), true
				}
				continue
			}
			key := strings.TrimRight(p, "/")
			if (key == "" || path == key || strings.HasPrefix(path, key+"/")) && len(key) > bestLen {
				best, bestLen, bestExact = r.host+"|"+r.spec, len(key), false
			}
		}
		if best != "" {
			return best
		}
	}
	return "<nil>"
}

func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"foo.com", "/a"}, {"FOO.COM:80", "/a/"}, {"x.foo.com", "/a/b"}, {"x.y.foo.com", "/a/b/c/d"},
		{"foo.com", "/a/b"}, {"foo.com", "/c//d/e"}, {"[::1]:80", "/x"}, {"a.b.c.", "/%2F/x"},
		{"z.b.c", "/"}, {"", ""}, {"foo.com", "*"}, {"::", "/q?x"}, {"foo.com:", "//"}, {".", "/x/"},
		// Normalised before matching.
		{"foo.com", "/x/../a"}, {"foo.com", "//a//b/"}, {"foo.com", "/a/./b/"}, {"foo.com", "/a/b/.."},
		{"x.foo.com", "/a/b/../../x/y"}, {"", "/q/.."}, {"", "/../q"}, {"", "/x/."}, {"foo.com", "/.well-known/x"},
		{"foo.com", "/a/..."}, {"foo.com", "/c/d/e"}, {"a.b.c", "/%2F/../x"},
	} {
		f.Add(s[0], s[1])
	}
	tbl := buildTable(f, fuzzRules...)
	large := buildTableLimit(f, -1, fuzzRules...)
	f.Fuzz(func(t *testing.T, host, path string) {
		m := tbl.Match(host, path)
		r := m.Route
		want := reference(fuzzRules, host, path)
		if got := label(r); got != want {
			t.Fatalf("Match(%q, %q) = %s, reference %s", host, path, got, want)
		}
		if got := label(large.Match(host, path).Route); got != want {
			t.Fatalf("map-based Match(%q, %q) = %s, reference %s", host, path, got, want)
		}
		if r == nil {
			return
		}
		path = NormalizePath(path)
		switch r.PathType {
		case PathExact:
			if NormalizePath(r.Path) != path {
				t.Fatalf("Exact %q returned for %q", r.Path, path)
			}
		default:
			key := prefixKey(NormalizePath(r.Path))
			if key != "" && path != key && !strings.HasPrefix(path, key+"/") {
				t.Fatalf("Prefix %q returned for %q", r.Path, path)
			}
		}
		_ = tbl.Certificate(host)
	})
}

// benchTable builds hosts x paths: exact hosts "hN.example.com" and, for
// every tenth, a wildcard "*.wN.example.com", each with Prefix paths
// "/svc/pK" (K < paths).
func benchTable(tb testing.TB, hosts, paths int) *Table {
	b := NewBuilder()
	for h := range hosts {
		name := fmt.Sprintf("h%d.example.com", h)
		if h%10 == 0 {
			name = fmt.Sprintf("*.w%d.example.com", h)
		}
		for p := range paths {
			r := &Route{Host: name, Path: fmt.Sprintf("/svc/p%d", p), PathType: PathPrefix,
				Ingress: ObjectRef{"ns", name}, Backend: &Backend{Key: fmt.Sprintf("ns/%s:%d", name, p)}}
			if err := b.AddRoute(r); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return b.Build(1)
}

func BenchmarkMatch(b *testing.B) {
	const hosts, paths = 10000, 10
	tbl := benchTable(b, hosts, paths)
	rnd := rand.New(rand.NewPCG(1, 2))
	type req struct{ host, path string }
	reqs := make([]req, 4096)
	for i := range reqs {
		h := rnd.IntN(hosts)
		host := fmt.Sprintf("H%d.Example.COM:8080", h)
		if h%10 == 0 {
			host = fmt.Sprintf("Api.W%d.Example.com:443", h)
		}
		path := fmt.Sprintf("/svc/p%d/users/%d", rnd.IntN(paths), rnd.IntN(1000))
		switch i % 8 {
		case 0:
			path = "/nope/x/y" // path miss
		case 1:
			host = fmt.Sprintf("missing%d.example.com", i) // host miss
		}
		reqs[i] = req{host, path}
	}
	hits := 0
	for _, r := range reqs {
		if tbl.Match(r.host, r.path).Route != nil {
			hits++
		}
	}
	if hits == 0 || hits == len(reqs) {
		b.Fatalf("benchmark mix has %d hits of %d", hits, len(reqs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		r := reqs[i&(len(reqs)-1)]
		_ = tbl.Match(r.host, r.path)
		i++
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	tbl := benchTable(t, 100, 10)
	allocs := testing.AllocsPerRun(100, func() {
		_ = tbl.Match("H1.EXAMPLE.com:8080", "/svc/p3/a/b")
		_ = tbl.Match("x.W10.example.com", "/svc/p9")
		_ = tbl.Match("[::1]:80", "/")
		_ = tbl.Certificate("x.w10.example.com")
	})
	if allocs != 0 {
		t.Errorf("Match allocates %.1f times per run", allocs)
	}
}

func BenchmarkBuild(b *testing.B) {
	type spec struct {
		host, path string
	}
	var specs []spec
	for h := range 10000 {
		for p := range 10 {
			specs = append(specs, spec{fmt.Sprintf("h%d.example.com", h), fmt.Sprintf("/svc/p%d", p)})
		}
	}
	backend := &Backend{Key: "ns/svc:80"}
	b.ReportAllocs()
	for b.Loop() {
		bl := NewBuilder()
		for i := range specs {
			if err := bl.AddRoute(&Route{Host: specs[i].host, Path: specs[i].path, PathType: PathPrefix, Backend: backend}); err != nil {
				b.Fatal(err)
			}
		}
		_ = bl.Build(1)
	}
	b.ReportMetric(float64(len(specs)), "routes/op")
}

// TestHostSlotSize keeps a host slot in one cache line.
func TestHostSlotSize(t *testing.T) {
	if got := unsafe.Sizeof(hostSlot{}); got != 64 {
		t.Errorf("hostSlot is %d bytes, want 64", got)
	}
}

// TestVhostSize keeps a vhost in the 128-byte size class: a table holds one
// per host (the rare fields are behind vhost.rare).
func TestVhostSize(t *testing.T) {
	if got := unsafe.Sizeof(vhost{}); got > 128 {
		t.Errorf("vhost is %d bytes, want <= 128", got)
	}
}
