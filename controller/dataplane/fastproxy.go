package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// The fast proxy serves fast-eligible requests (fastEligible) to HTTP/1.1
// backends without httputil.ReverseProxy: it writes the upstream request
// head straight from the client's request into the pooled connection's
// buffer and copies the response back, which saves ReverseProxy's request
// clone (Request, URL and header map copies), its client trace and the
// Request.Write machinery: about half the allocations of a proxied GET.
// It applies the same rules as the ReverseProxy path (rewrite and
// setForwarded): hop-by-hop headers, including those named in Connection,
// are dropped, "TE: trailers" is kept, X-Forwarded-* and X-Request-ID are
// set, the Host header and the request target are forwarded unchanged, and
// the response's hop-by-hop headers are dropped, its trailers forwarded,
// and bodies of unknown length or of type text/event-stream flushed as
// they arrive.

// serveFast proxies a fast-eligible request to rs's backend; it retries
// connect errors of a replayable request (with its body, read whole) on
// the next endpoint like upstream.RoundTrip.
func (s *Server) serveFast(w http.ResponseWriter, r *http.Request, rs *reqState) {
	bi := rs.ri.backend
	n := len(bi.health)
	attempts := min(n, s.opts.MaxAttempts)
	if pol := rs.ri.policy; pol != nil {
		attempts = s.maxAttempts(pol, n)
	}
	i := rs.first(bi)
	fr := fastReq{in: r, s: s, w: w, ov: rs.ov, client: clientWatchOf(w, r), loop: loopConnOf(w)}
	if r.ContentLength > 0 {
		buf := s.buffers.Get()
		defer s.buffers.Put(buf)
		var ok bool
		if fr.body, ok = s.readFastBody(w, r, rs, buf); !ok {
			return
		}
	}
	var resp *http.Response
	var err error
	for attempt := 1; ; attempt++ {
		fr.addr = bi.be.Endpoints[i].Address
		rs.endpoint = fr.addr
		if resp, err = s.fast.roundTrip(&fr, &bi.health[i].pool); err == nil {
			bi.markUp(i)
			break
		}
		if !isDialError(err) || r.Context().Err() != nil {
			break
		}
		bi.markDown(i, s.opts.PassiveHealthBackoff)
		if attempt >= attempts || !replayable(r) {
			break // a POST or PATCH goes to one endpoint only, as on the ReverseProxy path
		}
		s.metrics.Retry()
		rs.retries++
		i = bi.after((i + 1) % n)
	}
	if err != nil {
		s.upstreamError(w, r, rs, err)
		return
	}
	s.copyResponse(w, rs, resp)
}

// readFastBody reads r's body of declared length into buf (fastEligible
// bounds it by the buffer's size) under Options.ClientBodyTimeout, before
// any upstream is contacted. A body that stalls is answered 408, one cut
// short 400, as on the ReverseProxy path (upstreamError); false then.
func (s *Server) readFastBody(w http.ResponseWriter, r *http.Request, rs *reqState, buf []byte) ([]byte, bool) {
	s.wrapBody(w, r, rs)
	n, err := io.ReadFull(r.Body, buf[:r.ContentLength])
	rs.body.stop() // read whole: no deadline may linger into the wait for the response
	if err != nil {
		s.upstreamError(w, r, rs, err)
		return nil, false
	}
	return buf[:n], true
}

// copyResponse sends an upstream response to the client. A failure while
// copying the body aborts the client's response (http.ErrAbortHandler), as
// ReverseProxy does.
func (s *Server) copyResponse(w http.ResponseWriter, rs *reqState, resp *http.Response) {
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	if pol := rs.ri.policy; pol != nil {
		if pol.ErrorPages.Intercepts(resp.StatusCode) {
			// The upstream's error page is replaced (custom-http-errors).
			noSniff(w.Header())             // an error backend's page keeps its own Content-Type, or none
			s.writeCustomError(w, rs, resp) // error backend (extras.go), else the own page
			return
		}
		dropCustomHeaders(rs, resp.Header)
		policyResponse(pol, resp.Request, resp.Header)
		rs.affinityCookie(resp.Header)
	}
	h := w.Header()
	for k, vv := range resp.Header {
		if old, ok := h[k]; ok {
			h[k] = append(old, vv...)
		} else {
			h[k] = vv // resp.Header is ours and dropped after this
		}
	}
	noSniff(h)
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		h.Add("Trailer", strings.Join(keys, ", "))
	}
	rs.code = resp.StatusCode
	w.WriteHeader(resp.StatusCode)

	flush := resp.ContentLength == -1 || isEventStream(resp.Header["Content-Type"])
	if c := loopConnOf(w); c != nil && flush {
		c.watch() // a stream may pause for long: see the client go away meanwhile
	}
	buf := s.buffers.Get()
	defer s.buffers.Put(buf)
	for {
		nr, rerr := resp.Body.Read(buf)
		if nr > 0 {
			if _, werr := w.Write(buf[:nr]); werr != nil {
				return // the client went away; Close drops the connection
			}
			if flush {
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			s.log.Debug("upstream body read failed", "backend", rs.ri.backend.be.Key, "endpoint", rs.endpoint, "error", rerr)
			resp.Body.Close()
			panic(http.ErrAbortHandler)
		}
	}
	if len(resp.Trailer) == 0 {
		return
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // chunked, so the trailers can follow
	}
	if len(resp.Trailer) == announced {
		for k, vv := range resp.Trailer {
			h[k] = vv
		}
		return
	}
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			h.Add(http.TrailerPrefix+k, v)
		}
	}
}

// noSniff keeps net/http from adding a Content-Type (sniffed from the
// body) to a response the upstream sent without one: the proxy forwards
// the upstream's headers and adds none (a nil value is not written).
func noSniff(h http.Header) {
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
}

// isEventStream reports whether a Content-Type is text/event-stream (with
// or without parameters), without allocating.
func isEventStream(ct []string) bool {
	if len(ct) == 0 {
		return false
	}
	const es = "text/event-stream"
	v := strings.TrimLeft(ct[0], " \t")
	if len(v) < len(es) || !strings.EqualFold(v[:len(es)], es) {
		return false
	}
	rest := v[len(es):]
	return rest == "" || rest[0] == ';' || rest[0] == ' ' || rest[0] == '\t'
}

// hopByHop lists the headers dropped in both directions (RFC 9110 section
// 7.6.1 and the fields ReverseProxy drops).
func hopByHop(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// removeHopByHop drops hop-by-hop headers and those named in Connection.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for k := range h {
		if hopByHop(k) {
			delete(h, k)
		}
	}
}

// connectionListed reports whether the Connection header values name k.
func connectionListed(conn []string, k string) bool {
	for _, f := range conn {
		for sf := range strings.SplitSeq(f, ",") {
			if strings.EqualFold(strings.TrimSpace(sf), k) {
				return true
			}
		}
	}
	return false
}

// writeHead writes the upstream request head for in, sent to addr, with
// the annotation overrides ov: rewritten path, upstream Host,
// X-Forwarded-Prefix, and the Content-Length of a body of bodyLen bytes
// (written for an empty POST, PUT or PATCH too, as http.Transport does). bufio.Writer errors are sticky: the caller's Flush
// reports them, so the writes below are not checked one by one.
//
//nolint:errcheck // see above
func (s *Server) writeHead(bw *bufio.Writer, in *http.Request, addr string, ov overrides, bodyLen int) error {
	bw.WriteString(in.Method)
	bw.WriteByte(' ')
	if ov.path != "" {
		bw.WriteString(ov.path)
		if in.URL.ForceQuery || in.URL.RawQuery != "" {
			bw.WriteByte('?')
			bw.WriteString(in.URL.RawQuery)
		}
	} else if in.URL.Opaque != "" || in.URL.Path == "" {
		bw.WriteString(in.URL.RequestURI())
	} else {
		bw.WriteString(in.URL.EscapedPath()) // allocates only when escaping changes the path
		if in.URL.ForceQuery || in.URL.RawQuery != "" {
			bw.WriteByte('?')
			bw.WriteString(in.URL.RawQuery)
		}
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	if ov.host != "" {
		bw.WriteString(ov.host)
	} else if in.Host != "" {
		bw.WriteString(in.Host)
	} else {
		bw.WriteString(addr)
	}
	bw.WriteString("\r\n")
	if ua := in.Header["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		writeField(bw, "User-Agent", ua[0])
	}
	if bodyLen > 0 || in.Method == http.MethodPost || in.Method == http.MethodPut || in.Method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(bodyLen), 10))
		bw.WriteString("\r\n")
	}
	conn := in.Header["Connection"]
	xfp := ov.prefix
	for k, vv := range in.Header {
		if clientOwned(k) {
			continue // not the client's to set (guard.go); X-Forwarded-Prefix may be set below
		}
		switch k {
		case "Host", "User-Agent", "Content-Length", "Forwarded",
			"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port":
			continue // written below, or not forwarded
		}
		if hopByHop(k) || len(conn) > 0 && connectionListed(conn, k) {
			continue
		}
		for _, v := range vv {
			writeField(bw, k, v)
		}
	}
	if te := in.Header["Te"]; len(te) > 0 && tokenListed(te, "trailers") {
		bw.WriteString("Te: trailers\r\n")
	}
	s.writeForwarded(bw, in)
	if xfp != "" {
		writeField(bw, "X-Forwarded-Prefix", xfp)
	}
	if _, ok := in.Header["X-Request-Id"]; !ok {
		bw.WriteString("X-Request-Id: ")
		bw.Write(s.ids.append(bw.AvailableBuffer())) // in place when it fits: no copy, no allocation
		bw.WriteString("\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// writeForwarded writes X-Forwarded-* (and Forwarded from trusted proxies)
// with the rules of setForwarded. Write errors are sticky (see writeHead).
//
//nolint:errcheck // see writeHead
func (s *Server) writeForwarded(bw *bufio.Writer, in *http.Request) {
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		clientIP = in.RemoteAddr
	}
	proto, port := "http", s.httpPortVal
	if in.TLS != nil {
		proto, port = "https", s.httpsPortVal
	}
	if len(s.trusted) > 0 && s.isTrusted(in.RemoteAddr) {
		bw.WriteString("X-Forwarded-For: ")
		for _, v := range in.Header["X-Forwarded-For"] {
			bw.WriteString(v)
			bw.WriteString(", ")
		}
		bw.WriteString(clientIP)
		bw.WriteString("\r\n")
		keepOrWrite(bw, in.Header, "X-Forwarded-Proto", proto)
		keepOrWrite(bw, in.Header, "X-Forwarded-Host", in.Host)
		p := ""
		if port != nil {
			p = port[0]
		}
		keepOrWrite(bw, in.Header, "X-Forwarded-Port", p)
		for _, v := range in.Header["Forwarded"] {
			writeField(bw, "Forwarded", v)
		}
		return
	}
	writeField(bw, "X-Forwarded-For", clientIP)
	writeField(bw, "X-Forwarded-Proto", proto)
	writeField(bw, "X-Forwarded-Host", in.Host)
	if port != nil {
		writeField(bw, "X-Forwarded-Port", port[0])
	}
}

// keepOrWrite writes the client's values of key, else val (nothing when
// val is "" and the client sent none).
func keepOrWrite(bw *bufio.Writer, in http.Header, key, val string) {
	if vv := in[key]; len(vv) > 0 {
		for _, v := range vv {
			writeField(bw, key, v)
		}
	} else if val != "" || key == "X-Forwarded-Host" {
		writeField(bw, key, val)
	}
}

// writeField writes one header line (sticky errors: see writeHead).
//
//nolint:errcheck // see writeHead
func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// tokenListed reports whether a comma-separated header lists token
// (case-insensitively).
func tokenListed(vv []string, token string) bool {
	for _, v := range vv {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// fastBackend reports whether requests to be may use the fast proxy.
func (s *Server) fastBackend(be *routing.Backend) bool {
	return s.fast != nil && be.Protocol == routing.ProtocolHTTP1
}

// loopConnOf returns the connection loop's connection that w answers on,
// nil for net/http's writers.
func loopConnOf(w http.ResponseWriter) *h1conn {
	if hw, ok := w.(*h1writer); ok {
		return hw.conn
	}
	return nil
}
