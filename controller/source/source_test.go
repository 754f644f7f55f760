package source

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
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

// TestInformersHaveNoNamespaceIndex: the informers keep no index (the
// controller never lists by namespace), the listers read those informers,
// and each still lists with its factory's namespace and the Secret field
// selector, over HTTP to a server that answers with one object each.
func TestInformersHaveNoNamespaceIndex(t *testing.T) {
	api := newFakeAPI(t, 1)
	client := api.client(t)
	s, err := New(client, Options{Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s.Start(ctx)
	defer func() { cancel(); s.Shutdown() }()
	if err := s.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, inf := range []cache.SharedIndexInformer{
		s.factory.Networking().V1().Ingresses().Informer(), s.factory.Core().V1().Services().Informer(),
		s.factory.Discovery().V1().EndpointSlices().Informer(), s.factory.Core().V1().ConfigMaps().Informer(),
		s.secretFactories[0].Core().V1().Secrets().Informer(),
	} {
		if ix := inf.GetIndexer().GetIndexers(); len(ix) != 0 {
			t.Errorf("%T informer indexes %v", inf, slices.Collect(maps.Keys(ix)))
		}
	}
	if _, ok := s.Ingress("ns", "x0"); !ok {
		t.Error("the Ingress lister does not read the unindexed informer")
	}
	snap := s.Snapshot()
	if len(snap.Services) != 1 || len(snap.EndpointSlices) != 1 || len(snap.ConfigMaps) != 1 || len(snap.Secrets) != 1 {
		t.Errorf("snapshot: %d Services, %d EndpointSlices, %d ConfigMaps, %d Secrets; want 1 each",
			len(snap.Services), len(snap.EndpointSlices), len(snap.ConfigMaps), len(snap.Secrets))
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	queries := api.queries
	if q := queries["/api/v1/namespaces/ns/secrets"]; !strings.Contains(q, "fieldSelector=type%3Dkubernetes.io%2Ftls") {
		t.Errorf("Secret list query %q: no TLS field selector", q)
	}
	if _, ok := queries["/apis/networking.k8s.io/v1/namespaces/ns/ingresses"]; !ok {
		t.Errorf("no Ingress list in namespace ns; lists: %v", slices.Collect(maps.Keys(queries)))
	}
}

// fakeAPI is an API server over HTTP that lists n Ingresses and one object
// of every other kind (named x0, x1, ...) in namespace ns, refuses watch-lists (so that the
// reflectors list) and holds watches open. It records each list's query.
type fakeAPI struct {
	srv     *httptest.Server
	mu      sync.Mutex
	queries map[string]string // path -> query
}

func newFakeAPI(t *testing.T, n int) *fakeAPI {
	t.Helper()
	api := &fakeAPI{queries: map[string]string{}}
	api.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") == "true" {
			if r.URL.Query().Get("sendInitialEvents") == "true" { // watch-list: have the reflector list instead
				http.Error(w, "watch-list not served here", http.StatusBadRequest)
				return
			}
			<-r.Context().Done()
			return
		}
		api.mu.Lock()
		api.queries[r.URL.Path] = r.URL.RawQuery
		api.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		kind := map[string]string{"ingresses": "Ingress", "ingressclasses": "IngressClass", "services": "Service",
			"endpointslices": "EndpointSlice", "configmaps": "ConfigMap", "secrets": "Secret"}[path.Base(r.URL.Path)]
		gv, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/"), "/apis/"), "/namespaces/")
		gv = strings.TrimSuffix(gv, "/"+path.Base(r.URL.Path))
		fmt.Fprintf(w, `{"apiVersion":%q,"kind":"%sList","metadata":{"resourceVersion":"1"},"items":[`, gv, kind)
		count := 1
		if kind == "Ingress" {
			count = n
		}
		for i := range count {
			if i > 0 {
				fmt.Fprint(w, ",")
			}
			fmt.Fprintf(w, `{"metadata":{"name":"x%d","namespace":"ns","resourceVersion":"1"},"type":"kubernetes.io/tls"}`, i)
		}
		fmt.Fprint(w, "]}")
	}))
	t.Cleanup(api.srv.Close)
	return api
}

func (api *fakeAPI) client(t *testing.T) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(&rest.Config{Host: api.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// TestSyncedMeansTheSnapshotIsWhole: once WaitForSync returns, Snapshot
// holds every Ingress of the initial list. The Ingress snapshot comes from
// the sorted copy the event handler keeps, so the informer's store being
// synced is not enough: the handler must have received the initial list
// too (the first table after a restart lacked a few of 10,000 Ingresses,
// answered 404 until the next build).
func TestSyncedMeansTheSnapshotIsWhole(t *testing.T) {
	const n = 20000
	s, err := New(newFakeAPI(t, n).client(t), Options{Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	s.Start(ctx)
	defer func() { cancel(); s.Shutdown() }()
	if err := s.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Snapshot().Ingresses); got != n {
		t.Errorf("snapshot after sync holds %d of %d Ingresses", got, n)
	}
}
