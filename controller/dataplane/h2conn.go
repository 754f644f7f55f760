package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The native HTTP/2 server serves the HTTPS listener's h2 connections
// (Options.NetHTTPH2: net/http's instead): the frame codec is
// golang.org/x/net/http2's Framer and hpack, the connection logic is ours.
//
// Why: net/http's HTTP/2 server runs a frame-reading goroutine gated by a
// serve loop goroutine that owns all state, starts a goroutine per stream,
// and hands every frame a handler writes to the serve loop over channels,
// waiting for each (headers and data separately), with a goroutine per
// asynchronous frame write and per flush. A proxied GET costs about ten
// goroutine hand-offs and two TLS writes; at half the maximum rate that is
// most of the difference to HAProxy's CPU per request (issue 13).
//
// Here one goroutine per connection reads frames and keeps the connection
// state; each request runs in a goroutine of its own, which appends its
// frames itself, under the connection's write lock, to the connection's
// queue and writes the queue once per response: a proxied GET is one
// hand-off (the stream's goroutine) and one TLS write (HEADERS and DATA
// together). Responses that end while another write is in progress go
// out with that goroutine's next write (group commit, as HAProxy sends a
// connection's frames once per loop), and a queue over h2OutLimit makes
// the writers of DATA wait: a client that stops reading holds back its
// own connection's writers only.
// Flow control is shared state under a mutex with a condition variable for
// writers waiting for window. The settings are net/http's defaults: 250
// concurrent streams, 1 MiB of receive window per stream and per
// connection, frames up to 16 KiB (the default), MaxHeaderBytes (plus 320 bytes) of
// header list; a client that keeps more than 1,000 handlers busy (rapid
// reset) gets GOAWAY ENHANCE_YOUR_CALM, as from net/http.

const (
	h2MaxStreams      = 250
	h2MaxHandlers     = 4 * h2MaxStreams
	h2StreamWindow    = 1 << 20
	h2ConnWindow      = 1 << 20
	h2DefaultMaxFrame = 16384    // RFC 9113's default frame size, read and (until SETTINGS) written
	h2WindowRefresh   = 32 << 10 // consumed bytes acknowledged at once
	h2WriteChunk      = 16 << 10 // response bytes buffered before DATA goes out
	h2InitialWindow   = 65535    // RFC 9113's initial windows
	h2MaxWindow       = 1<<31 - 1
)

// h2conn is one HTTP/2 connection. The serve goroutine reads frames and
// owns the read side of the Framer; writes (any goroutine) hold wmu.
type h2conn struct {
	h      *h2server
	tc     *tls.Conn
	ctx    context.Context // requests' parent: the connection's values
	cancel context.CancelFunc
	tls    *tls.ConnectionState
	remote string
	br     *bufio.Reader // the Framer's source (and the preface's)
	fr     *http2.Framer

	// wmu guards the Framer's write side, out, spare, flushing, henc,
	// hbuf and werr; wcond (on wmu) wakes writers waiting for a flush.
	// Frames are appended to out, and written by one goroutine at a
	// time (flushLocked): frames appended while a write is in progress
	// leave in the next write, so responses that end together share a
	// TLS record and a write(2).
	wmu      sync.Mutex
	wcond    sync.Cond
	out      []byte // frames not yet written
	spare    []byte // the buffer of the write in progress, reused
	flushing bool   // a goroutine is writing out
	henc     *hpack.Encoder
	hbuf     bytes.Buffer
	werr     error
	dateSec  int64  // the second of date (dateLocked)
	date     string // a response's Date

	mu          sync.Mutex // everything below
	cond        sync.Cond  // window, stream and connection changes
	streams     map[uint32]*h2stream
	handlers    int    // running handler goroutines
	maxID       uint32 // highest client stream id seen
	sendWin     int64  // connection send window
	initWin     int64  // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame    uint32 // the peer's SETTINGS_MAX_FRAME_SIZE
	recvWin     int64  // connection receive window left to the peer
	recvUnacked int64  // consumed, not yet given back
	goingAway   bool
	closed      bool
	idle        *time.Timer
}

func newH2Conn(h *h2server, base context.Context, tc *tls.Conn) *h2conn {
	c := &h2conn{h: h, tc: tc, remote: tc.RemoteAddr().String(), streams: make(map[uint32]*h2stream),
		sendWin: h2InitialWindow, initWin: h2InitialWindow, maxFrame: h2DefaultMaxFrame, recvWin: h2ConnWindow}
	c.cond.L = &c.mu
	st := tc.ConnectionState()
	c.tls = &st
	ctx := context.WithValue(base, http.ServerContextKey, h.hs)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, tc.LocalAddr())
	ctx = connContext(ctx, tc)
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.wcond.L = &c.wmu
	c.br = bufio.NewReaderSize(tc, 16<<10)
	c.fr = http2.NewFramer((*h2out)(c), c.br)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = h.maxHeaderListSize()
	c.fr.SetMaxReadFrameSize(h2DefaultMaxFrame)
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

func (c *h2conn) logf(format string, args ...any) {
	if c.h.errLog != nil {
		c.h.errLog.Printf(format, args...)
	}
}

var errH2Done = errors.New("http2: connection done")

// serve reads and processes frames until the connection ends.
func (c *h2conn) serve() {
	defer func() {
		c.waitFlushed()
		c.closeConn()
	}()
	preface := make([]byte, len(http2.ClientPreface))
	_ = c.tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c.br, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	_ = c.tc.SetReadDeadline(time.Time{})
	c.wmu.Lock()
	err := c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.h.maxHeaderListSize()},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: 4096},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
	)
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, h2ConnWindow-h2InitialWindow)
	}
	c.flushLocked(err)
	c.wmu.Unlock()
	c.armIdle()
	first := true
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if c.readError(err) {
				return
			}
			continue
		}
		if first {
			if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
				c.goAway(http2.ErrCodeProtocol)
				return
			}
			first = false
		}
		if err := c.process(f); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.goAway(http2.ErrCode(ce))
			}
			return
		}
	}
}

// readError handles a ReadFrame error: true ends the connection.
func (c *h2conn) readError(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.mu.Lock()
		if se.StreamID > c.maxID && se.StreamID%2 == 1 {
			c.maxID = se.StreamID
		}
		st := c.streams[se.StreamID]
		c.mu.Unlock()
		if st != nil {
			c.resetStream(st, se.Code, false)
		} else {
			c.writeRST(se.StreamID, se.Code)
		}
		return false
	}
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		c.goAway(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAway(http2.ErrCodeFrameSize)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The idle timer, or a graceful close whose streams ended. A
		// stream that began meanwhile may still be running; the read
		// may have stopped inside a frame, so reading ends here: GOAWAY,
		// and the connection closes when its streams have ended.
		c.goAway(http2.ErrCodeNo)
		c.mu.Lock()
		for len(c.streams) > 0 && !c.closed {
			c.cond.Wait()
		}
		c.mu.Unlock()
	}
	return true
}

// process handles one frame on the serve goroutine.
func (c *h2conn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := f.ForeachSetting(c.applySetting); err != nil {
			return err
		}
		c.wmu.Lock()
		c.flushLocked(c.fr.WriteSettingsAck())
		c.wmu.Unlock()
	case *http2.PingFrame:
		if !f.IsAck() {
			c.wmu.Lock()
			c.flushLocked(c.fr.WritePing(true, f.Data))
			c.wmu.Unlock()
		}
	case *http2.WindowUpdateFrame:
		return c.windowUpdate(f)
	case *http2.MetaHeadersFrame:
		return c.headers(f)
	case *http2.DataFrame:
		return c.data(f)
	case *http2.RSTStreamFrame:
		c.mu.Lock()
		if f.StreamID > c.maxID {
			c.mu.Unlock()
			return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
		}
		st := c.streams[f.StreamID]
		c.mu.Unlock()
		if st != nil {
			c.resetStream(st, f.ErrCode, true)
		}
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.writeRST(f.StreamID, http2.ErrCodeProtocol)
		}
	case *http2.GoAwayFrame:
		c.mu.Lock()
		c.goingAway = true
		idle := len(c.streams) == 0
		c.mu.Unlock()
		if idle {
			return errH2Done
		}
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // clients never push
	}
	return nil // unknown frame types are ignored
}

func (c *h2conn) applySetting(s http2.Setting) error {
	if err := s.Valid(); err != nil {
		return err
	}
	switch s.ID {
	case http2.SettingInitialWindowSize:
		c.mu.Lock()
		delta := int64(s.Val) - c.initWin
		c.initWin = int64(s.Val)
		for _, st := range c.streams {
			st.sendWin += delta
			if st.sendWin > h2MaxWindow {
				c.mu.Unlock()
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	case http2.SettingMaxFrameSize:
		c.mu.Lock()
		c.maxFrame = s.Val
		c.mu.Unlock()
	case http2.SettingHeaderTableSize:
		c.wmu.Lock()
		c.henc.SetMaxDynamicTableSize(s.Val)
		c.wmu.Unlock()
	}
	return nil
}

func (c *h2conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		c.sendWin += inc
		if c.sendWin > h2MaxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.cond.Broadcast()
		return nil
	}
	if f.StreamID > c.maxID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
	}
	if st := c.streams[f.StreamID]; st != nil {
		st.sendWin += inc
		if st.sendWin > h2MaxWindow {
			c.mu.Unlock()
			c.resetStream(st, http2.ErrCodeFlowControl, false)
			c.mu.Lock()
			return nil
		}
		c.cond.Broadcast()
	}
	return nil
}

// headers opens a stream (a request) or ends one (trailers).
func (c *h2conn) headers(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		c.mu.Unlock()
		return c.trailers(st, f)
	}
	if id <= c.maxID {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	c.maxID = id
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.mu.Unlock()
		c.writeRST(id, http2.ErrCodeProtocol) // depends on itself (5.3.1)
		return nil
	}
	if c.goingAway {
		c.mu.Unlock()
		return nil // after our GOAWAY: ignored
	}
	if len(c.streams) >= h2MaxStreams {
		c.mu.Unlock()
		c.writeRST(id, http2.ErrCodeRefusedStream)
		return nil
	}
	if c.handlers >= h2MaxHandlers {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	st := &h2stream{c: c, id: id, sendWin: c.initWin, recvWin: h2StreamWindow, remoteClosed: f.StreamEnded()}
	c.mu.Unlock()

	req, code := c.newRequest(st, f)
	if req == nil {
		c.writeRST(id, code)
		return nil
	}
	c.mu.Lock()
	c.streams[id] = st
	c.handlers++
	if c.idle != nil {
		c.idle.Stop()
	}
	c.mu.Unlock()
	rw := &h2writer{st: st, req: req, hdr: make(http.Header), declaredLen: -1}
	c.h.dispatch(h2job{st: st, w: rw, r: req, tooLarge: f.Truncated})
	return nil
}

// trailers ends a stream's request body with trailer fields.
func (c *h2conn) trailers(st *h2stream, f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	closed := st.remoteClosed
	c.mu.Unlock()
	if closed {
		c.resetStream(st, http2.ErrCodeStreamClosed, false)
		return nil
	}
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 || !validTrailers(f.RegularFields()) {
		c.resetStream(st, http2.ErrCodeProtocol, false)
		return nil
	}
	c.mu.Lock()
	st.remoteClosed = true
	c.mu.Unlock()
	if st.body != nil {
		st.body.finish(f.RegularFields())
	}
	return nil
}

// validTrailers reports whether every field may be a trailer
// (httpguts.ValidTrailerHeader), as net/http checks.
func validTrailers(fields []hpack.HeaderField) bool {
	for _, hf := range fields {
		if !httpguts.ValidTrailerHeader(canonicalH2Key(hf.Name)) {
			return false
		}
	}
	return true
}

// data delivers a DATA frame to its stream's body.
func (c *h2conn) data(f *http2.DataFrame) error {
	id := f.StreamID
	n := int64(f.Length)
	c.mu.Lock()
	if n > c.recvWin {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWin -= n
	st := c.streams[id]
	if st == nil || st.remoteClosed || st.body == nil {
		idle := id > c.maxID
		c.mu.Unlock()
		if idle {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		c.consumed(nil, n) // never delivered: given back
		if st != nil {
			c.resetStream(st, http2.ErrCodeStreamClosed, false)
		} else {
			c.writeRST(id, http2.ErrCodeStreamClosed)
		}
		return nil
	}
	if n > st.recvWin {
		c.mu.Unlock()
		c.consumed(nil, n)
		c.resetStream(st, http2.ErrCodeFlowControl, false)
		return nil
	}
	st.recvWin -= n
	data := f.Data()
	if pad := n - int64(len(data)); pad > 0 {
		c.recvUnacked += pad
		st.recvUnacked += pad
	}
	ended := f.StreamEnded()
	if ended {
		st.remoteClosed = true
	}
	c.mu.Unlock()
	if err := st.body.write(data); err != nil {
		c.consumed(st, int64(len(data))) // never read: given back
		if err == errH2BodyLength {
			c.resetStream(st, http2.ErrCodeProtocol, false)
			return nil
		}
	}
	if ended {
		if !st.body.finish(nil) {
			c.resetStream(st, http2.ErrCodeProtocol, false) // shorter than Content-Length
		}
	}
	return nil
}

// consumed gives n bytes of receive window back (a body read, or data
// never delivered: st nil), sending WINDOW_UPDATE once enough has
// accumulated.
func (c *h2conn) consumed(st *h2stream, n int64) {
	c.mu.Lock()
	c.recvUnacked += n
	var streamInc int64
	if st != nil {
		st.recvUnacked += n
		if st.recvUnacked >= h2WindowRefresh && !st.remoteClosed {
			streamInc, st.recvUnacked = st.recvUnacked, 0
			st.recvWin += streamInc
		}
	}
	connInc := int64(0)
	if c.recvUnacked >= h2WindowRefresh {
		connInc, c.recvUnacked = c.recvUnacked, 0
		c.recvWin += connInc
	}
	c.mu.Unlock()
	if streamInc == 0 && connInc == 0 {
		return
	}
	c.wmu.Lock()
	var err error
	if connInc > 0 {
		err = c.fr.WriteWindowUpdate(0, uint32(connInc))
	}
	if streamInc > 0 && err == nil {
		err = c.fr.WriteWindowUpdate(st.id, uint32(streamInc))
	}
	c.flushLocked(err)
	c.wmu.Unlock()
}

// runHandler serves one request and ends its stream.
func (c *h2conn) runHandler(st *h2stream, w *h2writer, r *http.Request, tooLarge bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.logf("http2: panic serving %v: %v", c.remote, p)
			}
			c.resetStream(st, http2.ErrCodeInternal, false)
		}
		st.cancel()
		if st.body != nil {
			st.body.closeRead()
		}
		c.mu.Lock()
		c.handlers--
		c.mu.Unlock()
	}()
	if tooLarge {
		// As net/http: the header list exceeded MAX_HEADER_LIST_SIZE.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
		_, _ = io.WriteString(w, "431 Request Header Fields Too Large\n")
	} else {
		c.h.s.ServeHTTP(w, r)
	}
	w.finish()
}

// closeStream forgets a stream both sides have ended; the last one of a
// connection that is going away closes it, and an idle one arms the idle
// timer.
func (c *h2conn) closeStream(st *h2stream) {
	c.mu.Lock()
	if c.streams[st.id] != st {
		c.mu.Unlock()
		return
	}
	delete(c.streams, st.id)
	idle := len(c.streams) == 0
	away := c.goingAway
	c.cond.Broadcast()
	c.mu.Unlock()
	if idle {
		if away {
			_ = c.tc.SetReadDeadline(time.Now()) // wakes serve, which ends
		} else {
			c.armIdle()
		}
	}
}

// armIdle starts the idle timeout (Options.IdleTimeout, else ReadTimeout,
// as net/http).
func (c *h2conn) armIdle() {
	d := c.h.s.opts.IdleTimeout
	if d <= 0 {
		d = c.h.s.opts.ReadTimeout
	}
	if d <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle == nil {
		c.idle = time.AfterFunc(d, func() {
			c.mu.Lock()
			idle := len(c.streams) == 0
			c.mu.Unlock()
			if idle {
				_ = c.tc.SetReadDeadline(time.Now())
			}
		})
		return
	}
	c.idle.Reset(d)
}

// resetStream ends st with RST_STREAM (sent unless the peer sent it).
func (c *h2conn) resetStream(st *h2stream, code http2.ErrCode, byPeer bool) {
	c.mu.Lock()
	if st.reset {
		c.mu.Unlock()
		return
	}
	st.reset = true
	st.remoteClosed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	st.cw.markGone()
	st.cancel()
	if st.body != nil {
		st.body.abort(http2.StreamError{StreamID: st.id, Code: code})
	}
	if !byPeer {
		c.writeRST(st.id, code)
	}
	c.closeStream(st)
}

func (c *h2conn) writeRST(id uint32, code http2.ErrCode) {
	c.wmu.Lock()
	c.flushLocked(c.fr.WriteRSTStream(id, code))
	c.wmu.Unlock()
}

// goAway sends GOAWAY; with NO_ERROR the connection ends once its
// streams have, with another code at once.
func (c *h2conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	if c.goingAway && code == http2.ErrCodeNo {
		c.mu.Unlock()
		return
	}
	c.goingAway = true
	last := c.maxID
	idle := len(c.streams) == 0
	c.mu.Unlock()
	c.wmu.Lock()
	c.flushLocked(c.fr.WriteGoAway(last, code, nil))
	c.wmu.Unlock()
	if idle || code != http2.ErrCodeNo {
		_ = c.tc.SetReadDeadline(time.Now())
	}
}

// h2out is the Framer's writer: frames are appended to out (wmu held).
type h2out h2conn

func (o *h2out) Write(p []byte) (int, error) {
	o.out = append(o.out, p...)
	return len(p), nil
}

// h2OutLimit bounds out while a write is in progress: a response's DATA
// waits for room (roomLocked), the back-pressure of a slow client.
const h2OutLimit = 64 << 10

// roomLocked waits (wmu held) while a write is in progress and out holds
// h2OutLimit bytes or more; false when the connection failed.
func (c *h2conn) roomLocked() bool {
	for c.flushing && len(c.out) >= h2OutLimit && c.werr == nil {
		c.wcond.Wait()
	}
	return c.werr == nil
}

// flushLocked writes out after a frame write that returned err (wmu held
// on entry and on return). When another goroutine is writing, the frames
// are left to it (it writes again before it stops) and the caller
// returns at once; else the caller writes, with wmu released during each
// write, until out stays empty. The first error is kept, and closes the
// connection.
func (c *h2conn) flushLocked(err error) {
	if c.werr != nil {
		return
	}
	if err != nil {
		c.failLocked(err)
		return
	}
	if c.flushing {
		return
	}
	c.flushing = true
	for len(c.out) > 0 && c.werr == nil {
		buf := c.out
		c.out = c.spare[:0]
		c.wmu.Unlock()
		if d := c.h.s.opts.WriteTimeout; d > 0 {
			_ = c.tc.SetWriteDeadline(time.Now().Add(d))
		}
		_, err := c.tc.Write(buf)
		c.wmu.Lock()
		if cap(buf) <= 4*h2OutLimit {
			c.spare = buf[:0]
		} else {
			c.spare = nil
		}
		if err != nil {
			c.failLocked(err)
		}
		c.wcond.Broadcast()
	}
	c.flushing = false
	c.wcond.Broadcast()
}

// failLocked keeps the first write error and closes the connection (wmu
// held).
func (c *h2conn) failLocked(err error) {
	if c.werr == nil {
		c.werr = err
		c.out = nil
		go c.closeConn()
	}
}

// h2CloseFlushTimeout bounds how long a closing connection waits for its
// last write: a client that stopped reading does not keep it open (a
// variable for tests).
var h2CloseFlushTimeout = 5 * time.Second

// waitFlushed waits until no write is in progress, at most
// h2CloseFlushTimeout: the frames already appended (a last response,
// GOAWAY) are written before the connection closes.
func (c *h2conn) waitFlushed() {
	c.wmu.Lock()
	if c.flushing {
		_ = c.tc.SetWriteDeadline(time.Now().Add(h2CloseFlushTimeout))
	}
	for c.flushing {
		c.wcond.Wait()
	}
	c.wmu.Unlock()
}

// closeConn ends the connection: requests are canceled, waiting writers
// and readers woken.
func (c *h2conn) closeConn() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	streams := make([]*h2stream, 0, len(c.streams))
	for _, st := range c.streams {
		streams = append(streams, st)
	}
	if c.idle != nil {
		c.idle.Stop()
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	for _, st := range streams {
		st.cw.markGone()
	}
	c.cancel()
	for _, st := range streams {
		if st.body != nil {
			st.body.abort(errH2Closed)
		}
	}
	_ = c.tc.Close()
}

var errH2Closed = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("http2: client connection closed")}
