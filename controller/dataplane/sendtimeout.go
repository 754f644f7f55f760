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

func (b *sendBody) Close() error {
	b.stop()
	return b.body.Close()
}

// arm restarts the watchdog unless it was stopped for good.
func (b *sendBody) arm() {
	b.mu.Lock()
	if !b.done {
		b.t.Reset(b.d)
	}
	b.mu.Unlock()
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
