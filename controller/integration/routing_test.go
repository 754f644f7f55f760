package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
)

func TestIngressClassByField(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "by-field", className(mainClass), prefix("by-field.example", "/", "echo", "80"))
	mainTarget.expectHTTP(t, "by-field.example", "/hello", want{namespace: ns, service: "echo"})
	expectStatus(t, ns, "by-field", mainStatusIP)
}

func TestIngressClassLegacyAnnotation(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "by-annotation", classAnnotation(mainClass), prefix("by-annotation.example", "/", "echo", "80"))
	mainTarget.expectHTTP(t, "by-annotation.example", "/", want{namespace: ns, service: "echo"})
	expectStatus(t, ns, "by-annotation", mainStatusIP)
}

func TestDefaultIngressClass(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	// A class-less Ingress is not ours while none of our classes is the
	// default...
	createIngress(t, ns, "before-default", prefix("classless.example", "/before", "echo", "80"))
	createIngress(t, ns, "control", className(mainClass), prefix("classless.example", "/control", "echo", "80"))
	mainTarget.expectHTTP(t, "classless.example", "/control", want{namespace: ns, service: "echo"})
	mainTarget.expectHTTP(t, "classless.example", "/before", want{code: http.StatusNotFound})

	// ...and is once one is.
	ingressClass(t, "ingresslab-default", mainController, true)
	mainTarget.expectHTTP(t, "classless.example", "/before", want{namespace: ns, service: "echo"})
	ing := createIngress(t, ns, "after-default", prefix("classless.example", "/after", "echo", "80"))
	// The DefaultIngressClass admission plugin may have written the class.
	t.Logf("class-less Ingress created with spec.ingressClassName %v", ptrText(ing.Spec.IngressClassName))
	mainTarget.expectHTTP(t, "classless.example", "/after", want{namespace: ns, service: "echo"})
}

func ptrText(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestForeignClassIgnored(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ingressClass(t, "foreign", "example.com/other-controller", false)
	createIngress(t, ns, "foreign-field", className("foreign"), prefix("foreign.example", "/field", "echo", "80"))
	createIngress(t, ns, "foreign-annotation", classAnnotation("other"), prefix("foreign.example", "/annotation", "echo", "80"))
	// Created after the foreign ones: once it is served, the controller
	// has seen them (one informer delivers in order).
	createIngress(t, ns, "control", className(mainClass), prefix("foreign.example", "/control", "echo", "80"))
	mainTarget.expectHTTP(t, "foreign.example", "/control", want{namespace: ns, service: "echo"})
	expectStatus(t, ns, "control", mainStatusIP)

	mainTarget.expectHTTP(t, "foreign.example", "/field", want{code: http.StatusNotFound})
	mainTarget.expectHTTP(t, "foreign.example", "/annotation", want{code: http.StatusNotFound})
	for _, name := range []string{"foreign-field", "foreign-annotation"} {
		got, err := ingressStatus(ns, name)
		if err != nil || len(got) != 0 {
			t.Errorf("foreign ingress %s has status %v (err %v), want none", name, got, err)
		}
	}
}

func TestHosts(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "exact", 1)
	backend(t, ns, "wild", 1)
	backend(t, ns, "any", 1)
	createIngress(t, ns, "hosts", className(mainClass),
		prefix("exact.hosts.example", "/", "exact", "80"),
		prefix("*.hosts.example", "/", "wild", "80"),
		// A host-less rule applies to every host: a path of its own keeps
		// it out of other tests' way.
		prefix("", "/hosts-test", "any", "80"))

	exactSvc := want{namespace: ns, service: "exact"}
	mainTarget.expectHTTP(t, "exact.hosts.example", "/", exactSvc)
	mainTarget.expectHTTP(t, "EXACT.Hosts.Example:8080", "/", exactSvc) // case and port ignored
	mainTarget.expectHTTP(t, "exact.hosts.example", "/hosts-test", exactSvc)
	mainTarget.expectHTTP(t, "x.hosts.example", "/", want{namespace: ns, service: "wild"})
	// The wildcard covers exactly one label.
	mainTarget.expectHTTP(t, "y.x.hosts.example", "/hosts-test", want{namespace: ns, service: "any"})
	mainTarget.expectHTTP(t, "hosts.example", "/hosts-test", want{namespace: ns, service: "any"})
	mainTarget.expectHTTP(t, "unrelated.example", "/hosts-test", want{namespace: ns, service: "any"})
	mainTarget.expectHTTP(t, "y.x.hosts.example", "/", want{code: http.StatusNotFound})
}

func TestPathPrecedence(t *testing.T) {
	ns := newNamespace(t)
	for _, name := range []string{"exact", "prefix", "longer", "root"} {
		backend(t, ns, name, 1)
	}
	const host = "paths.example"
	createIngress(t, ns, "paths", className(mainClass),
		prefix(host, "/", "root", "80"),
		prefix(host, "/foo", "prefix", "80"),
		exact(host, "/foo", "exact", "80"),
		prefix(host, "/foo/bar/", "longer", "80"))

	for _, c := range []struct{ path, svc string }{
		{"/foo", "exact"},              // Exact wins the tie with Prefix
		{"/foo/", "prefix"},            // Exact does not match a trailing slash
		{"/foo/baz", "prefix"},         // element-wise prefix
		{"/foo/bar", "longer"},         // trailing '/' of the rule ignored
		{"/foo/bar/baz?q=1", "longer"}, // longest prefix wins
		{"/foobar", "root"},            // not an element-wise prefix of /foo
		{"/FOO", "root"},               // case-sensitive
	} {
		mainTarget.expectHTTP(t, host, c.path, want{namespace: ns, service: c.svc})
	}
}

func TestServicePortByNameAndNumber(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "multi", 1,
		cluster.ServicePort{Name: "http", Port: 80, TargetPort: 8080},
		cluster.ServicePort{Name: "alt", Port: 81, TargetPort: 9090})
	const host = "ports.example"
	createIngress(t, ns, "ports", className(mainClass),
		prefix(host, "/by-name", "multi", "alt"),
		prefix(host, "/by-number", "multi", "80"),
		prefix(host, "/alt-by-number", "multi", "81"))
	mainTarget.expectHTTP(t, host, "/by-name", want{namespace: ns, service: "multi", port: "9090"})
	mainTarget.expectHTTP(t, host, "/by-number", want{namespace: ns, service: "multi", port: "8080"})
	mainTarget.expectHTTP(t, host, "/alt-by-number", want{namespace: ns, service: "multi", port: "9090"})
}

func TestUnavailableBackends(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "empty", 0)
	backend(t, ns, "echo", 1)
	const host = "unavailable.example"
	createIngress(t, ns, "unavailable", className(mainClass),
		prefix(host, "/", "echo", "80"),
		prefix(host, "/missing", "no-such-service", "80"),
		prefix(host, "/empty", "empty", "80"))
	// 503, not a fall-through to the shorter "/" path.
	r := mainTarget.expectHTTP(t, host, "/missing", want{code: http.StatusServiceUnavailable})
	if !strings.Contains(r.body, "not found") {
		t.Errorf("503 body %q does not name the missing service", r.body)
	}
	mainTarget.expectHTTP(t, host, "/empty", want{code: http.StatusServiceUnavailable})
	mainTarget.expectHTTP(t, host, "/", want{namespace: ns, service: "echo"})
}

func TestScaleToZeroAndBack(t *testing.T) {
	ns := newNamespace(t)
	b := backend(t, ns, "echo", 1)
	const host = "scale.example"
	createIngress(t, ns, "scale", className(mainClass), prefix(host, "/", "echo", "80"))
	mainTarget.expectHTTP(t, host, "/", want{namespace: ns, service: "echo", pod: "echo-0"})

	ctx := context.Background()
	if err := cl.ScaleBackend(ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	mainTarget.expectHTTP(t, host, "/", want{code: http.StatusServiceUnavailable})

	if err := cl.ScaleBackend(ctx, b, 2); err != nil {
		t.Fatal(err)
	}
	// Both endpoints get traffic (round robin).
	eventually(t, "responses from echo-0 and echo-1", func() error {
		seen := map[string]bool{}
		for range 4 {
			r, err := mainTarget.get(host, "/")
			if err != nil {
				return err
			}
			if err := (want{namespace: ns, service: "echo"}).check(r); err != nil {
				return err
			}
			seen[r.echo.Pod] = true
		}
		if !seen["echo-0"] || !seen["echo-1"] {
			return fmt.Errorf("4 requests reached only %v", seen)
		}
		return nil
	})
}

func TestUnreadyEndpointExcluded(t *testing.T) {
	ns := newNamespace(t)
	b := backend(t, ns, "echo", 2)
	const host = "unready.example"
	createIngress(t, ns, "unready", className(mainClass), prefix(host, "/", "echo", "80"))
	mainTarget.expectHTTP(t, host, "/", want{namespace: ns, service: "echo"})

	ctx := context.Background()
	if err := cl.SetEndpointConditions(ctx, b, 1, cluster.EndpointConditions{}); err != nil {
		t.Fatal(err)
	}
	// Round robin over two endpoints would alternate; only echo-0 answers.
	mainTarget.expectHTTP(t, host, "/", want{namespace: ns, service: "echo", pod: "echo-0"})
	for range 6 {
		r, err := mainTarget.get(host, "/")
		if err != nil {
			t.Fatal(err)
		}
		if err := (want{namespace: ns, service: "echo", pod: "echo-0"}).check(r); err != nil {
			t.Fatalf("unready endpoint got traffic: %v", err)
		}
	}

	// With no ready endpoint left, serving-but-terminating ones are used.
	if err := cl.SetEndpointConditions(ctx, b, 0, cluster.EndpointConditions{Serving: true, Terminating: true}); err != nil {
		t.Fatal(err)
	}
	mainTarget.expectHTTP(t, host, "/", want{namespace: ns, service: "echo", pod: "echo-0"})
	if err := cl.SetEndpointConditions(ctx, b, 0, cluster.EndpointConditions{Terminating: true}); err != nil {
		t.Fatal(err)
	}
	mainTarget.expectHTTP(t, host, "/", want{code: http.StatusServiceUnavailable})
}

func TestIngressDefaultBackend(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "fallback", 1)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "with-default", className(mainClass),
		defaultBackend("fallback", "http"),
		prefix("default-backend.example", "/app", "echo", "80"))
	mainTarget.expectHTTP(t, "default-backend.example", "/app", want{namespace: ns, service: "echo"})
	// Unmatched paths of its host, and requests for hosts no rule names.
	mainTarget.expectHTTP(t, "default-backend.example", "/other", want{namespace: ns, service: "fallback"})
	mainTarget.expectHTTP(t, "nobody.example", "/", want{namespace: ns, service: "fallback"})

	// Deleting it restores the controller's own 404.
	if err := kube.NetworkingV1().Ingresses(ns).Delete(context.Background(), "with-default", deleteNow); err != nil {
		t.Fatal(err)
	}
	mainTarget.expectHTTP(t, "nobody.example", "/", want{code: http.StatusNotFound})
}

var deleteNow = metav1.DeleteOptions{}
