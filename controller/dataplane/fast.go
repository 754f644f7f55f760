package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// The fast upstream path sends a request on a pooled HTTP/1.1 connection
// from the handler's goroutine: it writes the request and reads the
// response head directly, and the response body is read from the same
// buffered connection. Compared with http.Transport it saves the two
// goroutine hand-offs per request (writeLoop, readLoop) and their channel
// and context machinery. A request body of declared length up to the
// pooled buffer's size (Options.BufferSize) is read whole first, as
// nginx's proxy_request_buffering does, and sent after the head; longer
// bodies, bodies of unknown length, "Expect: 100-continue" and upgrades
// take the http.Transport path, which streams them.
//
// Response framing is net/http's: the common head (HTTP/1.1, one
// Content-Length, plain lines) is read from the buffer by readHead
// (resphead.go), held to http.ReadResponse by a fuzz test, and every other
// head by http.ReadResponse itself, so chunked bodies, trailers, HEAD,
// 204/304 and "Connection: close" are handled as the standard client does.
//
// A pooled connection is never reused with bytes the upstream sent outside
// a response: bytes that came with a response beyond its end close the
// connection when the body ends (fastBody.release); bytes that arrived
// while it sat idle (a 408 before the upstream's idle timeout, a stray
// response) or its close are seen by a non-blocking read just before the
// next request is written (exchange), and the connection is dropped for the
// next idle one. A 408 that still arrives as the answer on a reused connection
// (sent just as the request went out) is treated like a closed connection:
// a replayable request (replayable) is sent again on a new one, with its
// body; any other gets the 408 (or a 502 for a closed connection), as
// from http.Transport. This is
// what http.Transport does with its background read of idle connections,
// without the goroutine per connection. Pools are per endpoint and shared by
// every route to it, so this also keeps one client's response from reaching
// another.

// fastEligible reports whether req may take the fast path: a request
// without Upgrade or Expect whose body, if any, has a declared length of
// at most maxBody bytes and no trailers. The query is forwarded as
// received on both paths. net/http's HTTP/2 server gives every request a
// Body; one whose HEADERS frame ended the stream has ContentLength 0 (-1
// or the declared length when the stream stays open, and the server holds
// DATA to a declared length), so ContentLength 0 without trailers is
// bodiless. CONNECT and TRACE, and a GET or HEAD with a body, stay with
// ReverseProxy.
func fastEligible(req *http.Request, maxBody int64) bool {
	if req.ContentLength < 0 || req.ContentLength > maxBody || len(req.Trailer) > 0 {
		return false
	}
	if req.ContentLength == 0 && req.Body != nil && req.Body != http.NoBody && req.ProtoMajor != 2 {
		return false // length 0 with a Body means unknown outside net/http's HTTP/2 server
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		if req.ContentLength != 0 {
			return false
		}
	case http.MethodOptions, http.MethodDelete, http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	if _, expect := req.Header["Expect"]; expect {
		return false
	}
	_, upgrade := req.Header["Upgrade"]
	return !upgrade
}

// replayable reports whether a request may be sent again after it reached
// a reused connection that the upstream closed without answering (as
// http.Transport decides): an idempotent method, or an Idempotency-Key.
// The body, read whole before the first attempt, is sent again.
func replayable(req *http.Request) bool {
	if idempotent(req.Method) {
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// fastConn is one pooled upstream connection.
type fastConn struct {
	conn net.Conn
	lr   headLimit // between conn and br
	br   *bufio.Reader
	bw   *bufio.Writer // over uw
	uw   upWriter
	// rw writes conn with raw system calls (rawio.go); nil when conn is
	// not a TCP socket (upstream TLS)
	rw        *rawWriter
	idleSince time.Time
	// abort poisons the connection's deadline when a request's context
	// ends (context.AfterFunc); made once per connection.
	abort func()
	x     exchange
	// probeNext: the connection was idle; check it for late bytes before
	// the next byte of a request goes out (exchange, upWriter).
	probeNext bool
	// tail is a request body written right after the buffered head by
	// the next flush (upWriter), with it in one writev; nil: none.
	tail []byte
}

func newFastConn(conn net.Conn, bufSize int) *fastConn {
	fc := &fastConn{conn: conn}
	fc.uw.fc = fc
	fc.bw = bufio.NewWriterSize(&fc.uw, bufSize)
	fc.lr.conn = conn
	fc.lr.x = &fc.x
	fc.lr.rr, fc.rw = newRawIO(conn)
	fc.br = bufio.NewReaderSize(&fc.lr, bufSize)
	fc.abort = func() { _ = fc.conn.SetDeadline(time.Unix(1, 0)) }
	fc.x.setup(fc)
	return fc
}

// errLateBytes drops a pooled connection on which bytes (or the
// upstream's close) arrived while it was idle; the request goes to the
// next idle connection or a new one.
var errLateBytes = errors.New("dataplane: pooled upstream connection received bytes while idle")

// upWriter writes a request head to the connection. A head too long for
// the buffer is partly written before the exchange: the idle check then
// runs first, on its own.
type upWriter struct{ fc *fastConn }

func (u *upWriter) Write(p []byte) (int, error) {
	fc := u.fc
	if fc.probeNext {
		fc.probeNext = false
		if !fc.x.clean() {
			return 0, errLateBytes
		}
	}
	if !fc.lr.send {
		fc.x.early = true // part of the request goes out before the exchange
	}
	if tail := fc.tail; tail != nil { // set only with fc.rw (send)
		fc.tail = nil
		n, err := fc.rw.writeTwo(p, tail)
		return min(n, len(p)), err
	}
	if fc.rw != nil {
		return fc.rw.Write(p)
	}
	return fc.conn.Write(p)
}

// reabort re-poisons the deadline after the request path set one: a
// request that ended before that (its watch already fired) would
// otherwise be forgotten and the read would wait for the upstream.
func (fc *fastConn) reabort(ctx context.Context, w *cancelWatch) {
	if w.fired(ctx) {
		fc.abort()
	}
}

// errResponseHeaderTooLarge ends a response head longer than
// Options.MaxResponseHeaderBytes (answered 502).
var errResponseHeaderTooLarge = errors.New("dataplane: upstream response head exceeds MaxResponseHeaderBytes")

// headLimit bounds what is read from an upstream connection while a
// response head is read (left > 0 armed, as net/http's client does with
// its readLimit); 0 reads without limit (the body). The first read after
// a request head (send set) is the exchange that sends it.
type headLimit struct {
	conn  net.Conn
	rr    *rawReader // reads conn with raw system calls; nil: conn.Read
	x     *exchange
	left  int64
	armed bool
	send  bool
}

func (l *headLimit) Read(p []byte) (int, error) {
	if l.armed {
		if l.left <= 0 {
			return 0, errResponseHeaderTooLarge
		}
		if int64(len(p)) > l.left {
			p = p[:l.left]
		}
	}
	var n int
	var err error
	if l.send {
		l.send = false
		n, err = l.x.run(p)
	} else if l.rr != nil {
		n, err = l.rr.Read(p)
	} else {
		n, err = l.conn.Read(p)
	}
	if l.armed {
		l.left -= int64(n)
	}
	return n, err
}

// arm starts counting a response head of at most max bytes (none when
// max <= 0); disarm stops.
func (l *headLimit) arm(max int64) { l.left, l.armed = max, max > 0 }
func (l *headLimit) disarm()       { l.armed = false }

// max1xx bounds the informational responses before the final one.
const max1xx = 16

// connPool is the idle connection stack of one endpoint (LIFO: the warmest
// connection first).
type connPool struct {
	mu     sync.Mutex
	idle   []*fastConn
	closed bool
}

// take returns the warmest idle connection that has not expired, closing
// those that have; nil when none is left. Whether it is still clean is
// checked as the next request goes out (exchange).
func (p *connPool) take(maxIdle time.Duration) *fastConn {
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		fc := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if time.Since(fc.idleSince) < maxIdle {
			fc.probeNext = true
			return fc
		}
		fc.conn.Close()
	}
}

func (p *connPool) put(fc *fastConn, max int) {
	fc.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= max {
		p.mu.Unlock()
		fc.conn.Close()
		return
	}
	p.idle = append(p.idle, fc)
	p.mu.Unlock()
}

// sweep closes connections idle for longer than maxIdle; with all set, every
// idle connection, and the pool refuses new ones.
func (p *connPool) sweep(maxIdle time.Duration, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if all {
		p.closed = true
	}
	keep := p.idle[:0]
	for _, fc := range p.idle {
		if all || time.Since(fc.idleSince) >= maxIdle {
			fc.conn.Close()
		} else {
			keep = append(keep, fc)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
}

// fastTransport holds the fast path's settings.
type fastTransport struct {
	dialer                *net.Dialer
	maxIdlePerHost        int
	idleTimeout           time.Duration
	responseHeaderTimeout time.Duration
	maxHeaderBytes        int64 // per response head; 0: none
	bufSize               int
}

// errStaleConn marks a reused connection that the upstream had closed before
// anything of the response arrived; the request is sent again on a new one.
var errStaleConn = errors.New("dataplane: pooled upstream connection was closed")

// fastReq is one request for the fast transport.
type fastReq struct {
	// in is the client's request: its context, method and (with s) the
	// head to forward.
	in *http.Request
	// addr is the endpoint.
	addr string
	// s writes the proxied head (Server.writeHead); nil writes in as is
	// with Request.Write (tests).
	s *Server
	// w receives 1xx responses; nil drops them.
	w http.ResponseWriter
	// ov are the annotation overrides of the upstream request (copied
	// from the reqState so that it stays on the handler's stack).
	ov overrides
	// client watches the request's client (clientWatchOf); nil: the
	// request's context does.
	client *clientWatch
	// loop is the connection loop's connection of the request, which
	// starts that watch only for a slow answer (h1loop.go); nil otherwise.
	loop *h1conn
	// body is the request body, read whole (nil: none).
	body []byte
}

// maxDirty bounds the idle connections one request drops for late bytes
// before it dials a new one.
const maxDirty = 16

// roundTrip sends the request to the endpoint with pool p.
func (t *fastTransport) roundTrip(fr *fastReq, p *connPool) (*http.Response, error) {
	fresh := false // a stale pooled connection is retried once on a new one
	dirty := 0     // idle connections dropped for late bytes
	for {
		var fc *fastConn
		if !fresh && dirty < maxDirty {
			fc = p.take(t.idleTimeout)
		}
		reused := fc != nil
		if !reused {
			conn, err := t.dial(fr)
			if err != nil {
				return nil, err // a *net.OpError with Op "dial"
			}
			fc = newFastConn(conn, t.bufSize)
		}
		resp, err := t.send(fr, fc, p, reused)
		switch {
		case errors.Is(err, errLateBytes):
			dirty++
			continue // dropped before the request went out: the next idle one
		case errors.Is(err, errStaleConn) && !fresh && replayable(fr.in):
			fresh = true
			continue
		case errors.Is(err, errStaleConn):
			return nil, fmt.Errorf("upstream %s: %w", fr.addr, errStaleConn)
		}
		return resp, err
	}
}

func (t *fastTransport) send(fr *fastReq, fc *fastConn, p *connPool, reused bool) (*http.Response, error) {
	req := fr.in
	ctx := req.Context()
	var watch cancelWatch
	if !watch.start(ctx, fr.client, fc) {
		if watch.end() {
			p.put(fc, t.maxIdlePerHost)
		} else {
			fc.conn.Close()
		}
		return nil, canceledErr(ctx)
	}
	fail := func(err error, nothingReceived bool) (*http.Response, error) {
		fc.conn.Close()
		if !watch.end() {
			return nil, canceledErr(ctx)
		}
		if errors.Is(err, errLateBytes) {
			return nil, errLateBytes
		}
		if reused && nothingReceived {
			return nil, errStaleConn
		}
		return nil, err
	}
	fc.x.early, fc.tail = false, nil
	var err error
	if fr.s != nil {
		if err = fr.s.writeHead(fc.bw, req, fr.addr, fr.ov, len(fr.body)); err == nil && len(fr.body) > 0 {
			if fc.rw != nil && len(fr.body) > fc.bw.Available() && fc.bw.Buffered() > 0 {
				// A body the buffer cannot hold with the head goes out
				// with it, in one writev by the exchange's flush
				// (upWriter): one segment to the upstream, which reads
				// the request in one wake-up. (The flush writes only
				// when bytes are buffered: the head's end always is.)
				// As with the rest of the head before, the response
				// header timeout and the lazy wait below count from
				// before this write of at most BufferSize bytes.
				fc.tail = fr.body
			} else {
				// What does not fit the buffer is written now (the idle
				// check first: upWriter), the rest by the exchange.
				_, err = fc.bw.Write(fr.body)
			}
		}
	} else {
		err = req.Write(fc.bw)
	}
	if err != nil {
		return fail(err, true)
	}
	headerTimeout := t.responseHeaderTimeout
	if fr.ov.read > 0 {
		headerTimeout = fr.ov.read
	}
	var headerDeadline time.Time
	if headerTimeout > 0 {
		headerDeadline = time.Now().Add(headerTimeout)
	}
	// A request of the connection loop first waits lazyWatchDelay, then
	// has its client watched for the rest of the wait (h1loop.go).
	var delay time.Duration
	if fr.loop != nil {
		delay = fr.loop.l.lazyDelay
	}
	lazy := fr.loop != nil && (headerTimeout <= 0 || headerTimeout > delay)
	lazyArmed := lazy
	// relax ends the short wait: the client is watched from now on, and
	// the deadline is the response header timeout.
	relax := func() {
		if lazyArmed {
			lazyArmed = false
			fr.loop.watch()
			_ = fc.conn.SetReadDeadline(headerDeadline)
			fc.reabort(ctx, &watch)
		}
	}
	switch {
	case lazy:
		_ = fc.conn.SetReadDeadline(time.Now().Add(delay))
		fc.reabort(ctx, &watch)
	case headerTimeout > 0:
		_ = fc.conn.SetReadDeadline(headerDeadline) // a failed deadline shows as a read error
		fc.reabort(ctx, &watch)
	}
	// Peek first: its read sends the head (exchange). An error before the
	// first byte means the upstream closed the idle connection
	// (ReadResponse would report io.ErrUnexpectedEOF).
	fc.lr.arm(t.maxHeaderBytes)
	fc.lr.send = true
	_, err = fc.br.Peek(1)
	if err != nil && lazyArmed && fc.x.werr == nil && errors.Is(err, os.ErrDeadlineExceeded) && !watch.fired(ctx) {
		// The short wait passed: before the exchange even began (a
		// goroutine scheduled late), or with the head sent.
		relax()
		fc.x.resume = fc.x.sent // a head that went out is not sent again
		fc.lr.send = true
		_, err = fc.br.Peek(1)
	}
	if err != nil {
		if fc.x.werr != nil {
			return fail(fc.x.werr, true)
		}
		return fail(err, isNothingReceived(err))
	}
	if lazyArmed && !headBuffered(fc.br) {
		relax() // the rest of the head may come after the short wait
	}
	resp, fb := fc.readHead(req)
	for n1xx := 0; resp == nil; n1xx++ {
		var err error
		if resp, err = http.ReadResponse(fc.br, req); err != nil {
			return fail(err, false)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		info := resp
		resp = nil // the loop reads the next head
		if n1xx >= max1xx {
			return fail(errors.New("dataplane: too many 1xx responses from the upstream"), false)
		}
		fc.lr.arm(t.maxHeaderBytes) // each head on its own
		relax()                     // the final head may come much later
		// 1xx informational (103 Early Hints): pass it on with its own
		// headers and go on; headers set before proxying (custom-headers)
		// are kept for the final response.
		if fr.w != nil {
			h := fr.w.Header()
			var pre http.Header
			if len(h) > 0 {
				pre = maps.Clone(h)
				clear(h)
			}
			for k, vv := range info.Header {
				h[k] = vv
			}
			fr.w.WriteHeader(info.StatusCode)
			clear(h) // WriteHeader does not clear the header for 1xx
			maps.Copy(h, pre)
		}
	}
	if reused && resp.StatusCode == http.StatusRequestTimeout && replayable(req) {
		// The upstream timed the idle connection out just as the request
		// went out: not an answer to it (see the top of this file).
		if fb == nil {
			resp.Body.Close() // readHead's body is not yet tied to fc
		}
		return fail(errStaleConn, true)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("dataplane: upstream switched protocols without an Upgrade request"), false)
	}
	fc.lr.disarm()
	if headerTimeout > 0 || lazy {
		_ = fc.conn.SetReadDeadline(time.Time{})
		fc.reabort(ctx, &watch)
	}
	b := fb
	if b == nil {
		b = &fastBody{body: resp.Body}
	}
	b.fc, b.pool, b.t, b.watch, b.reusable = fc, p, t, watch, !resp.Close
	if resp.Body == http.NoBody {
		b.release(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// isNothingReceived reports whether a response read failed before any byte
// arrived (the upstream closed or reset an idle connection).
func isNothingReceived(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// fastBody returns the connection to its pool once the body is read to EOF,
// and closes it when the body is abandoned.
type fastBody struct {
	// body is ReadResponse's body; nil for a head read by readHead, whose
	// remain bytes are read from the connection's buffer (readCounted).
	body     io.ReadCloser
	remain   int64
	fc       *fastConn
	pool     *connPool
	t        *fastTransport
	watch    cancelWatch
	reusable bool
	done     bool
}

func (b *fastBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.body == nil {
		return b.readCounted(p)
	}
	n, err := b.body.Read(p)
	if err != nil {
		b.release(err == io.EOF)
	}
	return n, err
}

func (b *fastBody) Close() error {
	if !b.done {
		b.release(false)
	}
	return nil
}

// release ends the response: the connection goes back to the pool when the
// body was complete and nothing else is pending, else it is closed.
func (b *fastBody) release(complete bool) {
	b.done = true
	ok := complete && b.reusable && b.fc.br.Buffered() == 0
	if !b.watch.end() {
		ok = false // the request was canceled: the deadline is poisoned
	}
	if ok {
		b.pool.put(b.fc, b.t.maxIdlePerHost)
		return
	}
	b.fc.conn.Close()
}

// dial connects to fr's endpoint, within proxy-connect-timeout when set.
func (t *fastTransport) dial(fr *fastReq) (net.Conn, error) {
	ctx := fr.in.Context()
	if fr.ov.connect > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, fr.ov.connect)
		defer cancel()
	}
	return t.dialer.DialContext(ctx, "tcp", fr.addr)
}

// headBuffered reports whether br holds a whole response head.
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// fastResp is a response whose head readHead read, with its body: one
// allocation.
type fastResp struct {
	resp http.Response
	body fastBody
}

// readHead reads the response head from the connection's buffer when it
// is whole and of the common form (parseRespHead); nil, nil leaves it
// there for http.ReadResponse. A response to HEAD has no body whatever
// its Content-Length says: ReadResponse's.
func (fc *fastConn) readHead(req *http.Request) (*http.Response, *fastBody) {
	if req.Method == http.MethodHead {
		return nil, nil
	}
	buf, _ := fc.br.Peek(fc.br.Buffered())
	h, n, ok := parseRespHead(buf)
	if !ok {
		return nil, nil
	}
	_, _ = fc.br.Discard(n) // buffered: cannot fail
	fr := &fastResp{resp: http.Response{
		Status:        h.status,
		StatusCode:    h.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h.header,
		Body:          http.NoBody,
		ContentLength: h.length,
		Close:         h.close,
		Request:       req,
	}}
	fr.body.remain = h.length
	if h.length > 0 {
		fr.resp.Body = &fr.body
	}
	return &fr.resp, &fr.body
}

// readCounted reads a body of remain bytes from the connection's buffer,
// with net/http's errors: io.ErrUnexpectedEOF when the upstream closes
// before its end. The last bytes come with io.EOF.
func (b *fastBody) readCounted(p []byte) (int, error) {
	if b.remain <= 0 {
		b.release(true)
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.fc.br.Read(p)
	b.remain -= int64(n)
	switch {
	case b.remain == 0:
		b.release(true)
		return n, io.EOF
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.release(false)
	}
	return n, err
}
