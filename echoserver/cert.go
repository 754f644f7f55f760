package echoserver

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/ingresslab/ingresslab/certs"
)

// GenerateCertificate returns a new self-signed ECDSA P-256 certificate for
// hosts (DNS names or IP addresses), valid from an hour ago for one year. It
// is its own CA: add Leaf to a client's x509.CertPool to trust it. Leaf is set.
func GenerateCertificate(hosts ...string) (*tls.Certificate, error) {
	if len(hosts) == 0 {
		return nil, errors.New("generate certificate: no hosts")
	}
	c, err := certs.SelfSigned(certs.Options{Hosts: hosts, Organization: "ingresslab echoserver", CA: true})
	if err != nil {
		return nil, fmt.Errorf("generate certificate: %w", err)
	}
	return c.TLS, nil
}
