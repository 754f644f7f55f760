package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/app"
	"github.com/ingresslab/ingresslab/echoserver"
)

// annotate sets annotations (key, value pairs) on an Ingress being built.
func annotate(kv ...string) ingressOpt {
	return func(i *networkingv1.Ingress) {
		if i.Annotations == nil {
			i.Annotations = map[string]string{}
		}
		for k := 0; k+1 < len(kv); k += 2 {
			i.Annotations[kv[k]] = kv[k+1]
		}
	}
}

// lab is the full ingresslab.dev key of an annotation.
func lab(name string) string { return "ingresslab.dev/" + name }

// send sends one plain-HTTP request to the target with the Host header
// host, extra headers and an optional body.
func (tg target) send(method, host, path string, hdr http.Header, body string) (reply, error) {
	tr := &http.Transport{DialContext: dialTo(tg.http), DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+host+path, rd)
	if err != nil {
		return reply{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{code: resp.StatusCode, header: resp.Header, body: string(b)}
	var e echoserver.Response
	if json.Unmarshal(b, &e) == nil && e.Pod != "" {
		r.echo = &e
	}
	return r, nil
}

// expectReply polls a request until check accepts the reply (3 in a row).
func (tg target) expectReply(t *testing.T, method, host, path string, hdr http.Header, body string, check func(reply) error) reply {
	t.Helper()
	var last reply
	eventually(t, fmt.Sprintf("%s http://%s%s", method, host, path), func() error {
		r, err := tg.send(method, host, path, hdr, body)
		if err != nil {
			return err
		}
		last = r
		return check(r)
	})
	return last
}

// redirectTo checks a redirect's status and Location.
func redirectTo(code int, location string) func(reply) error {
	return func(r reply) error {
		if r.code != code || r.header.Get("Location") != location {
			return fmt.Errorf("got %s, want %d Location %s", r, code, location)
		}
		return nil
	}
}

func status(code int) func(reply) error {
	return func(r reply) error {
		if r.code != code {
			return fmt.Errorf("got %s, want status %d", r, code)
		}
		return nil
	}
}

func TestAnnotationRedirects(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "moved", className(mainClass), prefix("moved.example", "/", "echo", "80"),
		annotate(lab("permanent-redirect"), "https://new.example$request_uri", lab("permanent-redirect-code"), "308"))
	createIngress(t, ns, "temp", className(mainClass), prefix("temp.example", "/", "echo", "80"),
		annotate(lab("temporal-redirect"), "https://maintenance.example/"))
	createIngress(t, ns, "root", className(mainClass), prefix("root.example", "/", "echo", "80"),
		annotate(lab("app-root"), "/app"))
	createIngress(t, ns, "force", className(mainClass), prefix("force.example", "/", "echo", "80"),
		annotate(lab("force-ssl-redirect"), "true"))

	mainTarget.expectReply(t, http.MethodGet, "moved.example", "/a/b?c=d", nil, "", redirectTo(http.StatusPermanentRedirect, "https://new.example/a/b?c=d"))
	mainTarget.expectReply(t, http.MethodGet, "temp.example", "/x", nil, "", redirectTo(http.StatusFound, "https://maintenance.example/"))
	mainTarget.expectReply(t, http.MethodGet, "root.example", "/", nil, "", redirectTo(http.StatusFound, "/app"))
	mainTarget.expectHTTP(t, "root.example", "/app", want{namespace: ns, service: "echo"})
	_, port, _ := strings.Cut(mainTarget.https, "127.0.0.1:")
	mainTarget.expectReply(t, http.MethodGet, "force.example", "/p?q=1", nil, "", redirectTo(http.StatusPermanentRedirect, "https://force.example:"+port+"/p?q=1"))
	mainTarget.expectHTTPS(t, "force.example", "force.example", "/p", nil, want{namespace: ns, service: "echo"})

	// Removing the annotation serves the path again, without a restart.
	updateIngress(t, ns, "temp", func(ing *networkingv1.Ingress) { delete(ing.Annotations, lab("temporal-redirect")) })
	mainTarget.expectHTTP(t, "temp.example", "/x", want{namespace: ns, service: "echo"})
}

func TestAnnotationUpstreamRewrite(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "rewrite", className(mainClass), prefix("rewrite.example", "/api", "echo", "80"),
		annotate(lab("rewrite-target"), "/v2", lab("upstream-vhost"), "internal.example", lab("x-forwarded-prefix"), "/api"))
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		body := ""
		if method == http.MethodPost {
			body = "payload" // the ReverseProxy path
		}
		mainTarget.expectReply(t, method, "rewrite.example", "/api/users?id=7", nil, body, func(r reply) error {
			if r.echo == nil {
				return fmt.Errorf("got %s, want an echo response", r)
			}
			e := r.echo
			if e.Path != "/v2?id=7" || e.Host != "internal.example" || strings.Join(e.Headers["X-Forwarded-Prefix"], ",") != "/api" ||
				strings.Join(e.Headers["X-Forwarded-Host"], ",") != "rewrite.example" {
				return fmt.Errorf("upstream saw path %q host %q X-Forwarded-Prefix %v X-Forwarded-Host %v",
					e.Path, e.Host, e.Headers["X-Forwarded-Prefix"], e.Headers["X-Forwarded-Host"])
			}
			return nil
		})
	}
}

func TestAnnotationAccessControl(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "allow-other", className(mainClass), prefix("allow-other.example", "/", "echo", "80"),
		annotate(lab("whitelist-source-range"), "10.0.0.0/8"))
	createIngress(t, ns, "deny-local", className(mainClass), prefix("deny-local.example", "/", "echo", "80"),
		annotate(lab("denylist-source-range"), "127.0.0.0/8"))
	createIngress(t, ns, "invalid", className(mainClass), prefix("invalid.example", "/", "echo", "80"),
		annotate(lab("allowlist-source-range"), "127.0.0.1/40"))

	mainTarget.expectHTTP(t, "allow-other.example", "/", want{code: http.StatusForbidden})
	mainTarget.expectHTTP(t, "deny-local.example", "/", want{code: http.StatusForbidden})
	mainTarget.expectHTTP(t, "invalid.example", "/", want{code: http.StatusServiceUnavailable})
	expectEvent(t, ns, "Ingress", "invalid", "InvalidAnnotation", "127.0.0.1/40")

	// Fixing the range serves the Ingress.
	updateIngress(t, ns, "invalid", func(ing *networkingv1.Ingress) {
		ing.Annotations[lab("allowlist-source-range")] = "127.0.0.1/32"
	})
	mainTarget.expectHTTP(t, "invalid.example", "/", want{namespace: ns, service: "echo"})
}

func TestAnnotationBodySizeAndCORS(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "api", className(mainClass), prefix("cors.example", "/", "echo", "80"),
		annotate(lab("proxy-body-size"), "16", lab("enable-cors"), "true",
			lab("cors-allow-origin"), "https://app.example", lab("cors-allow-methods"), "GET, POST"))
	mainTarget.expectReply(t, http.MethodPost, "cors.example", "/", nil, strings.Repeat("x", 17), status(http.StatusRequestEntityTooLarge))
	mainTarget.expectReply(t, http.MethodPost, "cors.example", "/", nil, strings.Repeat("x", 16), status(http.StatusOK))
	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}
	mainTarget.expectReply(t, http.MethodOptions, "cors.example", "/", preflight, "", func(r reply) error {
		if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			r.header.Get("Access-Control-Allow-Methods") != "GET, POST" {
			return fmt.Errorf("preflight got %s %v", r, r.header)
		}
		return nil
	})
	mainTarget.expectReply(t, http.MethodGet, "cors.example", "/", http.Header{"Origin": {"https://app.example"}}, "", func(r reply) error {
		if r.echo == nil || r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			return fmt.Errorf("GET with Origin got %s %v", r, r.header)
		}
		return nil
	})
}

func TestAnnotationNginxDialect(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	const class, controller = "ingresslab-nginx-dialect", "ingresslab.dev/nginx-dialect"
	ingressClass(t, class, controller, false)
	_, tg := startController(t, "nginx-dialect", app.Options{ControllerName: controller, IngressClass: class, AnnotationDialect: "nginx"})
	createIngress(t, ns, "migrated", className(class), prefix("nginx.example", "/old", "echo", "80"),
		annotate("nginx.ingress.kubernetes.io/rewrite-target", "/new",
			"nginx.ingress.kubernetes.io/configuration-snippet", "return 200 'pwned';",
			lab("upstream-vhost"), "ignored.example"))
	tg.expectReply(t, http.MethodGet, "nginx.example", "/old/x", nil, "", func(r reply) error {
		if r.echo == nil || r.echo.Path != "/new" || r.echo.Host != "nginx.example" {
			return fmt.Errorf("got %s, want the echo backend to see path /new and the client's host", r)
		}
		return nil
	})
	expectEvent(t, ns, "Ingress", "migrated", "RefusedAnnotation", "configuration-snippet")
}

func TestAnnotationRateLimit(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	// One request a minute with no burst: once the route is served, every
	// further request within the minute is refused.
	createIngress(t, ns, "limited", className(mainClass), prefix("limited.example", "/", "echo", "80"),
		annotate(lab("limit-rpm"), "1", lab("limit-burst-multiplier"), "1"))
	createIngress(t, ns, "exempt", className(mainClass), prefix("exempt.example", "/", "echo", "80"),
		annotate(lab("limit-rpm"), "1", lab("limit-burst-multiplier"), "1", lab("limit-whitelist"), "127.0.0.1/32"))
	mainTarget.expectHTTP(t, "limited.example", "/", want{code: http.StatusServiceUnavailable})
	mainTarget.expectHTTP(t, "exempt.example", "/", want{namespace: ns, service: "echo"})
}

func TestAnnotationBasicAuth(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	const class, controller = "ingresslab-basic-auth", "ingresslab.dev/basic-auth"
	ingressClass(t, class, controller, false)
	_, tg := startController(t, "basic-auth", app.Options{ControllerName: controller, IngressClass: class, WatchOpaqueSecrets: true})
	// htpasswd -s: alice / secret.
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "users"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"auth": []byte("alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n")}}
	if _, err := kube.CoreV1().Secrets(ns).Create(context.Background(), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createIngress(t, ns, "private", className(class), prefix("private.example", "/", "echo", "80"),
		annotate(lab("auth-type"), "basic", lab("auth-secret"), "users", lab("auth-realm"), "Lab"))
	tg.expectReply(t, http.MethodGet, "private.example", "/", nil, "", func(r reply) error {
		if r.code != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Basic realm="Lab"` {
			return fmt.Errorf("without credentials got %s %v, want 401 with the realm", r, r.header)
		}
		return nil
	})
	auth := func(user, pass string) http.Header {
		req, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		req.SetBasicAuth(user, pass)
		return http.Header{"Authorization": req.Header["Authorization"]}
	}
	tg.expectReply(t, http.MethodGet, "private.example", "/", auth("alice", "wrong"), "", status(http.StatusUnauthorized))
	tg.expectReply(t, http.MethodGet, "private.example", "/", auth("alice", "secret"), "", func(r reply) error {
		if r.echo == nil || r.echo.Namespace != ns {
			return fmt.Errorf("with credentials got %s, want the echo backend", r)
		}
		return nil
	})

	// The main controller does not watch Opaque Secrets: the same Ingress
	// in its class is denied, not served unprotected.
	createIngress(t, ns, "private-main", className(mainClass), prefix("private-main.example", "/", "echo", "80"),
		annotate(lab("auth-type"), "basic", lab("auth-secret"), "users"))
	mainTarget.expectReply(t, http.MethodGet, "private-main.example", "/", auth("alice", "secret"), "", status(http.StatusServiceUnavailable))
	expectEvent(t, ns, "Ingress", "private-main", "SecretNotFound", "users")
}

func TestAnnotationCanary(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "stable", 1)
	backend(t, ns, "canary", 1)
	createIngress(t, ns, "main", className(mainClass), prefix("canary.example", "/", "stable", "80"))
	createIngress(t, ns, "canary", className(mainClass), prefix("canary.example", "/", "canary", "80"),
		annotate(lab("canary"), "true", lab("canary-by-header"), "X-Canary", lab("canary-by-cookie"), "use_canary"))
	reaches := func(svc string) func(reply) error {
		return func(r reply) error {
			if r.echo == nil || r.echo.Namespace != ns || r.echo.Service != svc {
				return fmt.Errorf("got %s, want %s/%s", r, ns, svc)
			}
			return nil
		}
	}
	mainTarget.expectReply(t, http.MethodGet, "canary.example", "/", http.Header{"X-Canary": {"always"}}, "", reaches("canary"))
	mainTarget.expectReply(t, http.MethodGet, "canary.example", "/", http.Header{"Cookie": {"use_canary=always"}}, "", reaches("canary"))
	mainTarget.expectReply(t, http.MethodGet, "canary.example", "/", nil, "", reaches("stable"))
	mainTarget.expectReply(t, http.MethodGet, "canary.example", "/", http.Header{"X-Canary": {"never"}, "Cookie": {"use_canary=always"}}, "", reaches("stable"))

	// Weight 100 sends everything else to the canary.
	updateIngress(t, ns, "canary", func(ing *networkingv1.Ingress) { ing.Annotations[lab("canary-weight")] = "100" })
	mainTarget.expectReply(t, http.MethodGet, "canary.example", "/", nil, "", reaches("canary"))
}

func TestAnnotationAffinity(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 2)
	createIngress(t, ns, "sticky", className(mainClass), prefix("sticky.example", "/", "echo", "80"),
		annotate(lab("affinity"), "cookie", lab("session-cookie-name"), "lab_route"))
	// Wait until both pods are endpoints: requests without a cookie reach both.
	pods := map[string]string{} // pod -> cookie
	eventually(t, "both pods reached with their cookies", func() error {
		r, err := mainTarget.send(http.MethodGet, "sticky.example", "/", nil, "")
		if err != nil {
			return err
		}
		if r.echo == nil {
			return fmt.Errorf("got %s", r)
		}
		resp := http.Response{Header: r.header}
		for _, ck := range resp.Cookies() {
			if ck.Name == "lab_route" {
				pods[r.echo.Pod] = ck.Value
			}
		}
		if len(pods) < 2 {
			return fmt.Errorf("reached pods %v so far", pods)
		}
		return nil
	})
	for pod, value := range pods {
		mainTarget.expectReply(t, http.MethodGet, "sticky.example", "/", http.Header{"Cookie": {"lab_route=" + value}}, "", func(r reply) error {
			if r.echo == nil || r.echo.Pod != pod {
				return fmt.Errorf("with the cookie of pod %s got %s", pod, r)
			}
			return nil
		})
	}
}

func TestAnnotationCustomHTTPErrors(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "errors", className(mainClass), prefix("errors.example", "/", "echo", "80"),
		annotate(lab("custom-http-errors"), "503, 404"))
	mainTarget.expectReply(t, http.MethodGet, "errors.example", "/status/503", nil, "", func(r reply) error {
		if r.code != http.StatusServiceUnavailable || r.body != "503 Service Unavailable\n" {
			return fmt.Errorf("got %s, want the proxy's own 503 page", r)
		}
		return nil
	})
	// Codes not listed pass through from the backend.
	mainTarget.expectReply(t, http.MethodGet, "errors.example", "/?status=502", nil, "", func(r reply) error {
		if r.code != http.StatusBadGateway || r.echo == nil {
			return fmt.Errorf("got %s, want the echo backend's 502", r)
		}
		return nil
	})
}
