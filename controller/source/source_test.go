package source

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestSignalsCoalesceKeepingTheFirstTime(t *testing.T) {
	// The client is never contacted: the informers are not started.
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(client, Options{Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if s.HasSynced() {
		t.Fatal("HasSynced before Start")
	}
	before := time.Now()
	for range 5 {
		s.signal() // never blocks
	}
	after := time.Now()
	select {
	case got := <-s.Changes():
		if got.Before(before) || got.After(after) {
			t.Errorf("signal time %v outside [%v, %v]", got, before, after)
		}
	default:
		t.Fatal("no signal pending")
	}
	select {
	case <-s.Changes():
		t.Fatal("a burst left more than one signal")
	default:
	}
	if snap := s.Snapshot(); len(snap.Ingresses)+len(snap.Services)+len(snap.Secrets) != 0 {
		t.Errorf("snapshot of empty caches: %+v", snap)
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
}

// TestStripDropsWhatTheControllerNeverReads: managedFields and kubectl's
// last-applied-configuration go, every other annotation stays.
func TestStripDropsWhatTheControllerNeverReads(t *testing.T) {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "a",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		Annotations:   map[string]string{LastAppliedAnnotation: `{"kind":"Ingress"}`, "ingresslab.dev/rewrite-target": "/"}}}
	out, err := stripManagedFields(ing)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*networkingv1.Ingress)
	if got.ManagedFields != nil || len(got.Annotations) != 1 || got.Annotations["ingresslab.dev/rewrite-target"] != "/" {
		t.Errorf("stripped object: managedFields %v, annotations %v", got.ManagedFields, got.Annotations)
	}
	if _, err := stripManagedFields(&networkingv1.Ingress{}); err != nil {
		t.Errorf("object without annotations: %v", err)
	}
}

func TestTLSSecretFieldSelector(t *testing.T) {
	if TLSSecretFieldSelector != "type=kubernetes.io/tls" {
		t.Errorf("selector = %q", TLSSecretFieldSelector)
	}
}

func TestWatchOpaqueSecretsAddsAnInformer(t *testing.T) {
	if OpaqueSecretFieldSelector != "type=Opaque" {
		t.Errorf("selector = %q", OpaqueSecretFieldSelector)
	}
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opaque bool
		want   int
	}{{false, 1}, {true, 2}} {
		s, err := New(client, Options{WatchOpaqueSecrets: tc.opaque})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.secrets) != tc.want || len(s.secretFactories) != tc.want || len(s.synced) != 5+tc.want {
			t.Errorf("WatchOpaqueSecrets %v: %d Secret listers, %d factories, %d informers; want %d, %d, %d",
				tc.opaque, len(s.secrets), len(s.secretFactories), len(s.synced), tc.want, tc.want, 5+tc.want)
		}
	}
}
