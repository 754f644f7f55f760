package suites

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"sync"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/certs"
	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Annotation specs about how traffic is shaped: limits, timeouts, body
// size, canaries, affinity, backend protocols.

// rejectStatuses are the statuses controllers use to refuse a request over
// a limit (ingress-nginx: 503; others 429).
var rejectStatuses = []int{503, 429}

var _ = describe("Annotations: rate-limit", Label("annotations", AnnotationLabel("rate-limit"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-limit")
		s.Backend("echo", 1)
	})

	// limited waits until the route answers, then checks that a quick burst
	// of 30 requests gets some refused (recording the status used).
	limited := func(req framework.Request) {
		GinkgoHelper()
		// One answer from the backend shows the route is there; several in a
		// row could already exceed the limit.
		s.Poll("the route answers", env.Timeouts.MaxTimeToConsistency, func() error {
			return framework.Expect{Backend: "echo"}.Match(s.Do(req))
		})
		var last map[int]int
		countChecks(2) // the route answers; some of a burst refused
		s.Poll("requests over the limit refused", env.Timeouts.MaxTimeToConsistency, func() error {
			last = burst(s, req, 30)
			for _, code := range rejectStatuses {
				if last[code] > 0 && last[200] > 0 {
					framework.RecordVariant(fmt.Sprint(code))
					return nil
				}
			}
			return fmt.Errorf("30 quick requests got statuses %v, want some 200 and some of %v", last, rejectStatuses)
		})
	}

	It("refuses requests over limit-rps", func() {
		host := s.Host("rps")
		applyAnnotated(s, annotated{Name: "rps", Host: host, Service: "echo", Annotations: annotationsFor("rate-limit", map[string]string{"limit-rps": "5", "limit-burst-multiplier": "1"})})
		limited(framework.Request{Host: host, Path: "/"})
	})

	It("refuses requests over limit-rpm", func() {
		host := s.Host("rpm")
		applyAnnotated(s, annotated{Name: "rpm", Host: host, Service: "echo", Annotations: annotationsFor("rate-limit", map[string]string{"limit-rpm": "10", "limit-burst-multiplier": "1"})})
		limited(framework.Request{Host: host, Path: "/"})
	})

	It("exempts limit-whitelist clients", func() {
		host := s.Host("exempt")
		ann := annotationsFor("rate-limit", map[string]string{"limit-rps": "1", "limit-burst-multiplier": "1", "limit-whitelist": "127.0.0.0/8"})
		applyAnnotated(s, annotated{Name: "exempt", Host: host, Service: "echo", Annotations: ann})
		req := framework.Request{Host: host, Path: "/"}
		see(s, req, framework.Expect{Backend: "echo"})
		countChecks(1)
		s.Poll("every request of a burst from an exempt client served", env.Timeouts.MaxTimeToConsistency, func() error {
			if got := burst(s, req, 20); got[200] != 20 {
				return fmt.Errorf("20 quick requests from 127.0.0.1 got statuses %v, want all 200", got)
			}
			return nil
		})
	})

	It("refuses connections over limit-connections", func() {
		host := s.Host("conn")
		applyAnnotated(s, annotated{Name: "conn", Host: host, Service: "echo", Annotations: annotationsFor("rate-limit", map[string]string{"limit-connections": "1"})})
		see(s, framework.Request{Host: host, Path: "/"}, framework.Expect{Backend: "echo"})
		// Four requests at once, each held 1.5 s by the backend: with one
		// connection allowed, some must be refused.
		countChecks(1)
		s.Poll("concurrent requests over the limit refused", env.Timeouts.MaxTimeToConsistency, func() error {
			var mu sync.Mutex
			counts := map[int]int{}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					r := s.Do(framework.Request{Host: host, Path: "/?delay=1500ms"})
					mu.Lock()
					counts[r.StatusCode]++
					mu.Unlock()
				})
			}
			wg.Wait()
			for _, code := range rejectStatuses {
				if counts[code] > 0 && counts[200] > 0 {
					framework.RecordVariant(fmt.Sprint(code))
					return nil
				}
			}
			return fmt.Errorf("4 concurrent slow requests got statuses %v, want some 200 and some of %v", counts, rejectStatuses)
		})
	})
})

var _ = describe("Annotations: timeouts", Label("annotations", AnnotationLabel("timeouts"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-timeout")
		s.Backend("echo", 1)
	})

	It("gives up on a slow backend after proxy-read-timeout", func() {
		host := s.Host("read")
		applyAnnotated(s, annotated{Name: "read", Host: host, Service: "echo", Annotations: annotationsFor("timeouts", map[string]string{"proxy-read-timeout": "1"})})
		see(s, framework.Request{Host: host, Path: "/fast"}, framework.Expect{Backend: "echo"})
		seeStatusIn(s, framework.Request{Host: host, Path: "/slow?delay=4s"}, 504, 502)
	})

	It("keeps serving with proxy-connect-timeout and proxy-send-timeout set", func() {
		host := s.Host("connect")
		ann := annotationsFor("timeouts", map[string]string{"proxy-connect-timeout": "2", "proxy-send-timeout": "5"})
		applyAnnotated(s, annotated{Name: "connect", Host: host, Service: "echo", Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/", Method: http.MethodPost, Body: bytes.Repeat([]byte("x"), 4096)}, framework.Expect{Backend: "echo", Check: bodyLength(4096)})
	})
})

// bodyLength checks the number of body bytes the backend read.
func bodyLength(n int64) func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if r.Echo == nil || r.Echo.BodyLength != n {
			return fmt.Errorf("backend read a body of %v bytes, want %d", func() any {
				if r.Echo == nil {
					return "<no echo>"
				}
				return r.Echo.BodyLength
			}(), n)
		}
		return nil
	}
}

var _ = describe("Annotations: body-size", Label("annotations", AnnotationLabel("body-size"), "extended"), func() {
	It("answers 413 for a body over proxy-body-size and passes smaller ones", func() {
		s := framework.NewSpec(env, "ann-body")
		s.Backend("echo", 1)
		host := s.Host("body")
		applyAnnotated(s, annotated{Name: "body", Host: host, Service: "echo", Annotations: annotationsFor("body-size", map[string]string{"proxy-body-size": "1k"})})
		small := framework.Request{Host: host, Path: "/up", Method: http.MethodPost, Body: bytes.Repeat([]byte("x"), 512)}
		large := framework.Request{Host: host, Path: "/up", Method: http.MethodPost, Body: bytes.Repeat([]byte("x"), 8192)}
		see(s, small, framework.Expect{Backend: "echo", Check: bodyLength(512)})
		see(s, large, framework.Expect{Status: 413})
	})
})

var _ = describe("Annotations: canary", Label("annotations", AnnotationLabel("canary"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-canary")
	})

	// pair publishes a stable and a canary Service (their own per pair:
	// ingress-nginx keeps one canary policy per Service) and applies a main
	// Ingress and a canary Ingress for the same host. Responses name the
	// Services "<label>-stable" and "<label>-canary".
	pair := func(label string, canary map[string]string) string {
		GinkgoHelper()
		ann := annotationsFor("canary", merge(map[string]string{"canary": "true"}, canary))
		s.Backend(label+"-stable", 1)
		s.Backend(label+"-canary", 1)
		host := s.Host(label)
		applyAnnotated(s, annotated{Name: label + "-main", Host: host, Service: label + "-stable"})
		see(s, framework.Request{Host: host}, framework.Expect{Backend: label + "-stable"})
		applyAnnotated(s, annotated{Name: label + "-canary", Host: host, Service: label + "-canary", Annotations: ann})
		return host
	}

	It("routes by canary-by-header (always / never)", func() {
		host := pair("header", map[string]string{"canary-by-header": "X-Canary"})
		see(s, framework.Request{Host: host, Headers: map[string]string{"X-Canary": "always"}}, framework.Expect{Backend: "header-canary"})
		see(s, framework.Request{Host: host, Headers: map[string]string{"X-Canary": "never"}}, framework.Expect{Backend: "header-stable"})
		countChecks(1)
		s.Consistently(framework.Request{Host: host}, framework.Expect{Backend: "header-stable"})
	})

	It("routes by canary-by-header-value", func() {
		host := pair("value", map[string]string{"canary-by-header": "X-Version", "canary-by-header-value": "blue"})
		see(s, framework.Request{Host: host, Headers: map[string]string{"X-Version": "blue"}}, framework.Expect{Backend: "value-canary"})
		see(s, framework.Request{Host: host, Headers: map[string]string{"X-Version": "green"}}, framework.Expect{Backend: "value-stable"})
	})

	It("routes by canary-by-cookie", func() {
		host := pair("cookie", map[string]string{"canary-by-cookie": "use_canary"})
		see(s, framework.Request{Host: host, Headers: map[string]string{"Cookie": "use_canary=always"}}, framework.Expect{Backend: "cookie-canary"})
		see(s, framework.Request{Host: host, Headers: map[string]string{"Cookie": "use_canary=never"}}, framework.Expect{Backend: "cookie-stable"})
	})

	It("sends all traffic to a canary with canary-weight 100", func() {
		host := pair("weight", map[string]string{"canary-weight": "100"})
		see(s, framework.Request{Host: host}, framework.Expect{Backend: "weight-canary"})
		countChecks(1)
		s.Consistently(framework.Request{Host: host}, framework.Expect{Backend: "weight-canary"})
	})
})

var _ = describe("Annotations: affinity", Label("annotations", AnnotationLabel("affinity"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-affinity")
		// One Service per Ingress: ingress-nginx keeps affinity settings
		// per Service.
		s.Backend("sticky", 4)
		s.Backend("attrs", 2)
	})

	It("sets a session cookie and keeps a client with it on one endpoint", func() {
		host := s.Host("sticky")
		ann := annotationsFor("affinity", map[string]string{"affinity": "cookie", "session-cookie-name": "route"})
		applyAnnotated(s, annotated{Name: "sticky", Host: host, Service: "sticky", Annotations: ann})
		see(s, framework.Request{Host: host}, framework.Expect{Backend: "sticky"})
		var cookie *http.Cookie
		countChecks(2) // the cookie is set; requests with it stay on one endpoint
		s.Poll("a response sets cookie route", env.Timeouts.MaxTimeToConsistency, func() error {
			r := s.Do(framework.Request{Host: host})
			if r.Echo == nil {
				return fmt.Errorf("no answer from the backend: %s", r)
			}
			for _, c := range (&http.Response{Header: r.Header}).Cookies() {
				if c.Name == "route" {
					cookie = c
					return nil
				}
			}
			return fmt.Errorf("no Set-Cookie route in %v", r.Header.Values("Set-Cookie"))
		})
		first := ""
		for i := range 12 {
			r := s.Do(framework.Request{Host: host, Headers: map[string]string{"Cookie": "route=" + cookie.Value}})
			if r.Echo == nil {
				Fail(fmt.Sprintf("request %d with the cookie: %s", i, r))
			}
			if first == "" {
				first = r.Echo.Pod
			} else if r.Echo.Pod != first {
				Fail(fmt.Sprintf("request %d with the session cookie went to %s, earlier ones to %s", i, r.Echo.Pod, first))
			}
		}
	})

	It("applies session-cookie-path, -max-age and -samesite", func() {
		host := s.Host("attrs")
		ann := annotationsFor("affinity", map[string]string{"affinity": "cookie", "session-cookie-name": "sess", "session-cookie-path": "/app",
			"session-cookie-max-age": "3600", "session-cookie-samesite": "Strict"})
		applyAnnotated(s, annotated{Name: "attrs", Host: host, Path: "/app", Service: "attrs", Annotations: ann})
		countChecks(3) // path, max-age, samesite
		see(s, framework.Request{Host: host, Path: "/app"}, framework.Expect{Backend: "attrs", Check: func(r framework.Response) error {
			for _, c := range (&http.Response{Header: r.Header}).Cookies() {
				if c.Name != "sess" {
					continue
				}
				if c.Path != "/app" || c.MaxAge != 3600 || c.SameSite != http.SameSiteStrictMode {
					return fmt.Errorf("cookie sess has path %q, max-age %d, samesite %v; want /app, 3600, Strict (%v)", c.Path, c.MaxAge, c.SameSite, r.Header.Values("Set-Cookie"))
				}
				return nil
			}
			return fmt.Errorf("no Set-Cookie sess in %v", r.Header.Values("Set-Cookie"))
		}})
	})
})

// secureBackend publishes an echo backend serving HTTPS on Service port 443.
func secureBackend(s *framework.Spec, name string) *cluster.Backend {
	GinkgoHelper()
	return s.Backend(name, 1, cluster.ServicePort{Name: "https", Port: 443, TargetPort: 8443, TLS: true})
}

// servedOverTLS checks the backend received the request over TLS.
func servedOverTLS() func(framework.Response) error {
	countChecks(1)
	return func(r framework.Response) error {
		if r.Echo == nil || r.Echo.TLS == nil {
			return fmt.Errorf("backend did not receive the request over TLS")
		}
		return nil
	}
}

var _ = describe("Annotations: backend-protocol", Label("annotations", AnnotationLabel("backend-protocol"), "extended"), func() {
	It("speaks HTTPS to the backend with backend-protocol HTTPS", func() {
		s := framework.NewSpec(env, "ann-proto")
		secureBackend(s, "secure")
		host := s.Host("https")
		applyAnnotated(s, annotated{Name: "https", Host: host, Service: "secure", Port: 443, Annotations: annotationsFor("backend-protocol", map[string]string{"backend-protocol": "HTTPS"})})
		see(s, framework.Request{Host: host, Path: "/tls"}, framework.Expect{Backend: "secure", Path: "/tls", Check: servedOverTLS()})
	})
})

// backendCertificatePEM fetches the certificate an endpoint presents (the
// suite may connect to its own backends), for a proxy-ssl-secret CA.
func backendCertificatePEM(b *cluster.Backend, port int) []byte {
	GinkgoHelper()
	addr := net.JoinHostPort(b.Endpoints[0].Address.String(), fmt.Sprint(port))
	ctx, cancel := context.WithTimeout(context.Background(), env.Timeouts.Request)
	defer cancel()
	if err := env.Guard()(ctx, b.Endpoints[0].Address); err != nil {
		Fail(fmt.Sprintf("backend %s: %v", addr, err))
	}
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // reading the certificate, not trusting it
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		Fail(fmt.Sprintf("read the certificate of backend %s: %v", addr, err))
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw})
}

// caSecret creates a Secret with ca.crt.
func caSecret(s *framework.Spec, name string, ca []byte) {
	GinkgoHelper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace}, Data: map[string][]byte{"ca.crt": ca}}
	if _, err := env.Client.CoreV1().Secrets(s.Namespace).Create(s.Context(), sec, metav1.CreateOptions{}); err != nil {
		Fail(fmt.Sprintf("create secret %s/%s: %v", s.Namespace, name, err))
	}
}

var _ = describe("Annotations: upstream-tls", Label("annotations", AnnotationLabel("upstream-tls"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var secure *cluster.Backend
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-upstls")
		secure = secureBackend(s, "secure")
	})

	It("verifies the backend certificate against proxy-ssl-secret's CA", func() {
		ca := backendCertificatePEM(secure, 8443)
		caSecret(s, "backend-ca", ca)
		host := s.Host("verified")
		ann := merge(annotationsFor("backend-protocol", map[string]string{"backend-protocol": "HTTPS"}),
			annotationsFor("upstream-tls", map[string]string{"proxy-ssl-verify": "on", "proxy-ssl-secret": s.Namespace + "/backend-ca",
				"proxy-ssl-name": "secure." + s.Namespace + ".svc"}))
		applyAnnotated(s, annotated{Name: "verified", Host: host, Service: "secure", Port: 443, Annotations: ann})
		see(s, framework.Request{Host: host, Path: "/ok"}, framework.Expect{Backend: "secure", Check: servedOverTLS()})
	})

	It("refuses a backend whose certificate another CA signed", func() {
		other, err := certs.SelfSigned(certs.Options{Hosts: []string{"secure." + s.Namespace + ".svc"}})
		if err != nil {
			Fail(err.Error())
		}
		caSecret(s, "other-ca", other.CertPEM)
		host := s.Host("refused")
		ann := merge(annotationsFor("backend-protocol", map[string]string{"backend-protocol": "HTTPS"}),
			annotationsFor("upstream-tls", map[string]string{"proxy-ssl-verify": "on", "proxy-ssl-secret": s.Namespace + "/other-ca",
				"proxy-ssl-name": "secure." + s.Namespace + ".svc"}))
		applyAnnotated(s, annotated{Name: "refused", Host: host, Service: "secure", Port: 443, Annotations: ann})
		seeStatusIn(s, framework.Request{Host: host, Path: "/bad"}, 502, 503, 500)
	})
})

var _ = describe("Annotations: retries", Label("annotations", AnnotationLabel("retries"), "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	BeforeAll(func() {
		s = framework.NewSpec(env, "ann-retry")
		// Two endpoints published ready; half-1 refuses every connection.
		s.PublishBackend(cluster.BackendSpec{Name: "half", Replicas: 2, Refusing: 1})
	})

	It("retries the next endpoint when one refuses connections (proxy-next-upstream-tries 3)", func() {
		host := s.Host("retry")
		applyAnnotated(s, annotated{Name: "retry", Host: host, Service: "half", Annotations: annotationsFor("retries", map[string]string{"proxy-next-upstream-tries": "3"})})
		exp := framework.Expect{Backend: "half", Check: func(r framework.Response) error {
			if r.Echo.Pod != "half-0" {
				return fmt.Errorf("answered by %s", r.Echo.Pod)
			}
			return nil
		}}
		countChecks(2)
		s.Poll("20 requests in a row served despite the refusing endpoint", env.Timeouts.MaxTimeToConsistency, batch(s, framework.Request{Host: host}, exp, 20))
	})

	It("records what a single try does with a refusing endpoint (proxy-next-upstream-tries 1)", func() {
		host := s.Host("once")
		applyAnnotated(s, annotated{Name: "once", Host: host, Service: "half", Annotations: annotationsFor("retries", map[string]string{"proxy-next-upstream-tries": "1"})})
		s.Poll("the route answers", env.Timeouts.MaxTimeToConsistency, func() error {
			return framework.Expect{Backend: "half"}.Match(s.Do(framework.Request{Host: host}))
		})
		countChecks(1)
		counts := burst(s, framework.Request{Host: host}, 20)
		failed := 20 - counts[200]
		// Passive health checks may take the endpoint out after its first
		// failure, so both outcomes are valid; the report shows which.
		if failed > 0 {
			framework.RecordVariant("single try: errors reach clients")
		} else {
			framework.RecordVariant("single try: refusing endpoint avoided")
		}
		if counts[200] == 0 {
			Fail(fmt.Sprintf("no request was served with one try per request: statuses %v", counts))
		}
	})
})
