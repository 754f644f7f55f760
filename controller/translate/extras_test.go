package translate

import (
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestRegexRewriteCaptureGroups: a rewrite-target Ingress's path is matched
// as a regex by the table, and the matched route's Rewrite rewrites with its
// capture groups.
func TestRegexRewriteCaptureGroups(t *testing.T) {
	snap := snapshot(1)
	ing := snap.Ingresses[0]
	ing.Annotations = map[string]string{"ingresslab.dev/rewrite-target": "/$2"}
	ing.Spec.Rules[0].HTTP.Paths[1].Path = "/api(/|$)(.*)"
	ing.Spec.Rules[0].HTTP.Paths[1].PathType = ptr.To(networkingv1.PathTypeImplementationSpecific)
	res := Translate(snap, DefaultOptions())
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
	// Every path of the Ingress is a regex: "/static" has no group 2.
	for path, want := range map[string]string{"/api/users/7": "/users/7", "/API": "/", "/static/x": "/"} {
		r := res.Table.Match("app-0.example.com", path).Route
		if r == nil {
			t.Fatalf("no route for %s", path)
		}
		got, _ := r.Rewrite.Apply(path)
		if got != want {
			t.Errorf("%s: route %q rewrites to %q, want %q", path, r.Path, got, want)
		}
		if r.Regex == nil {
			t.Errorf("%s: route %q Regex %v", path, r.Path, r.Regex)
		}
	}
}

// TestUseRegexAloneHasNoPolicy: matching needs no data-plane policy.
func TestUseRegexAloneHasNoPolicy(t *testing.T) {
	snap := snapshot(1)
	snap.Ingresses[0].Annotations = map[string]string{"ingresslab.dev/use-regex": "true"}
	r := Translate(snap, DefaultOptions()).Table.Match("app-0.example.com", "/APIs").Route
	if r == nil || r.Path != "/api" || r.Regex == nil || r.Policy != nil {
		t.Fatalf("got %+v, want the regex route /api without Policy", r)
	}
}

// TestCustomHeadersFollowConfigMap: a changed ConfigMap changes the
// headers of the next table; an invalid one removes them (and the Policy).
func TestCustomHeadersFollowConfigMap(t *testing.T) {
	snap := snapshot(1)
	ing := snap.Ingresses[0]
	ing.Annotations = map[string]string{"ingresslab.dev/custom-headers": "hdrs"}
	cm := func(data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ing.Namespace, Name: "hdrs"}, Data: data}
	}
	for _, c := range []struct {
		data   map[string]string
		want   string // X-Lab value, "" for no headers
		reason string
	}{
		{map[string]string{"x-lab": "one"}, "one", ""},
		{map[string]string{"x-lab": "two", "X-Other": "3"}, "two", ""},
		{map[string]string{"x-lab": "evil\r\nSet-Cookie: a=b"}, "", ReasonInvalidConfigMap},
		{map[string]string{"x lab": "1"}, "", ReasonInvalidConfigMap},
		{map[string]string{"Content-Length": "1"}, "", ReasonInvalidConfigMap},
		{nil, "", ReasonConfigMapNotFound},
	} {
		snap.ConfigMaps = nil
		if c.data != nil {
			snap.ConfigMaps = []*corev1.ConfigMap{cm(c.data)}
		}
		res := Translate(snap, DefaultOptions())
		r := res.Table.Match("app-0.example.com", "/").Route
		if got := responseHeaders(r).Get("X-Lab"); got != c.want {
			t.Errorf("%v: X-Lab %q, want %q", c.data, got, c.want)
		}
		if c.want == "" && (responseHeaders(r) != nil || r.Policy != nil) {
			t.Errorf("%v: headers %v policy %+v, want none", c.data, responseHeaders(r), r.Policy)
		}
		var reasons []string
		for _, w := range res.Warnings {
			reasons = append(reasons, w.Reason)
			if w.Field != "metadata.annotations[ingresslab.dev/custom-headers]" {
				t.Errorf("%v: warning field %q", c.data, w.Field)
			}
		}
		if c.reason == "" && len(reasons) > 0 || c.reason != "" && (len(reasons) != 1 || reasons[0] != c.reason) {
			t.Errorf("%v: warnings %v, want %q", c.data, reasons, c.reason)
		}
	}
}

// TestDialectFollowsClassParameters: the ConfigMap's value switches the
// dialect of the class's Ingresses; removing it restores the default.
func TestDialectFollowsClassParameters(t *testing.T) {
	snap := snapshot(1)
	snap.Ingresses[0].Annotations = map[string]string{
		"nginx.ingress.kubernetes.io/app-root": "/nginx", "ingresslab.dev/app-root": "/lab"}
	snap.IngressClasses[0].Spec.Parameters = &networkingv1.IngressClassParametersReference{
		Kind: "ConfigMap", Name: "params", Scope: ptr.To("Namespace"), Namespace: ptr.To("system")}
	appRoot := func() string {
		r := Translate(snap, DefaultOptions()).Table.Match("app-0.example.com", "/").Route
		return r.Policy.RootRedirect
	}
	if got := appRoot(); got != "/lab" {
		t.Errorf("missing ConfigMap: app-root %q, want the default dialect's", got)
	}
	snap.ConfigMaps = []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "system", Name: "params"},
		Data: map[string]string{ParamAnnotationDialect: "nginx"}}}
	if got := appRoot(); got != "/nginx" {
		t.Errorf("annotationDialect nginx: app-root %q", got)
	}
	opts := DefaultOptions()
	opts.AnnotationDialect = annotations.DialectNginx
	snap.ConfigMaps[0].Data[ParamAnnotationDialect] = "ingresslab"
	if r := Translate(snap, opts).Table.Match("app-0.example.com", "/").Route; r.Policy.RootRedirect != "/lab" {
		t.Errorf("annotationDialect ingresslab over the nginx flag: app-root %q", r.Policy.RootRedirect)
	}
}

// responseHeaders is r.Policy.ResponseHeaders, nil without a Policy.
func responseHeaders(r *routing.Route) http.Header {
	if r.Policy == nil {
		return nil
	}
	return r.Policy.ResponseHeaders
}

// TestFromToWWWRedirectAddsCounterpartHost: the www counterpart of a rule
// host answers with a redirect to it, unless an Ingress has it as a rule
// host; the annotation leaves the rule host's own routes on the fast path.
func TestFromToWWWRedirectAddsCounterpartHost(t *testing.T) {
	snap := snapshot(2)
	snap.Ingresses[0].Annotations = map[string]string{"ingresslab.dev/from-to-www-redirect": "true"}
	snap.Ingresses[1].Annotations = map[string]string{"ingresslab.dev/from-to-www-redirect": "true"}
	snap.Ingresses[1].Spec.Rules[0].Host = "www.app-0.example.com"
	snap.Ingresses[0].Spec.Rules = append(snap.Ingresses[0].Spec.Rules, networkingv1.IngressRule{Host: "www.solo.example.com", IngressRuleValue: snap.Ingresses[0].Spec.Rules[0].IngressRuleValue})
	res := Translate(snap, DefaultOptions())
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
	if r := res.Table.Match("app-0.example.com", "/api").Route; r == nil || r.Policy != nil {
		t.Errorf("rule host route %+v, want one without Policy", r)
	}
	// www.app-0 is a rule host of the second Ingress: served, not redirected.
	if r := res.Table.Match("www.app-0.example.com", "/api").Route; r == nil || r.Policy != nil && r.Policy.HostRedirect != "" {
		t.Errorf("www.app-0 route %+v, want the second Ingress's own route", r)
	}
	if r := res.Table.Match("solo.example.com", "/any/path").Route; r == nil || r.Policy == nil || r.Policy.HostRedirect != "www.solo.example.com" {
		t.Errorf("solo.example.com route %+v, want a redirect to www.solo.example.com", r)
	}
}
