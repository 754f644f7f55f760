package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// Annotations that change routing (regex paths, server-alias,
// default-backend), custom-headers from a ConfigMap, and the annotation
// dialect chosen by IngressClass parameters, over real HTTP against the main
// controller.

// echoFrom checks that the echo backend ns/svc answered with status code
// (0: 200) and, when upstreamPath is set, that it saw that request URI.
func echoFrom(ns, svc string, code int, upstreamPath string) func(reply) error {
	if code == 0 {
		code = http.StatusOK
	}
	return func(r reply) error {
		if r.code != code || r.echo == nil || r.echo.Namespace != ns || r.echo.Service != svc {
			return fmt.Errorf("got %s, want %d from %s/%s", r, code, ns, svc)
		}
		if upstreamPath != "" && r.echo.Path != upstreamPath {
			return fmt.Errorf("upstream %s/%s saw %q, want %q", ns, svc, r.echo.Path, upstreamPath)
		}
		return nil
	}
}

func TestRegexPathsWithCaptureGroups(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "api", 1)
	backend(t, ns, "web", 1)
	createIngress(t, ns, "web", className(mainClass), prefix("regex.example", "/", "web", "80"),
		prefix("regex.example", "/api/v1/administration/settings", "web", "80"))
	createIngress(t, ns, "api", className(mainClass),
		path("regex.example", networkingv1.PathTypeImplementationSpecific, "/api/v[0-9]+(/|$)(.*)", "api", "80"),
		exact("regex.example", "/api/v1/exact", "api", "80"),
		annotate(lab("rewrite-target"), "/$2"))

	for _, method := range []string{http.MethodGet, http.MethodPost} { // fast path and ReverseProxy
		body := ""
		if method == http.MethodPost {
			body = "x"
		}
		mainTarget.expectReply(t, method, "regex.example", "/api/v2/users/7?x=1", nil, body, echoFrom(ns, "api", 0, "/users/7?x=1"))
	}
	// Case-insensitive, anchored at the start.
	mainTarget.expectReply(t, http.MethodGet, "regex.example", "/API/V3", nil, "", echoFrom(ns, "api", 0, "/"))
	mainTarget.expectReply(t, http.MethodGet, "regex.example", "/x/api/v3/y", nil, "", echoFrom(ns, "web", 0, "/x/api/v3/y"))
	// A longer Prefix path of the other Ingress comes first (longest path
	// as written first); Exact comes first.
	mainTarget.expectReply(t, http.MethodGet, "regex.example", "/api/v1/administration/settings/x", nil, "",
		echoFrom(ns, "web", 0, "/api/v1/administration/settings/x"))
	mainTarget.expectReply(t, http.MethodGet, "regex.example", "/api/v1/administration/x", nil, "", echoFrom(ns, "api", 0, "/administration/x"))
	mainTarget.expectReply(t, http.MethodGet, "regex.example", "/api/v1/exact", nil, "", echoFrom(ns, "api", 0, "/"))
	mainTarget.expectReply(t, http.MethodGet, "regex.example", "/api/vx", nil, "", echoFrom(ns, "web", 0, "/api/vx"))

	// The controller no longer says regex matching is not implemented.
	evs, err := events(ns, "Ingress", "api", translate.ReasonAnnotationNotApplied)
	if err != nil || len(evs) != 0 {
		t.Errorf("AnnotationNotApplied events on the regex Ingress: %v %v", evs, err)
	}
}

func TestServerAlias(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "main", 1)
	backend(t, ns, "other", 1)
	createIngress(t, ns, "other", className(mainClass), prefix("taken.example", "/", "other", "80"))
	createIngress(t, ns, "aliased", className(mainClass), prefix("real.example", "/app", "main", "80"),
		annotate(lab("server-alias"), "alias.example, taken.example"))
	for _, host := range []string{"real.example", "alias.example", "ALIAS.example:80"} {
		mainTarget.expectReply(t, http.MethodGet, host, "/app/x", nil, "", echoFrom(ns, "main", 0, "/app/x"))
	}
	// The real host wins over the alias.
	mainTarget.expectReply(t, http.MethodGet, "taken.example", "/app/x", nil, "", echoFrom(ns, "other", 0, ""))
	expectEvent(t, ns, "Ingress", "aliased", translate.ReasonServerAliasConflict, "taken.example")

	// Removing the alias removes its routes.
	updateIngress(t, ns, "aliased", func(ing *networkingv1.Ingress) { delete(ing.Annotations, lab("server-alias")) })
	mainTarget.expectHTTP(t, "alias.example", "/app/x", want{code: http.StatusNotFound})
}

func TestDefaultBackendAnnotation(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "app", 1)
	backend(t, ns, "errors", 1)
	// A Service without endpoints.
	empty := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "empty"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if _, err := kube.CoreV1().Services(ns).Create(context.Background(), empty, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service %s/empty: %v", ns, err)
	}
	createIngress(t, ns, "fallback", className(mainClass),
		prefix("fallback.example", "/", "empty", "80"), prefix("fallback.example", "/app", "app", "80"),
		annotate(lab("default-backend"), "errors", lab("custom-http-errors"), "418"))

	// The path without endpoints is served by the default-backend Service.
	mainTarget.expectReply(t, http.MethodGet, "fallback.example", "/page", nil, "", echoFrom(ns, "errors", 0, "/page"))
	// A listed upstream status is answered by it, with the original status.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		body := ""
		if method == http.MethodPost {
			body = "x"
		}
		mainTarget.expectReply(t, method, "fallback.example", "/app?status=418", http.Header{"Accept": {"application/json"}}, body, func(r reply) error {
			if err := echoFrom(ns, "errors", http.StatusTeapot, "/")(r); err != nil {
				return err
			}
			h := r.echo.Headers
			if first(h["X-Code"]) != "418" || first(h["X-Original-Uri"]) != "/app?status=418" || first(h["X-Namespace"]) != ns ||
				first(h["X-Ingress-Name"]) != "fallback" || first(h["X-Service-Name"]) != "app" || first(h["X-Format"]) != "application/json" {
				return fmt.Errorf("error backend saw headers %v", h)
			}
			return nil
		})
	}
	// Other statuses pass through.
	mainTarget.expectReply(t, http.MethodGet, "fallback.example", "/app?status=404", nil, "", echoFrom(ns, "app", http.StatusNotFound, ""))

	// A missing default-backend Service is reported; the path answers 503.
	createIngress(t, ns, "missing", className(mainClass), prefix("missing.example", "/", "empty", "80"),
		annotate(lab("default-backend"), "nosuch"))
	mainTarget.expectHTTP(t, "missing.example", "/", want{code: http.StatusServiceUnavailable})
	expectEvent(t, ns, "Ingress", "missing", translate.ReasonDefaultBackendNotFound, "nosuch")
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestCustomHeadersConfigMap(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	cms := kube.CoreV1().ConfigMaps(ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "headers"},
		Data: map[string]string{"X-Frame-Options": "DENY", "x-lab": "one"}}
	if _, err := cms.Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ConfigMap %s/headers: %v", ns, err)
	}
	createIngress(t, ns, "headers", className(mainClass), prefix("headers.example", "/", "echo", "80"),
		annotate(lab("custom-headers"), "headers"))
	hasHeaders := func(lab, frame string) func(reply) error {
		return func(r reply) error {
			if r.echo == nil || r.header.Get("X-Lab") != lab || strings.Join(r.header.Values("X-Frame-Options"), ",") != frame {
				return fmt.Errorf("got %s with X-Lab %q X-Frame-Options %q, want %q %q", r, r.header.Get("X-Lab"),
					r.header.Values("X-Frame-Options"), lab, frame)
			}
			return nil
		}
	}
	mainTarget.expectReply(t, http.MethodGet, "headers.example", "/", nil, "", hasHeaders("one", "DENY"))
	mainTarget.expectReply(t, http.MethodPost, "headers.example", "/", nil, "body", hasHeaders("one", "DENY"))

	// A change of the ConfigMap reaches the data plane.
	update := func(data map[string]string) {
		t.Helper()
		cur, err := cms.Get(context.Background(), "headers", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get ConfigMap %s/headers: %v", ns, err)
		}
		cur.Data = data
		if _, err := cms.Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update ConfigMap %s/headers: %v", ns, err)
		}
	}
	update(map[string]string{"X-Frame-Options": "SAMEORIGIN", "x-lab": "two"})
	mainTarget.expectReply(t, http.MethodGet, "headers.example", "/", nil, "", hasHeaders("two", "SAMEORIGIN"))

	// One invalid entry: the whole ConfigMap is ignored, with an Event.
	update(map[string]string{"x-lab": "three", "X-Evil": "a\r\nSet-Cookie: session=stolen"})
	mainTarget.expectReply(t, http.MethodGet, "headers.example", "/", nil, "", hasHeaders("", ""))
	expectEvent(t, ns, "Ingress", "headers", translate.ReasonInvalidConfigMap, "X-Evil")
}

func TestIngressClassDialectParameters(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	params := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "class-params"},
		Data: map[string]string{translate.ParamAnnotationDialect: "nginx"}}
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(context.Background(), params, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ConfigMap %s/class-params: %v", ns, err)
	}
	classWithParams := func(name string, p *networkingv1.IngressClassParametersReference) {
		t.Helper()
		c := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: networkingv1.IngressClassSpec{Controller: mainController, Parameters: p}}
		if _, err := kube.NetworkingV1().IngressClasses().Create(context.Background(), c, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create IngressClass %s: %v", name, err)
		}
		t.Cleanup(func() {
			if err := kube.NetworkingV1().IngressClasses().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
				t.Errorf("delete IngressClass %s: %v", name, err)
			}
		})
	}
	scope := networkingv1.IngressClassParametersReferenceScopeNamespace
	classWithParams("lab-nginx-params", &networkingv1.IngressClassParametersReference{
		Kind: "ConfigMap", Name: "class-params", Scope: &scope, Namespace: &ns})
	classWithParams("lab-bad-params", &networkingv1.IngressClassParametersReference{
		Kind: "ConfigMap", Name: "nosuch", Scope: &scope, Namespace: &ns})
	both := annotate("nginx.ingress.kubernetes.io/rewrite-target", "/nginx", lab("rewrite-target"), "/lab")
	createIngress(t, ns, "nginx", className("lab-nginx-params"), prefix("nginx-params.example", "/old", "echo", "80"), both)
	createIngress(t, ns, "bad", className("lab-bad-params"), prefix("bad-params.example", "/old", "echo", "80"), both)
	mainTarget.expectReply(t, http.MethodGet, "nginx-params.example", "/old/x", nil, "", echoFrom(ns, "echo", 0, "/nginx"))
	mainTarget.expectReply(t, http.MethodGet, "bad-params.example", "/old/x", nil, "", echoFrom(ns, "echo", 0, "/lab"))
	// Events about the cluster-scoped IngressClass are in "default".
	expectEvent(t, metav1.NamespaceDefault, "IngressClass", "lab-bad-params", translate.ReasonConfigMapNotFound, "nosuch")

	// Changing the parameters' ConfigMap switches the dialect.
	params.Data[translate.ParamAnnotationDialect] = "ingresslab"
	if _, err := kube.CoreV1().ConfigMaps(ns).Update(context.Background(), params, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update ConfigMap %s/class-params: %v", ns, err)
	}
	mainTarget.expectReply(t, http.MethodGet, "nginx-params.example", "/old/x", nil, "", echoFrom(ns, "echo", 0, "/lab"))
}
