package dataplane

import (
	"errors"
	"io"
	"strconv"
	"time"
)

// A request of the connection loop may carry a body of declared length up
// to the fast path's bound (Server.fastBodyMax): the fast proxy reads it
// whole before it contacts the upstream (fastproxy.go). It is read from
// the loop's buffered reader, so the bytes that came with the head are
// used first. As in net/http's server:
//   - after the head, the body is read under ReadTimeout from then, or
//     without a deadline (ReadHeaderTimeout bounds only the head); the
//     ClientBodyTimeout wrap sets its own deadlines through the writer
//     (h1writer.SetReadDeadline);
//   - a body the handler left unread (a 404, a 413, a redirect, a
//     refusal) is read and discarded before the response head is written
//     (within ClientBodyTimeout), so that the connection can serve the
//     next request; if that fails, the response says "Connection: close"
//     and the connection closes.

// loopBody is the body of the loop's current request.
type loopBody struct {
	c      *h1conn
	remain int64
	err    error // sticky read error
}

func (b *loopBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.br.Read(p)
	b.remain -= int64(n)
	if err == io.EOF && b.remain > 0 {
		err = io.ErrUnexpectedEOF // the client closed before the declared end
	}
	if err != nil {
		b.err = err
		return n, err
	}
	if b.remain == 0 {
		return n, io.EOF
	}
	return n, nil
}

// Close leaves what is unread for the discard before the response.
func (b *loopBody) Close() error { return nil }

// discard reads what the handler left of the body; false when that
// failed (the connection must close).
func (b *loopBody) discard() bool {
	if b.remain <= 0 {
		return b.err == nil || errors.Is(b.err, io.EOF)
	}
	if b.err != nil {
		return false
	}
	if d := b.c.l.s.opts.ClientBodyTimeout; d > 0 {
		// Each read may wait for the client at most that long, as when
		// the body is read for the upstream.
		_ = b.c.conn.SetReadDeadline(time.Now().Add(d))
		b.c.dlDirty = true
	}
	_, err := io.Copy(io.Discard, b)
	return err == nil
}

// bodyDeadline sets the deadline the body is read under: ReadTimeout from
// now, or none (the head's deadline no longer applies).
func (c *h1conn) bodyDeadline() {
	var t time.Time
	if d := c.l.s.opts.ReadTimeout; d > 0 {
		t = time.Now().Add(d)
	}
	_ = c.conn.SetReadDeadline(t)
	c.dlDirty = true
}

// loopContentLength parses a Content-Length the loop serves: decimal
// digits only, at most max.
func loopContentLength(v string, max int64) (int64, bool) {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n <= max
}

// SetReadDeadline lets the ClientBodyTimeout wrap (http.ResponseController)
// bound the reads of the body.
func (w *h1writer) SetReadDeadline(t time.Time) error {
	if w.conn == nil {
		return nil
	}
	w.conn.dlDirty = true
	return w.conn.conn.SetReadDeadline(t)
}
