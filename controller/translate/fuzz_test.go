package translate

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// FuzzTranslate feeds arbitrary hosts, paths, path types, ports, addresses
// and TLS hosts into one Ingress: Translate must not panic, must be
// deterministic, and every routed host and path must be valid.
func FuzzTranslate(f *testing.F) {
	f.Add("foo.com", "/", "Prefix", "", int32(80), "http", int32(80), "10.0.0.1", "IPv4", "foo.com", []byte("crt"))
	f.Add("*.foo.com", "/a/b/", "Exact", "http", int32(0), "http", int32(8080), "fd00::1", "IPv6", "*.foo.com", []byte{})
	f.Add("", "", "ImplementationSpecific", "", int32(-1), "", int32(70000), "backend.local", "FQDN", "", []byte(nil))
	f.Add("FOO.COM:80", "relative", "Regex", "x", int32(1), "y", int32(0), "300.1.1.1", "Bogus", "1.2.3.4", []byte("-----BEGIN CERTIFICATE-----"))
	f.Add("*", "/%2F", "Prefix", "http", int32(443), "http", int32(443), "::ffff:1.2.3.4", "IPv4", "*", []byte("\x00"))
	f.Fuzz(func(t *testing.T, host, path, pathType, portName string, portNum int32, svcPortName string, slicePort int32,
		addr, addrType, tlsHost string, crt []byte) {
		pt := networkingv1.PathType(pathType)
		backend := networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "svc", Port: networkingv1.ServiceBackendPort{Name: portName, Number: portNum}}}
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ing"},
			Spec: networkingv1.IngressSpec{
				DefaultBackend: &backend,
				TLS:            []networkingv1.IngressTLS{{Hosts: []string{tlsHost}, SecretName: "tls"}, {SecretName: "tls"}},
				Rules: []networkingv1.IngressRule{
					{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &pt, Backend: backend}, {Path: path, PathType: &pt, Backend: backend}},
					}}},
					{Host: tlsHost},
				},
			},
		}
		snap := &Snapshot{
			Ingresses: []*networkingv1.Ingress{ing},
			Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "svc"},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: svcPortName, Port: portNum}}}}},
			EndpointSlices: []*discoveryv1.EndpointSlice{{
				ObjectMeta:  metav1.ObjectMeta{Namespace: "ns", Name: "svc-1", Labels: map[string]string{LabelServiceName: "svc"}},
				AddressType: discoveryv1.AddressType(addrType),
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(svcPortName), Port: ptr.To(slicePort)}},
				Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{addr}}, {Addresses: nil}},
			}},
			Secrets: []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "tls"}, Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: crt}}},
		}
		opts := Options{WatchWithoutClass: true, AllowExternalName: true, ManageStatus: true,
			DefaultBackend:     &DefaultBackend{Namespace: "ns", Service: "svc", Port: networkingv1.ServiceBackendPort{Name: svcPortName, Number: portNum}},
			DefaultCertificate: &routing.ObjectRef{Namespace: "ns", Name: "tls"}}
		res := Translate(snap, opts)
		d1, _ := json.Marshal(res.Table.Dump())
		d2, _ := json.Marshal(Translate(snap, opts).Table.Dump())
		if !bytes.Equal(d1, d2) {
			t.Fatal("not deterministic")
		}
		for _, h := range res.Table.Dump().Hosts {
			if c, err := routing.CanonicalHost(h.Host); err != nil || c != h.Host {
				t.Fatalf("routed host %q is not canonical: %v", h.Host, err)
			}
			for _, r := range h.Routes {
				if !strings.HasPrefix(r.Path, "/") || r.Backend.Key == "" {
					t.Fatalf("bad route %+v", r)
				}
				if len(r.Backend.Endpoints) == 0 && r.Backend.Unavailable == "" {
					t.Fatalf("backend %q has neither endpoints nor a reason", r.Backend.Key)
				}
			}
		}
		if !slices.IsSortedFunc(res.Warnings, func(a, b Warning) int {
			return compareRef(a.Object, b.Object)
		}) {
			t.Fatal("warnings not sorted")
		}
		_ = res.Table.Match(host, path)
		_ = res.Table.Certificate(tlsHost)
	})
}
