package loop

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/ingresslab/ingresslab/controller/dataplane"
	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// BenchmarkBuildOneChange is the work of the loop for one changed Ingress
// with n Ingresses present, as the bench's propagation scenario with
// background Ingresses makes it: the snapshot holds n Ingresses of one host
// and one path each over 5 Services, one of them is replaced by a new
// version (new resourceVersion, new backend) before every build, and the
// build translates, publishes to a real data plane Server (with metrics),
// reports warnings and hands over statuses. It reports the heap retained by
// the published table per route (retained-B/route). Each change is of one
// isolated Ingress, so the loop patches the last build (translate.Update);
// BenchmarkBuildFull is the same with every build translated in full.
func BenchmarkBuildOneChange(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchmarkBuild(b, n, nil) })
	}
}

// BenchmarkBuildFull is BenchmarkBuildOneChange with every build a full
// translation (what a change of a non-isolated Ingress, or of a Service,
// costs).
func BenchmarkBuildFull(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchmarkBuild(b, n, translate.Translate) })
	}
}

func benchmarkBuild(b *testing.B, n int, full TranslateFunc) {
	snap := benchSnapshot(n)
	dp, err := dataplane.New(dataplane.Options{DisableHTTPS: true, Metrics: metrics.New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	src := newTestSource()
	src.snap = snap
	l, err := New(Options{Source: src, Publisher: dp, Status: &statuses{}, Metrics: metrics.New(),
		Translate:     translate.Options{StatusAddresses: []corev1.LoadBalancerIngress{{IP: benchStatusIP}}, CertCache: translate.NewCertCache()},
		TranslateFunc: full, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l.build(time.Time{})
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := dp.Table().Stats().Routes; got != n {
		b.Fatalf("%d routes, want %d", got, n)
	}
	retained := float64(after.HeapAlloc) - float64(before.HeapAlloc)

	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		k := i % n
		ing := benchIngress(k, i)
		src.mu.Lock()
		next := *src.snap // snapshots are read-only: a new one, as the Source makes
		next.Ingresses = slices.Clone(next.Ingresses)
		next.Ingresses[k] = ing
		src.snap = &next
		src.mu.Unlock()
		l.build(time.Now())
	}
	b.StopTimer()
	if m := dp.Table().Match(benchHost(i%n), "/"); m.Route == nil || m.Route.Backend.Service != benchService(i%n+i) {
		b.Fatalf("the last change is not served: %+v", m.Route)
	}
	b.ReportMetric(retained/float64(n), "retained-B/route")
}

// benchSnapshot is n of our Ingresses (one host, one Prefix path each, as
// the bench's scale and background Ingresses) over 5 Services with one
// ready endpoint each.
func benchSnapshot(n int) *translate.Snapshot {
	s := &translate.Snapshot{UniqueIngresses: true, IngressClasses: []*networkingv1.IngressClass{{
		ObjectMeta: metav1.ObjectMeta{Name: "lab"},
		Spec:       networkingv1.IngressClassSpec{Controller: translate.DefaultControllerName},
	}}}
	for i := range 5 {
		name := "svc-" + strconv.Itoa(i)
		s.Services = append(s.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("svc-uid-" + name), ResourceVersion: "1"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		})
		s.EndpointSlices = append(s.EndpointSlices, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: name + "-x", Labels: map[string]string{translate.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](8080)}},
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{fmt.Sprintf("10.0.0.%d", i+1)}}},
		})
	}
	for i := range n {
		s.Ingresses = append(s.Ingresses, benchIngress(i, 0))
	}
	return s
}

// benchStatusIP is the status address of the benchmark's controller; every
// Ingress already carries it, as after the controller's first status writes.
const benchStatusIP = "127.0.1.1"

// benchIngress is version v of Ingress i: host benchHost(i), path / to
// benchService(i+v), with the status benchStatusIP.
func benchIngress(i, v int) *networkingv1.Ingress {
	pt := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ing-" + strconv.Itoa(i), UID: types.UID("uid-" + strconv.Itoa(i)),
			ResourceVersion:   strconv.Itoa(1 + v),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second))},
		Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("lab"), Rules: []networkingv1.IngressRule{{
			Host: benchHost(i),
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: benchService(i + v), Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
			Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: benchStatusIP}}}},
	}
}

func benchHost(i int) string    { return "s" + strconv.Itoa(i) + ".scale.bench.test" }
func benchService(i int) string { return "svc-" + strconv.Itoa(i%5) }
