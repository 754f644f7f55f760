package routing

import (
	"strings"
	"testing"
)

// FuzzCanonicalHostFastPath checks that the one-pass fast path of
// CanonicalHost accepts only hosts the full checks accept unchanged.
func FuzzCanonicalHostFastPath(f *testing.F) {
	for _, h := range []string{"foo.com", "a-b.c", "123", "1.2.3.4", "1.2.3", "-a.com", "a-.com", "a..b", "a.b.",
		".a", "Foo.com", "*.foo.com", "a_b.com", "a:80", strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64) + ".b",
		strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a", "xn--bcher-kva.example", "0x1.example", "::1", "a-1"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !plainDNSName(host) {
			return
		}
		got, err := canonicalHost(host)
		if err != nil || got != host {
			t.Fatalf("fast path accepted %q, full checks give %q, %v", host, got, err)
		}
	})
}

// TestCanonicalHostFastPathTakesCommonHosts checks that ordinary rule hosts
// take the fast path and others fall through to the full checks.
func TestCanonicalHostFastPathTakesCommonHosts(t *testing.T) {
	for _, h := range []string{"foo.com", "s1.scale.bench.test", "a-b.example", "xn--bcher-kva.example"} {
		if !plainDNSName(h) {
			t.Errorf("plainDNSName(%q) = false, want the fast path", h)
		}
	}
	for _, h := range []string{"", "Foo.com", "*.foo.com", "1.2.3.4", "123", "a..b", "-a", "a-", "a.-b", "a_b", strings.Repeat("a", 64)} {
		if plainDNSName(h) {
			t.Errorf("plainDNSName(%q) = true, want the full checks", h)
		}
	}
}
