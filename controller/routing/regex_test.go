package routing

import (
	"errors"
	"regexp"
	"testing"
)

// regexRoute is a regular-expression route of host for tests.
func regexRoute(t testing.TB, host, path string) *Route {
	t.Helper()
	// As the translation compiles a regex path (annotations.CompilePathRegex).
	re, err := regexp.Compile("(?i)^" + path)
	if err != nil {
		t.Fatalf("compile %q: %v", path, err)
	}
	return &Route{Host: host, Path: path, PathType: PathImplementationSpecific, Regex: re,
		Ingress: ObjectRef{"ns", "regex"}, Backend: &Backend{Key: "ns/regex:" + path}}
}

func TestRegexMatch(t *testing.T) {
	for _, limit := range []int{0, -1} {
		b := NewBuilder()
		b.smallLimit = limit
		add := func(r *Route) {
			t.Helper()
			if err := b.AddRoute(r); err != nil {
				t.Fatalf("AddRoute(%s): %v", label(r), err)
			}
		}
		plain := func(pt PathType, path string) *Route {
			return &Route{Host: "a.com", Path: path, PathType: pt, Ingress: ObjectRef{"ns", "plain"}, Backend: &Backend{Key: "ns/plain:" + path}}
		}
		add(regexRoute(t, "a.com", "/api/v[0-9]+/(.*)"))
		add(regexRoute(t, "a.com", "/img"))
		add(plain(PathPrefix, "/api/v1/users/admin"))
		add(plain(PathPrefix, "/api"))
		add(plain(PathExact, "/api/v2/exact"))
		add(plain(PathPrefix, "/"))
		// Another host keeps the plain matcher.
		add(&Route{Host: "b.com", Path: "/api", PathType: PathPrefix, Backend: &Backend{Key: "b"}})
		tbl := b.Build(1)
		for _, c := range []struct{ host, path, want string }{
			{"a.com", "/api/v2/exact", "a.com|Exact /api/v2/exact"},
			{"a.com", "/api/v2/x", "a.com|ImplementationSpecific /api/v[0-9]+/(.*)"},
			{"a.com", "/API/V2/x", "a.com|ImplementationSpecific /api/v[0-9]+/(.*)"}, // case-insensitive
			{"a.com", "/api/v1/users/admin/x", "a.com|Prefix /api/v1/users/admin"},   // longer Prefix first
			{"a.com", "/api/vx", "a.com|Prefix /api"},
			{"a.com", "/imgs/a.png", "a.com|ImplementationSpecific /img"}, // a regex is not element-wise
			{"a.com", "/x/img", "a.com|Prefix /"},                         // anchored at the start
			{"a.com", "/a/../api/v3/y", "a.com|ImplementationSpecific /api/v[0-9]+/(.*)"},
			{"b.com", "/api/v2/x", "b.com|Prefix /api"},
		} {
			if got := label(tbl.Match(c.host, c.path).Route); got != c.want {
				t.Errorf("limit %d: Match(%q, %q) = %s, want %s", limit, c.host, c.path, got, c.want)
			}
		}
	}
}

func TestRegexTieAndOrder(t *testing.T) {
	b := NewBuilder()
	for _, r := range []*Route{
		{Host: "a.com", Path: "/abcd", PathType: PathPrefix, Backend: &Backend{Key: "p"}},
		regexRoute(t, "a.com", "/ab.d"), // same length as the Prefix: regex first
		regexRoute(t, "a.com", "/a"),
		regexRoute(t, "a.com", "/a.+"), // longer than "/a": tried first
	} {
		if err := b.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	tbl := b.Build(1)
	for path, want := range map[string]string{
		"/abcd/e": "a.com|ImplementationSpecific /ab.d",
		"/axyz":   "a.com|ImplementationSpecific /a.+",
		"/a":      "a.com|ImplementationSpecific /a",
	} {
		if got := label(tbl.Match("a.com", path).Route); got != want {
			t.Errorf("Match(%q) = %s, want %s", path, got, want)
		}
	}
}

func TestRegexConflicts(t *testing.T) {
	b := NewBuilder()
	first := regexRoute(t, "a.com", "/foo")
	if err := b.AddRoute(first); err != nil {
		t.Fatal(err)
	}
	// Written identically: one location, the first wins.
	for _, r := range []*Route{
		regexRoute(t, "a.com", "/foo"),
		{Host: "a.com", Path: "/foo", PathType: PathPrefix, Backend: &Backend{Key: "p"}},
	} {
		if got := b.Conflict(r); got != first {
			t.Errorf("Conflict(%s) = %s, want the regex route", label(r), label(got))
		}
		var de *DuplicateRouteError
		if err := b.AddRoute(r); !errors.As(err, &de) || de.Existing != first {
			t.Errorf("AddRoute(%s) = %v, want a duplicate of the regex route", label(r), err)
		}
	}
	// Written differently: separate key spaces.
	if err := b.AddRoute(&Route{Host: "a.com", Path: "/foo/", PathType: PathPrefix, Backend: &Backend{Key: "p"}}); err != nil {
		t.Errorf("Prefix /foo/ next to regex /foo: %v", err)
	}
	if got := b.Lookup("a.com", PathImplementationSpecific, "/foo"); got != first {
		t.Errorf("Lookup of the regex path = %s", label(got))
	}
	exact := regexRoute(t, "a.com", "/bar")
	exact.PathType = PathExact
	if err := b.AddRoute(exact); err == nil {
		t.Error("an Exact regex route was accepted")
	}
}

func TestRegexMatchDoesNotAllocate(t *testing.T) {
	b := NewBuilder()
	for _, r := range []*Route{regexRoute(t, "a.com", "/api/(v[0-9]+)/(.*)"), regexRoute(t, "a.com", "/static")} {
		if err := b.AddRoute(r); err != nil {
			t.Fatal(err)
		}
	}
	tbl := b.Build(1)
	if n := testing.AllocsPerRun(100, func() { _ = tbl.Match("a.com", "/api/v1/users") }); n != 0 {
		t.Errorf("regex Match allocates %v times", n)
	}
}
