package suites

import (
	"fmt"
	"net/http"
	"net/url"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// Breadth for the routing annotations: the same features as
// annotations_routing.go, each with one shared namespace and its Ingresses
// applied once in BeforeAll, then many checks on them.

// locationQuery checks the query of a redirect's Location.
func locationQuery(want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		u, err := url.Parse(r.Header.Get("Location"))
		if err != nil || u.RawQuery != want {
			return fmt.Errorf("header Location %q, want query %q", r.Header.Get("Location"), want)
		}
		return nil
	}
}

var _ = describe("Annotations: rewrite (capture groups)", Label("annotations", AnnotationLabel("rewrite"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var one, two string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-rewrite2")
		s.Backend("echo", 1)
		one, two = s.Host("one"), s.Host("two")
		applyAnnotated(s, annotated{Name: "one", Host: one, Path: "/api(/|$)(.*)", PathType: "ImplementationSpecific", Service: "echo",
			Annotations: annotationsFor("rewrite", map[string]string{"use-regex": "true", "rewrite-target": "/$2"})})
		applyAnnotated(s, annotated{Name: "two", Host: two, Path: "/v([0-9]+)/(.*)", PathType: "ImplementationSpecific", Service: "echo",
			Annotations: annotationsFor("rewrite", map[string]string{"use-regex": "true", "rewrite-target": "/$2/version/$1"})})
	})

	It("keeps the query string through a rewrite", func() {
		see(s, framework.Request{Host: one, Path: "/api/users?id=7"}, framework.Expect{Backend: "echo", Path: "/users?id=7"})
		see(s, framework.Request{Host: one, Path: "/api?q=x"}, framework.Expect{Backend: "echo", Path: "/?q=x"})
	})
	It("rewrites the trailing-slash form to the root", func() {
		see(s, framework.Request{Host: one, Path: "/api/"}, framework.Expect{Backend: "echo", Path: "/"})
	})
	It("rewrites deep paths and other methods", func() {
		see(s, framework.Request{Host: one, Path: "/api/a/b/c"}, framework.Expect{Backend: "echo", Path: "/a/b/c"})
		see(s, framework.Request{Host: one, Path: "/api/items", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Backend: "echo", Path: "/items", Check: bodyLength(1)})
	})
	It("does not match a longer first segment (/apix)", func() {
		seeStatusIn(s, framework.Request{Host: one, Path: "/apix/users"}, 404)
	})
	It("reorders two capture groups ($2 before $1)", func() {
		see(s, framework.Request{Host: two, Path: "/v2/items"}, framework.Expect{Backend: "echo", Path: "/items/version/2"})
		see(s, framework.Request{Host: two, Path: "/v17/a/b"}, framework.Expect{Backend: "echo", Path: "/a/b/version/17"})
		seeStatusIn(s, framework.Request{Host: two, Path: "/vx/items"}, 404)
	})
})

var _ = describe("Annotations: app-root (more)", Label("annotations", AnnotationLabel("app-root"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-approot2")
		s.Backend("echo", 1)
		host = s.Host("app")
		applyAnnotated(s, annotated{Name: "app", Host: host, Service: "echo", Annotations: annotationsFor("app-root", map[string]string{"app-root": "/dashboard"})})
	})

	It("redirects / with 302 to the app root, with or without a query", func() {
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Status: 302, Check: redirectTo("/dashboard")})
		see(s, framework.Request{Host: host, Path: "/?tab=1"}, framework.Expect{Status: 302, Check: redirectTo("/dashboard")})
	})
	It("redirects other methods on / too", func() {
		see(s, framework.Request{Host: host, Path: "/", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: 302, Check: redirectTo("/dashboard")})
		see(s, framework.Request{Host: host, Path: "/", Method: http.MethodHead}, framework.Expect{Status: 302})
	})
	It("serves the app root and every other path unchanged", func() {
		see(s, framework.Request{Host: host, Path: "/dashboard"}, framework.Expect{Backend: "echo", Path: "/dashboard"})
		see(s, framework.Request{Host: host, Path: "/dashboard/x?y=1"}, framework.Expect{Backend: "echo", Path: "/dashboard/x?y=1"})
		see(s, framework.Request{Host: host, Path: "/other"}, framework.Expect{Backend: "echo", Path: "/other"})
	})
})

var _ = describe("Annotations: x-forwarded-prefix (more)", Label("annotations", AnnotationLabel("x-forwarded-prefix"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-xfp2")
		s.Backend("echo", 1)
		host = s.Host("xfp")
		ann := merge(annotationsFor("rewrite", map[string]string{"use-regex": "true", "rewrite-target": "/$2"}),
			annotationsFor("x-forwarded-prefix", map[string]string{"x-forwarded-prefix": "/store"}))
		applyAnnotated(s, annotated{Name: "xfp", Host: host, Path: "/store(/|$)(.*)", PathType: "ImplementationSpecific", Service: "echo", Annotations: ann})
	})

	It("sends the prefix with the rewritten root", func() {
		see(s, framework.Request{Host: host, Path: "/store"}, framework.Expect{Backend: "echo", Path: "/", Check: echoHeader("X-Forwarded-Prefix", "/store")})
	})
	It("sends the prefix with deep paths and queries", func() {
		see(s, framework.Request{Host: host, Path: "/store/a/b?c=d"}, framework.Expect{Backend: "echo", Path: "/a/b?c=d", Check: echoHeader("X-Forwarded-Prefix", "/store")})
	})
	It("replaces a prefix the client sent", func() {
		see(s, framework.Request{Host: host, Path: "/store/x", Headers: map[string]string{"X-Forwarded-Prefix": "/evil"}},
			framework.Expect{Backend: "echo", Path: "/x", Check: echoHeader("X-Forwarded-Prefix", "/store")})
	})
})

var _ = describe("Annotations: upstream-vhost (more)", Label("annotations", AnnotationLabel("upstream-vhost"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host, ported string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-vhost2")
		s.Backend("echo", 1)
		host, ported = s.Host("vhost"), s.Host("ported")
		applyAnnotated(s, annotated{Name: "vhost", Host: host, Service: "echo", Annotations: annotationsFor("upstream-vhost", map[string]string{"upstream-vhost": "api.internal.example"})})
		applyAnnotated(s, annotated{Name: "ported", Host: ported, Service: "echo", Annotations: annotationsFor("upstream-vhost", map[string]string{"upstream-vhost": "api.internal.example:8443"})})
	})

	It("sends the configured Host on every path and keeps the path", func() {
		see(s, framework.Request{Host: host, Path: "/a/b?c=1"}, framework.Expect{Backend: "echo", Path: "/a/b?c=1", Check: echoHost("api.internal.example")})
	})
	It("keeps the client's host in X-Forwarded-Host", func() {
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Backend: "echo", Check: echoHeader("X-Forwarded-Host", host)})
	})
	It("sends a host with a port as given", func() {
		see(s, framework.Request{Host: ported, Path: "/"}, framework.Expect{Backend: "echo", Check: echoHost("api.internal.example:8443")})
	})
	It("applies to POST requests with a body", func() {
		see(s, framework.Request{Host: host, Path: "/up", Method: http.MethodPost, Body: []byte("hello")},
			framework.Expect{Backend: "echo", Check: all(echoHost("api.internal.example"), bodyLength(5))})
	})
})

var _ = describe("Annotations: ssl-redirect (more)", Label("annotations", AnnotationLabel("ssl-redirect"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var tlsHost, both string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-ssl2")
		s.Backend("echo", 1)
		tlsHost, both = s.Host("secure"), s.Host("both")
		s.TLSSecret("secure-tls", tlsHost)
		// No annotation: a TLS host redirects plain HTTP by default.
		applyAnnotated(s, annotated{Name: "secure", Host: tlsHost, Service: "echo", TLSSecret: "secure-tls"})
		applyAnnotated(s, annotated{Name: "both", Host: both, Service: "echo",
			Annotations: annotationsFor("ssl-redirect", map[string]string{"ssl-redirect": "false", "force-ssl-redirect": "true"})})
	})

	It("redirects plain HTTP on a TLS host by default, keeping path and query", func() {
		s.EventuallyOutcome(framework.Request{Host: tlsHost, Path: "/a/b?x=1"}, statusOutcomes(all(httpsRedirect(tlsHost, "/a/b"), locationQuery("x=1")), 308, 301, 302, 307)...)
	})
	It("serves HTTPS on the TLS host", func() {
		see(s, framework.Request{Host: tlsHost, Path: "/a", HTTPS: true}, framework.Expect{Backend: "echo", Path: "/a", Check: echoHeader("X-Forwarded-Proto", "https")})
	})
	It("ignores a client's X-Forwarded-Proto: https on plain HTTP (still redirects)", func() {
		s.EventuallyOutcome(framework.Request{Host: tlsHost, Path: "/xfp", Headers: map[string]string{"X-Forwarded-Proto": "https"}},
			statusOutcomes(httpsRedirect(tlsHost, "/xfp"), 308, 301, 302, 307)...)
	})
	It("redirects POST as well", func() {
		s.EventuallyOutcome(framework.Request{Host: tlsHost, Path: "/form", Method: http.MethodPost, Body: []byte("a=1")},
			statusOutcomes(httpsRedirect(tlsHost, "/form"), 308, 301, 302, 307)...)
	})
	It("lets force-ssl-redirect win over ssl-redirect false", func() {
		s.EventuallyOutcome(framework.Request{Host: both, Path: "/p"}, statusOutcomes(httpsRedirect(both, "/p"), 308, 301, 302, 307)...)
	})
})

var _ = describe("Annotations: redirect (codes and precedence)", Label("annotations", AnnotationLabel("redirect"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var perm, temp307, both, uri string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-redirect2")
		s.Backend("echo", 1)
		perm, temp307, both, uri = s.Host("perm"), s.Host("temp307"), s.Host("both"), s.Host("uri")
		applyAnnotated(s, annotated{Name: "perm", Host: perm, Service: "echo", Annotations: annotationsFor("redirect", map[string]string{"permanent-redirect": "https://example.com/new-home"})})
		applyAnnotated(s, annotated{Name: "temp307", Host: temp307, Service: "echo", Annotations: annotationsFor("redirect", map[string]string{"temporal-redirect": "https://example.com/temp-307", "temporal-redirect-code": "307"})})
		applyAnnotated(s, annotated{Name: "both", Host: both, Service: "echo", Annotations: annotationsFor("redirect", map[string]string{"permanent-redirect": "https://example.com/permanent", "temporal-redirect": "https://example.com/temporal"})})
		applyAnnotated(s, annotated{Name: "uri", Host: uri, Service: "echo", Annotations: annotationsFor("redirect", map[string]string{"permanent-redirect": "https://example.com$request_uri"})})
	})

	It("redirects every path and method of the Ingress to the same URL", func() {
		see(s, framework.Request{Host: perm, Path: "/deep/path?x=1"}, framework.Expect{Status: 301, Check: redirectTo("https://example.com/new-home")})
		see(s, framework.Request{Host: perm, Path: "/", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: 301, Check: redirectTo("https://example.com/new-home")})
		see(s, framework.Request{Host: perm, Path: "/h", Method: http.MethodHead}, framework.Expect{Status: 301})
	})
	It("uses temporal-redirect-code 307", func() {
		see(s, framework.Request{Host: temp307, Path: "/"}, framework.Expect{Status: 307, Check: redirectTo("https://example.com/temp-307")})
	})
	It("lets temporal-redirect win over permanent-redirect", func() {
		see(s, framework.Request{Host: both, Path: "/"}, framework.Expect{Status: 302, Check: redirectTo("https://example.com/temporal")})
	})
	// ingress-nginx controller-v1.15.1 checks permanent-redirect against a
	// URL pattern without "$" and drops the whole Ingress (404); the
	// reference appends the request URI (a documented variant of its
	// nginx dialect). Two checks: the status and the Location, counted by
	// the two helpers.
	It("appends $request_uri (path and query) to the URL, or refuses the whole Ingress", func() {
		v, _ := s.EventuallyOutcome(framework.Request{Host: uri, Path: "/a/b?c=1"},
			framework.OutcomeOf("expanded", framework.Expect{Status: 301, Check: redirectTo("https://example.com/a/b?c=1")}),
			framework.OutcomeOf("Ingress refused", framework.Expect{Status: 404, Check: headerAbsent("Location")}))
		if v == "expanded" {
			see(s, framework.Request{Host: uri, Path: "/"}, framework.Expect{Status: 301, Check: redirectTo("https://example.com/")})
		} else {
			see(s, framework.Request{Host: uri, Path: "/"}, framework.Expect{Status: 404, Check: headerAbsent("Location")})
		}
	})
})

var _ = describe("Annotations: server-alias (more)", Label("annotations", AnnotationLabel("server-alias"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host, a1, a2 string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-alias2")
		s.Backend("echo", 1)
		host, a1, a2 = s.Host("main"), s.Host("first"), s.Host("second")
		applyAnnotated(s, annotated{Name: "main", Host: host, Path: "/app", Service: "echo", Annotations: annotationsFor("server-alias", map[string]string{"server-alias": a1 + "," + a2})})
	})

	It("serves every alias of a comma-separated list", func() {
		see(s, framework.Request{Host: a1, Path: "/app/1"}, framework.Expect{Backend: "echo", Path: "/app/1"})
		see(s, framework.Request{Host: a2, Path: "/app/2"}, framework.Expect{Backend: "echo", Path: "/app/2"})
	})
	It("sends the alias as the Host to the backend", func() {
		see(s, framework.Request{Host: a1, Path: "/app"}, framework.Expect{Backend: "echo", Check: echoHost(a1)})
	})
	It("serves only the Ingress's paths on an alias", func() {
		seeStatusIn(s, framework.Request{Host: a1, Path: "/elsewhere"}, 404)
		seeStatusIn(s, framework.Request{Host: host, Path: "/elsewhere"}, 404)
	})
})
