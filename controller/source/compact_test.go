package source

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// TestCompactionChangesNoTranslation translates every golden fixture of
// the translate package twice, as decoded and with its Ingresses compacted
// as the informer caches them, and requires the same table, warnings and
// statuses: compaction drops only what translation never reads.
func TestCompactionChangesNoTranslation(t *testing.T) {
	files, err := filepath.Glob("../../fixtures/translate/*.in.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	routes := 0
	for _, file := range files {
		snap, opts := loadSnapshot(t, file)
		compacted := *snap
		compacted.Ingresses = nil
		for _, ing := range snap.Ingresses {
			c := ing.DeepCopy()
			out, err := stripManagedFields(c)
			if err != nil || out != c {
				t.Fatalf("%s: transform returned %v, %v", file, out, err)
			}
			compacted.Ingresses = append(compacted.Ingresses, c)
		}
		want, got := translate.Translate(snap, opts), translate.Translate(&compacted, opts)
		name := filepath.Base(file)
		if w, g := mustJSON(t, want.Table.Dump()), mustJSON(t, got.Table.Dump()); w != g {
			t.Errorf("%s: table differs after compaction:\nwant %s\ngot  %s", name, w, g)
		}
		if !reflect.DeepEqual(want.Warnings, got.Warnings) {
			t.Errorf("%s: warnings differ:\nwant %v\ngot  %v", name, want.Warnings, got.Warnings)
		}
		if !reflect.DeepEqual(want.Statuses, got.Statuses) || !slices.EqualFunc(want.Owned, got.Owned, sameName) {
			t.Errorf("%s: statuses or owned Ingresses differ", name)
		}
		_, n := got.Table.Size()
		routes += n
	}
	if routes < 100 {
		t.Errorf("only %d routes over %d fixtures: the comparison is too thin", routes, len(files))
	}
}

// TestCompactIngress: labels, owner references and finalizers go; the
// namespace and the pointers of equal values are shared; everything else
// stays.
func TestCompactIngress(t *testing.T) {
	mk := func(name string) *networkingv1.Ingress {
		class := "ingresslab"
		prefix, odd := networkingv1.PathTypePrefix, networkingv1.PathType("Odd")
		now := metav1.Now()
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: strings.Clone("team-a"), UID: "u-" + "1",
				Labels: map[string]string{"app": "x"}, Finalizers: []string{"f"}, DeletionTimestamp: &now,
				OwnerReferences: []metav1.OwnerReference{{Name: "o"}}, Annotations: map[string]string{"a": strings.Clone("v")}},
			Spec: networkingv1.IngressSpec{IngressClassName: &class,
				DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: strings.Clone("svc"), Port: networkingv1.ServiceBackendPort{Name: "http"}}},
				Rules: []networkingv1.IngressRule{{Host: "h", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{
						{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "svc", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
						{Path: "/x", PathType: &odd},
					}}}}, {Host: "no-http"}},
			},
		}
	}
	a, b := mk("a"), mk("b")
	for _, ing := range []*networkingv1.Ingress{a, b} {
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: strings.Clone("127.0.1.1"),
			Ports: []networkingv1.IngressPortStatus{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
	}
	other := mk("other")
	other.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "127.0.1.1",
		Ports: []networkingv1.IngressPortStatus{{Port: 443, Protocol: corev1.ProtocolTCP}}}}
	wantOther := other.DeepCopy()
	compactIngress(other)
	wantA := a.DeepCopy()
	compactIngress(a)
	compactIngress(b)
	if a.Labels != nil || a.OwnerReferences != nil || a.Finalizers != nil {
		t.Errorf("labels %v, owners %v, finalizers %v kept", a.Labels, a.OwnerReferences, a.Finalizers)
	}
	wantA.Labels, wantA.OwnerReferences, wantA.Finalizers = nil, nil, nil
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("compaction changed a value:\nwant %+v\ngot  %+v", wantA, a)
	}
	if a.Spec.IngressClassName != b.Spec.IngressClassName {
		t.Error("ingressClassName pointers of one value are not shared")
	}
	pa, pb := a.Spec.Rules[0].HTTP.Paths, b.Spec.Rules[0].HTTP.Paths
	if pa[0].PathType != pb[0].PathType || pa[1].PathType == pb[1].PathType {
		t.Error("valid pathTypes must share a pointer, an invalid one keeps its own")
	}
	if pa[0].Backend.Service == nil || pa[0].Backend.Service != pb[0].Backend.Service {
		t.Error("equal service backends do not share a pointer")
	}
	c := b.DeepCopy()
	c.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number = 81
	compactIngress(c)
	if got := c.Spec.Rules[0].HTTP.Paths[0].Backend.Service; got == pa[0].Backend.Service || got.Port.Number != 81 || got.Name != "svc" {
		t.Errorf("a service backend with another port: %+v, shared %v", got, got == pa[0].Backend.Service)
	}
	if !sameData(a.Namespace, b.Namespace) {
		t.Error("the namespace is not interned")
	}
	if sa, sb := a.Status.LoadBalancer.Ingress, b.Status.LoadBalancer.Ingress; &sa[0] != &sb[0] {
		t.Error("equal statuses do not share their list")
	}
	if &other.Status.LoadBalancer.Ingress[0] == &a.Status.LoadBalancer.Ingress[0] || !reflect.DeepEqual(other.Status, wantOther.Status) {
		t.Errorf("a status with another port shares a's list: %+v", other.Status)
	}
	// Idempotent: the informer may transform an object it already has.
	again := a.DeepCopy()
	compactIngress(again)
	if !reflect.DeepEqual(a, again) {
		t.Error("a second compaction changed the object")
	}
}

// sameData reports whether a and b are equal and share their bytes.
func sameData(a, b string) bool {
	return a != "" && a == b && unsafe.StringData(a) == unsafe.StringData(b)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadSnapshot decodes a translate fixture (its "# options:" lines set
// Options fields, as in the translate package's golden test).
func loadSnapshot(t *testing.T, file string) (*translate.Snapshot, translate.Options) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	opts := translate.DefaultOptions()
	opts.StatusAddresses = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# options:"); ok {
			if err := json.Unmarshal([]byte(v), &opts); err != nil {
				t.Fatalf("%s: options %q: %v", file, v, err)
			}
		}
	}
	snap := &translate.Snapshot{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !hasContent(doc) {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: decoding: %v", file, err)
		}
		switch o := obj.(type) {
		case *networkingv1.Ingress:
			snap.Ingresses = append(snap.Ingresses, o)
		case *networkingv1.IngressClass:
			snap.IngressClasses = append(snap.IngressClasses, o)
		case *corev1.Service:
			snap.Services = append(snap.Services, o)
		case *discoveryv1.EndpointSlice:
			snap.EndpointSlices = append(snap.EndpointSlices, o)
		case *corev1.Secret:
			snap.Secrets = append(snap.Secrets, o)
		case *corev1.ConfigMap:
			snap.ConfigMaps = append(snap.ConfigMaps, o)
		}
	}
	return snap, opts
}

func hasContent(doc []byte) bool {
	for line := range strings.Lines(string(doc)) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") && l != "---" {
			return true
		}
	}
	return false
}

// TestSharedSetIsBounded: the first maxShared keys share a value; past
// them every caller keeps its own.
func TestSharedSetIsBounded(t *testing.T) {
	var s sharedSet[*int]
	for i := range maxShared {
		a, b := new(int), new(int)
		if got := s.share(strconv.Itoa(i), a); got != a {
			t.Fatalf("key %d: first value not stored", i)
		}
		if got := s.share(strconv.Itoa(i), b); got != a {
			t.Fatalf("key %d: second caller does not get the shared value", i)
		}
	}
	extra := new(int)
	if got := s.share("one too many", extra); got != extra {
		t.Error("a full set stored a new key")
	}
	if _, ok := s.load("one too many"); ok {
		t.Error("a full set holds the key")
	}
}

// sameName reports whether a and b have the same namespace/name.
func sameName(a, b *networkingv1.Ingress) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name
}
