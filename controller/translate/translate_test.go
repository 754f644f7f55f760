package translate

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// snapshot builds n Ingresses "app-i" in namespace "ns-(i%10)", each with host
// app-i.example.com and paths "/", "/api", "/static" to Service app-i port 80,
// whose slice holds three ready endpoints on port 8080.
func snapshot(n int) *Snapshot {
	s := &Snapshot{IngressClasses: []*networkingv1.IngressClass{{
		ObjectMeta: metav1.ObjectMeta{Name: "lab"},
		Spec:       networkingv1.IngressClassSpec{Controller: DefaultControllerName},
	}}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		ns, name := fmt.Sprintf("ns-%d", i%10), fmt.Sprintf("app-%d", i)
		backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}
		var paths []networkingv1.HTTPIngressPath
		for _, p := range []string{"/", "/api", "/static"} {
			paths = append(paths, networkingv1.HTTPIngressPath{Path: p, PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend})
		}
		s.Ingresses = append(s.Ingresses, &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(base.Add(time.Duration(i) * time.Second))},
			Spec: networkingv1.IngressSpec{
				IngressClassName: ptr.To("lab"),
				Rules: []networkingv1.IngressRule{{Host: name + ".example.com",
					IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}},
			},
		})
		s.Services = append(s.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		})
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name + "-x", Labels: map[string]string{LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](8080)}},
		}
		for e := range 3 {
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
				Addresses: []string{fmt.Sprintf("10.%d.%d.%d", i>>8&255, i&255, e+1)}})
		}
		s.EndpointSlices = append(s.EndpointSlices, slice)
	}
	return s
}

func TestTranslateBasics(t *testing.T) {
	snap := snapshot(20)
	before := deepCopy(snap)
	res := Translate(snap, Options{Generation: 9})
	if !reflect.DeepEqual(before, snap) {
		t.Fatal("Translate modified its input")
	}
	if res.Table.Generation != 9 || len(res.Owned) != 20 || len(res.Warnings) != 0 || res.Statuses != nil {
		t.Fatalf("unexpected result: gen %d owned %d warnings %v statuses %v", res.Table.Generation, len(res.Owned), res.Warnings, res.Statuses)
	}
	if got, want := res.Table.Stats(), (routing.Stats{Hosts: 20, Routes: 60, Backends: 20}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	// Owned is in translation order: oldest first, then by namespace/name.
	if !slices.IsSortedFunc(res.Owned, CompareIngresses) {
		t.Errorf("owned not in translation order: %v", res.Owned)
	}
	// One *Backend per key, shared by the paths that use it.
	a, b := res.Table.Match("app-3.example.com", "/api/x").Route, res.Table.Match("APP-3.example.com:80", "/nothing").Route
	if a == nil || b == nil || a == b || a.Backend != b.Backend {
		t.Fatalf("backend not shared: %v %v", a, b)
	}
	want := []routing.Endpoint{{Address: "10.0.3.1:8080"}, {Address: "10.0.3.2:8080"}, {Address: "10.0.3.3:8080"}}
	if a.Backend.Key != "ns-3/app-3:80" || !reflect.DeepEqual(a.Backend.Endpoints, want) || a.Path != "/api" {
		t.Errorf("route %+v backend %+v", a, a.Backend)
	}
}

func deepCopy(s *Snapshot) *Snapshot {
	c := &Snapshot{}
	for _, o := range s.Ingresses {
		c.Ingresses = append(c.Ingresses, o.DeepCopy())
	}
	for _, o := range s.IngressClasses {
		c.IngressClasses = append(c.IngressClasses, o.DeepCopy())
	}
	for _, o := range s.Services {
		c.Services = append(c.Services, o.DeepCopy())
	}
	for _, o := range s.EndpointSlices {
		c.EndpointSlices = append(c.EndpointSlices, o.DeepCopy())
	}
	for _, o := range s.Secrets {
		c.Secrets = append(c.Secrets, o.DeepCopy())
	}
	return c
}

func TestTranslateNilAndEmpty(t *testing.T) {
	for _, snap := range []*Snapshot{nil, {}, {Ingresses: []*networkingv1.Ingress{nil, {}}, IngressClasses: []*networkingv1.IngressClass{nil},
		Services: []*corev1.Service{nil}, EndpointSlices: []*discoveryv1.EndpointSlice{nil}, Secrets: []*corev1.Secret{nil}}} {
		res := Translate(snap, Options{WatchWithoutClass: true})
		if res.Table == nil || res.Table.Match("x", "/").Route != nil {
			t.Errorf("snapshot %v: table %v", snap, res.Table)
		}
	}
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if o.ControllerName != "ingresslab.dev/ingress-controller" || o.IngressClassName != "ingresslab" ||
		o.WatchWithoutClass || o.AllowExternalName || o.StatusAddresses != nil {
		t.Errorf("DefaultOptions() = %+v", o)
	}
	if got := (Options{}).withDefaults(); !reflect.DeepEqual(got, o) {
		t.Errorf("zero options with defaults = %+v, want %+v", got, o)
	}
}

// TestStatusOnlyWhenConfigured: without StatusAddresses nothing is written,
// even for an Ingress carrying an address.
func TestStatusOnlyWhenConfigured(t *testing.T) {
	snap := snapshot(2)
	snap.Ingresses[0].Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}
	if res := Translate(snap, Options{}); res.Statuses != nil {
		t.Errorf("statuses without StatusAddresses: %v", res.Statuses)
	}
	res := Translate(snap, Options{StatusAddresses: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}})
	if len(res.Statuses) != 1 || res.Statuses[0].Ingress.Name != "app-1" {
		t.Errorf("statuses %v, want only app-1", res.Statuses)
	}
}

func TestIngressStatus(t *testing.T) {
	got := IngressStatus([]corev1.LoadBalancerIngress{
		{IP: "192.0.2.1", IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)},
		{Hostname: "lb.example", Ports: []corev1.PortStatus{{Port: 443, Protocol: corev1.ProtocolTCP, Error: ptr.To("x")}}},
	})
	want := []networkingv1.IngressLoadBalancerIngress{
		{IP: "192.0.2.1"},
		{Hostname: "lb.example", Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP, Error: ptr.To("x")}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IngressStatus = %+v", got)
	}
	if got := IngressStatus(nil); got == nil || len(got) != 0 {
		t.Errorf("IngressStatus(nil) = %#v, want empty non-nil", got)
	}
}

func TestCompareField(t *testing.T) {
	fields := []string{
		"spec.rules[10].host", "spec", "spec.rules[2].http.paths[10]", "spec.rules[2].http.paths[9].path",
		"spec.rules[2].host", "spec.defaultBackend", "spec.tls[0].hosts[1]", "spec.rules[x]",
	}
	slices.SortFunc(fields, compareField)
	want := []string{
		"spec", "spec.defaultBackend", "spec.rules[2].host", "spec.rules[2].http.paths[9].path",
		"spec.rules[2].http.paths[10]", "spec.rules[10].host", "spec.rules[x]", "spec.tls[0].hosts[1]",
	}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("sorted %q\nwant   %q", fields, want)
	}
}

func TestCovers(t *testing.T) {
	leaf := parseSecret(routing.ObjectRef{Namespace: "n", Name: "s"}, tlsSecret(t, "Foo.example.com,*.wild.example.com"))
	if leaf.cert == nil {
		t.Fatalf("parse: %s", leaf.message)
	}
	for host, want := range map[string]bool{
		"foo.example.com": true, "a.wild.example.com": true, "*.wild.example.com": true,
		"wild.example.com": false, "a.b.wild.example.com": false, "*.example.com": false, "bar.example.com": false,
	} {
		if got := covers(leaf.cert.Leaf, host); got != want {
			t.Errorf("covers(%q) = %v, want %v", host, got, want)
		}
	}
}

func tlsSecret(t testing.TB, hosts string) *corev1.Secret {
	crt, key := testCertPEM(t, hosts)
	return &corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key}}
}

func TestWarningString(t *testing.T) {
	w := Warning{Kind: "Ingress", Object: routing.ObjectRef{Namespace: "a", Name: "b"}, Field: "spec.rules[0].host", Reason: "InvalidHost", Message: "bad"}
	if got := w.String(); got != "Ingress a/b spec.rules[0].host: InvalidHost: bad" {
		t.Errorf("String() = %q", got)
	}
}

// TestDuplicateObjects: a namespace/name present twice is used once.
func TestDuplicateObjects(t *testing.T) {
	snap := snapshot(1)
	snap.Ingresses = append(snap.Ingresses, snap.Ingresses[0])
	res := Translate(snap, Options{})
	if len(res.Owned) != 1 || len(res.Warnings) != 0 {
		t.Errorf("owned %v warnings %v", res.Owned, res.Warnings)
	}
}

// TestCertificateParsedOnce: two Ingresses sharing a Secret get the same
// *tls.Certificate.
func TestCertificateParsedOnce(t *testing.T) {
	snap := snapshot(2)
	sec := tlsSecret(t, "app-0.example.com,app-1.example.com")
	sec.Namespace, sec.Name = "ns-0", "shared"
	snap.Secrets = append(snap.Secrets, sec)
	snap.Ingresses[1].Namespace = "ns-0"
	for _, ing := range snap.Ingresses {
		ing.Spec.TLS = []networkingv1.IngressTLS{{SecretName: "shared"}}
	}
	res := Translate(snap, Options{})
	a, b := res.Table.Certificate("app-0.example.com"), res.Table.Certificate("app-1.example.com")
	if a == nil || a != b {
		t.Errorf("certificates %p %p, want one shared", a, b)
	}
	if m := res.Table.Match("app-1.example.com", "/"); !m.HTTPSRedirect {
		t.Error("TLS host without redirect")
	}
	// app-1 moved to ns-0 has no Service there: one warning per path, nothing
	// about TLS.
	if len(res.Warnings) != 3 {
		t.Errorf("warnings %v", res.Warnings)
	}
	for _, w := range res.Warnings {
		if w.Reason != ReasonServiceNotFound || !strings.Contains(w.Message, "service ns-0/app-1 not found") {
			t.Errorf("unexpected warning %v", w)
		}
	}
}

// TestStatusPlanJudgesAsTheTranslation: the plan's Update for each Ingress
// of the snapshot is exactly the translation's status write for it; after
// the writes (an Ingress now carrying what the plan wants) it needs none,
// and a foreign class given our addresses is cleared.
func TestStatusPlanJudgesAsTheTranslation(t *testing.T) {
	snap := snapshot(4)
	addrs := []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	snap.Ingresses[0].Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}
	snap.Ingresses[3].Spec.IngressClassName = ptr.To("other")
	snap.Ingresses[3].Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}
	res := Translate(snap, Options{StatusAddresses: addrs})
	plan := res.StatusPlan
	if plan == nil || !plan.Managed || !reflect.DeepEqual(plan.Updates, res.Statuses) || !reflect.DeepEqual(plan.Owned, res.Owned) {
		t.Fatalf("plan %+v does not carry the result's statuses %v and owned %v", plan, res.Statuses, res.Owned)
	}
	want := map[string]StatusUpdate{}
	for _, u := range res.Statuses {
		want[u.Ingress.Name] = u
	}
	if len(want) != 3 { // app-1 and app-2 set, app-3 cleared
		t.Fatalf("statuses %v", res.Statuses)
	}
	for _, ing := range snap.Ingresses {
		got, ok := plan.Update(ing)
		if w, needed := want[ing.Name]; ok != needed || !reflect.DeepEqual(got, w) {
			t.Errorf("%s: plan says %v %+v, translation %v %+v", ing.Name, ok, got, needed, w)
		}
		// The Ingress after the write needs nothing more.
		done := ing.DeepCopy()
		done.Status.LoadBalancer.Ingress = IngressStatus(got.LoadBalancer)
		if ok {
			if u, again := plan.Update(done); again {
				t.Errorf("%s: written status still needs %+v", ing.Name, u)
			}
		}
	}
	// Someone else overwrites ours: the plan restores it.
	tampered := snap.Ingresses[0].DeepCopy()
	tampered.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "198.51.100.7"}}
	if u, ok := plan.Update(tampered); !ok || u.LoadBalancer[0].IP != "192.0.2.1" {
		t.Errorf("tampered status: %v %+v", ok, u)
	}
	if _, ok := Translate(snap, Options{}).StatusPlan.Update(tampered); ok {
		t.Error("unmanaged plan wants a write")
	}
	if _, ok := (*StatusPlan)(nil).Update(tampered); ok {
		t.Error("nil plan wants a write")
	}
}

// TestStatusPlanOwnedInTranslationOrder: the newest Ingress has the first
// name, so Owned is not sorted by name; the plan still knows each of ours,
// from concurrent callers.
func TestStatusPlanOwnedInTranslationOrder(t *testing.T) {
	snap := snapshot(12)
	for i, ing := range snap.Ingresses { // app-0 newest
		ing.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 100-i, 0, time.UTC))
	}
	addrs := []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	res := Translate(snap, Options{StatusAddresses: addrs})
	if len(res.Owned) != 12 || res.Owned[0].Name != snap.Ingresses[11].Name {
		t.Fatalf("owned %v: want the oldest first", res.Owned)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, ing := range snap.Ingresses {
				// A copy, as the cache holds after a status change: the
				// plan knows its Ingresses by namespace/name.
				if u, ok := res.StatusPlan.Update(ing.DeepCopy()); !ok || u.Ingress.Name != ing.Name {
					t.Errorf("%s: plan wants %v %+v, want its status set", ing.Name, ok, u)
				}
			}
		})
	}
	wg.Wait()
	other := snap.Ingresses[0].DeepCopy()
	other.Name = "not-ours"
	other.Status.LoadBalancer.Ingress = IngressStatus(addrs)
	if u, ok := res.StatusPlan.Update(other); !ok || len(u.LoadBalancer) != 0 {
		t.Errorf("an Ingress not ours carrying our address: %v %+v, want it cleared", ok, u)
	}
}

// TestCompareIngresses: older first; as old, by namespace, then name.
func TestCompareIngresses(t *testing.T) {
	at := func(ns, name string, sec int) *networkingv1.Ingress {
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC))}}
	}
	ordered := []*networkingv1.Ingress{at("b", "z", 1), at("a", "y", 2), at("a", "z", 2), at("b", "a", 2), at("a", "a", 3)}
	for i := range ordered {
		for j := range ordered {
			if got, want := CompareIngresses(ordered[i], ordered[j]), cmp.Compare(i, j); got != want {
				t.Errorf("CompareIngresses(%s/%s, %s/%s) = %d, want %d", ordered[i].Namespace, ordered[i].Name,
					ordered[j].Namespace, ordered[j].Name, got, want)
			}
		}
	}
}
