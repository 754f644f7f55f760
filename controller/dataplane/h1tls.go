package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// On the HTTPS listener the connection loop (h1loop.go) makes the TLS
// handshake itself, with the configuration and handshake timeout
// net/http's server would use. A connection that negotiated HTTP/2 goes
// at once, as the *tls.Conn, to net/http's HTTPS server (h1loop.hand),
// which serves it exactly as one it had accepted itself. One that speaks
// HTTP/1.1 is served by the loop like a plain one, with Request.TLS set;
// at its first request the loop does not serve it goes, wrapped with the
// bytes read so far, to a second net/http server for HTTP/1.1 only
// (h1loop.handTLS1), whose handler restores Request.TLS from the
// connection's context (serveHandedTLS): net/http only recognises a
// *tls.Conn, which the wrapper is not.

// tlsStateKey carries a handed TLS connection's state (connContext).
type tlsStateKey struct{}

// handshake makes the TLS handshake of a connection of the HTTPS loop:
// handed when it negotiated HTTP/2 and went to net/http; ok when the loop
// goes on serving it (HTTP/1.1).
func (c *h1conn) handshake() (handed, ok bool) {
	l, s := c.l, c.l.s
	tc := tls.Server(c.lc, l.tlsConf)
	c.conn = tc
	if d := tlsHandshakeTimeout(s.opts); d > 0 {
		dl := time.Now().Add(d)
		_ = tc.SetReadDeadline(dl)
		_ = tc.SetWriteDeadline(dl)
	}
	if err := tc.HandshakeContext(l.ctx); err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			// As net/http: a plain request on the TLS port gets a plain 400.
			_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			return false, false
		}
		if !errors.Is(err, io.EOF) {
			l.errLog.Printf("http: TLS handshake error from %s: %v", c.lc.RemoteAddr(), err)
		}
		return false, false
	}
	_ = tc.SetReadDeadline(time.Time{})
	_ = tc.SetWriteDeadline(time.Time{})
	st := tc.ConnectionState()
	if st.NegotiatedProtocol == "h2" {
		if s.h2 != nil {
			if !c.state.CompareAndSwap(loopIdle, loopHanded) {
				return false, false
			}
			go s.h2.serve(l.ctx, tc)
			return true, false
		}
		return c.state.CompareAndSwap(loopIdle, loopHanded) && l.hand.give(tc), false
	}
	c.tls = &st
	return false, true
}

// tlsHandshakeTimeout is net/http's: the smallest of the positive read
// header, read and write timeouts.
func tlsHandshakeTimeout(o Options) time.Duration {
	return min0(min0(o.ReadHeaderTimeout, o.ReadTimeout), o.WriteTimeout)
}

// looksLikeHTTP reports whether a TLS record header is the start of a
// plain HTTP request (net/http's tlsRecordHeaderLooksLikeHTTP).
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// serveHandedTLS is the handler of the HTTP/1.1 server that takes TLS
// connections from the loop: Request.TLS comes from the connection.
func (s *Server) serveHandedTLS(w http.ResponseWriter, r *http.Request) {
	if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok && r.TLS == nil {
		r.TLS = st
	}
	s.ServeHTTP(w, r)
}

// handedContext is connContext for a connection the loop handed over.
func handedContext(ctx context.Context, c *handedConn) context.Context {
	if c.tls != nil {
		ctx = context.WithValue(ctx, tlsStateKey{}, c.tls)
		// Over TLS the client's close_notify ends a request without a
		// failed read of the limitConn: no clientConnKey (cancelwatch.go).
		return context.WithValue(ctx, connCertKey{}, new(connCert))
	}
	return context.WithValue(ctx, clientConnKey{}, c.lc)
}

var _ net.Conn = (*handedConn)(nil)
