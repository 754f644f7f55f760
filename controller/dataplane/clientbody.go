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
// body are wrapped (not the fast path); they are wrapped also without a
// ClientBodyTimeout (d == 0), to tell the client's errors from the
// upstream's: a body the client framed wrongly (a malformed chunk) or cut
// short fails the round trip, and is answered 400 (upstreamError).
type clientBody struct {
	body io.ReadCloser
	rc   http.ResponseController // by value: one allocation fewer per body
	d    time.Duration
	mu   sync.Mutex
	done bool // the deadline is off for good
	// timedOut records that a Read hit the deadline (answered 408).
	timedOut bool
	// failed is the first error other than io.EOF and a timeout that a
	// Read returned.
	failed error
}

// wrapBody puts r's body, if any, under Options.ClientBodyTimeout (when
// set) and records it in rs; r is changed in place. It wraps the proxy-send-timeout
// watchdog (sendtimeout.go), if any, so that a deadline the watchdog cut
// is never pushed out again.
func (s *Server) wrapBody(w http.ResponseWriter, r *http.Request, rs *reqState) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	cb := &clientBody{body: r.Body, rc: *http.NewResponseController(w), d: max(s.opts.ClientBodyTimeout, 0)}
	if cb.d == 0 {
		cb.done = true // no deadline
	}
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
		if err != io.EOF && isTimeout(err) { // EOF first: isTimeout allocates
			// The deadline stays (the connection is done for): the
			// server's discard of the rest must not wait for it.
			b.mu.Lock()
			b.timedOut = !b.done
			b.done = true
			b.mu.Unlock()
		} else {
			if err != io.EOF {
				b.mu.Lock()
				if b.failed == nil {
					b.failed = err
				}
				b.mu.Unlock()
			}
			b.stop() // no deadline may linger into the wait for the response
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

// readError returns the error of a failed Read of the body other than
// the ClientBodyTimeout's: nil when none failed.
func (b *clientBody) readError() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed
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

// clientBodyError answers a round trip that failed because the client's
// body could not be read (a malformed chunk, a body cut short): 400 with
// "Connection: close", logged as the client's error.
func (s *Server) clientBodyError(w http.ResponseWriter, r *http.Request, rs *reqState) {
	s.log.Debug("client request body error", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr,
		"error", rs.body.readError())
	w.Header()["Connection"] = valClose
	writePlain(w, http.StatusBadRequest, "bad request body\n")
	rs.code = http.StatusBadRequest
}

// isTimeout reports whether err is a net.Error that timed out.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
