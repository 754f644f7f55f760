package dataplane

import (
	"crypto/tls"
	"net/http"
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
	res := ca.Check(r.TLS)
	if res.Status == 0 {
		for k, v := range res.Header {
			r.Header[k] = v
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
