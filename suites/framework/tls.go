package framework

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Certificate is a generated certificate and key in PEM.
type Certificate struct {
	CertPEM, KeyPEM []byte
	Leaf            *x509.Certificate
}

// GenerateCertificate makes a self-signed ECDSA certificate for hosts,
// valid for a day. No private key is ever committed: suites make theirs at
// run time.
func GenerateCertificate(hosts ...string) (*Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	cn := "ingresslab"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"ingresslab suites"}},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Certificate{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}),
		Leaf:    leaf,
	}, nil
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
