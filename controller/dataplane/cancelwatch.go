package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
)

// A fast-path request must stop waiting for its upstream when its client
// goes away: the upstream connection's deadline is poisoned (fastConn.abort)
// and the connection closed. context.AfterFunc on the request's context
// does that for any request, at five allocations and two locks of the
// parent context per request. For HTTP/1.x requests there is a cheaper
// signal: net/http cancels such a request's context only when a read of
// the client connection fails while the handler runs (its background read
// sees the client's close or reset, or the server closes the connection),
// and every such read passes through the listener's limitConn. So the
// request parks its upstream connection in the limitConn (one atomic
// store) and the failing read aborts it. HTTP/2 streams and TLS
// connections, whose requests can end without a read of the limitConn
// failing, and listeners without limitConn (Options.MaxConnections < 0)
// keep AfterFunc.

// clientConnKey finds the request's limitConn in its context (ConnContext).
type clientConnKey struct{}

// connContext is the servers' ConnContext: it records a plain-HTTP
// limitConn. Over TLS the client's close_notify ends the request with no
// failed read of the limitConn below, so TLS requests keep AfterFunc.
func connContext(ctx context.Context, c net.Conn) context.Context {
	switch c := c.(type) {
	case *limitConn:
		return context.WithValue(ctx, clientConnKey{}, c)
	case *handedConn: // from the connection loop (h1loop.go)
		return handedContext(ctx, c)
	case *tls.Conn:
		// The client certificate of a TLS connection is checked once per
		// connection (clientauth.go).
		return context.WithValue(ctx, connCertKey{}, new(connCert))
	}
	return ctx
}

// clientConnOf returns the limitConn that watches r's client for the fast
// path, nil when r must use its context (HTTP/2, or no limitConn).
func clientConnOf(r *http.Request) *limitConn {
	if r.ProtoMajor != 1 {
		return nil
	}
	lc, _ := r.Context().Value(clientConnKey{}).(*limitConn)
	return lc
}

// Read reports a failed read (not a deadline: net/http's own wake-up of its
// background read) as the client being gone.
func (c *limitConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if c.rr != nil {
		n, err = c.rr.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.clientGone()
	}
	return n, err
}

func (c *limitConn) clientGone() {
	c.gone.Store(true)
	if fc := c.watched.Swap(nil); fc != nil {
		fc.abort()
	}
}

// cancelWatch aborts a fast-path upstream connection when its request ends
// early: through the client's limitConn or context.AfterFunc.
type cancelWatch struct {
	lc   *limitConn
	fc   *fastConn
	stop func() bool // AfterFunc's
}

// start arms the watch; false when the request has already ended (the
// connection may then be aborted: do not reuse it).
func (w *cancelWatch) start(ctx context.Context, lc *limitConn, fc *fastConn) bool {
	if lc != nil {
		if ctx.Err() != nil {
			return false // ended otherwise (the server's base context)
		}
		w.lc, w.fc = lc, fc
		lc.watched.Store(fc)
		// Sequentially consistent with clientGone: either it sees fc, or
		// this sees gone.
		return !lc.gone.Load()
	}
	if ctx.Done() == nil {
		return true // never ends
	}
	if ctx.Err() != nil {
		return false
	}
	w.stop = context.AfterFunc(ctx, fc.abort)
	return true
}

// end disarms the watch; false when it fired (or may have): the
// connection's deadline is poisoned.
func (w *cancelWatch) end() bool {
	switch {
	case w.lc != nil:
		return w.lc.watched.CompareAndSwap(w.fc, nil) && !w.lc.gone.Load()
	case w.stop != nil:
		return w.stop()
	}
	return true
}

// fired reports whether the watch fired (or is about to).
func (w *cancelWatch) fired(ctx context.Context) bool {
	if w.lc != nil && w.lc.gone.Load() {
		return true
	}
	return ctx.Err() != nil
}

// canceledErr is the error of a request whose watch fired: its context's
// error, or context.Canceled while net/http has not canceled it yet.
func canceledErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Canceled
}
