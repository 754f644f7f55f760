package suites

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Breadth for the access annotations: source ranges, authentication,
// CORS, response headers and error pages.

// headerAbsent checks a response header is not set.
func headerAbsent(name string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if v := r.Header.Values(name); len(v) > 0 {
			return fmt.Errorf("response header %s = %q, want none", name, v)
		}
		return nil
	}
}

// echoHeaderAbsent checks the backend did not receive a header.
func echoHeaderAbsent(name string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if r.Echo == nil {
			return fmt.Errorf("response is not from an echo backend")
		}
		for k, v := range r.Echo.Headers {
			if strings.EqualFold(k, name) {
				return fmt.Errorf("backend got header %s = %q, want none", k, v)
			}
		}
		return nil
	}
}

// basicAuth is an Authorization header for user and password.
func basicAuth(user, pass string) map[string]string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return map[string]string{"Authorization": r.Header.Get("Authorization")}
}

// createSecret creates an Opaque Secret in the spec's namespace.
func createSecret(s *framework.Spec, name string, data map[string][]byte) {
	GinkgoHelper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace}, Data: data}
	if _, err := env.Client.CoreV1().Secrets(s.Namespace).Create(s.Context(), sec, metav1.CreateOptions{}); err != nil {
		Fail(fmt.Sprintf("create secret %s/%s: %v", s.Namespace, name, err))
	}
}

var _ = describe("Annotations: source-range (more)", Label("annotations", AnnotationLabel("source-range"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	hosts := map[string]string{}
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-range2")
		s.Backend("echo", 1)
		for name, ann := range map[string]map[string]string{
			"single":   {"whitelist-source-range": "127.0.0.1/32"},
			"neighbor": {"whitelist-source-range": "127.0.0.2/32"},
			"private":  {"whitelist-source-range": "10.0.0.0/8,192.168.0.0/16"},
			"denyelse": {"denylist-source-range": "10.0.0.0/8"},
			"denymany": {"denylist-source-range": "10.0.0.0/8, 127.0.0.1/32"},
			"both":     {"whitelist-source-range": "127.0.0.0/8", "denylist-source-range": "127.0.0.1/32"},
		} {
			hosts[name] = s.Host(name)
			applyAnnotated(s, annotated{Name: name, Host: hosts[name], Service: "echo", Annotations: annotationsFor("source-range", ann)})
		}
	})

	It("serves a client matching a single-address whitelist", func() {
		see(s, framework.Request{Host: hosts["single"], Path: "/x"}, framework.Expect{Backend: "echo", Path: "/x"})
	})
	It("refuses a client next to a single-address whitelist", func() {
		see(s, framework.Request{Host: hosts["neighbor"]}, framework.Expect{Status: 403})
		see(s, framework.Request{Host: hosts["neighbor"], Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: 403})
	})
	It("does not trust a client's X-Forwarded-For for the whitelist", func() {
		see(s, framework.Request{Host: hosts["private"], Headers: map[string]string{"X-Forwarded-For": "10.1.2.3"}}, framework.Expect{Status: 403})
		see(s, framework.Request{Host: hosts["private"], Headers: map[string]string{"X-Real-IP": "192.168.1.1"}}, framework.Expect{Status: 403})
	})
	It("serves a client outside the denylist", func() {
		see(s, framework.Request{Host: hosts["denyelse"]}, framework.Expect{Backend: "echo"})
	})
	It("refuses a client in any range of a denylist", func() {
		see(s, framework.Request{Host: hosts["denymany"]}, framework.Expect{Status: 403})
	})
	It("lets the denylist win over the whitelist", func() {
		see(s, framework.Request{Host: hosts["both"]}, framework.Expect{Status: 403})
	})
})

var _ = describe("Annotations: basic-auth (more)", Label("annotations", AnnotationLabel("basic-auth"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host, mapHost, missing string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-basic2")
		s.Backend("echo", 1)
		createSecret(s, "users", map[string][]byte{"auth": []byte(htpasswd)})
		createSecret(s, "usermap", map[string][]byte{"alice": []byte(strings.TrimPrefix(strings.TrimSpace(htpasswd), "alice:"))})
		host, mapHost, missing = s.Host("basic"), s.Host("map"), s.Host("missing")
		applyAnnotated(s, annotated{Name: "basic", Host: host, Service: "echo", Annotations: annotationsFor("basic-auth", map[string]string{"auth-type": "basic", "auth-secret": "users", "auth-realm": "Staff"})})
		applyAnnotated(s, annotated{Name: "map", Host: mapHost, Service: "echo", Annotations: annotationsFor("basic-auth", map[string]string{"auth-type": "basic", "auth-secret": "usermap", "auth-secret-type": "auth-map"})})
		applyAnnotated(s, annotated{Name: "missing", Host: missing, Service: "echo", Annotations: annotationsFor("basic-auth", map[string]string{"auth-type": "basic", "auth-secret": "no-such-secret"})})
	})

	It("challenges every path and method without credentials", func() {
		see(s, framework.Request{Host: host, Path: "/deep/x"}, framework.Expect{Status: 401, Check: headerContainsWord("WWW-Authenticate", "Basic")})
		see(s, framework.Request{Host: host, Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: 401})
	})
	It("refuses an unknown user and a malformed header", func() {
		see(s, framework.Request{Host: host, Headers: basicAuth("mallory", "s3cret")}, framework.Expect{Status: 401})
		see(s, framework.Request{Host: host, Headers: map[string]string{"Authorization": "Basic !!!"}}, framework.Expect{Status: 401})
		see(s, framework.Request{Host: host, Headers: map[string]string{"Authorization": "Bearer abc"}}, framework.Expect{Status: 401})
	})
	// The backend sees the credentials as sent, or (ingress-nginx, which
	// clears Authorization after auth_basic) none; never other ones.
	It("lets the right credentials through to the backend, with the Authorization header as sent or removed", func() {
		h := basicAuth("alice", "s3cret")
		req := framework.Request{Host: host, Path: "/in", Headers: h}
		countChecks(2) // status, backend and path (3) and one Authorization check, counted by both helpers
		s.EventuallyOutcome(req,
			framework.OutcomeOf("forwarded", framework.Expect{Backend: "echo", Path: "/in", Check: echoHeader("Authorization", h["Authorization"])}),
			framework.OutcomeOf("removed", framework.Expect{Backend: "echo", Path: "/in", Check: echoHeaderAbsent("Authorization")}))
		see(s, framework.Request{Host: host, Method: http.MethodPost, Body: []byte("abc"), Headers: h}, framework.Expect{Backend: "echo", Check: bodyLength(3)})
	})
	It("reads users from an auth-map Secret (auth-secret-type auth-map)", func() {
		see(s, framework.Request{Host: mapHost}, framework.Expect{Status: 401})
		see(s, framework.Request{Host: mapHost, Headers: basicAuth("alice", "s3cret")}, framework.Expect{Backend: "echo"})
		see(s, framework.Request{Host: mapHost, Headers: basicAuth("alice", "nope")}, framework.Expect{Status: 401})
	})
	It("fails closed with 503 when auth-secret does not exist", func() {
		see(s, framework.Request{Host: missing}, framework.Expect{Status: 503})
		see(s, framework.Request{Host: missing, Headers: basicAuth("alice", "s3cret")}, framework.Expect{Status: 503})
	})
})

// headerContainsWord checks a response header contains a word.
func headerContainsWord(name, word string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if !strings.Contains(r.Header.Get(name), word) {
			return fmt.Errorf("response header %s = %q, want it to contain %q", name, r.Header.Get(name), word)
		}
		return nil
	}
}

var _ = describe("Annotations: external-auth (more)", Label("annotations", AnnotationLabel("external-auth"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var authz *cluster.Backend
	hosts := map[string]string{}
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-extauth2")
		s.Backend("echo", 1)
		authz = s.Backend("authz", 1)
		for name, ann := range map[string]map[string]string{
			"headers":   {"auth-url": endpointURL(authz, "/check"), "auth-response-headers": "X-Auth-User, X-Auth-Email"},
			"forbidden": {"auth-url": endpointURL(authz, "/check?status=403")},
			"broken":    {"auth-url": endpointURL(authz, "/check?status=500")},
			"signin":    {"auth-url": endpointURL(authz, "/check?status=401"), "auth-signin": "https://login.example.com/start"},
		} {
			hosts[name] = s.Host(name)
			applyAnnotated(s, annotated{Name: name, Host: hosts[name], Service: "echo", Annotations: annotationsFor("external-auth", ann)})
		}
	})

	It("copies every auth-response-headers header to the upstream request", func() {
		see(s, framework.Request{Host: hosts["headers"], Path: "/me", Headers: map[string]string{"X-Echo-Set-Header": "X-Auth-User:bob,X-Auth-Email:bob@example.com"}},
			framework.Expect{Backend: "echo", Path: "/me", Check: all(echoHeader("X-Auth-User", "bob"), echoHeader("X-Auth-Email", "bob@example.com"))})
	})
	It("drops a response header the client sent when the auth service sets none", func() {
		see(s, framework.Request{Host: hosts["headers"], Path: "/me", Headers: map[string]string{"X-Auth-User": "admin"}},
			framework.Expect{Backend: "echo", Check: echoHeaderAbsent("X-Auth-User")})
	})
	It("answers 403 when the auth service forbids", func() {
		see(s, framework.Request{Host: hosts["forbidden"], Path: "/x"}, framework.Expect{Status: 403})
	})
	It("answers 500 when the auth service fails", func() {
		see(s, framework.Request{Host: hosts["broken"], Path: "/x"}, framework.Expect{Status: 500})
	})
	It("redirects to auth-signin with the original URL in rd", func() {
		host := hosts["signin"]
		see(s, framework.Request{Host: host, Path: "/private?x=1"}, framework.Expect{Status: 302, Check: signinRedirect("https://login.example.com/start", host, "/private")})
	})
})

// auth-cache-key and auth-cache-duration: the auth service answers with
// the X-Auth-User the request asked for (X-Echo-Set-Header); a second
// request with the same cache key ($host) but another user must get the
// cached answer, so the backend sees the first user.
var _ = describe("Annotations: external-auth (cache)", Label("annotations", AnnotationLabel("external-auth"), "extended"), func() {
	It("reuses a cached auth response for the same auth-cache-key within auth-cache-duration", func() {
		s := framework.NewSpec(env, "ann-authcache")
		s.Backend("echo", 1)
		authz := s.Backend("authz", 1)
		host := s.Host("cached")
		applyAnnotated(s, annotated{Name: "cached", Host: host, Service: "echo", Annotations: annotationsFor("external-auth", map[string]string{
			"auth-url": endpointURL(authz, "/check"), "auth-response-headers": "X-Auth-User",
			"auth-cache-key": "$host", "auth-cache-duration": "200 10m"})})
		user := func(name string) map[string]string {
			return map[string]string{"X-Echo-Set-Header": "X-Auth-User:" + name}
		}
		see(s, framework.Request{Host: host, Path: "/first", Headers: user("alice")}, framework.Expect{Backend: "echo", Check: echoHeader("X-Auth-User", "alice")})
		see(s, framework.Request{Host: host, Path: "/second", Headers: user("bob")}, framework.Expect{Backend: "echo", Check: echoHeader("X-Auth-User", "alice")})
	})
})

// signinRedirect checks a Location to the sign-in URL whose rd parameter
// is the original URL (scheme, host and path).
func signinRedirect(signin, host, path string) func(framework.Response) error {
	countChecks(2)
	return func(r framework.Response) error {
		loc := r.Header.Get("Location")
		u, err := url.Parse(loc)
		if err != nil || u.Scheme+"://"+u.Host+u.Path != signin {
			return fmt.Errorf("header Location %q, want the sign-in URL %s", loc, signin)
		}
		rd, err := url.Parse(u.Query().Get("rd"))
		if err != nil || rd.Hostname() != host || rd.Path != path {
			return fmt.Errorf("header Location %q: rd %q, want the original URL http://%s%s", loc, u.Query().Get("rd"), host, path)
		}
		return nil
	}
}

var _ = describe("Annotations: cors (options)", Label("annotations", AnnotationLabel("cors"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	hosts := map[string]string{}
	const app = "https://app.example.com"
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-cors2")
		s.Backend("echo", 1)
		for name, ann := range map[string]map[string]string{
			"custom": {"enable-cors": "true", "cors-allow-origin": app, "cors-allow-methods": "GET,POST,PUT",
				"cors-allow-headers": "Content-Type,Authorization,X-Request-ID", "cors-allow-credentials": "true",
				"cors-max-age": "7200", "cors-expose-headers": "X-Request-ID,X-Trace-ID"},
			"defaults": {"enable-cors": "true"},
			"nocreds":  {"enable-cors": "true", "cors-allow-origin": app, "cors-allow-credentials": "false"},
			"wildcard": {"enable-cors": "true", "cors-allow-origin": "https://*.example.com"},
			"list":     {"enable-cors": "true", "cors-allow-origin": "https://a.example.com, https://b.example.com"},
			"disabled": {"enable-cors": "false", "cors-allow-origin": app},
		} {
			hosts[name] = s.Host(name)
			applyAnnotated(s, annotated{Name: name, Host: hosts[name], Service: "echo", Annotations: annotationsFor("cors", ann)})
		}
	})
	origin := func(o string) map[string]string { return map[string]string{"Origin": o} }
	preflight := func(host, o string) framework.Request {
		return framework.Request{Host: host, Path: "/api", Method: http.MethodOptions, Headers: map[string]string{"Origin": o, "Access-Control-Request-Method": "PUT"}}
	}

	It("answers a preflight from an allowed origin with every configured header", func() {
		see(s, preflight(hosts["custom"], app), framework.Expect{Status: 204, Check: all(
			header("Access-Control-Allow-Origin", app), header("Access-Control-Allow-Credentials", "true"),
			headerContains("Access-Control-Allow-Methods", "POST"), headerContains("Access-Control-Allow-Methods", "PUT"),
			headerContains("Access-Control-Allow-Headers", "Authorization"), headerContains("Access-Control-Allow-Headers", "X-Request-ID"),
			header("Access-Control-Max-Age", "7200"))})
	})
	It("adds the CORS headers to a simple request from an allowed origin", func() {
		see(s, framework.Request{Host: hosts["custom"], Path: "/api", Headers: origin(app)}, framework.Expect{Backend: "echo", Path: "/api", Check: all(
			header("Access-Control-Allow-Origin", app), header("Access-Control-Allow-Credentials", "true"),
			headerContains("Access-Control-Expose-Headers", "X-Trace-ID"), headerContains("Access-Control-Expose-Headers", "X-Request-ID"))})
	})
	It("sends no Access-Control-Allow-Origin to another origin", func() {
		see(s, framework.Request{Host: hosts["custom"], Path: "/api", Headers: origin("https://evil.example.org")}, framework.Expect{Backend: "echo", Check: headerAbsent("Access-Control-Allow-Origin")})
		s.EventuallyOutcome(preflight(hosts["custom"], "https://evil.example.org"), statusOutcomes(headerAbsent("Access-Control-Allow-Origin"), 200, 204)...)
	})
	It("passes a request without Origin to the backend without an allowed origin", func() {
		see(s, framework.Request{Host: hosts["custom"], Path: "/plain"}, framework.Expect{Backend: "echo", Path: "/plain", Check: headerAbsent("Access-Control-Allow-Origin")})
	})
	It("uses ingress-nginx's defaults with enable-cors alone", func() {
		s.EventuallyOutcome(preflight(hosts["defaults"], "https://x.example.net"), statusOutcomes(all(
			headerContains("Access-Control-Allow-Methods", "PATCH"), headerContains("Access-Control-Allow-Methods", "DELETE"),
			headerContains("Access-Control-Allow-Headers", "Authorization"), headerContains("Access-Control-Allow-Headers", "X-Requested-With"),
			header("Access-Control-Max-Age", "1728000"), header("Access-Control-Allow-Credentials", "true")), 204)...)
		// ingress-nginx answers "*"; echoing the Origin is the other way to
		// allow any origin (recorded as the variant).
		countChecks(1)
		s.EventuallyOneOf(framework.Request{Host: hosts["defaults"], Path: "/d", Headers: origin("https://x.example.net")},
			framework.Variant{Name: "allow-origin *", Expect: framework.Expect{Backend: "echo", Check: header("Access-Control-Allow-Origin", "*")}},
			framework.Variant{Name: "allow-origin echoes Origin", Expect: framework.Expect{Backend: "echo", Check: header("Access-Control-Allow-Origin", "https://x.example.net")}})
	})
	It("omits Access-Control-Allow-Credentials with cors-allow-credentials false", func() {
		see(s, framework.Request{Host: hosts["nocreds"], Path: "/", Headers: origin(app)}, framework.Expect{Backend: "echo", Check: all(
			header("Access-Control-Allow-Origin", app), headerAbsent("Access-Control-Allow-Credentials"))})
	})
	It("matches one label of a wildcard origin", func() {
		see(s, framework.Request{Host: hosts["wildcard"], Headers: origin("https://shop.example.com")}, framework.Expect{Backend: "echo", Check: header("Access-Control-Allow-Origin", "https://shop.example.com")})
		see(s, framework.Request{Host: hosts["wildcard"], Headers: origin("https://example.org")}, framework.Expect{Backend: "echo", Check: headerAbsent("Access-Control-Allow-Origin")})
		see(s, framework.Request{Host: hosts["wildcard"], Headers: origin("http://shop.example.com")}, framework.Expect{Backend: "echo", Check: headerAbsent("Access-Control-Allow-Origin")})
	})
	It("allows each origin of a list and no other", func() {
		see(s, framework.Request{Host: hosts["list"], Headers: origin("https://a.example.com")}, framework.Expect{Backend: "echo", Check: header("Access-Control-Allow-Origin", "https://a.example.com")})
		see(s, framework.Request{Host: hosts["list"], Headers: origin("https://b.example.com")}, framework.Expect{Backend: "echo", Check: header("Access-Control-Allow-Origin", "https://b.example.com")})
		see(s, framework.Request{Host: hosts["list"], Headers: origin("https://c.example.com")}, framework.Expect{Backend: "echo", Check: headerAbsent("Access-Control-Allow-Origin")})
	})
	It("adds nothing with enable-cors false", func() {
		see(s, framework.Request{Host: hosts["disabled"], Headers: origin(app)}, framework.Expect{Backend: "echo", Check: headerAbsent("Access-Control-Allow-Origin")})
		see(s, preflight(hosts["disabled"], app), framework.Expect{Backend: "echo", Check: headerAbsent("Access-Control-Allow-Methods")})
	})
})

var _ = describe("Annotations: custom-headers (more)", Label("annotations", AnnotationLabel("custom-headers"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host, plain string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-headers2")
		s.Backend("echo", 1)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "resp-headers", Namespace: s.Namespace}, Data: map[string]string{"X-Custom-One": "one", "X-Frame-Options": "DENY"}}
		if _, err := env.Client.CoreV1().ConfigMaps(s.Namespace).Create(s.Context(), cm, metav1.CreateOptions{}); err != nil {
			Fail(err.Error())
		}
		host, plain = s.Host("headers"), s.Host("plain")
		applyAnnotated(s, annotated{Name: "headers", Host: host, Service: "echo", Annotations: annotationsFor("custom-headers", map[string]string{"custom-headers": s.Namespace + "/resp-headers"})})
		applyAnnotated(s, annotated{Name: "plain", Host: plain, Service: "echo"})
	})

	It("adds the headers on every path and method", func() {
		see(s, framework.Request{Host: host, Path: "/deep/path?q=1"}, framework.Expect{Backend: "echo", Path: "/deep/path?q=1", Check: all(header("X-Custom-One", "one"), header("X-Frame-Options", "DENY"))})
		see(s, framework.Request{Host: host, Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Backend: "echo", Check: header("X-Custom-One", "one")})
	})
	It("adds them to upstream error responses", func() {
		see(s, framework.Request{Host: host, Path: "/?status=404"}, framework.Expect{Status: 404, Check: header("X-Custom-One", "one")})
	})
	It("sends them to the client, not to the backend", func() {
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Backend: "echo", Check: echoHeaderAbsent("X-Custom-One")})
	})
	It("leaves other Ingresses alone", func() {
		see(s, framework.Request{Host: plain, Path: "/"}, framework.Expect{Backend: "echo", Check: all(headerAbsent("X-Custom-One"), headerAbsent("X-Frame-Options"))})
	})
})

var _ = describe("Annotations: default-backend (more)", Label("annotations", AnnotationLabel("default-backend"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var live, empty string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-defbe2")
		s.Backend("live", 1)
		s.Backend("empty", 0)
		s.Backend("fallback", 1)
		live, empty = s.Host("live"), s.Host("empty")
		ann := annotationsFor("default-backend", map[string]string{"default-backend": "fallback"})
		applyAnnotated(s, annotated{Name: "live", Host: live, Service: "live", Annotations: ann})
		applyAnnotated(s, annotated{Name: "empty", Host: empty, Path: "/app", Service: "empty", Annotations: ann})
	})

	It("answers from the path's Service while it has endpoints", func() {
		see(s, framework.Request{Host: live, Path: "/a"}, framework.Expect{Backend: "live", Path: "/a"})
	})
	It("answers from the default-backend for every path and method when the Service has none", func() {
		see(s, framework.Request{Host: empty, Path: "/app/x"}, framework.Expect{Status: framework.AnyStatus, Backend: "fallback"})
		see(s, framework.Request{Host: empty, Path: "/app", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: framework.AnyStatus, Backend: "fallback"})
	})
})

var _ = describe("Annotations: custom-http-errors (more)", Label("annotations", AnnotationLabel("custom-http-errors"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var host string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-errors2")
		s.Backend("echo", 1)
		s.Backend("errors", 1)
		host = s.Host("errors")
		ann := merge(annotationsFor("custom-http-errors", map[string]string{"custom-http-errors": "404,503"}),
			annotationsFor("default-backend", map[string]string{"default-backend": "errors"}))
		applyAnnotated(s, annotated{Name: "errors", Host: host, Service: "echo", Annotations: ann})
	})

	It("tells the error backend the code and the original URI", func() {
		see(s, framework.Request{Host: host, Path: "/missing?status=404"}, framework.Expect{Status: framework.AnyStatus, Backend: "errors",
			Check: all(echoHeader("X-Code", "404"), echoHeader("X-Original-URI", "/missing?status=404"), echoHeader("X-Namespace", s.Namespace))})
	})
	It("answers every listed code from the error backend", func() {
		see(s, framework.Request{Host: host, Path: "/busy?status=503"}, framework.Expect{Status: framework.AnyStatus, Backend: "errors", Check: echoHeader("X-Code", "503")})
		see(s, framework.Request{Host: host, Path: "/gone?status=404", Method: http.MethodPost, Body: []byte("x")}, framework.Expect{Status: framework.AnyStatus, Backend: "errors"})
	})
	It("passes successes and unlisted errors through from the backend", func() {
		see(s, framework.Request{Host: host, Path: "/ok"}, framework.Expect{Backend: "echo", Path: "/ok"})
		see(s, framework.Request{Host: host, Path: "/e?status=500"}, framework.Expect{Status: 500, Backend: "echo"})
		see(s, framework.Request{Host: host, Path: "/e?status=401"}, framework.Expect{Status: 401, Backend: "echo"})
	})
})

var _ = describe("Annotations: snippet (effect on the rest of the Ingress)", Label("annotations", AnnotationLabel("snippet"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var mixed, clean string
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-snippet2")
		s.Backend("echo", 1)
		mixed, clean = s.Host("mixed"), s.Host("clean")
		ann := merge(annotationsFor("snippet", map[string]string{"configuration-snippet": `more_set_headers "X-Snippet: injected";`}),
			annotationsFor("upstream-vhost", map[string]string{"upstream-vhost": "vhost.example"}))
		applyAnnotated(s, annotated{Name: "mixed", Host: mixed, Service: "echo", Annotations: ann})
		applyAnnotated(s, annotated{Name: "clean", Host: clean, Service: "echo"})
	})

	It("either serves the Ingress without the snippet (other annotations applied) or drops the whole Ingress", func() {
		see(s, framework.Request{Host: clean}, framework.Expect{Backend: "echo"})
		countChecks(2)
		s.EventuallyOneOf(framework.Request{Host: mixed, Path: "/m"},
			framework.Variant{Name: "snippet refused, rest of the Ingress served", Expect: framework.Expect{Backend: "echo", Check: func(r framework.Response) error {
				if err := injected(r); err != nil {
					return err
				}
				if r.Echo.Host != "vhost.example" {
					return fmt.Errorf("backend got Host %q: the Ingress's other annotations were not applied", r.Echo.Host)
				}
				return nil
			}}},
			framework.Variant{Name: "whole Ingress dropped", Expect: framework.Expect{Status: 404, Check: injected}})
	})
})
