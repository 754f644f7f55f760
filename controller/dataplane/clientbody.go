package dataplane

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// clientBody bounds the idle time of a client's request body (nginx's
// client_body_timeout): each Read may wait for the client at most d
// (a read deadline on the client connection, set when the Read starts, so
// that time spent writing to a slow upstream does not count). It applies
// until the body ends or the response head arrives, whichever is first:
// once the upstream answered, a full-duplex stream may pause. A body that
// stalls fails with a timeout and is answered 408. Only requests with a
// body are wrapped (not the fast path).
type clientBody struct {
	body io.ReadCloser
	rc   *http.ResponseController
	d    time.Duration
	mu   sync.Mutex
	done bool // the deadline is off for good
	// timedOut records that a Read hit the deadline (answered 408).
	timedOut bool
}

// wrapBody puts r's body, if any, under Options.ClientBodyTimeout and
// records it in rs; r is changed in place. It wraps the proxy-send-timeout
// watchdog (sendtimeout.go), if any, so that a deadline the watchdog cut
// is never pushed out again.
func (s *Server) wrapBody(w http.ResponseWriter, r *http.Request, rs *reqState) {
	if r.Body == nil || r.Body == http.NoBody || s.opts.ClientBodyTimeout <= 0 {
		return
	}
	cb := &clientBody{body: r.Body, rc: http.NewResponseController(w), d: s.opts.ClientBodyTimeout}
	r.Body = cb
	rs.body = cb
}

func (b *clientBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.done {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.d)) // unsupported: no bound
	}
	b.mu.Unlock()
	n, err := b.body.Read(p)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The deadline stays (the connection is done for): the
			// server's discard of the rest must not wait for it.
			b.mu.Lock()
			b.timedOut = !b.done
			b.done = true
			b.mu.Unlock()
		} else {
			b.stop() // EOF: no deadline may linger into the wait for the response
		}
	}
	return n, err
}

func (b *clientBody) Close() error {
	b.stop()
	return b.body.Close()
}

// stop turns the deadline off for good.
func (b *clientBody) stop() {
	if b == nil {
		return
	}
	b.mu.Lock()
	if !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	b.mu.Unlock()
}

// stalled reports whether the body was cut by the timeout.
func (b *clientBody) stalled() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.timedOut
}
