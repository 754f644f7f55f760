package suites

import (
	"bytes"
	"crypto/md5" //nolint:gosec // digest auth
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Specs of the annotation features beyond the first 23: www redirects,
// response rewrites, load balancing, buffering, the upstream HTTP version,
// service-upstream, TLS passthrough, client certificates, digest auth, and
// what annotations a controller does not implement do to the rest of the
// Ingress.

// locationIs checks a redirect's Location host (without port), path and
// query: three checks.
func locationIs(host, path, query string) func(framework.Response) error {
	countChecks(3)
	return func(r framework.Response) error {
		loc := r.Header.Get("Location")
		u, err := url.Parse(loc)
		if err != nil || u.Hostname() != host || u.Path != path || u.RawQuery != query {
			return fmt.Errorf("header Location %q, want host %s, path %q, query %q", loc, host, path, query)
		}
		return nil
	}
}

var _ = describe("Annotations: from-to-www-redirect", Label("annotations", AnnotationLabel("from-to-www-redirect"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var apex, wwwHost string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-www")
		s.Backend("echo", 1)
		apex, wwwHost = s.Host("shop"), "www."+s.Host("blog")
		ann := annotationsFor("from-to-www-redirect", map[string]string{"from-to-www-redirect": "true"})
		applyAnnotated(s, annotated{Name: "apex", Host: apex, Service: "echo", Annotations: ann})
		applyAnnotated(s, annotated{Name: "www", Host: wwwHost, Service: "echo", Annotations: ann})
	})

	It("serves the Ingress's own host", func() {
		see(s, framework.Request{Host: apex, Path: "/p"}, framework.Expect{Backend: "echo", Path: "/p"})
		see(s, framework.Request{Host: wwwHost, Path: "/p"}, framework.Expect{Backend: "echo", Path: "/p"})
	})
	It("redirects www.<host> to <host> with 308, keeping path and query", func() {
		see(s, framework.Request{Host: "www." + apex, Path: "/some/path?x=1"}, framework.Expect{Status: 308, Check: locationIs(apex, "/some/path", "x=1")})
	})
	It("redirects <host> to www.<host> for an Ingress of the www host", func() {
		see(s, framework.Request{Host: strings.TrimPrefix(wwwHost, "www."), Path: "/a"}, framework.Expect{Status: 308, Check: locationIs(wwwHost, "/a", "")})
	})
	It("drops a trailing slash from the redirected URI", func() {
		see(s, framework.Request{Host: "www." + apex, Path: "/dir/"}, framework.Expect{Status: 308, Check: locationIs(apex, "/dir", "")})
	})
	It("redirects POST too", func() {
		see(s, framework.Request{Host: "www." + apex, Path: "/form", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: 308, Check: locationIs(apex, "/form", "")})
	})
})

// setHeader asks the echo backend to answer with header name: value.
func setHeader(name, value string) map[string]string {
	return map[string]string{"X-Echo-Set-Header": name + ":" + value}
}

var _ = describe("Annotations: proxy-redirect", Label("annotations", AnnotationLabel("proxy-redirect"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-proxyredir")
		s.Backend("echo", 1)
		host = s.Host("app")
		applyAnnotated(s, annotated{Name: "app", Host: host, Service: "echo", Annotations: annotationsFor("proxy-redirect",
			map[string]string{"proxy-redirect-from": "http://internal.example/", "proxy-redirect-to": "https://public.example/"})})
	})

	It("rewrites the prefix of an upstream redirect's Location", func() {
		see(s, framework.Request{Host: host, Path: "/login?status=302", Headers: setHeader("Location", "http://internal.example/login?next=1")},
			framework.Expect{Status: 302, Check: redirectTo("https://public.example/login?next=1")})
		see(s, framework.Request{Host: host, Path: "/r?status=301", Headers: setHeader("Location", "http://internal.example/")},
			framework.Expect{Status: 301, Check: redirectTo("https://public.example/")})
	})
	It("leaves other Locations alone", func() {
		see(s, framework.Request{Host: host, Path: "/x?status=302", Headers: setHeader("Location", "http://elsewhere.example/a")},
			framework.Expect{Status: 302, Check: redirectTo("http://elsewhere.example/a")})
	})
	It("serves ordinary responses unchanged", func() {
		see(s, framework.Request{Host: host, Path: "/plain"}, framework.Expect{Backend: "echo", Path: "/plain", Check: headerAbsent("Location")})
	})
})

// setCookieAttr checks an attribute of cookie name in Set-Cookie.
func setCookieAttr(name, attr, want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		for _, c := range r.Header.Values("Set-Cookie") {
			if !strings.HasPrefix(c, name+"=") {
				continue
			}
			for _, part := range strings.Split(c, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
				if strings.EqualFold(k, attr) {
					if v != want {
						return fmt.Errorf("cookie %s: %s=%q, want %q (%s)", name, attr, v, want, c)
					}
					return nil
				}
			}
			return fmt.Errorf("cookie %s has no %s attribute (%s)", name, attr, c)
		}
		return fmt.Errorf("no Set-Cookie %s in %v", name, r.Header.Values("Set-Cookie"))
	}
}

var _ = describe("Annotations: cookie-rewrite", Label("annotations", AnnotationLabel("cookie-rewrite"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-cookie")
		s.Backend("echo", 1)
		host = s.Host("app")
		applyAnnotated(s, annotated{Name: "app", Host: host, Service: "echo", Annotations: annotationsFor("cookie-rewrite",
			map[string]string{"proxy-cookie-path": "/ /app/", "proxy-cookie-domain": "internal.example public.example"})})
	})

	It("rewrites the Path and Domain of upstream cookies", func() {
		see(s, framework.Request{Host: host, Headers: setHeader("Set-Cookie", "sid=1; Path=/; Domain=internal.example")},
			framework.Expect{Backend: "echo", Check: all(setCookieAttr("sid", "Path", "/app/"), setCookieAttr("sid", "Domain", "public.example"))})
	})
	It("rewrites a deeper path by its prefix", func() {
		see(s, framework.Request{Host: host, Headers: setHeader("Set-Cookie", "pref=2; Path=/settings")},
			framework.Expect{Backend: "echo", Check: setCookieAttr("pref", "Path", "/app/settings")})
	})
	It("leaves another domain alone", func() {
		see(s, framework.Request{Host: host, Headers: setHeader("Set-Cookie", "other=3; Domain=other.example")},
			framework.Expect{Backend: "echo", Check: setCookieAttr("other", "Domain", "other.example")})
	})
})

// podsOf sends n requests and returns the pods that answered them.
func podsOf(s *framework.Spec, req framework.Request, n int) (map[string]int, error) {
	pods := map[string]int{}
	for range n {
		r := s.Do(req)
		if r.Echo == nil {
			return pods, fmt.Errorf("not answered by a backend: %s", r)
		}
		pods[r.Echo.Pod]++
	}
	return pods, nil
}

var _ = describe("Annotations: load-balance", Label("annotations", AnnotationLabel("load-balance"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var rr, ewma string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-lb")
		s.Backend("rr", 3)
		s.Backend("ewma", 3)
		rr, ewma = s.Host("rr"), s.Host("ewma")
		applyAnnotated(s, annotated{Name: "rr", Host: rr, Service: "rr", Annotations: annotationsFor("load-balance", map[string]string{"load-balance": "round_robin"})})
		applyAnnotated(s, annotated{Name: "ewma", Host: ewma, Service: "ewma", Annotations: annotationsFor("load-balance", map[string]string{"load-balance": "ewma"})})
	})

	It("spreads requests over every endpoint with round_robin", func() {
		see(s, framework.Request{Host: rr}, framework.Expect{Backend: "rr"})
		countChecks(1)
		s.Poll("12 requests reach all 3 endpoints", env.Timeouts.MaxTimeToConsistency, func() error {
			pods, err := podsOf(s, framework.Request{Host: rr}, 12)
			if err == nil && len(pods) != 3 {
				err = fmt.Errorf("12 requests reached %v, want all 3 endpoints", pods)
			}
			return err
		})
	})
	It("serves every request with ewma, over more than one endpoint", func() {
		see(s, framework.Request{Host: ewma}, framework.Expect{Backend: "ewma"})
		countChecks(1)
		s.Poll("20 requests served by more than one endpoint", env.Timeouts.MaxTimeToConsistency, func() error {
			pods, err := podsOf(s, framework.Request{Host: ewma}, 20)
			if err == nil && len(pods) < 2 {
				err = fmt.Errorf("20 requests all reached %v", pods)
			}
			return err
		})
	})
})

var _ = describe("Annotations: upstream-hash-by", Label("annotations", AnnotationLabel("upstream-hash-by"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var byURI, byHeader string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-hash")
		s.Backend("uri", 4)
		s.Backend("hdr", 4)
		byURI, byHeader = s.Host("uri"), s.Host("hdr")
		applyAnnotated(s, annotated{Name: "uri", Host: byURI, Service: "uri", Annotations: annotationsFor("upstream-hash-by", map[string]string{"upstream-hash-by": "$request_uri"})})
		applyAnnotated(s, annotated{Name: "hdr", Host: byHeader, Service: "hdr", Annotations: annotationsFor("upstream-hash-by", map[string]string{"upstream-hash-by": "$http_x_user"})})
	})
	// sticky checks n requests reach one endpoint: one check.
	sticky := func(req framework.Request, n int) {
		GinkgoHelper()
		countChecks(1)
		s.Poll(fmt.Sprintf("%d requests for %s reach one endpoint", n, req), env.Timeouts.MaxTimeToConsistency, func() error {
			pods, err := podsOf(s, req, n)
			if err == nil && len(pods) != 1 {
				err = fmt.Errorf("%d requests reached %v, want one endpoint", n, pods)
			}
			return err
		})
	}

	It("sends every request for one URI to one endpoint", func() {
		see(s, framework.Request{Host: byURI, Path: "/a"}, framework.Expect{Backend: "uri", Path: "/a"})
		sticky(framework.Request{Host: byURI, Path: "/a"}, 10)
		sticky(framework.Request{Host: byURI, Path: "/b?x=1"}, 10)
	})
	It("spreads different URIs over the endpoints", func() {
		countChecks(1)
		pods := map[string]bool{}
		for i := range 24 {
			r := s.Do(framework.Request{Host: byURI, Path: fmt.Sprintf("/item/%d", i)})
			if r.Echo == nil {
				Fail(fmt.Sprintf("not answered by a backend: %s", r))
			}
			pods[r.Echo.Pod] = true
		}
		// 24 keys on 4 endpoints all on one: probability 4^-23.
		if len(pods) < 2 {
			Fail(fmt.Sprintf("24 different URIs all reached %v", pods))
		}
	})
	It("hashes by a request header with $http_x_user", func() {
		see(s, framework.Request{Host: byHeader, Headers: map[string]string{"X-User": "alice"}}, framework.Expect{Backend: "hdr", Check: echoHeader("X-User", "alice")})
		sticky(framework.Request{Host: byHeader, Path: "/1", Headers: map[string]string{"X-User": "alice"}}, 6)
		sticky(framework.Request{Host: byHeader, Path: "/2", Headers: map[string]string{"X-User": "bob"}}, 6)
	})
})

var _ = describe("Annotations: buffering", Label("annotations", AnnotationLabel("buffering"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var off, on string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-buffer")
		s.Backend("echo", 1)
		off, on = s.Host("unbuffered"), s.Host("buffered")
		applyAnnotated(s, annotated{Name: "unbuffered", Host: off, Service: "echo", Annotations: annotationsFor("buffering", map[string]string{"proxy-buffering": "off", "proxy-request-buffering": "off"})})
		applyAnnotated(s, annotated{Name: "buffered", Host: on, Service: "echo", Annotations: annotationsFor("buffering", map[string]string{"proxy-buffering": "on", "client-body-buffer-size": "1k", "proxy-buffer-size": "8k"})})
	})

	It("passes a large request body unbuffered (proxy-request-buffering off)", func() {
		see(s, framework.Request{Host: off, Path: "/up", Method: http.MethodPost, Body: bytes.Repeat([]byte("b"), 256<<10)}, framework.Expect{Backend: "echo", Check: bodyLength(256 << 10)})
	})
	It("passes a streamed response whole (proxy-buffering off)", func() {
		countChecks(1)
		see(s, framework.Request{Host: off, Path: "/s?stream=5&interval=20ms"}, framework.Expect{Status: 200, Check: func(r framework.Response) error {
			if n := bytes.Count(r.Body, []byte("\n")); n != 5 {
				return fmt.Errorf("streamed response had %d lines, want 5", n)
			}
			return nil
		}})
	})
	It("passes bodies larger than client-body-buffer-size and proxy-buffer-size", func() {
		see(s, framework.Request{Host: on, Path: "/up", Method: http.MethodPost, Body: bytes.Repeat([]byte("c"), 64<<10)}, framework.Expect{Backend: "echo", Check: bodyLength(64 << 10)})
		see(s, framework.Request{Host: on, Path: "/big", Headers: setHeader("X-Big", strings.Repeat("v", 6000))}, framework.Expect{Backend: "echo", Check: header("X-Big", strings.Repeat("v", 6000))})
	})
})

var _ = describe("Annotations: proxy-http-version", Label("annotations", AnnotationLabel("proxy-http-version"), "extended"), func() {
	It("speaks HTTP/1.1 to the backend with proxy-http-version 1.1", func() {
		s := framework.NewSpec(env, "ann-httpver")
		s.Backend("echo", 1)
		host := s.Host("v11")
		applyAnnotated(s, annotated{Name: "v11", Host: host, Service: "echo", Annotations: annotationsFor("proxy-http-version", map[string]string{"proxy-http-version": "1.1"})})
		countChecks(1)
		see(s, framework.Request{Host: host, Path: "/v"}, framework.Expect{Backend: "echo", Path: "/v", Check: func(r framework.Response) error {
			if r.Echo.Proto != "HTTP/1.1" {
				return fmt.Errorf("backend got %s, want HTTP/1.1", r.Echo.Proto)
			}
			return nil
		}})
		see(s, framework.Request{Host: host, Path: "/post", Method: http.MethodPost, Body: []byte("12345")}, framework.Expect{Backend: "echo", Check: bodyLength(5)})
	})
})

var _ = describe("Annotations: service-upstream", Label("annotations", AnnotationLabel("service-upstream"), "extended"), func() {
	It("still reaches the Service's pods through its cluster address", func() {
		s := framework.NewSpec(env, "ann-svcup")
		s.Backend("echo", 2)
		host := s.Host("svc")
		applyAnnotated(s, annotated{Name: "svc", Host: host, Service: "echo", Annotations: annotationsFor("service-upstream", map[string]string{"service-upstream": "true"})})
		see(s, framework.Request{Host: host, Path: "/s"}, framework.Expect{Backend: "echo", Path: "/s"})
		see(s, framework.Request{Host: host, Path: "/p", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Backend: "echo", Check: bodyLength(1)})
	})
})

var _ = describe("Annotations: ssl-passthrough", Label("annotations", AnnotationLabel("ssl-passthrough"), "extended"), func() {
	It("passes the TLS connection to the backend, which terminates it", func() {
		s := framework.NewSpec(env, "ann-passthru")
		secureBackend(s, "secure")
		host := s.Host("pt")
		applyAnnotated(s, annotated{Name: "pt", Host: host, Service: "secure", Port: 443, Annotations: annotationsFor("ssl-passthrough", map[string]string{"ssl-passthrough": "true"})})
		countChecks(1)
		see(s, framework.Request{Host: host, Path: "/pt", HTTPS: true}, framework.Expect{Backend: "secure", Path: "/pt", Check: func(r framework.Response) error {
			// The backend saw the client's own TLS connection: its SNI.
			if r.Echo.TLS == nil || r.Echo.TLS.ServerName != host {
				return fmt.Errorf("backend TLS %+v, want the client's connection with server name %s", r.Echo.TLS, host)
			}
			return nil
		}})
	})
})

var _ = describe("Annotations: client-cert-auth", Label("annotations", AnnotationLabel("client-cert-auth"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var required, optional string
	// alice: signed by the Secret's CA; mallory: by another CA; carol: by
	// an intermediate CA the Secret's CA signed, sent with its chain (two
	// above the client certificate).
	var alice, mallory, carol *certs.Certificate
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-mtls")
		s.Backend("echo", 1)
		ca, err := certs.SelfSigned(certs.Options{CommonName: "ingresslab client CA", CA: true})
		if err != nil {
			Fail(err.Error())
		}
		alice, err = certs.Issue(ca.TLS, certs.Options{CommonName: "alice", Client: true})
		if err != nil {
			Fail(err.Error())
		}
		other, err := certs.SelfSigned(certs.Options{CommonName: "another CA", CA: true})
		if err != nil {
			Fail(err.Error())
		}
		mallory, err = certs.Issue(other.TLS, certs.Options{CommonName: "mallory", Client: true})
		if err != nil {
			Fail(err.Error())
		}
		inter, err := certs.Issue(ca.TLS, certs.Options{CommonName: "intermediate CA", CA: true})
		if err != nil {
			Fail(err.Error())
		}
		carol, err = certs.Issue(inter.TLS, certs.Options{CommonName: "carol", Client: true})
		if err != nil {
			Fail(err.Error())
		}
		carol.TLS.Certificate = append(carol.TLS.Certificate, inter.TLS.Certificate[0])
		caSecret(s, "client-ca", ca.CertPEM)
		required, optional = s.Host("required"), s.Host("optional")
		s.TLSSecret("required-tls", required)
		s.TLSSecret("optional-tls", optional)
		requiredAnn := map[string]string{"auth-tls-secret": s.Namespace + "/client-ca", "auth-tls-verify-client": "on"}
		// The verify depth has no effect a client without a certificate can
		// see: a controller without the key still runs the spec.
		if annotationKeySupported("client-cert-auth", "auth-tls-verify-depth") {
			requiredAnn["auth-tls-verify-depth"] = "1"
		}
		applyAnnotated(s, annotated{Name: "required", Host: required, Service: "echo", TLSSecret: "required-tls", Annotations: annotationsFor("client-cert-auth", requiredAnn)})
		applyAnnotated(s, annotated{Name: "optional", Host: optional, Service: "echo", TLSSecret: "optional-tls", Annotations: annotationsFor("client-cert-auth",
			map[string]string{"auth-tls-secret": s.Namespace + "/client-ca", "auth-tls-verify-client": "optional", "auth-tls-pass-certificate-to-upstream": "true"})})
	})

	It("refuses a client without a certificate with auth-tls-verify-client on", func() {
		seeStatusIn(s, framework.Request{Host: required, Path: "/", HTTPS: true}, 400)
	})
	It("serves a client without a certificate with auth-tls-verify-client optional, and sends no certificate upstream", func() {
		see(s, framework.Request{Host: optional, Path: "/o", HTTPS: true}, framework.Expect{Backend: "echo", Path: "/o", Check: echoHeaderAbsent("ssl-client-cert")})
	})
	It("serves a client with a certificate of the CA, and tells the backend it was verified and whose it is", func() {
		see(s, framework.Request{Host: required, Path: "/alice", HTTPS: true, ClientCert: alice.TLS}, framework.Expect{Backend: "echo", Path: "/alice",
			Check: all(echoHeader("ssl-client-verify", "SUCCESS"), echoHeader("ssl-client-subject-dn", "CN=alice,O=ingresslab"),
				echoHeader("ssl-client-issuer-dn", "CN=ingresslab client CA,O=ingresslab"), echoHeaderAbsent("ssl-client-cert"))})
	})
	It("refuses a client whose certificate another CA signed, also with auth-tls-verify-client optional", func() {
		seeStatusIn(s, framework.Request{Host: required, Path: "/", HTTPS: true, ClientCert: mallory.TLS}, 400)
		seeStatusIn(s, framework.Request{Host: optional, Path: "/", HTTPS: true, ClientCert: mallory.TLS}, 400)
	})
	It("refuses a certificate chain longer than auth-tls-verify-depth", func() {
		if !annotationKeySupported("client-cert-auth", "auth-tls-verify-depth") {
			Skip(unsupportedPrefix + "the profile has no auth-tls-verify-depth")
		}
		seeStatusIn(s, framework.Request{Host: required, Path: "/", HTTPS: true, ClientCert: carol.TLS}, 400)
	})
	It("passes the client certificate upstream, URL-encoded PEM, with auth-tls-pass-certificate-to-upstream", func() {
		see(s, framework.Request{Host: optional, Path: "/pass", HTTPS: true, ClientCert: alice.TLS}, framework.Expect{Backend: "echo", Path: "/pass",
			Check: all(echoHeader("ssl-client-verify", "SUCCESS"), echoCertificate("ssl-client-cert", alice.CertPEM))})
	})
})

// echoCertificate checks that the backend got header name with pem,
// URL-encoded (nginx's $ssl_client_escaped_cert).
func echoCertificate(name string, pem []byte) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if r.Echo == nil {
			return fmt.Errorf("response is not from an echo backend")
		}
		for k, vs := range r.Echo.Headers {
			if !strings.EqualFold(k, name) || len(vs) != 1 {
				continue
			}
			got, err := url.QueryUnescape(vs[0])
			if err != nil || strings.ContainsAny(vs[0], "\n ") || strings.TrimSpace(got) != strings.TrimSpace(string(pem)) {
				return fmt.Errorf("backend got %s = %.80q..., want the client's certificate as URL-encoded PEM", k, vs[0])
			}
			return nil
		}
		return fmt.Errorf("backend got no %s header", name)
	}
}

var _ = describe("Annotations: digest-auth", Label("annotations", AnnotationLabel("digest-auth"), "extended"), func() {
	It("challenges with a Digest realm and refuses requests without credentials", func() {
		s := framework.NewSpec(env, "ann-digest")
		s.Backend("echo", 1)
		// htdigest: user:realm:md5(user:realm:password), alice / s3cret.
		createSecret(s, "digest", map[string][]byte{"auth": []byte("alice:Staff:" + md5hex("alice:Staff:s3cret") + "\n")})
		host := s.Host("digest")
		applyAnnotated(s, annotated{Name: "digest", Host: host, Service: "echo", Annotations: annotationsFor("digest-auth", map[string]string{"auth-type": "digest", "auth-secret": "digest", "auth-realm": "Staff"})})
		see(s, framework.Request{Host: host}, framework.Expect{Status: 401, Check: all(headerContainsWord("WWW-Authenticate", "Digest"), headerContainsWord("WWW-Authenticate", `realm="Staff"`))})
		see(s, framework.Request{Host: host, Headers: basicAuth("alice", "s3cret")}, framework.Expect{Status: 401})
	})
})

var _ = describe("Annotations: unsupported-annotations", Label("annotations", AnnotationLabel("unsupported-annotations"), "extended"), func() {
	It("serves an Ingress with annotations that have no visible effect, and applies its other annotations", func() {
		s := framework.NewSpec(env, "ann-ignored")
		s.Backend("echo", 1)
		host := s.Host("ignored")
		ann := merge(annotationsFor("unsupported-annotations", map[string]string{"enable-access-log": "false", "enable-rewrite-log": "true",
			"enable-opentelemetry": "false", "no-such-annotation": "whatever"}),
			annotationsFor("rewrite", map[string]string{"use-regex": "true", "rewrite-target": "/$1"}),
			annotationsFor("upstream-vhost", map[string]string{"upstream-vhost": "kept.example"}))
		applyAnnotated(s, annotated{Name: "ignored", Host: host, Path: "/svc/(.*)", PathType: "ImplementationSpecific", Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/svc/a/b"}, framework.Expect{Backend: "echo", Path: "/a/b", Check: echoHost("kept.example")})
		see(s, framework.Request{Host: host, Path: "/svc/", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Backend: "echo", Path: "/", Check: bodyLength(1)})
	})
})

// md5hex is the hex MD5 of s (htdigest's HA1).
func md5hex(s string) string {
	sum := md5.Sum([]byte(s)) //nolint:gosec // HTTP digest authentication is MD5 by definition
	return hex.EncodeToString(sum[:])
}
