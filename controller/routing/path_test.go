package routing

import (
	"strings"
	"testing"
)

func TestNormalizePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"", ""},
		{"*", "*"},
		{"a/../b", "a/../b"}, // not absolute: left alone
		{"//", "/"},
		{"///a", "/a"},
		{"/a//b", "/a/b"},
		{"/a//", "/a/"},
		{"/./a", "/a"},
		{"/a/./b", "/a/b"},
		{"/a/.", "/a/"},
		{"/a/..", "/"},
		{"/a/b/..", "/a/"},
		{"/..", "/"},
		{"/../..", "/"},
		{"/../a", "/a"},
		{"/public/../admin", "/admin"},
		{"/public/../admin/", "/admin/"},
		{"/a/b/../../c/./d//e/", "/c/d/e/"},
		{"/.well-known/acme", "/.well-known/acme"},
		{"/a/...", "/a/..."},
		{"/a/..b/.c", "/a/..b/.c"},
		{"/a/b./c..", "/a/b./c.."},
	} {
		if got := NormalizePath(c.in); got != c.want {
			t.Errorf("NormalizePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizePathDoesNotAllocateForNormalPaths(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		_ = NormalizePath("/api/v1/users/42/")
		_ = NormalizePath("/.well-known/acme-challenge/x")
		_ = NormalizePath("/a/..b/c.")
		_ = NormalizePath("*")
	})
	if allocs != 0 {
		t.Errorf("NormalizePath allocates %.1f times per run for normal paths", allocs)
	}
}

// TestMatchNormalizesPaths routes a traversal by the path the upstream
// resolves, not by its first segments.
func TestMatchNormalizesPaths(t *testing.T) {
	tbl := buildTable(t,
		rt{"foo.com", "Prefix /public"}, rt{"foo.com", "Exact /admin"}, rt{"foo.com", "ImplementationSpecific /x//y"})
	for _, c := range []struct{ path, want string }{
		{"/public/../admin", "foo.com|Exact /admin"},
		{"/public/./../admin", "foo.com|Exact /admin"},
		{"//public//a", "foo.com|Prefix /public"},
		{"/public/../secret", "<nil>"},
		{"/public/..", "<nil>"},
		{"/x/y/z", "foo.com|ImplementationSpecific /x//y"},
		{"/x//y", "foo.com|ImplementationSpecific /x//y"},
	} {
		if got := label(tbl.Match("foo.com", c.path).Route); got != c.want {
			t.Errorf("Match(foo.com, %q) = %s, want %s", c.path, got, c.want)
		}
	}
	// Rule paths are normalised too: "/x/y" duplicates "/x//y".
	b := NewBuilder()
	for _, p := range []string{"/x//y", "/x/y"} {
		err := b.AddRoute(&Route{Host: "foo.com", Path: p, PathType: PathImplementationSpecific, Backend: &Backend{Key: "k"}})
		if p == "/x/y" && err == nil {
			t.Errorf("AddRoute(%q) after \"/x//y\": no duplicate error", p)
		}
	}
}

func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"/", "//", "/a/./b", "/a/../../b", "/a/b/.", "/..", "/.well-known", "*", "", "/a//b/", "/a/..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := NormalizePath(p)
		if NormalizePath(n) != n {
			t.Fatalf("NormalizePath(%q) = %q is not a fixed point", p, n)
		}
		if !strings.HasPrefix(p, "/") {
			if n != p {
				t.Fatalf("NormalizePath(%q) = %q changed a relative path", p, n)
			}
			return
		}
		if !needsNormalize(p) && normalize(p) != p {
			t.Fatalf("needsNormalize(%q) is false, but it normalises to %q", p, normalize(p))
		}
		if !strings.HasPrefix(n, "/") || strings.Contains(n, "//") {
			t.Fatalf("NormalizePath(%q) = %q", p, n)
		}
		for seg := range strings.SplitSeq(n[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("NormalizePath(%q) = %q keeps a dot segment", p, n)
			}
		}
		if len(n) > len(p) {
			t.Fatalf("NormalizePath(%q) = %q grew", p, n)
		}
	})
}

// BenchmarkNormalizePath measures the check every Match does on a path that
// needs no normalisation.
func BenchmarkNormalizePath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NormalizePath("/svc/p3/users/123/orders")
	}
}
