// Package certs generates self-signed X.509 certificates: the data plane's
// default certificate, the echo server's HTTPS identity, and the test
// certificates the suites store as Secrets at run time (no private key is
// ever committed).
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Options describe a certificate. Hosts or CommonName is required.
type Options struct {
	// Hosts are DNS names (wildcards allowed) or IP addresses.
	Hosts []string
	// CommonName defaults to the first host.
	CommonName string
	// Organization defaults to "ingresslab".
	Organization string
	// Validity defaults to one year, starting an hour ago.
	Validity time.Duration
	// CA marks the certificate as its own CA, so that clients can add it to
	// a pool and verify it.
	CA bool
	// Client adds client authentication to the certificate's extended key
	// usage (server authentication is always there), for TLS client
	// certificates.
	Client bool
}

// Certificate is a generated certificate with its key, in every form callers
// need.
type Certificate struct {
	TLS     *tls.Certificate
	Leaf    *x509.Certificate
	CertPEM []byte
	KeyPEM  []byte
}

// SelfSigned generates an ECDSA P-256 certificate signed by its own key.
func SelfSigned(o Options) (*Certificate, error) { return Issue(nil, o) }

// Issue generates an ECDSA P-256 certificate signed by parent (a CA
// certificate with its Leaf and private key), or by its own key when parent
// is nil. Options.CA makes it a CA that can sign further certificates.
func Issue(parent *tls.Certificate, o Options) (*Certificate, error) {
	if o.CommonName == "" && len(o.Hosts) > 0 {
		o.CommonName = o.Hosts[0]
	}
	if o.CommonName == "" {
		return nil, errors.New("certificate: no hosts and no common name")
	}
	if o.Organization == "" {
		o.Organization = "ingresslab"
	}
	if o.Validity == 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certificate: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, fmt.Errorf("certificate: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: o.CommonName, Organization: []string{o.Organization}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(o.Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if o.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if o.CA {
		// No extended key usage: a CA may sign server and client
		// certificates alike (an EKU on a CA restricts its chains).
		tmpl.ExtKeyUsage = nil
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	signer, signerKey := tmpl, any(key)
	if parent != nil {
		if parent.Leaf == nil || parent.PrivateKey == nil {
			return nil, errors.New("certificate: the parent needs its Leaf and PrivateKey")
		}
		signer, signerKey = parent.Leaf, parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: parse: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certificate: key: %w", err)
	}
	return &Certificate{
		TLS:     &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:    leaf,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}
