package dataplane

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// stateKey finds the reqState in a request context.
type stateKey struct{}

// reqState carries one proxied request's routing decision from ServeHTTP to
// the Rewrite hook, the upstream RoundTripper and the error handler. It is
// itself the request's context (embedding the server's), which costs one
// allocation instead of a context.WithValue plus a state struct.
type reqState struct {
	context.Context
	ri       *routeInfo
	endpoint string // last endpoint tried
	code     int    // status sent (or recorded) for the request
	retries  int
	ov       overrides // annotation overrides of the upstream request
	// pin is 1 + the endpoint index named by the affinity cookie, 0 for
	// none; cookie is that cookie's value as received. keyed is the
	// address of the endpoint an unknown cookie value was hashed onto
	// (Affinity.HashUnknownCookie), "" otherwise.
	pin    int
	cookie string
	keyed  string
	// limited is the client address counted by limit-connections, to
	// release when the request ends (valid when ri.limiter is set).
	limited netip.Addr
	// send is the proxy-send-timeout watchdog of the request body; nil
	// without (sendtimeout.go).
	send *sendBody
	// w is the client's ResponseWriter (ReverseProxy path), for what
	// ModifyResponse must set on it directly.
	w http.ResponseWriter
	// pre holds the headers set on w before proxying (custom-headers),
	// for ModifyResponse to put back after a 1xx response, on which
	// ReverseProxy clears w's header; nil when there were none.
	pre http.Header
	// body is the client's request body under ClientBodyTimeout; nil
	// without (clientbody.go).
	body *clientBody
}

// reverseProxy sends r through the ReverseProxy with rs (whose w is w) as its
// context.
func (s *Server) reverseProxy(w http.ResponseWriter, r *http.Request, rs *reqState) {
	if h := w.Header(); len(h) > 0 {
		rs.pre = maps.Clone(h)
	}
	s.proxy.ServeHTTP(w, r)
}

// overrides change the upstream request for an annotation Policy
// (applyPolicy); the zero value changes nothing.
type overrides struct {
	path   string // escaped upstream path (rewrite-target); "" keeps the client's
	host   string // upstream Host (upstream-vhost); "" keeps the client's
	prefix string // X-Forwarded-Prefix; "" sends none (the client's is dropped)
	// connect and read replace Options.DialTimeout and
	// ResponseHeaderTimeout (proxy-connect-timeout, proxy-read-timeout).
	connect, read time.Duration
}

// Value returns the reqState for stateKey and defers other keys.
func (s *reqState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return s
	}
	return s.Context.Value(key)
}

func requestState(r *http.Request) *reqState {
	rs, _ := r.Context().Value(stateKey{}).(*reqState)
	return rs
}

// newProxy builds the ReverseProxy and its upstream transport.
func (s *Server) newProxy() {
	o := s.opts
	dialer := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}
	s.dialer = dialer
	s.upstreams = newTransportPool()
	var authProtocols http.Protocols
	authProtocols.SetHTTP1(true)
	authProtocols.SetHTTP2(true) // over TLS only
	s.authTransport = &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.ExternalAuthRootCAs},
		TLSHandshakeTimeout:    o.ExternalAuthTimeout,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        o.UpstreamIdleTimeout,
		MaxResponseHeaderBytes: int64(o.MaxResponseHeaderBytes),
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
		Protocols:              &authProtocols,
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	s.transport = &http.Transport{
		Proxy:                  nil,
		DialContext:            dialWithPolicy(dialer),
		MaxIdleConns:           0, // no global limit; the per-host limit applies
		MaxIdleConnsPerHost:    o.MaxIdleConnsPerHost,
		IdleConnTimeout:        o.UpstreamIdleTimeout,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		MaxResponseHeaderBytes: int64(o.MaxResponseHeaderBytes),
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
		Protocols:              &protocols,
		WriteBufferSize:        8 << 10,
		ReadBufferSize:         8 << 10,
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true) // and not HTTP1: prior knowledge for http:// URLs
	s.h2c = &http.Transport{
		Proxy:                  nil,
		DialContext:            dialWithPolicy(dialer),
		IdleConnTimeout:        o.UpstreamIdleTimeout,
		ResponseHeaderTimeout:  o.ResponseHeaderTimeout,
		MaxResponseHeaderBytes: int64(o.MaxResponseHeaderBytes),
		DisableCompression:     true,
		Protocols:              &h2c,
	}
	s.upstream = &upstream{base: s.transport, h2c: s.h2c, s: s}
	s.buffers = newBufferPool(o.BufferSize)
	s.fastBodyMax = int64(o.BufferSize)
	if !o.DisableFastPath {
		s.fast = &fastTransport{
			dialer:                dialer,
			maxIdlePerHost:        o.MaxIdleConnsPerHost,
			idleTimeout:           o.UpstreamIdleTimeout,
			responseHeaderTimeout: o.ResponseHeaderTimeout,
			maxHeaderBytes:        int64(o.MaxResponseHeaderBytes),
			bufSize:               4 << 10,
		}
	}
	s.proxy = &httputil.ReverseProxy{
		Rewrite:        s.rewrite,
		Transport:      s.upstream,
		BufferPool:     s.buffers,
		ModifyResponse: modifyResponse,
		ErrorHandler:   s.proxyError,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// rewrite prepares the outbound request. The endpoint is chosen by the
// upstream RoundTripper, so that connect errors can move to the next one.
func (s *Server) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	out.URL.Scheme = "http"
	// ReverseProxy re-encodes a query it cannot parse (';', bad escapes,
	// too many parameters); the backend gets the client's bytes.
	out.URL.RawQuery = in.URL.RawQuery
	// out.Host is in.Host (Clone copies it): the upstream sees the original Host.
	// The client's trailer fields fill in.Trailer when its body reaches EOF,
	// which the upstream transport reads: share the map (Clone copied the
	// names only) so that the transport sends their values after the body.
	if in.Trailer != nil {
		out.Trailer = in.Trailer
	}
	dropClientOwned(out.Header) // X-Real-IP and the like (guard.go)
	// The server answered "Expect: 100-continue" when the body was first
	// read; forwarded, a Go upstream would answer its own 100, relayed as a
	// second one. nginx drops Expect upstream too.
	delete(out.Header, "Expect")
	s.setForwarded(in, out.Header)
	if _, ok := in.Header["X-Request-Id"]; !ok {
		out.Header["X-Request-Id"] = []string{s.ids.next()}
	}
	if rs := requestState(in); rs != nil && rs.ri.policy != nil {
		if rs.ov.path != "" {
			out.URL.RawPath = rs.ov.path
			out.URL.Path, _ = url.PathUnescape(rs.ov.path)
		}
		if rs.ov.host != "" {
			out.Host = rs.ov.host
		}
		if rs.ov.prefix != "" {
			out.Header["X-Forwarded-Prefix"] = []string{rs.ov.prefix}
		}
	}
}

// Shared header values; never appended to in place (len == cap).
var (
	valHTTP  = []string{"http"}
	valHTTPS = []string{"https"}
)

// setForwarded writes X-Forwarded-* on the outbound header h. ReverseProxy
// has already removed X-Forwarded-For/-Host/-Proto and Forwarded from h.
func (s *Server) setForwarded(in *http.Request, h http.Header) {
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = in.RemoteAddr
	}
	proto, port := valHTTP, s.httpPortVal
	if in.TLS != nil {
		proto, port = valHTTPS, s.httpsPortVal
	}
	if len(s.trusted) > 0 && s.isTrusted(in.RemoteAddr) {
		if prior := in.Header["X-Forwarded-For"]; len(prior) > 0 {
			h["X-Forwarded-For"] = []string{strings.Join(prior, ", ") + ", " + clientIP}
		} else {
			h["X-Forwarded-For"] = []string{clientIP}
		}
		keepOr(h, in.Header, "X-Forwarded-Proto", proto)
		keepOr(h, in.Header, "X-Forwarded-Host", []string{in.Host})
		keepOr(h, in.Header, "X-Forwarded-Port", port)
		if f := in.Header["Forwarded"]; len(f) > 0 {
			h["Forwarded"] = f
		}
		return
	}
	h["X-Forwarded-For"] = []string{clientIP}
	h["X-Forwarded-Proto"] = proto
	h["X-Forwarded-Host"] = []string{in.Host}
	if port != nil {
		h["X-Forwarded-Port"] = port
	} else {
		delete(h, "X-Forwarded-Port")
	}
}

func keepOr(h, in http.Header, key string, val []string) {
	if v := in[key]; len(v) > 0 {
		h[key] = v
	} else if val != nil {
		h[key] = val
	} else {
		delete(h, key)
	}
}

// isTrusted reports whether the peer address ("ip:port") is a trusted proxy.
func (s *Server) isTrusted(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func modifyResponse(resp *http.Response) error {
	rs := requestState(resp.Request)
	if rs == nil {
		return nil
	}
	rs.code = resp.StatusCode
	if pol := rs.ri.policy; pol != nil {
		if pol.ErrorPages.Intercepts(resp.StatusCode) {
			replaceWithCustomError(resp, rs) // error backend (extras.go), else the own page
		} else {
			dropCustomHeaders(rs, resp.Header)
			policyResponse(pol, resp.Request, resp.Header)
			rs.affinityCookie(resp.Header)
		}
	}
	if rs.w != nil {
		h := rs.w.Header()
		for k, vv := range rs.pre {
			if _, ok := h[k]; !ok {
				h[k] = vv // cleared by a 1xx response
			}
		}
		if _, ok := resp.Header["Content-Type"]; !ok {
			// ReverseProxy copies resp.Header into w's with Add, which
			// skips nil values: the marker goes on w's header itself.
			noSniff(h)
		}
	}
	return nil
}

// upstream is the RoundTripper of the ReverseProxy: it picks the endpoint
// and retries connect errors of idempotent requests on the next one.
type upstream struct {
	base *http.Transport // HTTP/1.1 backends
	h2c  *http.Transport // routing.ProtocolH2C backends
	s    *Server
}

var errNoState = errors.New("dataplane: request has no routing state")

func (u *upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	rs := requestState(req)
	if rs == nil || rs.ri.backend == nil {
		return nil, errNoState
	}
	bi := rs.ri.backend
	n := len(bi.health)
	attempts := min(n, u.s.opts.MaxAttempts)
	if pol := rs.ri.policy; pol != nil {
		attempts = u.s.maxAttempts(pol, n)
	}
	i := rs.first(bi)
	out := req
	rt := u.base
	if bi.be.Protocol == routing.ProtocolH2C {
		rt = u.h2c
	}
	if up := rs.ri.up; up != nil {
		rt = up.rt
		if up.tls {
			out.URL.Scheme = "https"
		}
	}
	for attempt := 1; ; attempt++ {
		addr := bi.be.Endpoints[i].Address
		rs.endpoint = addr
		out.URL.Host = addr
		var resp *http.Response
		var err error
		if rs.ov.read > 0 {
			resp, err = roundTripWithin(rt, out, rs.ov.read)
		} else {
			resp, err = rt.RoundTrip(out)
		}
		// The response head is in (or the round trip failed): the body
		// is no longer under proxy-send-timeout nor ClientBodyTimeout.
		rs.send.stop()
		rs.body.stop()
		if err == nil {
			bi.markUp(i)
			return resp, nil
		}
		if !isDialError(err) || req.Context().Err() != nil {
			return nil, err
		}
		bi.markDown(i, u.s.opts.PassiveHealthBackoff)
		if attempt >= attempts || !retryable(req) {
			return nil, err
		}
		u.s.metrics.Retry()
		rs.retries++
		i = bi.after((i + 1) % n)
		// A fresh shallow copy: the Transport may still hold the previous one.
		r2 := *req
		u2 := *req.URL
		r2.URL = &u2
		if req.Body != nil && req.Body != http.NoBody {
			if r2.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		out = &r2
	}
}

// retryable reports whether a request may be sent again after a connect
// error: an idempotent method and a body that is absent or can be replayed.
func retryable(r *http.Request) bool {
	return idempotent(r.Method) && (r.Body == nil || r.Body == http.NoBody || r.GetBody != nil)
}

// idempotent reports whether a method is idempotent (RFC 9110 section
// 9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// proxyError is the ReverseProxy's ErrorHandler.
func (s *Server) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	s.upstreamError(w, r, requestState(r), err)
}

// upstreamError answers a failed upstream round trip and logs it.
func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, rs *reqState, err error) {
	if isTooLarge(err) {
		// The client's body passed proxy-body-size: not an upstream error.
		writePlain(w, http.StatusRequestEntityTooLarge, "request body too large\n")
		if rs != nil {
			rs.code = http.StatusRequestEntityTooLarge
		}
		return
	}
	if rs != nil && rs.body.stalled() && !errors.Is(context.Cause(r.Context()), errSendTimeout) {
		// The client's body stalled (ClientBodyTimeout): not an upstream error.
		s.log.Debug("client request body timed out", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
		w.Header()["Connection"] = valClose
		writePlain(w, http.StatusRequestTimeout, "request body timeout\n")
		rs.code = http.StatusRequestTimeout
		return
	}
	if rs != nil && r.Context().Err() == nil && rs.body.readError() != nil {
		s.clientBodyError(w, r, rs) // the client's body failed: not an upstream error
		return
	}
	code, reason, body := http.StatusBadGateway, "other", "upstream error\n"
	switch {
	case errors.Is(context.Cause(r.Context()), errSendTimeout):
		code, reason, body = http.StatusGatewayTimeout, "timeout", "upstream send timeout\n"
		w.Header()["Connection"] = valClose // the rest of the body is discarded (lingerDiscard)
		if !errors.Is(err, errSendTimeout) {
			err = fmt.Errorf("%w: %w", errSendTimeout, err)
		}
	case errors.Is(err, context.Canceled) || r.Context().Err() == context.Canceled:
		// The client went away (or Shutdown gave up): nobody reads the answer.
		code, reason, body = statusClientClosed, "canceled", "request canceled\n"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		code, reason, body = http.StatusGatewayTimeout, "timeout", "upstream timeout\n"
	case isDialError(err):
		reason, body = "dial", "upstream connect error\n"
	}
	s.metrics.UpstreamError(reason)
	level := slog.LevelWarn
	if code == statusClientClosed {
		level = slog.LevelDebug
	}
	if s.log.Enabled(r.Context(), level) {
		attrs := []slog.Attr{slog.String("host", r.Host), slog.String("path", r.URL.Path), slog.Any("error", err)}
		if rs != nil {
			attrs = append(attrs, slog.String("backend", rs.ri.backend.be.Key), slog.String("endpoint", rs.endpoint),
				slog.Int("retries", rs.retries))
		}
		s.log.LogAttrs(r.Context(), level, "upstream error", attrs...)
	}
	wire := code
	if code == statusClientClosed {
		wire = http.StatusBadGateway
	}
	writePlain(w, wire, body)
	if rs != nil {
		rs.code = code
	}
}

// statusClientClosed is recorded (not sent) for requests whose client went
// away, as nginx does.
const statusClientClosed = 499

// requestIDs generates X-Request-ID values: a random per-process prefix and
// a counter, unique without a crypto/rand read per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

func (g *requestIDs) next() string {
	var buf [48]byte
	return string(g.append(buf[:0]))
}

// append appends the next ID to b.
func (g *requestIDs) append(b []byte) []byte {
	b = append(b, g.prefix...)
	return strconv.AppendUint(b, g.n.Add(1), 10)
}

// bufferPool is an httputil.BufferPool of fixed-size buffers. Slices are kept
// behind pooled pointers so Put does not allocate.
type bufferPool struct {
	size    int
	bufs    sync.Pool // *[]byte holding a buffer
	holders sync.Pool // empty *[]byte
}

func newBufferPool(size int) *bufferPool { return &bufferPool{size: size} }

func (p *bufferPool) Get() []byte {
	if h, ok := p.bufs.Get().(*[]byte); ok {
		b := *h
		*h = nil
		p.holders.Put(h)
		return b
	}
	return make([]byte, p.size)
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) != p.size {
		return
	}
	h, ok := p.holders.Get().(*[]byte)
	if !ok {
		h = new([]byte)
	}
	*h = b[:p.size]
	p.bufs.Put(h)
}

// dialWithPolicy dials with d, bounded by the request's proxy-connect-
// timeout when its route sets one (the dial context carries the reqState).
func dialWithPolicy(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if rs, _ := ctx.Value(stateKey{}).(*reqState); rs != nil && rs.ov.connect > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, rs.ov.connect)
			defer cancel()
		}
		return d.DialContext(ctx, network, addr)
	}
}

// errReadTimeout is the error of a round trip whose response head did not
// arrive within proxy-read-timeout (answered 504).
var errReadTimeout = fmt.Errorf("dataplane: no response head within proxy-read-timeout: %w", context.DeadlineExceeded)

// roundTripWithin is rt.RoundTrip with a deadline for the response head
// (proxy-read-timeout): the request is canceled when it passes; the body
// that follows the head is not bounded.
func roundTripWithin(rt http.RoundTripper, req *http.Request, d time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	var fired atomic.Bool
	t := time.AfterFunc(d, func() { fired.Store(true); cancel() })
	resp, err := rt.RoundTrip(req.WithContext(ctx))
	if !t.Stop() && fired.Load() {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, errReadTimeout
	}
	if err != nil {
		cancel()
		return nil, err
	}
	// cancel is released with the request's context.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody cancels a round trip's context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
