package translate

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestCertCache: with Options.CertCache, a TLS Secret is parsed once per
// UID and resourceVersion: a second build with the same Secret gets the
// same *tls.Certificate (tls.X509KeyPair not run again), a new
// resourceVersion is parsed again, and entries the latest build did not
// use are dropped. Secrets without UID or resourceVersion are not cached.
func TestCertCache(t *testing.T) {
	sec := tlsSecret(t, "a.example")
	sec.ObjectMeta = metav1.ObjectMeta{Namespace: "ns", Name: "tls", UID: "u1", ResourceVersion: "1"}
	ref := &routing.ObjectRef{Namespace: "ns", Name: "tls"}
	cache := NewCertCache()
	build := func(s *Snapshot, withRef bool) Result {
		t.Helper()
		o := DefaultOptions()
		o.CertCache = cache
		if withRef {
			o.DefaultCertificate = ref
		}
		res := Translate(s, o)
		if withRef && res.DefaultCertificate == nil {
			t.Fatalf("no default certificate: %v", res.Warnings)
		}
		return res
	}
	snap := &Snapshot{Secrets: []*corev1.Secret{sec}}
	first := build(snap, true).DefaultCertificate
	if got := build(snap, true).DefaultCertificate; got != first {
		t.Error("the same Secret was parsed again")
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d entries, want 1", cache.Len())
	}

	// A new resourceVersion (same content even) is parsed again.
	sec2 := sec.DeepCopy()
	sec2.ResourceVersion = "2"
	second := build(&Snapshot{Secrets: []*corev1.Secret{sec2}}, true).DefaultCertificate
	if second == first {
		t.Error("a new resourceVersion was not parsed again")
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d entries after the update, want 1 (the old version dropped)", cache.Len())
	}

	// A build that no longer references the Secret drops it.
	build(&Snapshot{Secrets: []*corev1.Secret{sec2}}, false)
	if cache.Len() != 0 {
		t.Errorf("cache holds %d entries after a build without the Secret, want 0", cache.Len())
	}
	if got := build(&Snapshot{Secrets: []*corev1.Secret{sec2}}, true).DefaultCertificate; got == second {
		t.Error("an evicted Secret was not parsed again")
	}

	// Without UID and resourceVersion nothing identifies the content: parsed every time.
	anon := tlsSecret(t, "a.example")
	anon.ObjectMeta = metav1.ObjectMeta{Namespace: "ns", Name: "tls"}
	a := build(&Snapshot{Secrets: []*corev1.Secret{anon}}, true).DefaultCertificate
	if b := build(&Snapshot{Secrets: []*corev1.Secret{anon}}, true).DefaultCertificate; a == b {
		t.Error("a Secret without UID and resourceVersion was cached")
	}

	// Without a cache every build parses.
	o := DefaultOptions()
	o.DefaultCertificate = ref
	c1, c2 := Translate(snap, o).DefaultCertificate, Translate(snap, o).DefaultCertificate
	if c1 == c2 {
		t.Error("parsed once without a cache")
	}
}
