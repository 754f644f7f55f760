package routing

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// ClientVerify is how a host checks client certificates
// (auth-tls-verify-client), with nginx's ssl_verify_client values.
type ClientVerify string

const (
	// ClientVerifyOn refuses a request without a valid certificate.
	ClientVerifyOn ClientVerify = "on"
	// ClientVerifyOptional serves a request without a certificate and
	// refuses one with an invalid certificate.
	ClientVerifyOptional ClientVerify = "optional"
	// ClientVerifyOptionalNoCA asks for a certificate and serves every
	// request; the verification result only goes upstream.
	ClientVerifyOptionalNoCA ClientVerify = "optional_no_ca"
	// ClientVerifyOff asks for no certificate.
	ClientVerifyOff ClientVerify = "off"
)

// Upstream request headers of client certificate authentication
// (ingress-nginx's names).
const (
	HeaderClientVerify    = "Ssl-Client-Verify"
	HeaderClientSubjectDN = "Ssl-Client-Subject-Dn"
	HeaderClientIssuerDN  = "Ssl-Client-Issuer-Dn"
	HeaderClientCert      = "Ssl-Client-Cert"
)

// ClientAuth is a host's client certificate authentication (the auth-tls-*
// annotations, nginx's ssl_verify_client in the host's server): the TLS
// handshake for the host asks for a client certificate, and each request
// to the host is checked against the CA before anything else. Build one
// with NewClientAuth; it is immutable.
type ClientAuth struct {
	// Secret is the CA Secret (for dumps and messages).
	Secret ObjectRef    `json:"secret"`
	Verify ClientVerify `json:"verify"`
	// Depth is the most intermediate CAs accepted between the client
	// certificate and a CA of the Secret (auth-tls-verify-depth, with
	// OpenSSL's meaning: neither the client certificate nor the trust
	// anchor counts; default 1).
	Depth int `json:"depth"`
	// PassCertificate sends the client certificate upstream, URL-encoded
	// PEM in Ssl-Client-Cert (auth-tls-pass-certificate-to-upstream).
	PassCertificate bool `json:"passCertificate,omitempty"`
	// ErrorPage, when set, is where a refused client is redirected (302)
	// instead of a 400 (auth-tls-error-page).
	ErrorPage string `json:"errorPage,omitempty"`
	// MatchCN, when set, must match the client certificate's subject DN,
	// else 403 (auth-tls-match-cn).
	MatchCN *regexp.Regexp `json:"-"`
	// MatchCNPattern is MatchCN as written.
	MatchCNPattern string `json:"matchCN,omitempty"`

	pool *x509.CertPool
}

// ClientAuthOptions are NewClientAuth's inputs.
type ClientAuthOptions struct {
	Secret ObjectRef
	// CA is PEM with one or more CA certificates (the Secret's ca.crt).
	CA              []byte
	Verify          ClientVerify // default ClientVerifyOn
	Depth           int          // default 1
	PassCertificate bool
	ErrorPage       string
	MatchCN         string // a regular expression (RE2)
}

// NewClientAuth validates o and parses its CA certificates.
func NewClientAuth(o ClientAuthOptions) (*ClientAuth, error) {
	ca := &ClientAuth{Secret: o.Secret, Verify: o.Verify, Depth: o.Depth, PassCertificate: o.PassCertificate, ErrorPage: o.ErrorPage}
	if ca.Verify == "" {
		ca.Verify = ClientVerifyOn
	}
	switch ca.Verify {
	case ClientVerifyOn, ClientVerifyOptional, ClientVerifyOptionalNoCA, ClientVerifyOff:
	default:
		return nil, fmt.Errorf("client verification %q: want on, off, optional or optional_no_ca", ca.Verify)
	}
	if ca.Depth <= 0 {
		ca.Depth = 1
	}
	if o.MatchCN != "" {
		re, err := regexp.Compile(o.MatchCN)
		if err != nil {
			return nil, fmt.Errorf("match-cn: %w", err)
		}
		ca.MatchCN, ca.MatchCNPattern = re, o.MatchCN
	}
	ca.pool = x509.NewCertPool()
	rest, n := o.CA, 0
	for len(rest) > 0 {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA certificate %d: %w", n+1, err)
		}
		ca.pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM CA certificate in ca.crt")
	}
	return ca, nil
}

// TLSClientAuth is what the handshake asks of the client: a certificate
// is requested, never required (a missing or invalid one is answered at
// the HTTP level, as nginx does), and the CA names are sent.
func (c *ClientAuth) TLSClientAuth() (tls.ClientAuthType, *x509.CertPool) {
	if c == nil || c.Verify == ClientVerifyOff {
		return tls.NoClientCert, nil
	}
	return tls.RequestClientCert, c.pool
}

// ClientCertResult is the outcome of checking one request's connection.
type ClientCertResult struct {
	// Status is 0 to serve the request, else 400 (no or invalid
	// certificate) or 403 (match-cn).
	Status int
	// Reason says why Status is not 0 (the answer's body).
	Reason string
	// Header holds the upstream request headers to set; the caller
	// deletes every client-sent Ssl-Client-* header first.
	Header http.Header
}

// Check verifies the client certificate of a TLS connection.
func (c *ClientAuth) Check(cs *tls.ConnectionState) ClientCertResult {
	h := make(http.Header, 4)
	if c.Verify == ClientVerifyOff {
		return ClientCertResult{Header: h}
	}
	if cs == nil || len(cs.PeerCertificates) == 0 {
		h[HeaderClientVerify] = []string{"NONE"}
		if c.Verify == ClientVerifyOn {
			return ClientCertResult{Status: http.StatusBadRequest, Reason: "No required SSL certificate was sent", Header: h}
		}
		return c.matchCN("", h)
	}
	leaf := cs.PeerCertificates[0]
	verifyErr := c.verify(cs.PeerCertificates)
	if verifyErr == nil {
		h[HeaderClientVerify] = []string{"SUCCESS"}
	} else {
		h[HeaderClientVerify] = []string{"FAILED:" + verifyErr.Error()}
		if c.Verify != ClientVerifyOptionalNoCA {
			return ClientCertResult{Status: http.StatusBadRequest, Reason: "The SSL certificate error", Header: h}
		}
	}
	subject := leaf.Subject.String()
	h[HeaderClientSubjectDN] = []string{subject}
	h[HeaderClientIssuerDN] = []string{leaf.Issuer.String()}
	if c.PassCertificate {
		h[HeaderClientCert] = []string{EscapeCertificate(leaf)}
	}
	return c.matchCN(subject, h)
}

func (c *ClientAuth) matchCN(subject string, h http.Header) ClientCertResult {
	if c.MatchCN != nil && !c.MatchCN.MatchString(subject) {
		return ClientCertResult{Status: http.StatusForbidden, Reason: "client certificate unauthorized", Header: h}
	}
	return ClientCertResult{Header: h}
}

// verify checks the chain the client sent against the CA pool, for client
// authentication, with at most Depth intermediate CAs (a chain of Depth+2
// certificates with the trust anchor, as OpenSSL counts since 1.1.0).
func (c *ClientAuth) verify(certs []*x509.Certificate) error {
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{Roots: c.pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return errors.New("unable to verify the client certificate")
	}
	for _, ch := range chains {
		if len(ch)-2 <= c.Depth {
			return nil
		}
	}
	return errors.New("certificate chain too long")
}

// EscapeCertificate is cert as URL-encoded PEM (nginx's
// $ssl_client_escaped_cert).
func EscapeCertificate(cert *x509.Certificate) string {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return strings.ReplaceAll(url.QueryEscape(string(p)), "+", "%20")
}
