package suites

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Annotation specs about who may pass and what comes back: source ranges,
// authentication, CORS, response headers, error backends, and values that
// must stay inert.

var _ = describe("Annotations: source-range", Label("annotations", AnnotationLabel("source-range"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-range")
		s.Backend("echo", 1)
	})

	// The suite connects from 127.0.0.1.
	It("serves clients inside whitelist-source-range", func() {
		host := s.Host("inside")
		applyAnnotated(s, annotated{Name: "inside", Host: host, Service: "echo", Annotations: annotationsFor("source-range", map[string]string{"whitelist-source-range": "10.0.0.0/8, 127.0.0.0/8"})})
		see(s, framework.Request{Host: host}, framework.Expect{Backend: "echo"})
	})
	It("answers 403 to clients outside whitelist-source-range", func() {
		host := s.Host("outside")
		applyAnnotated(s, annotated{Name: "outside", Host: host, Service: "echo", Annotations: annotationsFor("source-range", map[string]string{"whitelist-source-range": "10.0.0.0/8"})})
		see(s, framework.Request{Host: host}, framework.Expect{Status: 403})
	})
	It("answers 403 to clients inside denylist-source-range", func() {
		host := s.Host("denied")
		applyAnnotated(s, annotated{Name: "denied", Host: host, Service: "echo", Annotations: annotationsFor("source-range", map[string]string{"denylist-source-range": "127.0.0.0/8"})})
		see(s, framework.Request{Host: host}, framework.Expect{Status: 403})
	})
})

// htpasswd is user "alice", password "s3cret" (openssl passwd -apr1).
const htpasswd = "alice:$apr1$ingrlab1$NdQm9lbHo6qJMa0iX6FMN/\n"

var _ = describe("Annotations: basic-auth", Label("annotations", AnnotationLabel("basic-auth"), "extended"), func() {
	It("asks for credentials and lets the right ones through", func() {
		s := framework.NewSpec(env, "ann-basic")
		s.Backend("echo", 1)
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "users", Namespace: s.Namespace}, Data: map[string][]byte{"auth": []byte(htpasswd)}}
		if _, err := env.Client.CoreV1().Secrets(s.Namespace).Create(s.Context(), sec, metav1.CreateOptions{}); err != nil {
			Fail(err.Error())
		}
		host := s.Host("basic")
		ann := annotationsFor("basic-auth", map[string]string{"auth-type": "basic", "auth-secret": "users", "auth-realm": "Members only"})
		applyAnnotated(s, annotated{Name: "basic", Host: host, Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host}, framework.Expect{Status: 401, Check: func(r framework.Response) error {
			if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, "Basic") || !strings.Contains(got, "Members only") {
				return fmt.Errorf("WWW-Authenticate %q, want a Basic challenge with realm \"Members only\"", got)
			}
			return nil
		}})
		auth := func(user, pass string) map[string]string {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.SetBasicAuth(user, pass)
			return map[string]string{"Authorization": r.Header.Get("Authorization")}
		}
		see(s, framework.Request{Host: host, Headers: auth("alice", "s3cret")}, framework.Expect{Backend: "echo"})
		see(s, framework.Request{Host: host, Headers: auth("alice", "wrong")}, framework.Expect{Status: 401})
	})
})

// endpointURL is an http URL of a backend's first endpoint.
func endpointURL(b *cluster.Backend, path string) string {
	return "http://" + net.JoinHostPort(b.Endpoints[0].Address.String(), "8080") + path
}

var _ = describe("Annotations: external-auth", Label("annotations", AnnotationLabel("external-auth"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var authz *cluster.Backend
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-extauth")
		s.Backend("echo", 1)
		// The auth service is an echo backend: ?status=401 makes it refuse,
		// X-Echo-Set-Header makes it answer with headers.
		authz = s.Backend("authz", 1)
	})

	It("passes a request the auth service accepts, with auth-response-headers", func() {
		host := s.Host("allowed")
		ann := annotationsFor("external-auth", map[string]string{"auth-url": endpointURL(authz, "/check"), "auth-response-headers": "X-Auth-User"})
		applyAnnotated(s, annotated{Name: "allowed", Host: host, Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/data", Headers: map[string]string{"X-Echo-Set-Header": "X-Auth-User:alice"}},
			framework.Expect{Backend: "echo", Path: "/data", Check: echoHeader("X-Auth-User", "alice")})
	})

	It("answers 401 when the auth service refuses", func() {
		host := s.Host("refused")
		applyAnnotated(s, annotated{Name: "refused", Host: host, Service: "echo", Annotations: annotationsFor("external-auth", map[string]string{"auth-url": endpointURL(authz, "/check?status=401")})})
		see(s, framework.Request{Host: host, Path: "/data"}, framework.Expect{Status: 401})
	})
})

var _ = describe("Annotations: cors", Label("annotations", AnnotationLabel("cors"), "extended"), func() {
	It("answers preflights and adds CORS headers", func() {
		s := framework.NewSpec(env, "ann-cors")
		s.Backend("echo", 1)
		host := s.Host("cors")
		ann := annotationsFor("cors", map[string]string{"enable-cors": "true", "cors-allow-origin": "https://app.example",
			"cors-allow-methods": "GET, PUT", "cors-allow-headers": "X-Custom", "cors-allow-credentials": "true", "cors-max-age": "600"})
		applyAnnotated(s, annotated{Name: "cors", Host: host, Service: "echo", Annotations: ann})
		origin := map[string]string{"Origin": "https://app.example"}
		see(s, framework.Request{Host: host, Path: "/api", Headers: origin}, framework.Expect{Backend: "echo", Check: all(
			header("Access-Control-Allow-Origin", "https://app.example"), header("Access-Control-Allow-Credentials", "true"))})
		preflight := framework.Request{Host: host, Path: "/api", Method: http.MethodOptions, Headers: merge(origin, map[string]string{"Access-Control-Request-Method": "PUT"})}
		s.EventuallyOutcome(preflight, statusOutcomes(all(
			header("Access-Control-Allow-Origin", "https://app.example"),
			headerContains("Access-Control-Allow-Methods", "PUT"),
			headerContains("Access-Control-Allow-Headers", "X-Custom"),
			header("Access-Control-Max-Age", "600")), 204, 200)...)
	})
})

// headerContains checks a comma-separated response header lists want.
func headerContains(name, want string) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		for _, v := range r.Header.Values(name) {
			for _, item := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(item), want) {
					return nil
				}
			}
		}
		return fmt.Errorf("response header %s = %q, want it to list %q", name, r.Header.Values(name), want)
	}
}

var _ = describe("Annotations: custom-headers", Label("annotations", AnnotationLabel("custom-headers"), "extended"), func() {
	It("adds a ConfigMap's entries as response headers", func() {
		s := framework.NewSpec(env, "ann-headers")
		s.Backend("echo", 1)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "resp-headers", Namespace: s.Namespace}, Data: map[string]string{"X-Custom-One": "one", "X-Frame-Options": "DENY"}}
		if _, err := env.Client.CoreV1().ConfigMaps(s.Namespace).Create(s.Context(), cm, metav1.CreateOptions{}); err != nil {
			Fail(err.Error())
		}
		host := s.Host("headers")
		applyAnnotated(s, annotated{Name: "headers", Host: host, Service: "echo", Annotations: annotationsFor("custom-headers", map[string]string{"custom-headers": s.Namespace + "/resp-headers"})})
		see(s, framework.Request{Host: host}, framework.Expect{Backend: "echo", Check: all(header("X-Custom-One", "one"), header("X-Frame-Options", "DENY"))})
	})
})

var _ = describe("Annotations: default-backend", Label("annotations", AnnotationLabel("default-backend"), "extended"), func() {
	It("answers from the default-backend Service when the path's Service has no endpoints", func() {
		s := framework.NewSpec(env, "ann-defbe")
		s.Backend("empty", 0)
		s.Backend("fallback", 1)
		host := s.Host("defbe")
		applyAnnotated(s, annotated{Name: "defbe", Host: host, Service: "empty", Annotations: annotationsFor("default-backend", map[string]string{"default-backend": "fallback"})})
		see(s, framework.Request{Host: host, Path: "/x"}, framework.Expect{Status: framework.AnyStatus, Backend: "fallback"})
	})
})

var _ = describe("Annotations: custom-http-errors", Label("annotations", AnnotationLabel("custom-http-errors"), "extended"), func() {
	It("answers listed upstream errors from the default backend", func() {
		s := framework.NewSpec(env, "ann-errors")
		s.Backend("echo", 1)
		s.Backend("errors", 1)
		host := s.Host("errors")
		ann := merge(annotationsFor("custom-http-errors", map[string]string{"custom-http-errors": "404,503"}),
			annotationsFor("default-backend", map[string]string{"default-backend": "errors"}))
		applyAnnotated(s, annotated{Name: "errors", Host: host, Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/fine"}, framework.Expect{Backend: "echo"})
		see(s, framework.Request{Host: host, Path: "/gone?status=404"}, framework.Expect{Status: framework.AnyStatus, Backend: "errors"})
		// Statuses not listed pass through from the backend.
		see(s, framework.Request{Host: host, Path: "/teapot?status=418"}, framework.Expect{Status: 418})
	})
})

// injected reports a response that shows a hostile value took effect.
func injected(r framework.Response) error {
	if r.Err != nil {
		return nil
	}
	if len(r.Header.Values("X-Injected")) > 0 || len(r.Header.Values("X-Snippet")) > 0 {
		return fmt.Errorf("response carries an injected header: %v", r.Header)
	}
	if strings.Contains(string(r.Body), "pwned") {
		return fmt.Errorf("response body shows injected configuration: %q", r.Body)
	}
	if r.Echo != nil {
		for k := range r.Echo.Headers {
			if strings.EqualFold(k, "X-Injected") {
				return fmt.Errorf("backend received an injected header %s", k)
			}
		}
	}
	return nil
}

// stayInert applies hostile annotations next to a clean Ingress on another
// host, waits for the clean route, and checks for NoTrafficWindow that the
// hostile Ingress never shows an effect of its values (whatever status it
// answers with) and the clean route keeps working.
func stayInert(s *framework.Spec, hostile map[string]string, paths ...string) {
	GinkgoHelper()
	clean, bad := s.Host("clean"), s.Host("hostile")
	applyAnnotated(s, annotated{Name: "clean", Host: clean, Service: "echo"})
	applyAnnotated(s, annotated{Name: "hostile", Host: bad, Service: "echo", Annotations: hostile})
	see(s, framework.Request{Host: clean}, framework.Expect{Backend: "echo"})
	statuses := map[int]int{}
	countChecks(2) // the hostile Ingress shows no effect; the clean one keeps working
	s.Hold("hostile Ingress stays inert", framework.Request{Host: bad}, func() error {
		for _, p := range paths {
			r := s.Do(framework.Request{Host: bad, Path: p})
			if err := injected(r); err != nil {
				return fmt.Errorf("%s: %w", r.Request, err)
			}
			statuses[r.StatusCode]++
		}
		if r := s.Do(framework.Request{Host: clean}); r.Echo == nil || r.Echo.Service != "echo" {
			return fmt.Errorf("the clean Ingress next to a hostile one stopped working: %s", r)
		}
		return nil
	})
	codes := make([]string, 0, len(statuses))
	for _, c := range slices.Sorted(maps.Keys(statuses)) {
		codes = append(codes, fmt.Sprint(c))
	}
	framework.RecordVariant("hostile Ingress answered " + strings.Join(codes, "/"))
}

var _ = describe("Annotations: snippet", Label("annotations", AnnotationLabel("snippet"), "extended"), func() {
	It("never applies configuration-snippet or server-snippet", func() {
		s := framework.NewSpec(env, "ann-snippet")
		s.Backend("echo", 1)
		ann := annotationsFor("snippet", map[string]string{
			"configuration-snippet": `more_set_headers "X-Snippet: injected"; add_header X-Injected 1;`,
			"server-snippet":        "location /snippet { return 200 \"pwned\"; }",
		})
		stayInert(s, ann, "/", "/snippet")
	})
})

// hostileFeature labels the hostile-values spec in reports (it is not a
// profile feature: it uses whatever features the profile supports).
const hostileFeature = "hostile-values"

// hostileValues are injection attempts and absurd values, by feature.
var hostileValues = map[string]map[string]string{
	"rewrite":        {"rewrite-target": "/ok;\nreturn 200 \"pwned\";#"},
	"upstream-vhost": {"upstream-vhost": "a.example\r\nX-Injected: 1"},
	"rate-limit":     {"limit-rps": "99999999999999999999999999"},
	"source-range":   {"whitelist-source-range": "10.0.0.0/8, not-a-cidr, 300.1.2.3/40"},
	"body-size":      {"proxy-body-size": "1k; return 200 pwned"},
	"cors":           {"enable-cors": "true", "cors-allow-origin": "https://a.example\r\nX-Injected: 1"},
	"timeouts":       {"proxy-read-timeout": "-5"},
	"redirect":       {"permanent-redirect": "javascript:alert(1)"},
}

var _ = describe("Annotations: hostile values", Label("annotations", AnnotationLabel(hostileFeature), "extended"), func() {
	It("keeps injection attempts and absurd values inert, and other Ingresses working", func() {
		var hostile []map[string]string
		for _, f := range slices.Sorted(maps.Keys(hostileValues)) {
			if support, _ := env.Controller.Profile.AnnotationSupport(f); support == profile.AnnotationUnsupported {
				continue
			}
			if a, err := env.Controller.Profile.AnnotationKeys(f, hostileValues[f]); err == nil {
				hostile = append(hostile, a)
			}
		}
		if len(hostile) == 0 {
			Skip(unsupportedPrefix + "the profile supports none of the annotations with hostile values")
		}
		s := framework.NewSpec(env, "ann-hostile")
		s.Backend("echo", 1)
		stayInert(s, merge(hostile...), "/", "/ok")
	})
})
