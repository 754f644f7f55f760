package dataplane

import (
	"crypto/tls"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Client certificate authentication (auth-tls-*): the handshake for a host
// with routing.ClientAuth asks for a certificate (configForClient), and
// every request to the host over TLS is checked before anything else, as
// nginx checks ssl_verify_client before its request phases.

// clientCertHeaders are the upstream headers the check sets; client-sent
// ones are dropped first so that a backend cannot be told a forged result.
var clientCertHeaders = []string{routing.HeaderClientVerify, routing.HeaderClientSubjectDN, routing.HeaderClientIssuerDN, routing.HeaderClientCert}

// configForClient returns, for a server name whose host has client
// certificate authentication, the TLS configuration that requests a client
// certificate (never requires it: a missing or invalid certificate is
// answered over HTTP); nil (the server's configuration) otherwise.
func (s *Server) configForClient(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	snap := s.cur.Load()
	if snap == nil || hello.ServerName == "" {
		return nil, nil
	}
	auth, pool := snap.table.ClientAuth(hello.ServerName).TLSClientAuth()
	if auth == tls.NoClientCert {
		return nil, nil
	}
	c := s.baseTLSConfig()
	c.ClientAuth, c.ClientCAs = auth, pool
	return c, nil
}

// checkClientCert applies the host's client certificate authentication to
// r. It answers a refused request (400 or 403, or a 302 to the error page)
// and returns false; otherwise it sets the upstream headers and returns
// true. A plain-HTTP request carries no certificate: only the client's
// own Ssl-Client-* headers are dropped (nginx checks certificates on TLS
// connections only; ssl-redirect sends such clients to HTTPS first).
func (s *Server) checkClientCert(w http.ResponseWriter, r *http.Request, ca *routing.ClientAuth, start time.Time) bool {
	for _, h := range clientCertHeaders {
		delete(r.Header, h)
	}
	if r.TLS == nil {
		return true
	}
	res := checkOnce(r, ca, start)
	if res.Status == 0 {
		for k, v := range res.Header {
			// Shared by the connection's requests: a full slice
			// expression makes any append copy.
			r.Header[k] = v[:len(v):len(v)]
		}
		return true
	}
	code := res.Status
	if ca.ErrorPage != "" && code == http.StatusBadRequest {
		code = http.StatusFound
		w.Header()["Location"] = []string{ca.ErrorPage}
		w.WriteHeader(code)
	} else {
		writePlain(w, code, res.Reason+"\n")
	}
	s.finish(r, start, s.notFound, nil, code)
	return false
}

// connCertKey finds a TLS connection's connCert in its requests' contexts
// (connContext).
type connCertKey struct{}

// connCert caches the result of the last check of a TLS connection's
// client certificate: a connection's certificates never change (no
// renegotiation), so x509 verification runs once per connection and host
// configuration instead of once per request. HTTP/2 streams of one
// connection share it, hence the atomic pointer.
type connCert struct {
	last atomic.Pointer[connCertResult]
}

type connCertResult struct {
	ca *routing.ClientAuth // the configuration checked against (one per table build)
	// The result holds from notBefore to notAfter: the validity of the
	// certificates the client sent, at most connCertMaxAge after the
	// check (the CA's own validity is not tracked separately).
	notBefore, notAfter time.Time
	res                 routing.ClientCertResult
}

// connCertMaxAge bounds how long a connection's check result is reused.
const connCertMaxAge = 5 * time.Minute

// checkOnce returns ca's check of r's connection, from the connection's
// cache when the same configuration checked it and the result still holds.
func checkOnce(r *http.Request, ca *routing.ClientAuth, now time.Time) routing.ClientCertResult {
	cc, _ := r.Context().Value(connCertKey{}).(*connCert)
	if cc == nil {
		return ca.Check(r.TLS)
	}
	if last := cc.last.Load(); last != nil && last.ca == ca && !now.Before(last.notBefore) && now.Before(last.notAfter) {
		return last.res
	}
	res := ca.Check(r.TLS)
	e := &connCertResult{ca: ca, notAfter: now.Add(connCertMaxAge), res: res}
	for _, c := range r.TLS.PeerCertificates {
		if c.NotBefore.After(e.notBefore) {
			e.notBefore = c.NotBefore
		}
		if c.NotAfter.Before(e.notAfter) {
			e.notAfter = c.NotAfter
		}
	}
	cc.last.Store(e)
	return res
}
