package translate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestBackendProtocolAndUpstreamTLS: backend-protocol becomes the routes'
// Upstream, proxy-ssl-secret is read from the snapshot, and a missing or
// unusable Secret denies the Ingress with a warning on proxy-ssl-secret.
func TestBackendProtocolAndUpstreamTLS(t *testing.T) {
	ca, _ := testCertPEM(t, "backend-ca.example")
	crt, key := testCertPEM(t, "client.example")
	secret := func(data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns-0", Name: "upstream-ca"}, Type: corev1.SecretTypeOpaque, Data: data}
	}
	const k = "ingresslab.dev/"
	tlsAnn := map[string]string{k + "backend-protocol": "HTTPS", k + "proxy-ssl-verify": "on",
		k + "proxy-ssl-secret": "upstream-ca", k + "proxy-ssl-name": "app.internal", k + "proxy-ssl-server-name": "on",
		k + "proxy-ssl-verify-depth": "2"}
	cases := []struct {
		name    string
		ann     map[string]string
		secret  *corev1.Secret
		proto   routing.UpstreamProtocol
		tls     bool
		denied  bool
		warning string // Reason on proxy-ssl-secret
	}{
		{name: "grpc", ann: map[string]string{k + "backend-protocol": "GRPC"}, proto: routing.UpstreamH2C},
		{name: "h2c", ann: map[string]string{k + "backend-protocol": "h2c"}, proto: routing.UpstreamH2C},
		{name: "http", ann: map[string]string{k + "backend-protocol": "HTTP"}, proto: routing.UpstreamHTTP1},
		{name: "https-defaults", ann: map[string]string{k + "backend-protocol": "HTTPS"}, proto: routing.UpstreamHTTPS, tls: true},
		{name: "https-verify", ann: tlsAnn, secret: secret(map[string][]byte{"ca.crt": ca, "tls.crt": crt, "tls.key": key}),
			proto: routing.UpstreamHTTPS, tls: true},
		{name: "missing-secret", ann: tlsAnn, denied: true, warning: ReasonSecretNotFound},
		{name: "no-ca", ann: tlsAnn, secret: secret(map[string][]byte{"tls.crt": crt, "tls.key": key}), denied: true, warning: ReasonInvalidSecret},
		{name: "bad-ca", ann: tlsAnn, secret: secret(map[string][]byte{"ca.crt": []byte("not a certificate")}), denied: true, warning: ReasonInvalidSecret},
		{name: "key-without-cert", ann: tlsAnn, secret: secret(map[string][]byte{"ca.crt": ca, "tls.key": key}), denied: true, warning: ReasonInvalidSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot(1)
			snap.Ingresses[0].Annotations = tc.ann
			if tc.secret != nil {
				snap.Secrets = append(snap.Secrets, tc.secret)
			}
			res := Translate(snap, DefaultOptions())
			r := res.Table.Match("app-0.example.com", "/api").Route
			if r == nil || r.Policy == nil {
				t.Fatalf("route %+v: want one with a Policy", r)
			}
			var warned []string
			for _, w := range res.Warnings {
				warned = append(warned, w.Reason+" "+w.Field)
				if w.Reason == ReasonAnnotationNotApplied {
					t.Errorf("warning %v: backend-protocol is applied now", w)
				}
			}
			if tc.denied {
				if r.Policy.Denied == nil || r.Policy.Denied.Annotation != "proxy-ssl-secret" || r.Upstream != nil {
					t.Errorf("Denied %+v Upstream %+v, want denied by proxy-ssl-secret without Upstream", r.Policy.Denied, r.Upstream)
				}
				want := tc.warning + " metadata.annotations[ingresslab.dev/proxy-ssl-secret]"
				if len(warned) != 1 || warned[0] != want {
					t.Errorf("warnings %q, want [%q]", warned, want)
				}
				return
			}
			if len(warned) > 0 {
				t.Errorf("warnings %q", warned)
			}
			if r.Policy.Denied != nil || r.Upstream == nil || r.Upstream.Protocol != tc.proto || (r.Upstream.TLS != nil) != tc.tls {
				t.Fatalf("Denied %+v Upstream %+v, want protocol %v tls %v", r.Policy.Denied, r.Upstream, tc.proto, tc.tls)
			}
			for _, other := range []string{"/", "/static"} {
				if o := res.Table.Match("app-0.example.com", other).Route; o.Upstream != r.Upstream {
					t.Errorf("path %s: Upstream %p, want the Ingress's shared %p", other, o.Upstream, r.Upstream)
				}
			}
			if tc.name == "https-verify" {
				u := r.Upstream.TLS
				if !u.Verify || u.ServerName != "app.internal" || !u.SNI || u.VerifyDepth != 2 || u.RootCAs == nil || u.ClientCert == nil {
					t.Errorf("UpstreamTLS %v, want the annotations' options with CA and client certificate", u)
				}
				// Equal inputs give the same identity in the next table.
				again := Translate(snap, DefaultOptions()).Table.Match("app-0.example.com", "/").Route.Upstream.TLS
				if again == u || again.Key() != u.Key() {
					t.Errorf("retranslated key %q (same pointer %v), want %q", again.Key(), again == u, u.Key())
				}
			}
		})
	}
}

// TestExternalAuthAndSendTimeoutKept: auth-url and proxy-send-timeout reach
// the data plane in the Policy; the Ingress is not denied.
func TestExternalAuthAndSendTimeoutKept(t *testing.T) {
	snap := snapshot(1)
	snap.Ingresses[0].Annotations = map[string]string{
		"ingresslab.dev/auth-url": "http://auth.example/check", "ingresslab.dev/auth-signin": "https://login.example/",
		"ingresslab.dev/proxy-send-timeout": "7"}
	res := Translate(snap, DefaultOptions())
	for _, w := range res.Warnings {
		t.Errorf("warning: %v", w)
	}
	r := res.Table.Match("app-0.example.com", "/").Route
	if r == nil || r.Policy == nil {
		t.Fatalf("route %+v: want one with a Policy", r)
	}
	p := r.Policy
	if p.Denied != nil || p.ExternalAuth == nil || p.ExternalAuth.URL != "http://auth.example/check" ||
		p.ExternalAuth.SignInRedirectParam != "rd" || p.Timeouts.Send != routing.Duration(7e9) {
		t.Errorf("Policy Denied %+v ExternalAuth %+v send %v", p.Denied, p.ExternalAuth, p.Timeouts.Send)
	}
	if s := strings.TrimSpace(p.ExternalAuth.Method); s != "GET" {
		t.Errorf("auth method %q, want GET", s)
	}
}
