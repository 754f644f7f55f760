package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/rest"

	"github.com/ingresslab/ingresslab/controller/annotations"
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
	if !c.inCluster || !c.leaderElect || c.shutdownDelay != DefaultShutdownDelay {
		t.Errorf("in cluster: inCluster %v leaderElect %v shutdownDelay %v, want both and %v",
			c.inCluster, c.leaderElect, c.shutdownDelay, DefaultShutdownDelay)
	}
	if c.LeaderElectionNamespace != "ingress-system" || c.LeaderElectionName != "ingresslab.dev-ingress-controller-ingresslab-leader" {
		t.Errorf("lease %s/%s", c.LeaderElectionNamespace, c.LeaderElectionName)
	}

	c, err = Options{Kubeconfig: "/some/file"}.complete()
	if err != nil || c.inCluster || c.leaderElect || c.shutdownDelay != 0 {
		t.Errorf("with --kubeconfig: inCluster %v leaderElect %v shutdownDelay %v err %v; want leader election off, no delay",
			c.inCluster, c.leaderElect, c.shutdownDelay, err)
	}
	delay := 3 * time.Second
	c, err = Options{Kubeconfig: "/some/file", ShutdownDelay: &delay}.complete()
	if err != nil || c.shutdownDelay != delay {
		t.Errorf("explicit --shutdown-delay: %v %v", c.shutdownDelay, err)
	}
	zero := time.Duration(0)
	if c, err = (Options{ShutdownDelay: &zero}).complete(); err != nil || c.shutdownDelay != 0 {
		t.Errorf("explicit --shutdown-delay=0 in cluster: %v %v", c.shutdownDelay, err)
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
	if *c.defaultBackend != (translate.DefaultBackend{Namespace: "web", Service: "fallback", Port: networkingv1.ServiceBackendPort{Name: "http"}}) {
		t.Errorf("default backend = %+v", c.defaultBackend)
	}
	c, err = Options{DefaultBackendService: "web/fallback:8080", PublishService: "ingress/lb"}.complete()
	if err != nil || c.defaultBackend.Port != (networkingv1.ServiceBackendPort{Number: 8080}) || c.publishService.Name != "lb" {
		t.Errorf("numeric port / publish service: %+v %+v %v", c.defaultBackend, c.publishService, err)
	}
}

func TestAnnotationDialectOption(t *testing.T) {
	for in, want := range map[string]annotations.Dialect{"": annotations.DialectIngressLab,
		"ingresslab": annotations.DialectIngressLab, "nginx": annotations.DialectNginx,
		"nginx.ingress.kubernetes.io": annotations.DialectNginx} {
		c, err := Options{AnnotationDialect: in}.complete()
		if err != nil || c.dialect != want {
			t.Errorf("AnnotationDialect %q: dialect %q, err %v; want %q", in, c.dialect, err, want)
		}
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
		{Options{ShutdownDelay: ptrTo(-time.Second)}, "--shutdown-delay"},
		{Options{DefaultCertificate: "other/cert", WatchNamespace: "mine"}, "--watch-namespace"},
		{Options{BatchHoldOff: time.Second, BatchMaxDelay: time.Millisecond}, "--batch-max-delay"},
		{Options{LeaderElectionName: "Not Valid"}, "--leader-election-name"},
		{Options{HTTPSRedirectPort: 70000}, "--https-redirect-port"},
		{Options{AnnotationDialect: "traefik"}, "--annotation-dialect"},
		{Options{HostOwnership: "first-come"}, "--host-ownership"},
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

func ptrTo[T any](v T) *T { return &v }
