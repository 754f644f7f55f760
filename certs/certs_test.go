package certs

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	c, err := SelfSigned(Options{Hosts: []string{"foo.test", "*.bar.test", "127.0.0.1"}, CA: true, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf.Subject.CommonName != "foo.test" || len(c.Leaf.DNSNames) != 2 || len(c.Leaf.IPAddresses) != 1 {
		t.Fatalf("leaf: %+v", c.Leaf)
	}
	// The PEM forms load as a key pair, and a client trusting the CA
	// verifies it for every host, the wildcard included.
	if _, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	for _, h := range []string{"foo.test", "x.bar.test", "127.0.0.1"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: h}); err != nil {
			t.Errorf("verify %s: %v", h, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "a.b.bar.test"}); err == nil {
		t.Error("wildcard matched two labels")
	}
	if _, err := SelfSigned(Options{}); err == nil {
		t.Error("no hosts and no name accepted")
	}
}
