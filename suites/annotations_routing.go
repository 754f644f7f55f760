package suites

import (
	"fmt"
	"net/url"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// Annotation specs about where a request goes and what the backend sees:
// rewrites, redirects, host aliases.

var _ = describe("Annotations: rewrite", Label("annotations", AnnotationLabel("rewrite"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-rewrite")
		s.Backend("echo", 1)
	})

	It("rewrites a regex path with capture groups (rewrite-target /$2, use-regex)", func() {
		ann := annotationsFor("rewrite", map[string]string{"use-regex": "true", "rewrite-target": "/$2"})
		host := s.Host("regex")
		applyAnnotated(s, annotated{Name: "regex", Host: host, Path: "/api(/|$)(.*)", PathType: "ImplementationSpecific", Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/api/users/7"}, framework.Expect{Backend: "echo", Path: "/users/7"})
		see(s, framework.Request{Host: host, Path: "/api"}, framework.Expect{Backend: "echo", Path: "/"})
	})

	It("matches use-regex paths as regular expressions", func() {
		ann := annotationsFor("rewrite", map[string]string{"use-regex": "true"})
		host := s.Host("regexonly")
		applyAnnotated(s, annotated{Name: "regexonly", Host: host, Path: "/v[0-9]+/items", PathType: "ImplementationSpecific", Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/v2/items"}, framework.Expect{Backend: "echo", Path: "/v2/items"})
		see(s, framework.Request{Host: host, Path: "/v17/items/x"}, framework.Expect{Backend: "echo", Path: "/v17/items/x"})
		seeStatusIn(s, framework.Request{Host: host, Path: "/vx/items"}, 404)
	})
})

var _ = describe("Annotations: app-root", Label("annotations", AnnotationLabel("app-root"), "extended"), func() {
	It("redirects / to the application root and serves other paths", func() {
		s := framework.NewSpec(env, "ann-approot")
		s.Backend("echo", 1)
		host := s.Host("app")
		applyAnnotated(s, annotated{Name: "app", Host: host, Service: "echo", Annotations: annotationsFor("app-root", map[string]string{"app-root": "/app1"})})
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Status: 302, Check: redirectTo("/app1")})
		see(s, framework.Request{Host: host, Path: "/app1"}, framework.Expect{Backend: "echo", Path: "/app1"})
	})
})

var _ = describe("Annotations: x-forwarded-prefix", Label("annotations", AnnotationLabel("x-forwarded-prefix"), "extended"), func() {
	// As documented by ingress-nginx, together with a rewrite that strips
	// the prefix (ingress-nginx only sends the header with rewrite-target).
	It("sends X-Forwarded-Prefix to the backend of a rewritten path", func() {
		s := framework.NewSpec(env, "ann-xfp")
		s.Backend("echo", 1)
		host := s.Host("xfp")
		ann := merge(annotationsFor("rewrite", map[string]string{"use-regex": "true", "rewrite-target": "/$2"}),
			annotationsFor("x-forwarded-prefix", map[string]string{"x-forwarded-prefix": "/shop"}))
		applyAnnotated(s, annotated{Name: "xfp", Host: host, Path: "/shop(/|$)(.*)", PathType: "ImplementationSpecific", Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/shop/cart"}, framework.Expect{Backend: "echo", Path: "/cart", Check: echoHeader("X-Forwarded-Prefix", "/shop")})
	})
})

var _ = describe("Annotations: upstream-vhost", Label("annotations", AnnotationLabel("upstream-vhost"), "extended"), func() {
	It("sends the configured Host to the backend", func() {
		s := framework.NewSpec(env, "ann-vhost")
		s.Backend("echo", 1)
		host := s.Host("vhost")
		applyAnnotated(s, annotated{Name: "vhost", Host: host, Service: "echo", Annotations: annotationsFor("upstream-vhost", map[string]string{"upstream-vhost": "internal.example"})})
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Backend: "echo", Check: echoHost("internal.example")})
	})
})

// httpsRedirect accepts a redirect to the same host and path over https
// (on any port: a controller listening on a high port may name it).
func httpsRedirect(host, path string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		loc := r.Header.Get("Location")
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "https" || u.Hostname() != host || u.Path != path {
			return fmt.Errorf("header Location %q, want https://%s%s (any port)", loc, host, path)
		}
		return nil
	}
}

var _ = describe("Annotations: ssl-redirect", Label("annotations", AnnotationLabel("ssl-redirect"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-ssl")
		s.Backend("echo", 1)
	})

	It("serves plain HTTP on a TLS host with ssl-redirect false", func() {
		ann := annotationsFor("ssl-redirect", map[string]string{"ssl-redirect": "false"})
		host := s.Host("noredirect")
		s.TLSSecret("noredirect-tls", host)
		applyAnnotated(s, annotated{Name: "noredirect", Host: host, Service: "echo", TLSSecret: "noredirect-tls", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/x", HTTPS: true}, framework.Expect{Backend: "echo"})
		see(s, framework.Request{Host: host, Path: "/x"}, framework.Expect{Backend: "echo", Path: "/x"})
	})

	It("redirects plain HTTP to HTTPS with force-ssl-redirect, even without TLS in the Ingress", func() {
		ann := annotationsFor("ssl-redirect", map[string]string{"force-ssl-redirect": "true"})
		host := s.Host("force")
		applyAnnotated(s, annotated{Name: "force", Host: host, Service: "echo", Annotations: ann})
		s.EventuallyOutcome(framework.Request{Host: host, Path: "/secure?q=1"}, statusOutcomes(httpsRedirect(host, "/secure"), 308, 301, 302, 307)...)
	})
})

var _ = describe("Annotations: redirect", Label("annotations", AnnotationLabel("redirect"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-redirect")
		s.Backend("echo", 1)
	})

	It("answers permanent-redirect with 301 and the URL", func() {
		host := s.Host("perm")
		applyAnnotated(s, annotated{Name: "perm", Host: host, Service: "echo", Annotations: annotationsFor("redirect", map[string]string{"permanent-redirect": "https://www.example.org/new"})})
		see(s, framework.Request{Host: host, Path: "/old"}, framework.Expect{Status: 301, Check: redirectTo("https://www.example.org/new")})
	})

	It("uses permanent-redirect-code", func() {
		host := s.Host("permcode")
		ann := annotationsFor("redirect", map[string]string{"permanent-redirect": "https://www.example.org/moved", "permanent-redirect-code": "308"})
		applyAnnotated(s, annotated{Name: "permcode", Host: host, Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Status: 308, Check: redirectTo("https://www.example.org/moved")})
	})

	It("answers temporal-redirect with 302 and the URL", func() {
		host := s.Host("temp")
		applyAnnotated(s, annotated{Name: "temp", Host: host, Service: "echo", Annotations: annotationsFor("redirect", map[string]string{"temporal-redirect": "https://www.example.org/maintenance"})})
		see(s, framework.Request{Host: host, Path: "/any"}, framework.Expect{Status: 302, Check: redirectTo("https://www.example.org/maintenance")})
	})
})

var _ = describe("Annotations: server-alias", Label("annotations", AnnotationLabel("server-alias"), "extended"), func() {
	It("serves the Ingress's rules on an alias host name", func() {
		s := framework.NewSpec(env, "ann-alias")
		s.Backend("echo", 1)
		host, alias := s.Host("main"), s.Host("alias")
		applyAnnotated(s, annotated{Name: "main", Host: host, Path: "/app", Service: "echo", Annotations: annotationsFor("server-alias", map[string]string{"server-alias": alias})})
		see(s, framework.Request{Host: alias, Path: "/app/x"}, framework.Expect{Backend: "echo", Path: "/app/x"})
		see(s, framework.Request{Host: host, Path: "/app/x"}, framework.Expect{Backend: "echo", Path: "/app/x"})
	})
})
