package dataplane

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// proxy-send-timeout bounds the time between two successive writes of the
// request body to the upstream (nginx's proxy_send_timeout), in both ways a
// transfer can stall: the client sends nothing (a Read of its body blocks)
// or the upstream takes nothing (a write to it blocks, so the next Read
// does not come). A watchdog timer is re-armed when a Read of the body
// starts and when it returns; when it fires, the round trip is canceled
// with errSendTimeout (answered 504, like nginx) and the client
// connection's read deadline is cut so that a stalled upload ends too.
// It applies until the body ends or the response head arrives, whichever
// is first: once the upstream answered, a full-duplex stream (gRPC) may
// pause. Requests without a body are not affected.

// errSendTimeout is the cancel cause of a request whose body stalled for
// longer than proxy-send-timeout.
var errSendTimeout = errors.New("dataplane: request body stalled for longer than proxy-send-timeout")

// sendBody is a request body under a proxy-send-timeout watchdog.
type sendBody struct {
	body io.ReadCloser
	d    time.Duration
	mu   sync.Mutex
	t    *time.Timer
	done bool // the watchdog is off for good
}

// withSendTimeout returns r with its body under a watchdog of d and a
// context that the watchdog cancels, and the sendBody (whose stop must
// run when the response head arrives) and the context's cancel function.
func withSendTimeout(w http.ResponseWriter, r *http.Request, parent context.Context, d time.Duration) (*http.Request, *sendBody, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	rc := http.NewResponseController(w)
	sb := &sendBody{body: r.Body, d: d}
	sb.t = time.AfterFunc(d, func() {
		cancel(errSendTimeout)
		_ = rc.SetReadDeadline(time.Unix(1, 0)) // unblock a Read of a stalled upload
	})
	sb.t.Stop() // armed by the first Read: connecting is proxy-connect-timeout's
	r2 := r.WithContext(ctx)
	r2.Body = sb
	return r2, sb, cancel
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.arm()
	n, err := b.body.Read(p)
	if err != nil {
		b.stop()
	} else {
		b.arm()
	}
	return n, err
}

// Close stops the watchdog and leaves the client's body open: after a
// send timeout's 504 the handler reads and discards the rest of it
// (lingerDiscard); the server closes it when the handler returns.
func (b *sendBody) Close() error {
	b.stop()
	return nil
}

// arm restarts the watchdog unless it was stopped for good.
func (b *sendBody) arm() {
	b.mu.Lock()
	if !b.done {
		b.t.Reset(b.d)
	}
	b.mu.Unlock()
}

// Lingering after a send timeout's 504: the rest of the upload is read
// and discarded, as nginx's lingering_close does, until the client's body
// ends, no byte came for lingerIdle, or lingerTime passed. A client still
// sending then reads the 504; closing the connection under it instead
// resets the connection, and the client may see the reset first.
const (
	lingerIdle = 2 * time.Second
	lingerTime = 10 * time.Second
)

// sendTimedOut reports whether r (from withSendTimeout) was canceled by
// its proxy-send-timeout watchdog, and so answered 504.
func sendTimedOut(r *http.Request) bool {
	return errors.Is(context.Cause(r.Context()), errSendTimeout)
}

// lingerDiscard flushes the answer already written to w, then reads and
// discards body (the client's request body) as described above.
func lingerDiscard(w http.ResponseWriter, body io.Reader) {
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	end := time.Now().Add(lingerTime)
	// The last word on the deadline, whatever a body wrapper's cleanup
	// sets meanwhile.
	t := time.AfterFunc(lingerTime, func() { _ = rc.SetReadDeadline(time.Unix(1, 0)) })
	defer t.Stop()
	buf := make([]byte, 32<<10)
	for {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		dl := now.Add(lingerIdle)
		if dl.After(end) {
			dl = end
		}
		if rc.SetReadDeadline(dl) != nil {
			return
		}
		if _, err := body.Read(buf); err != nil {
			return
		}
	}
}

// stop turns the watchdog off for good.
func (b *sendBody) stop() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.done = true
	b.t.Stop()
	b.mu.Unlock()
}
