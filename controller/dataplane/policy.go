package dataplane

import (
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Route policies (routing.Route.Policy) are applied here, only for routes
// that carry one: a route without a Policy never reaches this file. The
// Policy is neutral, immutable and resolved and precompiled by the
// translation, so nothing here parses, defaults or looks up; only
// rate-limit counters take a (sharded) lock.
//
// A route with a canary (routing.Route.Canary) first picks the canary or
// the main backend (useCanary); the checks then run with the main route's
// policy either way. The order is ingress-nginx's, that is nginx's request
// phases: the rewrite phase's "return"s first (location-denied, redirects,
// app-root, the CORS preflight), then, at the end of that phase, the
// HTTPS redirect (ingress-nginx's Lua rewrite handler), then preaccess
// (limit_req, limit_conn), then access (allow/deny, auth_basic,
// auth_request, in that order), then the proxy:
//  1. Policy.Denied: 503 (an invalid security annotation fails closed);
//  2. permanent-redirect / temporal-redirect: the configured code;
//  3. app-root: 302 from "/" to the app root;
//  4. CORS preflight (OPTIONS with Origin and Access-Control-Request-
//     Method; in ingress-nginx's style, routing.CORS.Everywhere, any
//     OPTIONS from an allowed origin): 204 answered by the proxy;
//  5. ssl-redirect / force-ssl-redirect: 308 to HTTPS for a plain-HTTP
//     request (sslRedirect; so a plain-HTTP request to a TLS host is
//     redirected, never asked for credentials over plain HTTP);
//  6. rate limits (ratelimit.go): 503 over limit-rps, limit-rpm or
//     limit-connections (counted before the access checks, as nginx's
//     preaccess phase does);
//  7. source ranges: 403 when the client address is not allowed;
//  8. basic auth: 401 with WWW-Authenticate unless the credentials match
//     Policy.BasicAuth's users;
//  9. external auth (extauth.go): the auth-url subrequest's 401 (or the
//     auth-signin redirect), 403 or 500;
//  10. proxy-body-size: 413 for a larger Content-Length; a body of unknown
//     length is cut at the limit and the request answered 413. (nginx
//     checks Content-Length before the rewrite phase; here it comes last so
//     that a client that may not use the route learns nothing from it.)
//
// Then the request is proxied with rewrite-target, upstream-vhost,
// x-forwarded-prefix and the auth response headers applied to the upstream
// request, over the route's backend-protocol (upstreamtls.go),
// proxy-connect-timeout bounding each connection attempt,
// proxy-send-timeout each stall of the request body (sendtimeout.go) and
// proxy-read-timeout the wait for the response head (504 when one passes),
// at most proxy-next-upstream-tries endpoints tried, the affinity cookie's
// endpoint tried first (affinity: cookie; the cookie is set when the
// serving endpoint differs from it; affinity-mode persistent and balanced
// behave alike), and CORS headers replacing the upstream's. An upstream
// response whose status is in custom-http-errors is replaced by the data
// plane's own short error page with the same status, or the
// default-backend annotation's answer (extras.go).

// sslRedirect reports whether a plain-HTTP request must be redirected to
// HTTPS: the host has TLS (tlsHost) unless ssl-redirect is "false", or
// force-ssl-redirect is "true" (Policy.HTTPSRedirect).
func sslRedirect(pol *routing.Policy, tlsHost bool) bool {
	if pol == nil {
		return tlsHost
	}
	return pol.HTTPSRedirect.Redirects(tlsHost)
}

// clientAddr is the address source ranges are checked against: the peer,
// or, when the peer is a trusted proxy, the last X-Forwarded-For entry.
func (s *Server) clientAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap()
	if len(s.trusted) > 0 && s.isTrusted(r.RemoteAddr) {
		if xff := r.Header["X-Forwarded-For"]; len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if fa, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return fa.Unmap(), true
			}
		}
	}
	return a, true
}

// applyPolicy runs the request-side checks of pol (see the order above);
// tlsHost is Match.HTTPSRedirect. It returns the status it answered with
// (0 when the request is to be proxied) and the request to proxy, which
// differs from r when its body had to be limited or external auth set
// headers.
func (s *Server) applyPolicy(w http.ResponseWriter, r *http.Request, pol *routing.Policy, rs *reqState, tlsHost bool) (*http.Request, int) {
	if pol.Denied != nil {
		writePlain(w, http.StatusServiceUnavailable, "service unavailable: the ingress configuration is invalid\n")
		return r, http.StatusServiceUnavailable
	}
	if to := pol.HostRedirect; to != "" {
		w.Header()["Location"] = []string{hostRedirect(r, to, pol.HostRedirectServerPort)}
		w.WriteHeader(http.StatusPermanentRedirect)
		return r, http.StatusPermanentRedirect
	}
	if rd := pol.Redirect; rd != nil {
		w.Header()["Location"] = []string{rd.Location(r.URL.RequestURI())}
		w.WriteHeader(rd.Code)
		return r, rd.Code
	}
	if pol.RootRedirect != "" && r.URL.Path == "/" {
		w.Header()["Location"] = []string{pol.RootRedirect}
		w.WriteHeader(http.StatusFound)
		return r, http.StatusFound
	}
	if c := pol.CORS; c != nil && r.Method == http.MethodOptions {
		_, pre := r.Header["Access-Control-Request-Method"]
		if origin := r.Header["Origin"]; len(origin) > 0 && (pre || c.Everywhere) && (!c.Everywhere || c.AllowsOrigin(origin[0])) {
			h := w.Header()
			if corsOrigin(h, c, origin[0]) {
				h["Access-Control-Allow-Methods"] = []string{c.AllowMethods}
				h["Access-Control-Allow-Headers"] = []string{c.AllowHeaders}
				h["Access-Control-Max-Age"] = []string{strconv.Itoa(c.MaxAge)}
			}
			h["Content-Length"] = []string{"0"}
			w.WriteHeader(http.StatusNoContent)
			return r, http.StatusNoContent
		}
	}
	if sslRedirect(pol, tlsHost) && s.needsHTTPS(r) {
		s.redirect(w, r)
		return r, http.StatusPermanentRedirect
	}
	if l, rl := rs.ri.limiter, pol.RateLimit; l != nil && rl != nil {
		// The counters are shared by tables with the same limits; the
		// exemptions and status come from this table's policy.
		a, ok := s.clientAddr(r)
		if ok && !rl.Exempt.Contains(a) {
			if !l.acquire(a, time.Now().UnixNano()) {
				writePlain(w, rl.RejectStatus, "too many requests\n")
				return r, rl.RejectStatus
			}
			if l.conns > 0 {
				rs.limited = a
			}
		}
	}
	if ac := pol.Access; ac != nil {
		a, ok := s.clientAddr(r)
		if !ok || !ac.Permits(a) {
			writePlain(w, http.StatusForbidden, "forbidden\n")
			return r, http.StatusForbidden
		}
	}
	if ba := pol.BasicAuth; ba != nil {
		user, pass, ok := r.BasicAuth()
		if !ok || !ba.Check(user, pass) {
			w.Header()["Www-Authenticate"] = []string{`Basic realm="` + ba.Realm + `"`}
			writePlain(w, http.StatusUnauthorized, "authentication required\n")
			return r, http.StatusUnauthorized
		}
		if ba.RemoveCredentials {
			r.Header.Del("Authorization")
		}
	}
	if ea := pol.ExternalAuth; ea != nil {
		var code int
		if r, code = s.externalAuth(w, r, ea, rs); code != 0 {
			return r, code
		}
	}
	if max := pol.MaxBodySize; max > 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > max {
			writePlain(w, http.StatusRequestEntityTooLarge, "request body too large\n")
			return r, http.StatusRequestEntityTooLarge
		}
		if r.ContentLength < 0 {
			r2 := *r
			r2.Body = http.MaxBytesReader(w, r.Body, max)
			r = &r2
		}
	}
	if rw := rs.ri.route.Rewrite; rw != nil {
		if p, ok := rw.Apply(r.URL.Path); ok {
			if p == "" || p[0] != '/' {
				p = "/" + p
			}
			rs.ov.path = (&url.URL{Path: p}).EscapedPath()
		}
	}
	if a := pol.Affinity; a != nil && rs.ri.backend != nil {
		if ck, err := r.Cookie(a.CookieName); err == nil {
			rs.cookie = ck.Value
			eps := rs.ri.backend.be.Endpoints
			for i, ep := range eps {
				if affinityValue(ep.Address) == ck.Value {
					rs.pin = i + 1
					break
				}
			}
			if rs.pin == 0 && a.HashUnknownCookie && len(eps) > 0 {
				rs.pin = routing.Pick(ck.Value, eps) + 1
				rs.keyed = eps[rs.pin-1].Address
			}
		}
	}
	if hb := pol.HashBy; hb != nil && rs.pin == 0 && rs.ri.backend != nil {
		if eps := rs.ri.backend.be.Endpoints; len(eps) > 0 {
			rs.pin = routing.Pick(hb.Key(r, r.TLS != nil), eps) + 1
		}
	}
	rs.ov.host, rs.ov.prefix = pol.UpstreamHost, pol.ForwardedPrefix
	rs.ov.connect, rs.ov.read = time.Duration(pol.Timeouts.Connect), time.Duration(pol.Timeouts.Read)
	return r, 0
}

// corsOrigin sets Access-Control-Allow-Origin (and -Credentials, -Expose-
// Headers, Vary) on h when origin is allowed by c, and reports whether it is.
func corsOrigin(h http.Header, c *routing.CORS, origin string) bool {
	if !c.AllowsOrigin(origin) {
		return false
	}
	if c.Everywhere {
		// ingress-nginx sends every CORS header on every answer.
		h["Access-Control-Allow-Methods"] = []string{c.AllowMethods}
		h["Access-Control-Allow-Headers"] = []string{c.AllowHeaders}
		h["Access-Control-Max-Age"] = []string{strconv.Itoa(c.MaxAge)}
	}
	switch {
	case c.AnyOrigin() && (c.Everywhere || !c.AllowCredentials):
		h["Access-Control-Allow-Origin"] = []string{"*"}
	default:
		h["Access-Control-Allow-Origin"] = []string{origin}
		if !c.Everywhere {
			if _, ok := h["Vary"]; ok {
				h.Add("Vary", "Origin")
			} else {
				h["Vary"] = valOrigin
			}
		}
	}
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = valTrue
	}
	if c.ExposeHeaders != "" {
		h["Access-Control-Expose-Headers"] = []string{c.ExposeHeaders}
	}
	return true
}

// policyResponse applies pol to an upstream response header h (CORS),
// replacing what the upstream set for the same fields.
func policyResponse(pol *routing.Policy, req *http.Request, h http.Header) {
	if pol == nil {
		return
	}
	rewriteResponse(pol, h)
	if pol.CORS == nil || req == nil {
		return
	}
	if o := req.Header["Origin"]; len(o) > 0 {
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"} {
			delete(h, k)
		}
		corsOrigin(h, pol.CORS, o[0])
	}
}

// maxAttempts is how many endpoints of n a request may try: Options.
// MaxAttempts, or Policy.MaxAttempts (proxy-next-upstream-tries).
func (s *Server) maxAttempts(pol *routing.Policy, n int) int {
	limit := s.opts.MaxAttempts
	if pol != nil && pol.MaxAttempts != 0 {
		if pol.MaxAttempts == routing.NoLimit {
			return n
		}
		limit = pol.MaxAttempts
	}
	return min(n, limit)
}

// isTooLarge reports an error from a body cut at proxy-body-size.
func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// useCanary reports whether a request goes to the route's canary: by
// header (canary-by-header: "always", "never", or canary-by-header-value /
// -pattern when set), then by cookie (canary-by-cookie: "always" or
// "never"), then by weight (canary-weight out of canary-weight-total).
func useCanary(r *http.Request, c *routing.CanaryRule) bool {
	if c == nil {
		return false
	}
	if c.Header != "" {
		if vv := r.Header[c.Header]; len(vv) > 0 { // c.Header is canonical
			v := vv[0]
			switch {
			case c.HeaderValue != "" || c.HeaderPattern != nil:
				if c.HeaderValue != "" && v == c.HeaderValue || c.HeaderPattern != nil && c.HeaderPattern.MatchString(v) {
					return true
				}
			case v == "always":
				return true
			case v == "never":
				return false
			}
		}
	}
	if c.Cookie != "" {
		if ck, err := r.Cookie(c.Cookie); err == nil {
			switch ck.Value {
			case "always":
				return true
			case "never":
				return false
			}
		}
	}
	if c.Weight <= 0 || c.WeightTotal <= 0 {
		return false
	}
	return c.Weight >= c.WeightTotal || rand.IntN(c.WeightTotal) < c.Weight
}

// first returns the endpoint to try first: the affinity cookie's endpoint
// unless it is in passive-health backoff, else the balancer's choice.
func (rs *reqState) first(bi *backendInfo) int {
	if i := rs.pin - 1; i >= 0 && i < len(bi.health) && bi.after(i) == i {
		return i
	}
	return bi.next()
}

// affinityValue is the affinity cookie value naming an endpoint address:
// 16 hex digits of its FNV-1a hash (the address itself is not revealed).
func affinityValue(addr string) string {
	h := fnv.New64a()
	h.Write([]byte(addr))
	return strconv.FormatUint(h.Sum64()|1<<63, 16)
}

// affinityCookie sets the affinity cookie on an upstream response h when the
// request did not carry the value of the endpoint that served it (first
// request, or the pinned endpoint changed), nor an unknown value hashed onto
// that endpoint (Affinity.HashUnknownCookie).
func (rs *reqState) affinityCookie(h http.Header) {
	a := rs.ri.policy.Affinity
	if a == nil || rs.endpoint == "" {
		return
	}
	v := affinityValue(rs.endpoint)
	if v == rs.cookie || rs.keyed == rs.endpoint {
		return
	}
	c := http.Cookie{Name: a.CookieName, Value: v, Path: a.CookiePath, Domain: a.CookieDomain,
		MaxAge: a.MaxAge, Secure: a.Secure, HttpOnly: true, SameSite: http.SameSite(a.SameSite)}
	if a.Expires > 0 {
		c.Expires = time.Now().Add(time.Duration(a.Expires))
	}
	h.Add("Set-Cookie", c.String())
}

// errorPage is the body that replaces an upstream error listed in
// custom-http-errors: the status and its reason phrase.
func errorPage(code int) string {
	return strconv.Itoa(code) + " " + http.StatusText(code) + "\n"
}

// writeErrorPage answers code with the data plane's own error page.
func writeErrorPage(w http.ResponseWriter, code int) {
	writePlain(w, code, errorPage(code))
}

// replaceWithErrorPage turns an upstream response into the data plane's
// error page of the same status (ReverseProxy path).
func replaceWithErrorPage(resp *http.Response) {
	resp.Body.Close()
	body := errorPage(resp.StatusCode)
	resp.Header = http.Header{"Content-Type": valTextPlain, "X-Content-Type-Options": valNoSniff,
		"Content-Length": {strconv.Itoa(len(body))}}
	resp.Trailer = nil
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Body = io.NopCloser(strings.NewReader(body))
}
