package framework

import (
	"bytes"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/certs"
)

// Certificate is a generated certificate and key.
type Certificate = certs.Certificate

// GenerateCertificate makes a self-signed certificate for hosts, valid for a
// day. No private key is ever committed: suites make theirs at run time.
func GenerateCertificate(hosts ...string) (*Certificate, error) {
	return certs.SelfSigned(certs.Options{Hosts: hosts, Organization: "ingresslab suites", Validity: 24 * time.Hour})
}

// TLSSecret generates a certificate for hosts and stores it as Secret name
// (type kubernetes.io/tls) in the spec's namespace, replacing any existing
// one (rotation). It returns the certificate for comparison with what the
// controller serves.
func (s *Spec) TLSSecret(name string, hosts ...string) *Certificate {
	GinkgoHelper()
	c, err := GenerateCertificate(hosts...)
	if err != nil {
		Fail(fmt.Sprintf("generate certificate for %v: %v", hosts, err))
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: c.CertPEM, corev1.TLSPrivateKeyKey: c.KeyPEM},
	}
	api := s.Env.Client.CoreV1().Secrets(s.Namespace)
	_, err = api.Create(s.ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = api.Update(s.ctx, sec, metav1.UpdateOptions{})
	}
	if err != nil {
		Fail(fmt.Sprintf("store Secret %s/%s: %v", s.Namespace, name, err))
	}
	s.applied = append(s.applied, fmt.Sprintf("# Secret %s/%s (kubernetes.io/tls, generated for %v)", s.Namespace, name, hosts))
	if rec := s.recorder(); rec != nil {
		rec.certificate(c.Leaf.Raw, name)
	}
	s.MarkChange()
	return c
}

// ServedBy checks that the TLS handshake presented certificate c.
func ServedBy(c *Certificate) func(Response) error {
	return func(r Response) error {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return fmt.Errorf("no TLS peer certificate")
		}
		got := r.TLS.PeerCertificates[0]
		if !bytes.Equal(got.Raw, c.Leaf.Raw) {
			return fmt.Errorf("served certificate %q (serial %s), want %q (serial %s)", got.Subject.CommonName, got.SerialNumber, c.Leaf.Subject.CommonName, c.Leaf.SerialNumber)
		}
		return nil
	}
}

// NotServedBy checks that the TLS handshake did not present c (e.g. the
// default certificate was used instead).
func NotServedBy(c *Certificate) func(Response) error {
	return func(r Response) error {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return fmt.Errorf("no TLS peer certificate")
		}
		if bytes.Equal(r.TLS.PeerCertificates[0].Raw, c.Leaf.Raw) {
			return fmt.Errorf("served certificate %q, which must not be used here", c.Leaf.Subject.CommonName)
		}
		return nil
	}
}
