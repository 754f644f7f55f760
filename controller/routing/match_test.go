package routing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rt is a compact route spec for tests: "Prefix /foo" or "Exact /foo".
type rt struct {
	host, spec string
}

func parseSpec(t testing.TB, spec string) (PathType, string) {
	t.Helper()
	typ, path, ok := strings.Cut(spec, " ")
	if !ok {
		t.Fatalf("bad spec %q", spec)
	}
	switch typ {
	case "Exact":
		return PathExact, path
	case "Prefix":
		return PathPrefix, path
	case "ImplementationSpecific":
		return PathImplementationSpecific, path
	}
	t.Fatalf("bad type in %q", spec)
	return 0, ""
}

// label identifies a route in assertions: "host|Type path".
func label(r *Route) string {
	if r == nil {
		return "<nil>"
	}
	return r.Host + "|" + r.PathType.String() + " " + r.Path
}

func buildTable(t testing.TB, routes ...rt) *Table {
	t.Helper()
	return buildTableLimit(t, 0, routes...)
}

// buildTableLimit builds with Builder.smallLimit: 0 for the default, -1 to
// force the map-based matcher for every host.
func buildTableLimit(t testing.TB, limit int, routes ...rt) *Table {
	t.Helper()
	b := NewBuilder()
	b.smallLimit = limit
	for _, r := range routes {
		pt, p := parseSpec(t, r.spec)
		route := &Route{Host: r.host, Path: p, PathType: pt, Ingress: ObjectRef{"ns", "ing"},
			Backend: &Backend{Key: "ns/svc:" + r.spec}}
		if err := b.AddRoute(route); err != nil {
			t.Fatalf("AddRoute(%v): %v", r, err)
		}
	}
	return b.Build(1)
}

// TestDocumentationPathTable covers every row of the path table in
// ingress-semantics.md, plus the conformance-suite additions.
func TestDocumentationPathTable(t *testing.T) {
	cases := []struct {
		rules    []string
		requests []string
		want     string // matched spec, "" for no match
	}{
		{[]string{"Prefix /"}, []string{"/", "/anything", "/a/b/c", "/foo?x"}, "Prefix /"},
		{[]string{"Exact /foo"}, []string{"/foo"}, "Exact /foo"},
		{[]string{"Exact /foo"}, []string{"/bar", "/foo/", "/FOO", "/foobar"}, ""},
		{[]string{"Exact /foo/"}, []string{"/foo"}, ""},
		{[]string{"Exact /foo/"}, []string{"/foo/"}, "Exact /foo/"},
		{[]string{"Prefix /foo"}, []string{"/foo", "/foo/"}, "Prefix /foo"},
		{[]string{"Prefix /foo/"}, []string{"/foo", "/foo/"}, "Prefix /foo/"},
		{[]string{"Prefix /foo"}, []string{"/FOO", "/Foo/bar"}, ""},
		{[]string{"Prefix /aaa/bb"}, []string{"/aaa/bbb"}, ""},
		{[]string{"Prefix /aaa/bbb"}, []string{"/aaa/bbb"}, "Prefix /aaa/bbb"},
		{[]string{"Prefix /aaa/bbb/"}, []string{"/aaa/bbb"}, "Prefix /aaa/bbb/"},
		{[]string{"Prefix /aaa/bbb"}, []string{"/aaa/bbb/"}, "Prefix /aaa/bbb"},
		{[]string{"Prefix /aaa/bbb"}, []string{"/aaa/bbb/ccc", "/aaa/bbb/ccc/"}, "Prefix /aaa/bbb"},
		{[]string{"Prefix /aaa/bbb"}, []string{"/aaa/bbbxyz", "/aaa", "/aaa/"}, ""},
		{[]string{"Prefix /", "Prefix /aaa"}, []string{"/aaa/ccc"}, "Prefix /aaa"},
		{[]string{"Prefix /", "Prefix /aaa", "Prefix /aaa/bbb"}, []string{"/aaa/bbb"}, "Prefix /aaa/bbb"},
		{[]string{"Prefix /", "Prefix /aaa", "Prefix /aaa/bbb"}, []string{"/ccc"}, "Prefix /"},
		{[]string{"Prefix /aaa"}, []string{"/ccc"}, ""},
		{[]string{"Exact /foo", "Prefix /foo"}, []string{"/foo"}, "Exact /foo"},
		{[]string{"Exact /foo", "Prefix /foo"}, []string{"/foo/", "/foo/x"}, "Prefix /foo"},
		// Longest first: Prefix /foo/bar beats Exact /foo for /foo/bar.
		{[]string{"Exact /foo", "Prefix /foo/bar"}, []string{"/foo/bar"}, "Prefix /foo/bar"},
		// Exact beats a shorter Prefix; Exact "/foo/" beats Prefix "/foo/" (same
		// normalised length) for "/foo/".
		{[]string{"Prefix /", "Exact /foo/"}, []string{"/foo/"}, "Exact /foo/"},
		{[]string{"Prefix /foo/", "Exact /foo"}, []string{"/foo"}, "Exact /foo"},
		// ImplementationSpecific is Prefix.
		{[]string{"ImplementationSpecific /foo"}, []string{"/foo", "/foo/", "/foo/x"}, "ImplementationSpecific /foo"},
		{[]string{"ImplementationSpecific /foo"}, []string{"/foox"}, ""},
		// Empty elements and odd request paths.
		{[]string{"Prefix /foo"}, []string{"/foo//bar"}, "Prefix /foo"},
		{[]string{"Prefix /"}, []string{"", "*"}, "Prefix /"},
		{[]string{"Prefix /foo"}, []string{"", "*", "foo"}, ""},
	}
	for _, limit := range []int{0, -1} {
		for _, c := range cases {
			var routes []rt
			for _, s := range c.rules {
				routes = append(routes, rt{"", s}, rt{"example.com", s})
			}
			tbl := buildTableLimit(t, limit, routes...)
			for _, req := range c.requests {
				for _, host := range []string{"example.com", "other.com"} {
					m := tbl.Match(host, req)
					got := ""
					if m.Route != nil {
						got = m.Route.PathType.String() + " " + m.Route.Path
					}
					if got != c.want {
						t.Errorf("limit %d, rules %q, request %s %q: got %q, want %q", limit, c.rules, host, req, got, c.want)
					}
				}
			}
		}
	}
}

func TestHosts(t *testing.T) {
	tbl := buildTable(t,
		rt{"foo.com", "Prefix /"},
		rt{"*.foo.com", "Prefix /"},
		rt{"exact.foo.com", "Prefix /"},
		rt{"", "Prefix /any"},
	)
	cases := []struct{ host, path, want string }{
		{"foo.com", "/", "foo.com|Prefix /"},
		{"FOO.com", "/", "foo.com|Prefix /"},
		{"Foo.Com:8080", "/", "foo.com|Prefix /"},
		{"foo.com.", "/", "foo.com|Prefix /"},
		{"foo.com.:80", "/", "foo.com|Prefix /"},
		{"bar.foo.com", "/", "*.foo.com|Prefix /"},
		{"BAR.FOO.COM:443", "/", "*.foo.com|Prefix /"},
		{"exact.foo.com", "/", "exact.foo.com|Prefix /"}, // exact beats wildcard
		{"baz.bar.foo.com", "/", "<nil>"},                // one label only
		{"baz.bar.foo.com", "/any", "|Prefix /any"},
		{".foo.com", "/", "<nil>"},
		{"foo.com", "/any", "foo.com|Prefix /"}, // host's own Prefix / wins over host-less
		{"other.com", "/any/x", "|Prefix /any"},
		{"", "/any", "|Prefix /any"},
		{"[::1]:80", "/any", "|Prefix /any"},
		{"[::1]:80", "/", "<nil>"},
		{"[::1]", "/any", "|Prefix /any"},
		{"::1", "/any", "|Prefix /any"},
		{"127.0.0.1:8080", "/any", "|Prefix /any"},
		{strings.Repeat("a", 300) + ".foo.com", "/any", "|Prefix /any"},
		{strings.Repeat("a", 300) + ".foo.com", "/", "<nil>"},
	}
	for _, c := range cases {
		if got := label(tbl.Match(c.host, c.path).Route); got != c.want {
			t.Errorf("Match(%q, %q) = %s, want %s", c.host, c.path, got, c.want)
		}
	}
}

func TestRequestHost(t *testing.T) {
	cases := map[string]string{
		"Foo.COM":       "foo.com",
		"foo.com:8080":  "foo.com",
		"foo.com.":      "foo.com",
		"foo.com.:1":    "foo.com",
		"[::1]:80":      "::1",
		"[FD00::1]":     "fd00::1",
		"fd00::1":       "fd00::1",
		"10.0.0.1:80":   "10.0.0.1",
		"[::1":          "::1",
		"foo.com:":      "foo.com",
		":80":           "",
		"":              "",
		".":             "",
		"\xff\xfe.com":  "\xff\xfe.com",
		"UPPER.example": "upper.example",
	}
	for in, want := range cases {
		var buf [maxHostLen]byte
		n, ok := requestHost(in, &buf)
		if ok != (want != "") || string(buf[:n]) != want {
			t.Errorf("requestHost(%q) = %q, %v; want %q", in, buf[:n], ok, want)
		}
	}
}

func TestCanonicalHost(t *testing.T) {
	valid := map[string]string{
		"":               "",
		"foo.com":        "foo.com",
		"FOO.Com":        "foo.com",
		"*.foo.com":      "*.foo.com",
		"*.COM":          "*.com",
		"a-b.c1.example": "a-b.c1.example",
		"localhost":      "localhost",
	}
	for in, want := range valid {
		got, err := CanonicalHost(in)
		if err != nil || got != want {
			t.Errorf("CanonicalHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	invalid := []string{"*", "*.", "*foo.com", "foo.*.com", "foo.com:80", "1.2.3.4", "::1", "[::1]",
		"foo.com.", ".foo.com", "foo..com", "-foo.com", "foo-.com", "foo_bar.com", "foo com",
		strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com", "*.1.2.3.4x/"}
	for _, in := range invalid {
		if got, err := CanonicalHost(in); err == nil {
			t.Errorf("CanonicalHost(%q) = %q, want error", in, got)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("CanonicalHost(%q) error %q does not name the host", in, err)
		}
	}
}

// TestMayBeIPCoversEveryAddress: CanonicalHost skips netip.ParseAddr for
// names mayBeIP rules out; no string ParseAddr accepts (after the bracket
// trim) may be among them, or an IP address would be taken as a host name.
func TestMayBeIPCoversEveryAddress(t *testing.T) {
	check := func(s string) {
		if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil && !mayBeIP(s) {
			t.Errorf("mayBeIP(%q) = false, but it parses as an address", s)
		}
	}
	for _, s := range []string{"1.2.3.4", "0.0.0.0", "::", "::1", "[::1]", "]::1[", "fe80::1%eth0", "::ffff:1.2.3.4", "2001:db8::a:b"} {
		check(s)
		if !mayBeIP(s) {
			t.Errorf("mayBeIP(%q) = false", s)
		}
	}
	const alphabet = "0123456789abcdefx.:[]%-"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, 1+rng.IntN(16))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
	}
	for _, s := range []string{"foo.com", "a1.example", "1.2.3.com", "x", "1-2.3.4.5"} {
		if mayBeIP(s) {
			t.Errorf("mayBeIP(%q) = true: ParseAddr would run for a plain name", s)
		}
	}
}

// TestFallbackOrder checks exact host, wildcard host, host-less paths, then
// the defaults of the most specific host, then the table default.
func TestFallbackOrder(t *testing.T) {
	be := func(k string) *Route { return &Route{Ingress: ObjectRef{"ns", k}, Backend: &Backend{Key: k}} }
	b := NewBuilder()
	for _, r := range []*Route{
		{Host: "a.foo.com", Path: "/exact", PathType: PathPrefix, Backend: &Backend{Key: "exact"}},
		{Host: "*.foo.com", Path: "/wild", PathType: PathPrefix, Backend: &Backend{Key: "wild"}},
		{Host: "*.foo.com", Path: "/exact", PathType: PathPrefix, Backend: &Backend{Key: "wild-exact"}},
		{Host: "", Path: "/any", PathType: PathPrefix, Backend: &Backend{Key: "any"}},
		{Host: "", Path: "/wild", PathType: PathExact, Backend: &Backend{Key: "any-wild"}},
	} {
		if err := b.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	if !b.SetHostDefault("a.foo.com", be("def-exact")) || !b.SetHostDefault("*.bar.com", be("def-wild")) ||
		!b.SetHostDefault("", be("def-any")) || !b.SetDefault(be("def-table")) {
		t.Fatal("first defaults must take effect")
	}
	if b.SetHostDefault("a.foo.com", be("second")) || b.SetDefault(be("second")) {
		t.Fatal("second default must not take effect")
	}
	tbl := b.Build(7)
	cases := []struct{ host, path, want string }{
		{"a.foo.com", "/exact/x", "exact"},
		{"a.foo.com", "/wild", "wild"}, // exact host has no /wild: wildcard host
		{"a.foo.com", "/any", "any"},   // then host-less
		{"a.foo.com", "/nothing", "def-exact"},
		{"b.foo.com", "/exact", "wild-exact"},
		{"b.foo.com", "/nothing", "def-any"}, // *.foo.com has no default
		{"x.bar.com", "/any", "any"},
		{"x.bar.com", "/nothing", "def-wild"},
		{"other.org", "/nothing", "def-any"},
	}
	for _, c := range cases {
		m := tbl.Match(c.host, c.path)
		if m.Route == nil || m.Route.Backend.Key != c.want {
			t.Errorf("Match(%q, %q) = %+v, want backend %s", c.host, c.path, m.Route, c.want)
		}
	}
	// Without host-less default, the table default applies.
	b = NewBuilder()
	b.SetDefault(be("def-table"))
	b.SetHostDefault("x.com", be("def-x"))
	tbl = b.Build(1)
	if got := tbl.Match("y.com", "/").Route; got == nil || got.Backend.Key != "def-table" {
		t.Errorf("table default not used: %+v", got)
	}
	if got := tbl.Match("X.COM:1", "/").Route; got == nil || got.Backend.Key != "def-x" {
		t.Errorf("host default not used: %+v", got)
	}
	if got := NewBuilder().Build(1).Match("x", "/"); got.Route != nil || got.HTTPSRedirect {
		t.Errorf("empty table matched: %+v", got)
	}
	var nilTable *Table
	if got := nilTable.Match("x", "/"); got.Route != nil {
		t.Errorf("nil table matched: %+v", got)
	}
	if (&Table{}).Match("x", "/").Route != nil || nilTable.Certificate("x") != nil {
		t.Error("zero table matched")
	}
}

func TestHTTPSRedirect(t *testing.T) {
	b := NewBuilder()
	r := &Route{Host: "", Path: "/", PathType: PathPrefix, Backend: &Backend{Key: "k"}}
	if err := b.AddRoute(r); err != nil {
		t.Fatal(err)
	}
	b.SetHTTPSRedirect("secure.com")
	b.SetHTTPSRedirect("*.wild.com")
	b.SetHTTPSRedirect("bad host") // ignored
	tbl := b.Build(1)
	cases := map[string]bool{
		"secure.com": true, "SECURE.COM:80": true, "a.wild.com": true,
		"wild.com": false, "a.b.wild.com": false, "other.com": false, "a.secure.com": false,
	}
	for host, want := range cases {
		m := tbl.Match(host, "/x")
		if m.HTTPSRedirect != want || m.Route != r {
			t.Errorf("Match(%q): redirect %v route %v, want redirect %v and the host-less route", host, m.HTTPSRedirect, m.Route, want)
		}
	}
}

func TestAddRouteErrors(t *testing.T) {
	b := NewBuilder()
	ok := &Route{Host: "Foo.com", Path: "/a/", PathType: PathPrefix, Ingress: ObjectRef{"ns", "first"}, Backend: &Backend{Key: "k"}}
	if err := b.AddRoute(ok); err != nil {
		t.Fatal(err)
	}
	dups := []*Route{
		{Host: "foo.com", Path: "/a", PathType: PathPrefix},
		{Host: "FOO.COM", Path: "/a//", PathType: PathImplementationSpecific},
	}
	for _, d := range dups {
		d.Ingress, d.Backend = ObjectRef{"ns", "second"}, &Backend{Key: "k2"}
		err := b.AddRoute(d)
		var de *DuplicateRouteError
		if !errors.Is(err, ErrDuplicateRoute) || !errors.As(err, &de) || de.Existing != ok ||
			!strings.Contains(err.Error(), "ns/first") || !strings.Contains(err.Error(), "ns/second") {
			t.Errorf("AddRoute(%+v) = %v, want duplicate of ns/first", d, err)
		}
	}
	if got := b.Lookup("FOO.com", PathImplementationSpecific, "/a///"); got != ok {
		t.Errorf("Lookup = %v", got)
	}
	if got := b.Lookup("foo.com", PathExact, "/a/"); got != nil {
		t.Errorf("Lookup exact = %v", got)
	}
	// Exact with the same path is not a duplicate.
	if err := b.AddRoute(&Route{Host: "foo.com", Path: "/a/", PathType: PathExact, Backend: &Backend{}}); err != nil {
		t.Errorf("exact next to prefix: %v", err)
	}
	bad := []*Route{
		nil,
		{Host: "foo.com", Path: "/x"},
		{Host: "foo.com", Path: "x", Backend: &Backend{}},
		{Host: "foo.com", Path: "", Backend: &Backend{}},
		{Host: "*", Path: "/x", Backend: &Backend{}},
		{Host: "1.2.3.4", Path: "/x", Backend: &Backend{}},
		{Host: "foo.com:80", Path: "/x", Backend: &Backend{}},
		{Host: "foo.com", Path: "/x", PathType: 9, Backend: &Backend{}},
	}
	for _, r := range bad {
		if err := b.AddRoute(r); err == nil || errors.Is(err, ErrDuplicateRoute) {
			t.Errorf("AddRoute(%+v) = %v, want validation error", r, err)
		}
	}
	tbl := b.Build(3)
	if tbl.Generation != 3 {
		t.Errorf("generation %d", tbl.Generation)
	}
	if err := b.AddRoute(&Route{Path: "/late", Backend: &Backend{}}); err == nil {
		t.Error("AddRoute after Build succeeded")
	}
	if b.SetDefault(ok) || b.SetHostDefault("", ok) || b.AddCertificate("foo.com", nil) {
		t.Error("setter after Build took effect")
	}
	if got := tbl.Match("other.com", "/late").Route; got != nil {
		t.Errorf("table changed after Build: %v", got)
	}
	if got := tbl.Stats(); got.Routes != 2 || got.Hosts != 1 {
		t.Errorf("stats %+v", got)
	}
}

// TestManyHosts checks every host of a large table (probing collisions in
// the host index) and a host with more paths than the flat encoding holds.
func TestManyHosts(t *testing.T) {
	const hosts = 5000
	b := NewBuilder()
	for h := range hosts {
		for _, p := range []string{"/a", "/b/c"} {
			r := &Route{Host: fmt.Sprintf("h%d.example.com", h), Path: p, PathType: PathPrefix,
				Backend: &Backend{Key: fmt.Sprintf("%d%s", h, p)}}
			if err := b.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
		if h%7 == 0 {
			r := &Route{Host: fmt.Sprintf("*.w%d.example.com", h), Path: "/", PathType: PathPrefix, Backend: &Backend{Key: fmt.Sprintf("w%d", h)}}
			if err := b.AddRoute(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	big := "big.example.com"
	for i := range 3 * smallPaths {
		pt := PathPrefix
		if i%3 == 0 {
			pt = PathExact
		}
		r := &Route{Host: big, Path: fmt.Sprintf("/p%d", i), PathType: pt, Backend: &Backend{Key: fmt.Sprintf("big%d", i)}}
		if err := b.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	tbl := b.Build(1)
	for h := range hosts {
		host := fmt.Sprintf("H%d.example.com:80", h)
		if got := tbl.Match(host, "/b/c/d").Route; got == nil || got.Backend.Key != fmt.Sprintf("%d/b/c", h) {
			t.Fatalf("Match(%q, /b/c/d) = %v", host, got)
		}
		if got := tbl.Match(host, "/b").Route; got != nil {
			t.Fatalf("Match(%q, /b) = %v, want nil", host, got)
		}
		wild := fmt.Sprintf("x.w%d.example.com", h)
		if got := tbl.Match(wild, "/z").Route; (got != nil) != (h%7 == 0) {
			t.Fatalf("Match(%q, /z) = %v", wild, got)
		}
	}
	if got := tbl.Match(big, "/p30/x").Route; got != nil {
		t.Errorf("big host /p30/x = %v, want nil (only Exact /p30 exists)", got)
	}
	if got := tbl.Match(big, "/p31/x").Route; got == nil || got.Backend.Key != "big31" {
		t.Errorf("big host /p31/x = %v", got)
	}
	if got := tbl.Match(big, "/p30").Route; got == nil || got.Backend.Key != "big30" || got.PathType != PathExact {
		t.Errorf("big host /p30 = %v", got)
	}
	if got, want := tbl.Stats().Routes, hosts*2+(hosts+6)/7+3*smallPaths; got != want {
		t.Errorf("routes %d, want %d", got, want)
	}
}

// TestBuilderConflictsAcrossTheMapSwitch: a host keeps its first paths in a
// small list and moves them to maps beyond smallPaths; conflicts, Lookup
// and matching must not depend on which holds a path.
func TestBuilderConflictsAcrossTheMapSwitch(t *testing.T) {
	for _, limit := range []int{0, -1, 3} {
		b := NewBuilder()
		b.smallLimit = limit
		var added []*Route
		for i := range 2 * smallPaths {
			pt := PathPrefix
			if i%3 == 0 {
				pt = PathExact
			}
			r := &Route{Host: "h.test", Path: "/p" + strconv.Itoa(i), PathType: pt, Backend: &Backend{Key: strconv.Itoa(i)}}
			if err := b.AddRoute(r); err != nil {
				t.Fatalf("limit %d: AddRoute %s: %v", limit, r.Path, err)
			}
			added = append(added, r)
		}
		for _, r := range added {
			dup := &Route{Host: "h.test", Path: r.Path, PathType: r.PathType, Backend: &Backend{Key: "dup"}}
			if r.PathType == PathPrefix {
				dup.Path += "/" // the same prefix key
			}
			if err := b.AddRoute(dup); !errors.Is(err, ErrDuplicateRoute) {
				t.Errorf("limit %d: duplicate of %s %s: %v", limit, r.PathType, r.Path, err)
			}
			if got := b.Lookup("h.test", r.PathType, r.Path); got != r {
				t.Errorf("limit %d: Lookup %s = %v", limit, r.Path, got)
			}
			// A regex path written as a Prefix path conflicts with it.
			re := &Route{Host: "h.test", Path: r.Path, PathType: PathPrefix, Regex: regexp.MustCompile("^" + r.Path), Backend: &Backend{Key: "re"}}
			if old := b.Conflict(re); (old == r) != (r.PathType == PathPrefix) {
				t.Errorf("limit %d: regex %s conflicts with %v", limit, r.Path, old)
			}
		}
		tbl := b.Build(1)
		for _, r := range added {
			if m := tbl.Match("h.test", r.Path); m.Route != r {
				t.Errorf("limit %d: Match %s = %v", limit, r.Path, m.Route)
			}
		}
	}
}
