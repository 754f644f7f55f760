package suites

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/suites/framework"
)

// The hostile API data specs: objects the API server accepts but that are
// absurd (huge, mismatched, dangling). A controller must keep serving every
// other Ingress, pick up later changes, and (where its profile declares
// diagnostics) say what is wrong, naming the object and field.

// ingressObject builds an Ingress of the controller's class with rules
// (host, path, pathType, service, port: a number or a name) and TLS
// entries (secret, hosts...).
func ingressObject(class, name string, rules [][5]string, tls ...[]string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressSpec{IngressClassName: &class}}
	for _, r := range rules {
		pt := networkingv1.PathType(r[2])
		be := networkingv1.IngressServiceBackend{Name: r[3]}
		if n, err := strconv.Atoi(r[4]); err == nil {
			be.Port.Number = int32(n)
		} else {
			be.Port.Name = r[4]
		}
		p := networkingv1.HTTPIngressPath{Path: r[1], PathType: &pt, Backend: networkingv1.IngressBackend{Service: &be}}
		if n := len(ing.Spec.Rules); n > 0 && ing.Spec.Rules[n-1].Host == r[0] {
			ing.Spec.Rules[n-1].HTTP.Paths = append(ing.Spec.Rules[n-1].HTTP.Paths, p)
			continue
		}
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: r[0], IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{p}},
		}})
	}
	for _, t := range tls {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{SecretName: t[0], Hosts: t[1:]})
	}
	return ing
}

// createIngress creates ing in the spec's namespace.
func createIngress(s *framework.Spec, ing *networkingv1.Ingress) {
	GinkgoHelper()
	if _, err := s.Env.Client.NetworkingV1().Ingresses(s.Namespace).Create(s.Context(), ing, metav1.CreateOptions{}); err != nil {
		Fail(fmt.Sprintf("create Ingress %s/%s: %v", s.Namespace, ing.Name, err))
	}
	s.MarkChange()
}

// createTLSSecretPEM creates a kubernetes.io/tls Secret from PEM data, plus
// extra keys.
func createTLSSecretPEM(s *framework.Spec, name string, cert, key []byte, extra map[string][]byte) {
	GinkgoHelper()
	data := map[string][]byte{corev1.TLSCertKey: cert, corev1.TLSPrivateKeyKey: key}
	for k, v := range extra {
		data[k] = v
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeTLS, Data: data}
	if _, err := s.Env.Client.CoreV1().Secrets(s.Namespace).Create(s.Context(), sec, metav1.CreateOptions{}); err != nil {
		Fail(fmt.Sprintf("create Secret %s/%s: %v", s.Namespace, name, err))
	}
	s.MarkChange()
}

var _ = describe("Reliability: hostile API data", Label(ReliabilityLabel, "api-data", "extended"), Ordered, ContinueOnFailure, func() {
	var s *framework.Spec
	var siblings int
	steady := func() string { return s.Host("steady") }
	BeforeAll(func() {
		s = framework.NewSpec(env, "apidata")
		s.Backend("svc-a", 1)
		s.Backend("svc-b", 1)
		createIngress(s, ingressObject(s.Controller.IngressClass, "steady", [][5]string{{steady(), "/", "Prefix", "svc-a", "80"}}))
		s.Eventually(framework.Request{Host: steady()}, framework.Expect{Backend: "svc-a"})
	})

	// caughtUp creates a new Ingress after the hostile object and waits
	// until it is served, and checks the steady one still is: the
	// controller neither crashed nor stopped picking up changes.
	caughtUp := func() {
		GinkgoHelper()
		siblings++
		host := s.Host("sibling-" + strconv.Itoa(siblings))
		createIngress(s, ingressObject(s.Controller.IngressClass, "sibling-"+strconv.Itoa(siblings), [][5]string{{host, "/", "Prefix", "svc-b", "80"}}))
		s.Eventually(framework.Request{Host: host}, framework.Expect{Backend: "svc-b"})
		s.Eventually(framework.Request{Host: steady()}, framework.Expect{Backend: "svc-a"})
	}

	It("keeps serving with a 10,000-character path in an Ingress", func() {
		host := s.Host("long")
		long := "/" + strings.Repeat("p", 9999)
		// Removed after this spec, so that one hostile object cannot fail the
		// later specs too (ingress-nginx cannot reload while it exists).
		DeferCleanup(s.DeleteIngress, "long-path")
		createIngress(s, ingressObject(s.Controller.IngressClass, "long-path", [][5]string{
			{host, long, "Prefix", "svc-a", "80"}, {host, "/short", "Prefix", "svc-a", "80"},
		}))
		caughtUp()
		r := s.Do(framework.Request{Host: host, Path: long + "/x"})
		variant := "long path routed"
		if r.Err != nil || r.Backend() != "svc-a" {
			variant = "long path not routed (" + strconv.Itoa(r.StatusCode) + ")"
			if r.Err != nil {
				variant = "long path not routed (" + r.Err.Error() + ")"
			}
			if r.Echo != nil {
				Fail(fmt.Sprintf("the long path was answered by %s", r.Backend()))
			}
		}
		if s.Do(framework.Request{Host: host, Path: "/short"}).Backend() == "svc-a" {
			variant += ", other paths served"
		} else {
			variant += ", whole Ingress dropped"
		}
		if !strings.HasPrefix(variant, "long path routed") {
			variant += ", diagnosed: " + s.ExpectDiagnosis("long-path", "spec.rules[0].http.paths[0]")
		}
		framework.RecordVariant(variant)
	})

	It("routes every one of 2,000 rules in one Ingress", func() {
		rules := make([][5]string, 2000)
		for i := range rules {
			rules[i] = [5]string{s.Host("r" + strconv.Itoa(i)), "/", "Prefix", "svc-a", "80"}
		}
		DeferCleanup(s.DeleteIngress, "many-rules")
		createIngress(s, ingressObject(s.Controller.IngressClass, "many-rules", rules))
		start := time.Now()
		for _, i := range []int{0, 999, 1999} {
			s.Eventually(framework.Request{Host: s.Host("r" + strconv.Itoa(i))}, framework.Expect{Backend: "svc-a"})
		}
		AddReportEntry("twoThousandRulesRoutedAfter", time.Since(start).String(), ReportEntryVisibilityFailureOrVerbose)
		caughtUp()
	})

	It("keeps serving with a TLS Secret whose key does not match its certificate, and says so", func() {
		host := s.Host("mismatch")
		cert, err := framework.GenerateCertificate(host)
		if err != nil {
			Fail(err.Error())
		}
		other, err := framework.GenerateCertificate(host)
		if err != nil {
			Fail(err.Error())
		}
		createTLSSecretPEM(s, "mismatch", cert.CertPEM, other.KeyPEM, nil)
		DeferCleanup(s.DeleteIngress, "mismatch")
		createIngress(s, ingressObject(s.Controller.IngressClass, "mismatch", [][5]string{{host, "/", "Prefix", "svc-a", "80"}}, []string{"mismatch", host}))
		caughtUp()
		v, _ := s.EventuallyOutcome(framework.Request{HTTPS: true, Host: host},
			framework.OutcomeOf("default-certificate", framework.Expect{Backend: "svc-a", Check: framework.NotServedBy(cert)}),
			framework.OutcomeOf("404", framework.Expect{Status: 404, Check: framework.NotServedBy(cert)}),
			framework.TransportFailure("handshake-refused", handshakeFailed),
		)
		framework.RecordVariant(v + ", diagnosed: " + s.ExpectDiagnosis("mismatch", "spec.tls[0]"))
	})

	It("serves a host whose TLS Secret is close to the API's 1 MiB limit", func() {
		host := s.Host("huge")
		cert, err := framework.GenerateCertificate(host)
		if err != nil {
			Fail(err.Error())
		}
		padding := []byte(strings.Repeat("x", 900<<10))
		createTLSSecretPEM(s, "huge", cert.CertPEM, cert.KeyPEM, map[string][]byte{"padding": padding})
		DeferCleanup(s.DeleteIngress, "huge")
		createIngress(s, ingressObject(s.Controller.IngressClass, "huge", [][5]string{{host, "/", "Prefix", "svc-a", "80"}}, []string{"huge", host}))
		s.Eventually(framework.Request{HTTPS: true, Host: host}, framework.Expect{Backend: "svc-a", Check: framework.ServedBy(cert)})
		caughtUp()
	})

	It("serves the valid paths of an Ingress with dangling Service names and ports, and says what is wrong", func() {
		host := s.Host("refs")
		DeferCleanup(s.DeleteIngress, "broken-refs")
		createIngress(s, ingressObject(s.Controller.IngressClass, "broken-refs", [][5]string{
			{host, "/ok", "Prefix", "svc-a", "80"},
			{host, "/no-port-name", "Prefix", "svc-a", "no-such-port"},
			{host, "/no-service", "Prefix", "no-such-service", "80"},
			{host, "/no-port-number", "Prefix", "svc-a", "8181"},
		}))
		s.Eventually(framework.Request{Host: host, Path: "/ok"}, framework.Expect{Backend: "svc-a"})
		var seen []string
		for _, p := range []string{"/no-port-name", "/no-service", "/no-port-number"} {
			r := s.Do(framework.Request{Host: host, Path: p})
			if r.Err != nil {
				Fail(fmt.Sprintf("%s: %v", p, r.Err))
			}
			if r.Echo != nil {
				Fail(fmt.Sprintf("%s was answered by backend %s: a dangling reference must not reach any backend", p, r.Backend()))
			}
			seen = append(seen, strconv.Itoa(r.StatusCode))
		}
		d := s.ExpectDiagnosis("broken-refs", "spec.rules[0].http.paths[1].backend")
		s.ExpectDiagnosis("broken-refs", "spec.rules[0].http.paths[2].backend")
		caughtUp()
		framework.RecordVariant(strings.Join(seen, "/") + ", diagnosed: " + d)
	})
})
