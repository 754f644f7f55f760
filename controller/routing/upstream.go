package routing

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
)

// Upstream is how the data plane talks to the endpoints of a route whose
// Ingress sets backend-protocol (and proxy-ssl-*): it replaces the
// backends' Backend.Protocol for that route (and its canary). It is
// resolved by the translation, immutable, and shared by every route of the
// Ingress.
type Upstream struct {
	Protocol UpstreamProtocol `json:"protocol"`
	// TLS is set for UpstreamHTTPS and UpstreamH2 (never nil for them).
	TLS *UpstreamTLS `json:"tls,omitempty"`
}

// UpstreamProtocol is the wire protocol of an Upstream.
type UpstreamProtocol uint8

const (
	// UpstreamHTTP1 is HTTP/1.1 over TCP (backend-protocol HTTP).
	UpstreamHTTP1 UpstreamProtocol = iota
	// UpstreamH2C is HTTP/2 over TCP with prior knowledge (GRPC, H2C).
	UpstreamH2C
	// UpstreamHTTPS is HTTP/1.1 over TLS (HTTPS).
	UpstreamHTTPS
	// UpstreamH2 is HTTP/2 over TLS, negotiated with ALPN "h2" (GRPCS).
	UpstreamH2
)

// String returns "http", "h2c", "https" or "h2".
func (p UpstreamProtocol) String() string {
	switch p {
	case UpstreamH2C:
		return "h2c"
	case UpstreamHTTPS:
		return "https"
	case UpstreamH2:
		return "h2"
	}
	return "http"
}

// MarshalText spells the protocol for JSON and YAML dumps.
func (p UpstreamProtocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UpstreamTLSOptions are the inputs of NewUpstreamTLS: proxy-ssl-* and the
// PEM contents of proxy-ssl-secret.
type UpstreamTLSOptions struct {
	// Verify checks the endpoint's certificate chain against CA and its
	// name against ServerName (proxy-ssl-verify "on").
	Verify bool
	// ServerName is the name verified and, with SNI, sent
	// (proxy-ssl-name); "" lets the data plane use the Service's cluster
	// name "<service>.<namespace>.svc".
	ServerName string
	// SNI sends ServerName in the TLS handshake (proxy-ssl-server-name).
	SNI bool
	// VerifyDepth is proxy-ssl-verify-depth: with verification, a chain
	// may hold at most VerifyDepth intermediate CAs between the endpoint's
	// certificate and the trust anchor (OpenSSL's meaning). 0 means 1.
	VerifyDepth int
	// CA is ca.crt: one or more PEM certificates (required with Verify).
	CA []byte
	// Cert and Key are tls.crt and tls.key: the client certificate sent
	// when the endpoint asks for one; both or neither.
	Cert, Key []byte
}

// UpstreamTLS is a resolved upstream TLS configuration. It is immutable;
// the data plane builds (and caches by Key) one transport per
// configuration.
type UpstreamTLS struct {
	Verify      bool   `json:"verify"`
	ServerName  string `json:"serverName,omitempty"`
	SNI         bool   `json:"sni,omitempty"`
	VerifyDepth int    `json:"verifyDepth"`
	// RootCAs are ca.crt's certificates; nil without.
	RootCAs *x509.CertPool `json:"-"`
	// ClientCert is tls.crt/tls.key; nil without.
	ClientCert *tls.Certificate `json:"-"`
	key        string
}

// NewUpstreamTLS validates o and parses its PEM data. The error says which
// part (ca.crt, tls.crt, tls.key) is wrong.
func NewUpstreamTLS(o UpstreamTLSOptions) (*UpstreamTLS, error) {
	if o.VerifyDepth <= 0 {
		o.VerifyDepth = 1
	}
	u := &UpstreamTLS{Verify: o.Verify, ServerName: o.ServerName, SNI: o.SNI, VerifyDepth: o.VerifyDepth}
	h := sha256.New()
	fmt.Fprintf(h, "verify=%t\x00name=%s\x00sni=%t\x00depth=%d\x00", o.Verify, o.ServerName, o.SNI, o.VerifyDepth)
	if len(o.CA) > 0 {
		pool := x509.NewCertPool()
		n := 0
		for rest := o.CA; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("ca.crt: certificate %d: %w", n+1, err)
			}
			pool.AddCert(c)
			h.Write(b.Bytes)
			n++
		}
		if n == 0 {
			return nil, errors.New("ca.crt: no PEM certificate")
		}
		u.RootCAs = pool
	} else if o.Verify {
		return nil, errors.New("ca.crt: missing (needed to verify the upstream certificate)")
	}
	h.Write([]byte("\x00client\x00"))
	switch {
	case len(o.Cert) > 0 && len(o.Key) > 0:
		c, err := tls.X509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.crt/tls.key: %w", err)
		}
		u.ClientCert = &c
		// The certificate identifies the key: hashing the key itself is
		// not needed (and keeps secret bytes out of the identity).
		for _, der := range c.Certificate {
			h.Write(der)
		}
	case len(o.Cert) > 0:
		return nil, errors.New("tls.crt without tls.key")
	case len(o.Key) > 0:
		return nil, errors.New("tls.key without tls.crt")
	}
	u.key = hex.EncodeToString(h.Sum(nil))
	return u, nil
}

// Key identifies the configuration by content: equal options (and PEM
// data) give equal keys, in any table. The data plane caches transports
// by it so that they survive table swaps.
func (u *UpstreamTLS) Key() string {
	if u == nil {
		return ""
	}
	return u.key
}

// MaxChain is the longest verified chain VerifyDepth allows, leaf and
// trust anchor included.
func (u *UpstreamTLS) MaxChain() int { return u.VerifyDepth + 2 }

// String describes the configuration for logs (never key material).
func (u *UpstreamTLS) String() string {
	if u == nil {
		return "<nil>"
	}
	return "verify=" + strconv.FormatBool(u.Verify) + " name=" + u.ServerName + " sni=" + strconv.FormatBool(u.SNI) +
		" depth=" + strconv.Itoa(u.VerifyDepth) + " clientCert=" + strconv.FormatBool(u.ClientCert != nil)
}
