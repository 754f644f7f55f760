package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// The connection loop serves the plain-HTTP listener's keep-alive
// connections itself for as long as each request is one the fast proxy
// serves, or one the data plane answers itself: an HTTP/1.1 GET, HEAD,
// OPTIONS, DELETE, POST, PUT or PATCH without a body, or one of the last
// five with a body of declared length the fast path takes (at most
// Options.BufferSize; h1body.go), without Upgrade or Expect, whose
// complete head arrived within maxHeadReads reads, routed (loopMatch) to
// a backend that speaks HTTP/1.1, through a Policy without external auth
// or custom error pages, or answered 404, 503 or with a redirect. Such a request is parsed into a
// reused http.Request (one string holds the head, its fields are
// substrings of it), routed with one table load and served by serveMatch,
// ServeHTTP's own code, into an h1writer, on the connection's goroutine.
//
// Any other request, and anything the loop does not parse as strictly as
// that (a partial head, obsolete line folding, invalid names or values, a
// second Host, a body, absolute-form targets, HTTP/1.0, the h2c preface),
// hands the connection with every byte read so far to net/http's server
// (handoffListener), which then serves it to the end exactly as it serves
// every other connection: the loop never answers what it does not fully
// understand, so its errors, limits and timeouts stay net/http's.
//
// What it saves per request over net/http: the background read goroutine
// (started and stopped for every request, with a read that finds the
// socket empty and a deadline to wake it), the per-request context, the
// textproto header parse (one allocation per field) and the sorted header
// write. A client that goes away while its upstream has not answered is
// still seen: when the upstream takes longer than lazyWatchDelay, or the
// response streams, the connection starts the same background read for
// that request only (watch), and its failure aborts the upstream through
// the limitConn as before (cancelwatch.go).

// lazyWatchDelay is how long a loop request waits for its upstream before
// its connection starts watching for the client's close.
const lazyWatchDelay = 20 * time.Millisecond

// loopHeadSize is the loop's read buffer: a head must fit in it, else the
// connection goes to net/http (whose limit, MaxHeaderBytes + 4096, is
// never below it).
const loopHeadSize = 4096

// h1loop accepts the plain-HTTP listener's connections.
type h1loop struct {
	s    *Server
	ln   net.Listener
	hand *handoffListener // to net/http: plain connections, and TLS ones before any read (HTTP/2)
	// TLS listener only (h1tls.go): its configuration, the handshake
	// errors' log, and net/http's HTTP/1.1 server for TLS connections
	// handed over after a read
	tlsConf  *tls.Config
	errLog   *log.Logger
	handTLS1 *handoffListener
	ctx      context.Context // the servers' base context
	closing  atomic.Bool
	mu       sync.Mutex
	conns    map[*h1conn]struct{}
	wg       sync.WaitGroup
	watches  atomic.Int64 // requests watched (watch): slow or streamed
	// lazyDelay is lazyWatchDelay (Options.lazyWatchDelay in tests)
	lazyDelay time.Duration
}

// Connection states (h1conn.state).
const (
	loopIdle int32 = iota
	loopActive
	loopClosed
	loopHanded // given to net/http
)

func newH1Loop(s *Server, ln net.Listener, ctx context.Context) *h1loop {
	l := &h1loop{s: s, ln: ln, ctx: ctx, conns: make(map[*h1conn]struct{}), hand: newHandoff(ln.Addr()),
		lazyDelay: lazyWatchDelay}
	if d := s.opts.lazyWatchDelay; d != 0 {
		l.lazyDelay = max(d, 0)
	}
	return l
}

func newHandoff(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// serve accepts until the listener is closed, retrying temporary errors
// with net/http's backoff.
func (l *h1loop) serve() error {
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.closing.Load() || errors.Is(err, net.ErrClosed) {
				return http.ErrServerClosed
			}
			if isTimeout(err) || isTemporaryAccept(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.s.log.Debug("data plane accept failed; retrying", slog.Any("error", err), slog.Duration("delay", delay))
				time.Sleep(delay) //nolint:forbidigo // accept backoff, as net/http's Serve
				continue
			}
			return err
		}
		delay = 0
		lc, ok := c.(*limitConn)
		if !ok {
			lc = newLimitConn(c, nil, netip.Addr{})
		}
		hc := &h1conn{l: l, lc: lc}
		l.mu.Lock()
		if l.closing.Load() {
			l.mu.Unlock()
			lc.Close()
			continue
		}
		l.conns[hc] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go hc.serve()
	}
}

// isTemporaryAccept reports errors an accept loop waits out (descriptors
// exhausted, a connection aborted before it was accepted).
func isTemporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED)
}

// shutdown stops accepting, closes idle connections and waits for those
// serving a request until ctx ends, then closes them too.
func (l *h1loop) shutdown(ctx context.Context) error {
	l.mu.Lock()
	l.closing.Store(true)
	l.mu.Unlock()
	l.ln.Close()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		l.closeIdle(false)
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			l.closeIdle(true)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// closeIdle closes the connections waiting for a request (all: every one).
//
// A connection whose client already sent bytes the loop has not read is
// not idle, only not yet scheduled: under load its goroutine may run
// milliseconds after the request arrived, and closing it then would
// drop a request the client sent before the shutdown (it sees EOF, or
// Go's "server closed idle connection"). It is left to its goroutine,
// which serves that request with Connection: close (closing is set) and
// ends; the next pass, every 5 ms, looks again, and the deadline of
// shutdown closes whatever is left.
func (l *h1loop) closeIdle(all bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if !all && c.state.Load() == loopIdle && c.lc.pending() {
			continue
		}
		if c.state.CompareAndSwap(loopIdle, loopClosed) || all {
			c.lc.Close() // also under TLS: no close_notify for a connection shut down
		}
	}
}

func (l *h1loop) forget(c *h1conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.wg.Done()
}

// handoffListener is net/http's listener on the plain-HTTP port: it
// accepts the connections the loop hands over.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (h *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoffListener) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoffListener) Addr() net.Addr { return h.addr }

// give hands c to net/http; false when its server is closed.
func (h *handoffListener) give(c net.Conn) bool {
	select {
	case h.ch <- c:
		return true
	case <-h.done:
		return false
	}
}

// handedConn is a connection handed to net/http: what the loop had read
// is read again first. Over TLS, Conn is the *tls.Conn and tls its state
// (net/http sees a plain connection: serveHandedTLS restores Request.TLS).
type handedConn struct {
	net.Conn
	lc  *limitConn
	pre []byte
	tls *tls.ConnectionState
}

func (c *handedConn) Read(p []byte) (int, error) { return readPrefixed(c.Conn, &c.pre, p) }

// CloseWrite keeps net/http's graceful close (half-close) working.
func (c *handedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// h1conn is one client connection of the loop.
type h1conn struct {
	l     *h1loop
	lc    *limitConn
	conn  net.Conn // lc, or the *tls.Conn over it
	tls   *tls.ConnectionState
	state atomic.Int32
	br    *bufio.Reader // over src
	src   loopSource
	bw    *bufio.Writer
	w     h1writer
	req   http.Request
	base  *http.Request // carries the connection's context
	hdr   http.Header
	vals  []string
	// headLen is the length of the parsed head, discarded once served
	headLen int
	// body is the request's body of declared length (h1body.go)
	body loopBody
	// the read deadline last set (readDeadline); dirty: changed since
	dlFor   time.Duration
	dlAt    time.Time
	dlDirty bool
	// the background read of a request being watched (watch)
	watching  bool
	watchDone chan struct{}
	watchN    int
	watchErr  error
	watchBuf  [1]byte
}

// loopSource is the loop's reader: a byte the watch read comes first.
type loopSource struct {
	conn net.Conn
	pre  []byte
}

func (r *loopSource) Read(p []byte) (int, error) { return readPrefixed(r.conn, &r.pre, p) }

// readPrefixed reads what is left of *pre, then from conn.
func readPrefixed(conn net.Conn, pre *[]byte, p []byte) (int, error) {
	if len(*pre) > 0 {
		n := copy(p, *pre)
		*pre = (*pre)[n:]
		return n, nil
	}
	return conn.Read(p)
}

func (c *h1conn) serve() {
	l, s := c.l, c.l.s
	handed := false
	c.conn = c.lc
	defer func() {
		if !handed {
			c.conn.Close()
		}
		l.forget(c)
	}()
	if l.tlsConf != nil {
		var ok bool
		if handed, ok = c.handshake(); handed || !ok {
			return
		}
	}
	c.src.conn = c.conn
	c.br = bufio.NewReaderSize(&c.src, loopHeadSize)
	c.bw = bufio.NewWriterSize(c.conn, 4096)
	c.hdr = make(http.Header, 16)
	c.w.h = make(http.Header, 16)
	c.w.bw = c.bw
	c.w.conn = c
	ctx := context.WithValue(l.ctx, clientConnKey{}, c.lc)
	c.base = (&http.Request{}).WithContext(ctx)
	c.base.TLS = c.tls
	remote := c.lc.RemoteAddr().String()

	deadline := min0(s.opts.ReadHeaderTimeout, s.opts.ReadTimeout)
	for {
		if deadline > 0 {
			c.readDeadline(deadline)
		}
		if _, err := c.br.Peek(1); err != nil {
			return // closed, reset, idle or header timeout: as net/http, no answer
		}
		// A request has begun: the connection is no longer idle, and
		// Shutdown waits for it (closeIdle).
		if !c.state.CompareAndSwap(loopIdle, loopActive) {
			return // Shutdown closed it as idle
		}
		if !c.wholeHead() {
			return
		}
		r, ok := c.parse(remote)
		var snap *snapshot
		var m routing.Match
		if ok {
			snap, m, ok = s.loopMatch(r)
		}
		if !ok {
			handed = c.handoff()
			return
		}
		_, _ = c.br.Discard(c.headLen)
		if r.ContentLength > 0 {
			c.bodyDeadline()
		}
		if s.opts.WriteTimeout > 0 {
			_ = c.conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		}
		if !c.serveOne(r, snap, m) {
			return
		}
		if l.closing.Load() {
			return
		}
		c.state.Store(loopIdle)
		deadline = s.opts.IdleTimeout
		if deadline == 0 {
			deadline = s.opts.ReadTimeout
		}
	}
}

// readDeadline bounds the wait for the next request's head by d from now.
// A deadline set less than d/64 ago for the same d is kept: the timer is
// not moved for every request, so an idle connection may close up to
// d/64 early (1.9 s of the 120 s IdleTimeout), which a client must expect
// of any keep-alive connection anyway.
func (c *h1conn) readDeadline(d time.Duration) {
	now := time.Now()
	if c.dlDirty || d != c.dlFor || now.Sub(c.dlAt) > d/64 {
		_ = c.conn.SetReadDeadline(now.Add(d))
		c.dlFor, c.dlAt, c.dlDirty = d, now, false
	}
}

// min0 is the smaller positive duration (0: none).
func min0(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

// maxHeadReads bounds the reads of one head before the loop hands the
// connection over with what it has.
const maxHeadReads = 4

// wholeHead reads until the buffer holds a whole head, at most
// maxHeadReads times within ReadHeaderTimeout; false when the connection
// failed or timed out meanwhile. A head still incomplete then, or larger
// than the buffer, is net/http's to read (parse hands it over).
func (c *h1conn) wholeHead() bool {
	for reads := 1; ; reads++ {
		b, _ := c.br.Peek(c.br.Buffered())
		if indexHeadEnd(b) >= 0 || reads >= maxHeadReads || len(b) >= loopHeadSize {
			return true
		}
		if reads == 1 {
			if d := min0(c.l.s.opts.ReadHeaderTimeout, c.l.s.opts.ReadTimeout); d > 0 {
				_ = c.conn.SetReadDeadline(time.Now().Add(d))
				c.dlDirty = true
			}
		}
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			return false // as net/http: a head that does not come in time gets no answer
		}
	}
}

// handoff gives the connection and what was read of it to net/http.
func (c *h1conn) handoff() bool {
	buf, _ := c.br.Peek(c.br.Buffered())
	// buf is the loop's own buffer, which it no longer uses.
	hc := &handedConn{Conn: c.conn, lc: c.lc, pre: buf, tls: c.tls}
	_ = c.conn.SetReadDeadline(time.Time{})
	hand := c.l.hand
	if c.tls != nil {
		hand = c.l.handTLS1
	}
	return c.state.CompareAndSwap(loopActive, loopHanded) && hand.give(hc)
}

// serveOne serves one request; false when the connection must close.
func (c *h1conn) serveOne(r *http.Request, snap *snapshot, m routing.Match) (keep bool) {
	s := c.l.s
	start := s.enter()
	defer s.leave()
	c.w.reset(r.Method == http.MethodHead, r.Close || c.l.closing.Load())
	if s.opts.loopServed != nil {
		s.opts.loopServed()
	}
	if !c.proxy(r, start, snap, m) {
		return false
	}
	keep = c.w.finish()
	c.unwatch()
	return keep && c.state.Load() != loopClosed
}

// proxy serves the request as ServeHTTP would; false when it aborted the
// response (a panic, which net/http would recover: the connection closes
// without completing the response).
func (c *h1conn) proxy(r *http.Request, start time.Time, snap *snapshot, m routing.Match) (ok bool) {
	s := c.l.s
	defer func() {
		if v := recover(); v != nil {
			ok = false
			c.unwatch()
			if v != http.ErrAbortHandler { //nolint:errorlint // the sentinel itself, as net/http
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				s.log.Error("panic serving request", slog.String("remote", r.RemoteAddr),
					slog.Any("panic", v), slog.String("stack", string(buf)))
			}
		}
	}()
	s.serveMatch(&c.w, r, start, snap, m)
	return true
}

// watch starts the background read that sees the client go away while
// its request waits (for its upstream, or for a streamed response's next
// bytes): its failure aborts the upstream through the limitConn. Called
// from the request's goroutine; a no-op when already watching or when
// the client already sent more (it is then read as the next request).
func (c *h1conn) watch() {
	if c.watching || c.br.Buffered() > 0 || len(c.src.pre) > 0 {
		return
	}
	c.watching, c.dlDirty = true, true
	c.l.watches.Add(1)
	_ = c.conn.SetReadDeadline(time.Time{})
	done := make(chan struct{})
	c.watchDone = done
	go func() {
		c.watchN, c.watchErr = c.conn.Read(c.watchBuf[:])
		if c.watchErr != nil && !errors.Is(c.watchErr, os.ErrDeadlineExceeded) {
			// Over TLS a close_notify ends the read without a failed read
			// of the limitConn: the client is gone all the same.
			c.lc.cw.markGone()
		}
		close(done)
	}()
}

// unwatch stops the background read: a byte it read is kept for the next
// request.
func (c *h1conn) unwatch() {
	if !c.watching {
		return
	}
	c.watching = false
	_ = c.conn.SetReadDeadline(time.Unix(1, 0))
	<-c.watchDone
	if c.watchN > 0 {
		c.src.pre = c.watchBuf[:c.watchN]
	} else if c.watchErr != nil && !errors.Is(c.watchErr, os.ErrDeadlineExceeded) {
		c.state.Store(loopClosed) // the client is gone
	}
}

// parse reads the buffered head as a request the loop serves; false hands
// the connection to net/http.
func (c *h1conn) parse(remote string) (*http.Request, bool) {
	b, _ := c.br.Peek(c.br.Buffered())
	end := indexHeadEnd(b)
	if end < 0 {
		return nil, false // partial head, or one the buffer cannot hold
	}
	head := string(b[:end]) // one allocation: every field below is a substring of it
	line, rest, _ := strings.Cut(head, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 || proto != "HTTP/1.1" || !loopMethod(method) || len(target) == 0 || target[0] != '/' ||
		!validTarget(target) {
		return nil, false
	}
	h := c.hdr
	clear(h)
	vals := c.vals[:0]
	host, hosts := "", 0
	closing := false
	var length int64
	for {
		var field string
		field, rest, _ = strings.Cut(rest, "\r\n")
		if field == "" {
			break
		}
		name, value, ok := strings.Cut(field, ":")
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			return nil, false // also obsolete folding: a name cannot start with a space
		}
		value = strings.Trim(value, " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, false
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch key {
		case "Host":
			host, hosts = value, hosts+1
			continue
		case "Content-Length":
			n, ok := loopContentLength(value, c.l.s.fastBodyMax)
			if !ok || len(h[key]) > 0 {
				return nil, false // over the fast path's bound, invalid, or repeated: net/http's
			}
			length = n
		case "Transfer-Encoding", "Upgrade", "Expect", "Http2-Settings":
			return nil, false
		case "Connection":
			closing = closing || tokenListed([]string{value}, "close")
		}
		vals = append(vals, value)
		v := vals[len(vals)-1 : len(vals) : len(vals)]
		if old, ok := h[key]; ok {
			h[key] = append(old, value)
		} else {
			h[key] = v
		}
	}
	c.vals = vals[:0]
	if hosts != 1 || !httpguts.ValidHostHeader(host) {
		return nil, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	if len(vals) > 0 && cap(vals) > 64 {
		c.vals = nil // not kept for ever for one large head
	}
	if length > 0 && (method == http.MethodGet || method == http.MethodHead) {
		return nil, false // not a fast-path request (fastEligible)
	}
	c.req = *c.base
	r := &c.req
	r.Method, r.URL, r.Proto, r.ProtoMajor, r.ProtoMinor = method, u, "HTTP/1.1", 1, 1
	r.Header, r.Host, r.RemoteAddr, r.RequestURI = h, host, remote, target
	r.Body, r.Close, r.ContentLength = http.NoBody, closing, length
	c.body = loopBody{c: c, remain: length}
	if length > 0 {
		r.Body = &c.body
	}
	if badTarget(r) {
		return nil, false
	}
	c.headLen = end
	return r, true
}

// indexHeadEnd returns the length of the head up to and including its
// empty line, -1 when it is not all there.
func indexHeadEnd(b []byte) int {
	for i := 0; i+3 < len(b); {
		j := indexByteFrom(b, i, '\n')
		if j < 0 {
			return -1
		}
		if j >= 1 && b[j-1] == '\r' && j+2 < len(b) && b[j+1] == '\r' && b[j+2] == '\n' {
			return j + 3
		}
		i = j + 1
	}
	return -1
}

func indexByteFrom(b []byte, from int, c byte) int {
	for i := from; i < len(b); i++ {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func loopMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete, http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// validTarget refuses control characters, spaces and fragments in a
// request target.
func validTarget(t string) bool {
	for i := 0; i < len(t); i++ {
		if b := t[i]; b <= ' ' || b == 0x7f || b == '#' {
			return false
		}
	}
	return true
}

// loopMatch routes a request of the loop: ok when serveMatch will answer
// it without what only net/http's connection gives (a request context
// canceled when the client goes away, which ReverseProxy and the external
// auth subrequest wait on): the route is served by the fast proxy, or the
// answer is the data plane's own (404, 503, a redirect). A Policy may
// answer itself (CORS, rate limit, source range, basic auth, redirects) or
// rewrite before the fast proxy, but not call an external auth service or
// an error backend.
func (s *Server) loopMatch(r *http.Request) (*snapshot, routing.Match, bool) {
	snap := s.cur.Load()
	if snap == nil {
		return nil, routing.Match{}, false
	}
	m := snap.table.Match(r.Host, r.URL.Path)
	if m.ClientAuth != nil {
		return nil, m, false
	}
	if m.Route == nil {
		return snap, m, true
	}
	ri := snap.route(m.Route)
	if !s.loopSafe(ri, r) || ri.canary != nil && !s.loopSafe(ri.canary, r) {
		return nil, m, false
	}
	return snap, m, true
}

// loopSafe reports whether serveMatch serves r, a request of the loop for
// ri, on the fast proxy, or answers it itself. A body under a
// proxy-send-timeout takes the ReverseProxy path (servePolicy).
func (s *Server) loopSafe(ri *routeInfo, r *http.Request) bool {
	if bi := ri.backend; bi == nil || bi.be.Unavailable != "" || len(bi.be.Endpoints) == 0 {
		return ri.route.Policy == nil // a 503 (a Policy may first redirect or refuse)
	}
	if pol := ri.policy; pol != nil && (pol.ExternalAuth != nil || pol.ErrorPages != nil || sendTimed(pol, r)) {
		return false
	}
	return s.fastRoute(ri)
}
