package dataplane

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// ServeHTTP routes one request with the current table.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.enter()
	defer s.leave()

	ambiguousFraming(w, r)
	dropH2CUpgrade(r.Header)
	if badTarget(r) {
		writePlain(w, http.StatusBadRequest, "bad request target\n")
		s.finish(r, start, s.notFound, nil, http.StatusBadRequest)
		return
	}

	snap := s.cur.Load() // the one table load of this request
	if snap == nil {
		writePlain(w, http.StatusServiceUnavailable, "no routing table published yet\n")
		s.finish(r, start, s.notFound, nil, http.StatusServiceUnavailable)
		return
	}
	s.serveMatch(w, r, start, snap, snap.table.Match(r.Host, r.URL.Path))
}

// serveMatch serves a request with its route match m of snap: ServeHTTP's
// and the connection loop's (h1loop.go) common part.
func (s *Server) serveMatch(w http.ResponseWriter, r *http.Request, start time.Time, snap *snapshot, m routing.Match) {
	if m.ClientAuth != nil && !s.checkClientCert(w, r, m.ClientAuth, start) {
		return
	}
	if m.Route != nil && m.Route.Policy != nil {
		// The policy decides where the HTTPS redirect comes (policy.go).
		s.servePolicy(w, r, start, snap.route(m.Route), m.HTTPSRedirect)
		return
	}
	if m.HTTPSRedirect && s.needsHTTPS(r) {
		s.redirect(w, r)
		s.finish(r, start, s.notFound, nil, http.StatusPermanentRedirect)
		return
	}
	if m.Route == nil {
		writeNotFound(w, r)
		s.finish(r, start, s.notFound, nil, http.StatusNotFound)
		return
	}
	ri := snap.route(m.Route)
	bi := ri.backend
	if s.unavailable(w, r, start, ri) {
		return
	}

	if s.fastBackend(bi.be) && fastEligible(r, s.fastBodyMax) {
		var rs reqState // not a context here: nothing reads it from one
		rs.ri = ri
		defer func() {
			// Also runs when copyResponse aborts the response with a panic.
			s.finish(r, start, ri.metrics, &rs, rs.code)
		}()
		s.serveFast(w, r, &rs)
		return
	}
	rs := &reqState{Context: r.Context(), ri: ri, w: w}
	s.wrapBody(w, r, rs)
	defer func() {
		// Also runs when ReverseProxy aborts a response with a panic.
		s.finish(r, start, ri.metrics, rs, rs.code)
	}()
	s.reverseProxy(w, r.WithContext(rs), rs)
}

// enter counts a request in flight (for Shutdown's drain and the
// in-flight gauge) and returns its start, zero when neither metrics nor
// the access log need it; leave ends what enter counted.
func (s *Server) enter() time.Time {
	s.active.Add(1)
	s.metrics.InFlightInc()
	if s.metrics != nil || s.opts.AccessLog {
		return time.Now()
	}
	return time.Time{}
}

func (s *Server) leave() {
	s.metrics.InFlightDec()
	s.active.Done()
}

// finish records a request's metrics and access log line.
func (s *Server) finish(r *http.Request, start time.Time, rm *metrics.RouteMetrics, rs *reqState, code int) {
	if start.IsZero() {
		return
	}
	d := time.Since(start)
	rm.Observe(code, d)
	if !s.opts.AccessLog {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", r.Method), slog.String("host", r.Host), slog.String("path", r.URL.Path),
		slog.String("proto", r.Proto), slog.Int("code", code), slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr))
	if rs != nil {
		attrs = append(attrs, slog.String("ingress", rs.ri.ingressName()), slog.String("backend", rs.ri.backend.be.Key),
			slog.String("endpoint", rs.endpoint))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

func (s *Server) redirects() bool { return !s.opts.NoHTTPSRedirect && s.httpsLn != nil }

// needsHTTPS reports whether r, to a host that is to be served over HTTPS,
// must be redirected: it came over plain HTTP (and not from a trusted proxy
// that terminated TLS), names a host, and is not an ACME HTTP-01 challenge.
func (s *Server) needsHTTPS(r *http.Request) bool {
	return s.redirects() && r.TLS == nil && r.Host != "" && !s.forwardedHTTPS(r) &&
		!strings.HasPrefix(r.URL.Path, acmeChallengePrefix)
}

// forwardedHTTPS reports whether a trusted proxy in front already terminated
// TLS for the request, in which case redirecting it would loop.
func (s *Server) forwardedHTTPS(r *http.Request) bool {
	if len(s.trusted) == 0 {
		return false
	}
	v := r.Header["X-Forwarded-Proto"]
	return len(v) > 0 && strings.EqualFold(v[0], "https") && s.isTrusted(r.RemoteAddr)
}

// redirect answers 308 to the same URL over HTTPS.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
		if strings.IndexByte(h, ':') >= 0 {
			host = "[" + h + "]"
		}
	}
	w.Header()["Location"] = []string{"https://" + host + s.redirectPort + r.URL.RequestURI()}
	w.WriteHeader(http.StatusPermanentRedirect)
}

// Header values of the data plane's own answers (len == cap: never appended
// to in place).
var (
	valTextPlain = []string{"text/plain; charset=utf-8"}
	valNoSniff   = []string{"nosniff"}
	valOrigin    = []string{"Origin"}
	valTrue      = []string{"true"}
)

// writePlain writes a short plain-text answer.
func writePlain(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h["Content-Type"] = valTextPlain
	h["X-Content-Type-Options"] = valNoSniff
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

// maxEcho bounds how much of the client's host and path a 404 repeats.
const maxEcho = 200

var echoBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64+2*maxEcho); return &b }}

// writeNotFound answers 404 from the controller's own default backend.
func writeNotFound(w http.ResponseWriter, r *http.Request) {
	bp := echoBufs.Get().(*[]byte)
	b := append((*bp)[:0], "no route for host "...)
	b = appendTrunc(b, r.Host)
	b = append(b, " path "...)
	b = appendTrunc(b, r.URL.Path)
	b = append(b, '\n')
	h := w.Header()
	h["Content-Type"] = valTextPlain
	h["X-Content-Type-Options"] = valNoSniff
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write(b)
	*bp = b
	echoBufs.Put(bp)
}

func appendTrunc(b []byte, s string) []byte {
	if len(s) > maxEcho {
		return append(append(b, s[:maxEcho]...), "..."...)
	}
	return append(b, s...)
}

// servePolicy serves a request whose route carries an annotation Policy: the
// checks of applyPolicy (tlsHost is Match.HTTPSRedirect), then the same
// steps as ServeHTTP's plain path.
func (s *Server) servePolicy(w http.ResponseWriter, r *http.Request, start time.Time, ri *routeInfo, tlsHost bool) {
	if ri.canary != nil && useCanary(r, ri.route.Canary.Rule) {
		ri = ri.canary
	}
	setCustomHeaders(w.Header(), ri.route) // custom-headers (extras.go)
	rs := &reqState{Context: r.Context(), ri: ri, w: w}
	r, code := s.applyPolicy(w, r, ri.policy, rs, tlsHost)
	if rs.limited.IsValid() {
		defer ri.limiter.release(rs.limited)
	}
	if code != 0 {
		s.finish(r, start, ri.metrics, nil, code)
		return
	}
	if s.unavailable(w, r, start, ri) {
		return
	}
	defer func() { s.finish(r, start, ri.metrics, rs, rs.code) }()
	if s.fastRoute(ri) && fastEligible(r, s.fastBodyMax) && !sendTimed(ri.policy, r) {
		s.serveFast(w, r, rs)
		return
	}
	if d := time.Duration(ri.policy.Timeouts.Send); d > 0 && r.Body != nil && r.Body != http.NoBody {
		body := r.Body
		r2, sb, cancel := withSendTimeout(w, r, rs, d)
		defer cancel(nil)
		defer sb.stop()
		rs.send = sb
		s.wrapBody(w, r2, rs)
		s.reverseProxy(w, r2, rs)
		if sendTimedOut(r2) {
			lingerDiscard(w, body) // the 504 is written
		}
		return
	}
	s.wrapBody(w, r, rs)
	s.reverseProxy(w, r.WithContext(rs), rs)
}

// sendTimed reports whether r has a body under pol's proxy-send-timeout:
// the ReverseProxy path sends it, with the send watchdog (sendtimeout.go).
func sendTimed(pol *routing.Policy, r *http.Request) bool {
	return pol != nil && r.ContentLength != 0 && pol.Timeouts.Send != 0
}

// fastRoute reports whether requests of ri may use the fast proxy: its
// backend speaks HTTP/1.1 (routing.Route.Upstream, else Backend.Protocol).
func (s *Server) fastRoute(ri *routeInfo) bool {
	if up := ri.up; up != nil {
		return s.fast != nil && up.proto == routing.UpstreamHTTP1
	}
	return s.fastBackend(ri.backend.be)
}

// unavailable answers 503 when the route has no usable backend (none, one
// marked Unavailable, or one without endpoints) and reports whether it did.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, start time.Time, ri *routeInfo) bool {
	bi := ri.backend
	var msg string
	switch {
	case bi == nil:
		msg = "no backend for ingress " + ri.ingressName() + "\n"
	case bi.be.Unavailable != "":
		msg = "service unavailable: " + bi.be.Unavailable + "\n"
	case len(bi.be.Endpoints) == 0:
		msg = "service unavailable: no endpoints for " + bi.be.Key + "\n"
	default:
		return false
	}
	writePlain(w, http.StatusServiceUnavailable, msg)
	s.finish(r, start, ri.metrics, nil, http.StatusServiceUnavailable)
	return true
}
