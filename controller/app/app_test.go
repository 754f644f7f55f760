package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"

	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

func TestCompleteDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "ingress-system")
	c, err := Options{}.complete()
	if err != nil {
		t.Fatal(err)
	}
	if c.ControllerName != translate.DefaultControllerName || c.IngressClass != translate.DefaultIngressClassName ||
		c.HTTPAddr != ":8080" || c.HTTPSAddr != ":8443" || c.AdminAddr != "127.0.0.1:10254" ||
		c.ShutdownTimeout != DefaultShutdownTimeout {
		t.Errorf("defaults: %+v", c.Options)
	}
	if !c.inCluster || !c.leaderElect {
		t.Errorf("in cluster: inCluster %v leaderElect %v, want both", c.inCluster, c.leaderElect)
	}
	if c.LeaderElectionNamespace != "ingress-system" || c.LeaderElectionName != "ingresslab.dev-ingress-controller-ingresslab-leader" {
		t.Errorf("lease %s/%s", c.LeaderElectionNamespace, c.LeaderElectionName)
	}

	c, err = Options{Kubeconfig: "/some/file"}.complete()
	if err != nil || c.inCluster || c.leaderElect {
		t.Errorf("with --kubeconfig: inCluster %v leaderElect %v err %v; want leader election off", c.inCluster, c.leaderElect, err)
	}
	on := true
	c, err = Options{RESTConfig: &rest.Config{}, LeaderElect: &on}.complete()
	if err != nil || !c.leaderElect {
		t.Errorf("explicit --leader-elect: %v %v", c.leaderElect, err)
	}
}

func TestCompleteParses(t *testing.T) {
	c, err := Options{
		TrustedProxies:        []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"},
		PublishStatusAddress:  "192.0.2.1,lb.example",
		DefaultCertificate:    "kube-system/default-cert",
		DefaultBackendService: "web/fallback:http",
	}.complete()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.trusted) != 3 || c.trusted[1].String() != "192.0.2.7/32" {
		t.Errorf("trusted = %v", c.trusted)
	}
	if len(c.statusAddresses) != 2 || c.statusAddresses[1].Hostname != "lb.example" {
		t.Errorf("status addresses = %v", c.statusAddresses)
	}
	if c.defaultCert != (routing.ObjectRef{Namespace: "kube-system", Name: "default-cert"}) {
		t.Errorf("default cert = %v", c.defaultCert)
	}
	if c.defaultBackend.Name != "fallback" || c.defaultBackend.Port.StrVal != "http" {
		t.Errorf("default backend = %+v", c.defaultBackend)
	}
	c, err = Options{DefaultBackendService: "web/fallback:8080", PublishService: "ingress/lb"}.complete()
	if err != nil || c.defaultBackend.Port.IntVal != 8080 || c.publishService.Name != "lb" {
		t.Errorf("numeric port / publish service: %+v %+v %v", c.defaultBackend, c.publishService, err)
	}
}

func TestCompleteErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		opts Options
		flag string
	}{
		{Options{ControllerName: "no-domain"}, "--controller-name"},
		{Options{WatchNamespace: "Bad_NS"}, "--watch-namespace"},
		{Options{TrustedProxies: []string{"10.0.0.0/33"}}, "--trusted-proxies"},
		{Options{TrustedProxies: []string{"host.example"}}, "--trusted-proxies"},
		{Options{PublishStatusAddress: "a,,b"}, "--publish-status-address"},
		{Options{PublishService: "no-slash"}, "--publish-service"},
		{Options{PublishService: "a/b", PublishStatusAddress: "192.0.2.1"}, "exclusive"},
		{Options{DefaultCertificate: "ns/"}, "--default-certificate"},
		{Options{DefaultBackendService: "ns/svc"}, "--default-backend-service"},
		{Options{DefaultBackendService: "ns/svc:0"}, "--default-backend-service"},
		{Options{DefaultBackendService: "ns/svc:Not_A_Port"}, "--default-backend-service"},
		{Options{DefaultBackendService: "other/svc:80", WatchNamespace: "mine"}, "--watch-namespace"},
		{Options{ShutdownTimeout: -time.Second}, "--shutdown-timeout"},
		{Options{BatchHoldOff: time.Second, BatchMaxDelay: time.Millisecond}, "--batch-max-delay"},
		{Options{LeaderElectionName: "Not Valid"}, "--leader-election-name"},
		{Options{HTTPSRedirectPort: 70000}, "--https-redirect-port"},
	} {
		_, err := c.opts.complete()
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: error %v, want one naming %s", c.opts, err, c.flag)
		}
	}
}

func TestDefaultLeaderElectionName(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"ingresslab.dev/ingress-controller", "ingresslab"}: "ingresslab.dev-ingress-controller-ingresslab-leader",
		{"Example.COM/X_Y", "Blue"}:                         "example.com-x-y-blue-leader",
	} {
		if got := DefaultLeaderElectionName(in[0], in[1]); got != want {
			t.Errorf("%v: got %q, want %q", in, got, want)
		}
	}
	long := DefaultLeaderElectionName("example.com/"+strings.Repeat("a", 300), "c")
	if len(long) > 253 || !strings.HasSuffix(long, "-c-leader") {
		t.Errorf("long name %q (%d)", long, len(long))
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Errorf("output %q", s)
	}
	if _, err := NewLogger(&buf, "loud", "text"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("bad level: %v", err)
	}
	if _, err := NewLogger(&buf, "info", "xml"); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("bad format: %v", err)
	}
}

func TestStartFailsClearly(t *testing.T) {
	ctx := context.Background()
	// Nothing listens on port 1: the API server check fails at start-up.
	_, err := Start(ctx, Options{RESTConfig: &rest.Config{Host: "http://127.0.0.1:1"}, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "API server http://127.0.0.1:1 is not reachable") {
		t.Errorf("unreachable API server: %v", err)
	}
	_, err = Start(ctx, Options{Kubeconfig: "/nonexistent/kubeconfig"})
	if err == nil || !strings.Contains(err.Error(), "--kubeconfig /nonexistent/kubeconfig") {
		t.Errorf("missing kubeconfig: %v", err)
	}
}

// defaultBackendSnapshot has the fallback Service with one endpoint.
func defaultBackendSnapshot() *translate.Snapshot {
	ready := true
	port, name := int32(8080), "http"
	return &translate.Snapshot{
		Services: []*corev1.Service{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "fallback"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		}},
		EndpointSlices: []*discoveryv1.EndpointSlice{{
			ObjectMeta:  metav1.ObjectMeta{Namespace: "web", Name: "fallback-1", Labels: map[string]string{discoveryv1.LabelServiceName: "fallback"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.18.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
			Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		}},
	}
}

func TestDefaultBackendGlue(t *testing.T) {
	tr := withDefaultBackend(&backendRef{ObjectRef: routing.ObjectRef{Namespace: "web", Name: "fallback"}, Port: intstr.FromString("http")}, "ingresslab")
	opts := translate.Options{StatusAddresses: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}}

	res := tr(defaultBackendSnapshot(), opts)
	m := res.Table.Match("anything.example", "/x")
	if m.Route == nil || m.Route.Backend.Service != "fallback" || len(m.Route.Backend.Endpoints) != 1 ||
		m.Route.Backend.Endpoints[0].Address != "198.18.0.9:8080" {
		t.Fatalf("unmatched request goes to %+v, want web/fallback 198.18.0.9:8080", m.Route)
	}
	if len(res.Owned) != 0 || len(res.Statuses) != 0 || len(res.Warnings) != 0 {
		t.Errorf("the synthetic Ingress shows: owned %v statuses %v warnings %v", res.Owned, res.Statuses, res.Warnings)
	}

	// An Ingress's own defaultBackend wins, without a warning about it.
	snap := defaultBackendSnapshot()
	snap.Services = append(snap.Services, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "own"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	})
	snap.Ingresses = []*networkingv1.Ingress{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "own", Annotations: map[string]string{translate.AnnotationIngressClass: "ingresslab"}},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "own", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
	}}
	res = tr(snap, opts)
	if m := res.Table.Match("anything.example", "/"); m.Route == nil || m.Route.Backend.Service != "own" {
		t.Errorf("with an Ingress defaultBackend, unmatched goes to %+v", m.Route)
	}
	if len(res.Warnings) != 0 || len(res.Owned) != 1 || len(res.Statuses) != 1 {
		t.Errorf("warnings %v owned %v statuses %v", res.Warnings, res.Owned, res.Statuses)
	}
	if len(snap.Ingresses) != 1 {
		t.Error("the glue modified the snapshot")
	}

	// A missing Service is reported on the synthetic Ingress.
	res = tr(&translate.Snapshot{}, opts)
	if len(res.Warnings) != 1 || res.Warnings[0].Reason != translate.ReasonServiceNotFound || res.Warnings[0].Object.Name != DefaultBackendIngressName {
		t.Errorf("warnings = %v", res.Warnings)
	}
}
