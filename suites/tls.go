package suites

import (
	"errors"
	"fmt"
	"net/url"
	"syscall"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/suites/framework"
)

// certNoneOf accepts a completed TLS handshake whose certificate is none of
// certs (a controller's default certificate).
func certNoneOf(certs ...*framework.Certificate) func(framework.Response) error {
	return func(r framework.Response) error {
		for _, c := range certs {
			if err := framework.NotServedBy(c)(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// redirectsToHTTPS accepts a redirect with status code whose Location is
// https://host[:port]path.
func redirectsToHTTPS(code int, host, path string) framework.Expect {
	return framework.Expect{Status: code, Check: func(r framework.Response) error {
		loc := r.Header.Get("Location")
		u, err := url.Parse(loc)
		if err != nil {
			return fmt.Errorf("header Location %q: %w", loc, err)
		}
		if u.Scheme != "https" || u.Hostname() != host || u.RequestURI() != path {
			return fmt.Errorf("header Location %q, want https://%s[:port]%s", loc, host, path)
		}
		return nil
	}}
}

// servedOrRedirected accepts host's route answering over plain HTTP either
// from svc or with a redirect to HTTPS: proof that a TLS Ingress is loaded.
func servedOrRedirected(host, svc string) []framework.Variant {
	vs := []framework.Variant{{Name: "", Expect: framework.Expect{Backend: svc}}}
	for _, code := range []int{301, 302, 307, 308} {
		vs = append(vs, framework.Variant{Name: "", Expect: redirectsToHTTPS(code, host, "/")})
	}
	return vs
}

// handshakeFailed accepts a transport error after the TCP connection was
// made (handshake refused or reset); a refused TCP connection means the
// HTTPS listener is gone, which is no TLS choice.
func handshakeFailed(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("the TCP connection was refused (no HTTPS listener?): %w", err)
	}
	return nil
}

// tlsIngress renders tls/ingress.yaml values.
func tlsIngress(name string, rules [][2]string, tls ...[]string) map[string]any {
	r := make([]any, 0, len(rules))
	for _, x := range rules {
		r = append(r, []any{x[0], x[1]})
	}
	t := make([]any, 0, len(tls))
	for _, x := range tls {
		e := make([]any, 0, len(x))
		for _, v := range x {
			e = append(e, v)
		}
		t = append(t, e)
	}
	return map[string]any{"name": name, "rules": r, "tls": t}
}

var _ = describe("TLS", Label("tls"), Ordered, ContinueOnFailure, func() {
	var (
		s                      *framework.Spec
		hostA, hostB, wildcard string
		certA, certB, certWild *framework.Certificate
	)
	BeforeAll(func() {
		s = framework.NewSpec(env, "tls")
		for _, name := range []string{"svc-a", "svc-b", "svc-c"} {
			s.Backend(name, 1)
		}
		hostA, hostB, wildcard = s.Host("a"), s.Host("b"), "*."+s.Host("wild")
		certA = s.TLSSecret("cert-a", hostA)
		certB = s.TLSSecret("cert-b", hostB)
		certWild = s.TLSSecret("cert-wild", wildcard)
		s.Apply("tls/ingress.yaml", tlsIngress("sni", [][2]string{{hostA, "svc-a"}, {hostB, "svc-b"}},
			[]string{"cert-a", hostA}, []string{"cert-b", hostB}))
		s.Apply("tls/ingress.yaml", tlsIngress("wild", [][2]string{{wildcard, "svc-c"}}, []string{"cert-wild", wildcard}))
		s.Eventually(framework.Request{HTTPS: true, Host: hostA}, framework.Expect{Backend: "svc-a", Check: framework.ServedBy(certA)})
	})

	It("terminates TLS for a host with the certificate of its Secret", Label("core"), func() {
		s.Eventually(framework.Request{HTTPS: true, Host: hostA, Path: "/tls"},
			framework.Expect{Backend: "svc-a", Path: "/tls", Check: framework.ServedBy(certA)})
	})

	It("serves each host its own certificate, chosen by SNI", Label("extended"), func() {
		s.Eventually(framework.Request{HTTPS: true, Host: hostB}, framework.Expect{Backend: "svc-b", Check: framework.ServedBy(certB)})
		s.Eventually(framework.Request{HTTPS: true, Host: hostA}, framework.Expect{Backend: "svc-a", Check: framework.ServedBy(certA)})
	})

	It("serves a wildcard certificate for a host one label under it", Label("extended"), func() {
		s.Eventually(framework.Request{HTTPS: true, Host: "a." + s.Host("wild")},
			framework.Expect{Backend: "svc-c", Check: framework.ServedBy(certWild)})
	})

	It("answers an unknown SNI without the certificate of any Ingress", Label("implementation-specific"), func() {
		_, _ = s.EventuallyOutcome(framework.Request{HTTPS: true, Host: s.Host("unknown")},
			framework.OutcomeOf("default-certificate", framework.Expect{Status: framework.AnyStatus, Check: certNoneOf(certA, certB, certWild)}),
			framework.TransportFailure("handshake-refused", handshakeFailed),
		)
	})

	It("handles a TLS entry whose Secret does not exist", Label("implementation-specific"), func() {
		host := s.Host("missing")
		s.Apply("tls/ingress.yaml", tlsIngress("missing", [][2]string{{host, "svc-a"}}, []string{"does-not-exist", host}))
		// A controller may drop the whole Ingress (then "404" below): a
		// sibling written after it shows that the controller caught up.
		sibling := s.Host("missing-sibling")
		s.Apply("tls/ingress.yaml", tlsIngress("missing-sibling", [][2]string{{sibling, "svc-b"}}, []string{"cert-b", sibling}))
		_, _ = s.EventuallyOneOf(framework.Request{Host: sibling}, servedOrRedirected(sibling, "svc-b")...)
		_, _ = s.EventuallyOutcome(framework.Request{HTTPS: true, Host: host},
			framework.OutcomeOf("default-certificate", framework.Expect{Backend: "svc-a", Check: certNoneOf(certA, certB, certWild)}),
			framework.OutcomeOf("404", framework.Expect{Status: 404}),
			framework.TransportFailure("handshake-refused", handshakeFailed),
		)
	})

	It("serves a rotated certificate without a restart", Label("extended"), func() {
		host := s.Host("rotate")
		first := s.TLSSecret("rotate", host)
		s.Apply("tls/ingress.yaml", tlsIngress("rotate", [][2]string{{host, "svc-a"}}, []string{"rotate", host}))
		s.Eventually(framework.Request{HTTPS: true, Host: host}, framework.Expect{Backend: "svc-a", Check: framework.ServedBy(first)})
		second := s.TLSSecret("rotate", host)
		took := s.Eventually(framework.Request{HTTPS: true, Host: host}, framework.Expect{Backend: "svc-a", Check: framework.ServedBy(second)})
		AddReportEntry("rotation", took.String(), ReportEntryVisibilityFailureOrVerbose)
	})

	It("answers plain HTTP for a TLS host (redirect to HTTPS or served)", Label("implementation-specific"), func() {
		path := "/redirect?q=1"
		_, _ = s.EventuallyOneOf(framework.Request{Host: hostA, Path: path},
			framework.Variant{Name: "308-redirect", Expect: redirectsToHTTPS(308, hostA, path)},
			framework.Variant{Name: "301-redirect", Expect: redirectsToHTTPS(301, hostA, path)},
			framework.Variant{Name: "302-redirect", Expect: redirectsToHTTPS(302, hostA, path)},
			framework.Variant{Name: "served-over-http", Expect: framework.Expect{Backend: "svc-a", Path: path}},
		)
	})

	It("negotiates HTTP/2 by ALPN", Label("implementation-specific"), func() {
		proto := func(want string) func(framework.Response) error {
			return func(r framework.Response) error {
				if r.Proto != want {
					return fmt.Errorf("protocol %s, want %s", r.Proto, want)
				}
				return nil
			}
		}
		_, _ = s.EventuallyOneOf(framework.Request{HTTPS: true, HTTP2: true, Host: hostA},
			framework.Variant{Name: "h2", Expect: framework.Expect{Backend: "svc-a", Check: proto("HTTP/2.0")}},
			framework.Variant{Name: "http/1.1-only", Expect: framework.Expect{Backend: "svc-a", Check: proto("HTTP/1.1")}},
		)
	})

	It("chooses the certificate by SNI and the route by Host", Label("implementation-specific"), func() {
		_, _ = s.EventuallyOneOf(framework.Request{HTTPS: true, Host: hostB, SNI: hostA},
			framework.Variant{Name: "routed-by-host", Expect: framework.Expect{Backend: "svc-b", Check: framework.ServedBy(certA)}},
			framework.Variant{Name: "421-misdirected", Expect: framework.Expect{Status: 421}},
		)
	})
})
