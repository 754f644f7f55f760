package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

// A fast-path request must stop waiting for its upstream when its client
// goes away: the upstream connection's deadline is poisoned (fastConn.abort)
// and the connection closed. context.AfterFunc on the request's context
// does that for any request, at five allocations and two locks of the
// parent context per request. There are cheaper signals, a clientWatch in
// which the request parks its upstream connection (one atomic store):
//   - HTTP/1.x: net/http cancels such a request's context only when a read
//     of the client connection fails while the handler runs (its
//     background read sees the client's close or reset, or the server
//     closes the connection), and every such read passes through the
//     listener's limitConn, whose failing read aborts the parked
//     connection;
//   - HTTP/2 on the native server: the stream's reset (RST_STREAM either
//     way) and the connection's end mark the stream's clientWatch.
//
// TLS connections served by net/http (HTTP/1.1 after a hand-off, HTTP/2
// with Options.NetHTTPH2), whose requests can end without a read of the
// limitConn failing, and listeners without limitConn
// (Options.MaxConnections < 0) keep AfterFunc.

// clientWatch is where a fast-path request parks the upstream connection
// it waits on, to be aborted when the client goes away.
type clientWatch struct {
	watched atomic.Pointer[fastConn]
	gone    atomic.Bool
}

// markGone records that the client went away and aborts the parked
// upstream connection, if any.
func (cw *clientWatch) markGone() {
	cw.gone.Store(true)
	if fc := cw.watched.Swap(nil); fc != nil {
		fc.abort()
	}
}

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

// clientWatchOf returns the clientWatch of r's client for the fast path
// (w is r's ResponseWriter): its native HTTP/2 stream's, or its
// limitConn's (HTTP/1.x); nil when r must use its context.
func clientWatchOf(w http.ResponseWriter, r *http.Request) *clientWatch {
	if hw, ok := w.(*h2writer); ok {
		return &hw.st.cw
	}
	if r.ProtoMajor != 1 {
		return nil
	}
	if lc, _ := r.Context().Value(clientConnKey{}).(*limitConn); lc != nil {
		return &lc.cw
	}
	return nil
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
		c.cw.markGone()
	}
	return n, err
}

// cancelWatch aborts a fast-path upstream connection when its request ends
// early: through the client's clientWatch or context.AfterFunc.
type cancelWatch struct {
	cw   *clientWatch
	fc   *fastConn
	stop func() bool // AfterFunc's
}

// start arms the watch; false when the request has already ended (the
// connection may then be aborted: do not reuse it).
func (w *cancelWatch) start(ctx context.Context, cw *clientWatch, fc *fastConn) bool {
	if cw != nil {
		if ctx.Err() != nil {
			return false // ended otherwise (the server's base context)
		}
		w.cw, w.fc = cw, fc
		cw.watched.Store(fc)
		// Sequentially consistent with markGone: either it sees fc, or
		// this sees gone.
		return !cw.gone.Load()
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
	case w.cw != nil:
		return w.cw.watched.CompareAndSwap(w.fc, nil) && !w.cw.gone.Load()
	case w.stop != nil:
		return w.stop()
	}
	return true
}

// fired reports whether the watch fired (or is about to).
func (w *cancelWatch) fired(ctx context.Context) bool {
	if w.cw != nil && w.cw.gone.Load() {
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
