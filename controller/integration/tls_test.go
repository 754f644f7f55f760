package integration_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/controller/translate"
)

func TestTLSBySNI(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ca, err := newCA("tls test CA")
	if err != nil {
		t.Fatal(err)
	}
	crtA, keyA, leafA := ca.mustIssue(t, "a.tls.example")
	crtW, keyW, leafW := ca.mustIssue(t, "*.wild.tls.example")
	createSecret(t, ns, "cert-a", crtA, keyA)
	createSecret(t, ns, "cert-wild", crtW, keyW)
	createIngress(t, ns, "tls", className(mainClass),
		tlsFor("cert-a", "a.tls.example"),
		tlsFor("cert-wild", "*.wild.tls.example"),
		prefix("a.tls.example", "/", "echo", "80"),
		prefix("*.wild.tls.example", "/", "echo", "80"))

	ok := want{namespace: ns, service: "echo"}
	mainTarget.expectHTTPS(t, "a.tls.example", "a.tls.example", "/", leafA, ok)
	mainTarget.expectHTTPS(t, "x.wild.tls.example", "x.wild.tls.example", "/", leafW, ok)
	// SNI picks the certificate, Host picks the route.
	mainTarget.expectHTTPS(t, "a.tls.example", "x.wild.tls.example", "/", leafA, ok)
	// Unknown SNI, and no SNI at all, get the default certificate (the
	// --default-certificate Secret); the unknown host is a 404.
	mainTarget.expectHTTPS(t, "unknown.tls.example", "unknown.tls.example", "/", defaultLeaf, want{code: http.StatusNotFound})
	mainTarget.expectHTTPS(t, "", "a.tls.example", "/", defaultLeaf, ok)

	// A client that verifies the chain accepts the served certificate.
	host, port, _ := net.SplitHostPort(mainTarget.https)
	conn, err := tls.Dial("tcp", net.JoinHostPort(host, port), &tls.Config{ServerName: "a.tls.example", RootCAs: ca.pool()})
	if err != nil {
		t.Fatalf("verified TLS handshake for a.tls.example: %v", err)
	}
	conn.Close()
}

func TestHTTPSRedirect(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ca, err := newCA("redirect CA")
	if err != nil {
		t.Fatal(err)
	}
	crt, key, _ := ca.mustIssue(t, "redirect.tls.example")
	createSecret(t, ns, "cert", crt, key)
	createIngress(t, ns, "redirect", className(mainClass),
		tlsFor("cert", "redirect.tls.example"),
		prefix("redirect.tls.example", "/", "echo", "80"),
		prefix("plain.tls.example", "/", "echo", "80"))

	_, httpsPort, _ := net.SplitHostPort(mainTarget.https)
	r := mainTarget.expectHTTP(t, "redirect.tls.example", "/some/path?q=1", want{code: http.StatusPermanentRedirect})
	if loc, wantLoc := r.header.Get("Location"), "https://redirect.tls.example:"+httpsPort+"/some/path?q=1"; loc != wantLoc {
		t.Errorf("Location = %q, want %q", loc, wantLoc)
	}
	// A host without TLS is served over plain HTTP.
	mainTarget.expectHTTP(t, "plain.tls.example", "/", want{namespace: ns, service: "echo"})
}

func TestMissingSecretServesDefaultCertificate(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	createIngress(t, ns, "no-secret", className(mainClass),
		tlsFor("does-not-exist", "nosecret.tls.example"),
		prefix("nosecret.tls.example", "/", "echo", "80"))

	mainTarget.expectHTTPS(t, "nosecret.tls.example", "nosecret.tls.example", "/", defaultLeaf, want{namespace: ns, service: "echo"})
	ev := expectEvent(t, ns, "Ingress", "no-secret", translate.ReasonSecretNotFound, "does-not-exist")
	if ev.InvolvedObject.UID == "" || ev.InvolvedObject.APIVersion != "networking.k8s.io/v1" {
		t.Errorf("event involvedObject = %+v, want the Ingress with its UID", ev.InvolvedObject)
	}
	expectWarning(t, mainTarget, ns, "no-secret", translate.ReasonSecretNotFound)

	// Only kubernetes.io/tls Secrets are watched: an Opaque one is not seen.
	opaque := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{corev1.TLSCertKey: []byte("x"), corev1.TLSPrivateKeyKey: []byte("y")},
	}
	if _, err := kube.CoreV1().Secrets(ns).Create(context.Background(), opaque, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createIngress(t, ns, "opaque-secret", className(mainClass),
		tlsFor("opaque", "opaque.tls.example"),
		prefix("opaque.tls.example", "/", "echo", "80"))
	mainTarget.expectHTTPS(t, "opaque.tls.example", "opaque.tls.example", "/", defaultLeaf, want{namespace: ns, service: "echo"})
	expectWarning(t, mainTarget, ns, "opaque-secret", translate.ReasonSecretNotFound)
}

func TestSecretRotation(t *testing.T) {
	ns := newNamespace(t)
	backend(t, ns, "echo", 1)
	ca, err := newCA("rotation CA")
	if err != nil {
		t.Fatal(err)
	}
	crt1, key1, leaf1 := ca.mustIssue(t, "rotate.tls.example")
	crt2, key2, leaf2 := ca.mustIssue(t, "rotate.tls.example")
	if bytes.Equal(leaf1, leaf2) {
		t.Fatal("test bug: both certificates are equal")
	}
	createSecret(t, ns, "rotating", crt1, key1)
	createIngress(t, ns, "rotate", className(mainClass),
		tlsFor("rotating", "rotate.tls.example"),
		prefix("rotate.tls.example", "/", "echo", "80"))
	ok := want{namespace: ns, service: "echo"}
	mainTarget.expectHTTPS(t, "rotate.tls.example", "rotate.tls.example", "/", leaf1, ok)

	sec, err := kube.CoreV1().Secrets(ns).Get(context.Background(), "rotating", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey] = crt2, key2
	if _, err := kube.CoreV1().Secrets(ns).Update(context.Background(), sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	mainTarget.expectHTTPS(t, "rotate.tls.example", "rotate.tls.example", "/", leaf2, ok)
}

// expectWarning waits until the admin /warnings lists a warning with the
// reason for the Ingress.
func expectWarning(t *testing.T, tg target, ns, name, reason string) translate.Warning {
	t.Helper()
	var found translate.Warning
	eventually(t, fmt.Sprintf("%s warning for %s/%s on /warnings", reason, ns, name), func() error {
		code, body, err := tg.adminGet("/warnings")
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("GET /warnings: %d %s", code, body)
		}
		var ws []translate.Warning
		if err := json.Unmarshal(body, &ws); err != nil {
			return fmt.Errorf("GET /warnings: %w", err)
		}
		for _, w := range ws {
			if w.Kind == "Ingress" && w.Object.Namespace == ns && w.Object.Name == name && w.Reason == reason {
				found = w
				return nil
			}
		}
		return fmt.Errorf("not among %d warnings", len(ws))
	})
	return found
}
