package dataplane

import (
	"crypto/tls"
	"fmt"

	"github.com/ingresslab/ingresslab/certs"
)

// selfSignedCertificate returns a certificate for commonName, valid for a
// year, used when the table has no certificate for a client's SNI.
func selfSignedCertificate(commonName string) (*tls.Certificate, error) {
	c, err := certs.SelfSigned(certs.Options{CommonName: commonName, Hosts: []string{"ingresslab.invalid"}})
	if err != nil {
		return nil, fmt.Errorf("default certificate: %w", err)
	}
	return c.TLS, nil
}

// getCertificate serves the table's certificate for the client's SNI, else
// the default certificate (SetDefaultCertificate), else the generated one.
func (s *Server) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if snap := s.cur.Load(); snap != nil && hello.ServerName != "" {
		if c := snap.table.Certificate(hello.ServerName); c != nil {
			return c, nil
		}
	}
	if c := s.defaultCert.Load(); c != nil {
		return c, nil
	}
	return s.generated, nil
}

func (s *Server) tlsConfig() *tls.Config {
	c := s.baseTLSConfig()
	c.GetConfigForClient = s.configForClient // client certificates (clientauth.go)
	return c
}

// baseTLSConfig is the listener's TLS configuration without client
// certificates.
func (s *Server) baseTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
