package dataplane

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Routes whose Ingress sets backend-protocol carry a routing.Upstream that
// replaces their backends' protocol: HTTP (HTTP/1.1), GRPC and H2C (HTTP/2
// cleartext, the h2c transport), HTTPS (HTTP/1.1 over TLS) and GRPCS
// (HTTP/2 over TLS, ALPN "h2" required). Such routes never use the fast
// path unless the protocol is HTTP.
//
// Upstream TLS follows ingress-nginx's proxy-ssl-* semantics:
//   - proxy-ssl-verify off (the default): any certificate is accepted;
//   - on: the endpoint's chain must lead to a certificate of
//     proxy-ssl-secret's ca.crt, be at most proxy-ssl-verify-depth
//     intermediate CAs long (OpenSSL's count), and name the verified name:
//     proxy-ssl-name, else the Service's cluster name
//     "<service>.<namespace>.svc" (ingress-nginx verifies its internal
//     upstream name, which never matches, so there proxy-ssl-name is
//     needed in practice). A failed verification is a 502.
//   - proxy-ssl-server-name on sends the verified name as SNI; off (the
//     default) sends none (endpoints are IP addresses).
//   - tls.crt/tls.key of proxy-ssl-secret are the client certificate.
//
// Each (protocol, TLS configuration, verified name) gets one http.Transport,
// built on first use and kept in the Server's transportPool keyed by
// content (routing.UpstreamTLS.Key), outside the routing table: table swaps
// that keep the configuration keep the transport and its pooled
// connections. Publish drops (and closes the idle connections of) those
// the new table no longer uses. Only Publish reaches the pool, when it
// builds the snapshot of a table; requests never do.

// upstreamRT is a route's resolved routing.Upstream.
type upstreamRT struct {
	proto routing.UpstreamProtocol
	rt    *http.Transport
	tls   bool // the URL scheme is https
	// key is the transportPool key of a TLS upstream ("" otherwise).
	key string
}

// transportPool caches the transports of upstream TLS configurations.
type transportPool struct {
	mu sync.Mutex
	m  map[string]*http.Transport
}

func newTransportPool() *transportPool { return &transportPool{m: map[string]*http.Transport{}} }

// upstreamKey is the transportPool key of u for backend be, and the name
// its certificate is verified against.
func upstreamKey(u *routing.Upstream, be *routing.Backend) (key, name string) {
	t := u.TLS
	name = t.ServerName
	if name == "" && be != nil {
		name = be.Service + "." + be.Namespace + ".svc"
	}
	return u.Protocol.String() + "|" + t.Key() + "|" + name, name
}

// resolveUpstream returns the upstream of a route with Upstream u to backend be.
func (s *Server) resolveUpstream(u *routing.Upstream, be *routing.Backend) *upstreamRT {
	switch u.Protocol {
	case routing.UpstreamH2C:
		return &upstreamRT{proto: u.Protocol, rt: s.h2c}
	case routing.UpstreamHTTPS, routing.UpstreamH2:
		if u.TLS == nil {
			break
		}
		key, name := upstreamKey(u, be)
		p := s.upstreams
		p.mu.Lock()
		defer p.mu.Unlock()
		rt := p.m[key]
		if rt == nil {
			rt = s.newTLSTransport(u.Protocol, u.TLS, name)
			p.m[key] = rt
		}
		return &upstreamRT{proto: u.Protocol, rt: rt, tls: true, key: key}
	}
	return &upstreamRT{proto: routing.UpstreamHTTP1, rt: s.transport}
}

// prune drops the transports whose keys are not live (those a new table's
// routes use) and closes their idle connections.
func (p *transportPool) prune(live map[string]struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, rt := range p.m {
		if _, ok := live[k]; !ok {
			delete(p.m, k)
			rt.CloseIdleConnections()
		}
	}
}

// closeIdle closes every cached transport's idle connections.
func (p *transportPool) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rt := range p.m {
		rt.CloseIdleConnections()
	}
}

// size reports how many transports are cached (for tests).
func (p *transportPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}

// newTLSTransport builds the transport of one upstream TLS configuration.
func (s *Server) newTLSTransport(proto routing.UpstreamProtocol, u *routing.UpstreamTLS, name string) *http.Transport {
	o := s.opts
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verification, when on, is done by VerifyConnection: against
		// ca.crt only, with the verified name and depth of u.
		InsecureSkipVerify: true, //nolint:gosec // see above; proxy-ssl-verify defaults to off as in ingress-nginx
	}
	if u.SNI {
		cfg.ServerName = name
	}
	if u.ClientCert != nil {
		cfg.Certificates = []tls.Certificate{*u.ClientCert}
	}
	if u.Verify {
		cfg.VerifyConnection = verifyUpstream(u, name)
	}
	var p http.Protocols
	if proto == routing.UpstreamH2 {
		p.SetHTTP2(true)
	} else {
		p.SetHTTP1(true)
	}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialWithPolicy(s.dialer),
		TLSClientConfig:       cfg,
		TLSHandshakeTimeout:   o.DialTimeout,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   o.MaxIdleConnsPerHost,
		IdleConnTimeout:       o.UpstreamIdleTimeout,
		ResponseHeaderTimeout: o.ResponseHeaderTimeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     proto == routing.UpstreamH2,
		Protocols:             &p,
		WriteBufferSize:       8 << 10,
		ReadBufferSize:        8 << 10,

		MaxResponseHeaderBytes: int64(o.MaxResponseHeaderBytes),
	}
}

// errNoPeerCertificate is a TLS upstream that sent no certificate.
var errNoPeerCertificate = errors.New("upstream sent no certificate")

// verifyUpstream checks an upstream's certificate chain against u's CAs,
// the verified name and proxy-ssl-verify-depth.
func verifyUpstream(u *routing.UpstreamTLS, name string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errNoPeerCertificate
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: u.RootCAs, Intermediates: inter, DNSName: name,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return fmt.Errorf("upstream certificate (proxy-ssl-verify): %w", err)
		}
		for _, c := range chains {
			if len(c) <= u.MaxChain() {
				return nil
			}
		}
		return fmt.Errorf("upstream certificate chain of %d certificates exceeds proxy-ssl-verify-depth %d",
			len(chains[0]), u.VerifyDepth)
	}
}
