package dataplane

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// External authentication (auth-url), with ingress-nginx's auth_request
// semantics. Before the request is proxied, a subrequest without a body is
// sent to the auth URL with auth-method (default GET) and the client's
// headers, except hop-by-hop ones, Content-Length, Transfer-Encoding and
// Expect, and except the headers below, which the data plane sets itself so
// that a client cannot forge them:
//
//	X-Original-URL           scheme://host/path?query of the request
//	X-Original-Method        its method
//	X-Auth-Request-Redirect  its path and query
//	X-Real-IP                the client address (see clientAddr)
//	X-Forwarded-For/-Proto/-Host/-Port  as for upstream requests
//	X-Sent-From              "ingresslab"
//	X-Request-ID             the client's, else one generated here that the
//	                         upstream request carries too
//	Host                     the auth URL's host
//
// The answer decides:
//   - 2xx: the request goes on. Each header named in auth-response-headers
//     is set on the upstream request from the auth response, replacing the
//     client's value; a named header the auth response lacks is removed
//     (so a client cannot supply it itself).
//   - 401: answered 401 with the auth response's WWW-Authenticate headers,
//     or, with auth-signin, 302 to the sign-in URL with the original URL
//     in the auth-signin-redirect-param query parameter (default "rd").
//   - 403: answered 403.
//   - anything else, a redirect included, and any error (connection,
//     TLS, Options.ExternalAuthTimeout): 500, logged.
//
// With auth-cache-key, answers are cached (authcache.go): per host, path
// rule and key, for the time auth-cache-duration gives their status. The
// subrequest uses its own transport
// (keep-alive pool, HTTP/2 over TLS when offered), verifying https auth
// URLs against Options.ExternalAuthRootCAs (default: the system roots).

// authSentFrom is the X-Sent-From value of auth subrequests.
var authSentFrom = []string{"ingresslab"}

// maxAuthDrain bounds how much of an auth response body is read so that
// its connection can be reused.
const maxAuthDrain = 64 << 10

// externalAuth runs the auth subrequest for r. It returns the request to
// proxy (r with the auth response headers and X-Request-ID applied) and 0,
// or the status it answered with.
func (s *Server) externalAuth(w http.ResponseWriter, r *http.Request, ea *routing.ExternalAuth, rs *reqState) (*http.Request, int) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.ExternalAuthTimeout)
	defer cancel()
	areq, err := http.NewRequestWithContext(ctx, ea.Method, ea.URL, nil)
	if err != nil {
		return r, s.authError(w, r, rs, ea, err)
	}
	h := areq.Header
	conn := r.Header["Connection"]
	for k, vv := range r.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Expect", "Forwarded",
			"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
			"X-Original-Url", "X-Original-Method", "X-Auth-Request-Redirect", "X-Real-Ip", "X-Sent-From":
			continue
		}
		if hopByHop(k) || len(conn) > 0 && connectionListed(conn, k) {
			continue
		}
		h[k] = vv // read-only for the transport
	}
	s.setForwarded(r, h)
	scheme := "http"
	if r.TLS != nil || s.forwardedHTTPS(r) {
		scheme = "https"
	}
	original := scheme + "://" + r.Host + r.URL.RequestURI()
	h["X-Original-Url"] = []string{original}
	h["X-Original-Method"] = []string{r.Method}
	h["X-Auth-Request-Redirect"] = []string{r.URL.RequestURI()}
	if a, ok := s.clientAddr(r); ok {
		h["X-Real-Ip"] = []string{a.String()}
	}
	h["X-Sent-From"] = authSentFrom
	var genID []string
	if _, ok := r.Header["X-Request-Id"]; !ok {
		genID = []string{s.ids.next()}
		h["X-Request-Id"] = genID
	}

	var cacheKey string
	if ea.Cache != nil {
		cacheKey = authCacheKey(r, rs, ea)
	}
	resp, cached := s.authCache.get(cacheKey, time.Now())
	if !cached {
		fresh, err := s.authTransport.RoundTrip(areq)
		if err != nil {
			return r, s.authError(w, r, rs, ea, err)
		}
		_, _ = io.CopyN(io.Discard, fresh.Body, maxAuthDrain)
		fresh.Body.Close()
		resp = authAnswer{StatusCode: fresh.StatusCode, Status: fresh.Status, Header: fresh.Header}
		if ea.Cache != nil {
			if ttl := ea.Cache.TTL(resp.StatusCode); ttl > 0 {
				s.authCache.put(cacheKey, resp, time.Now().Add(ttl))
			}
		}
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		if genID == nil && len(ea.ResponseHeaders) == 0 {
			return r, 0
		}
		r2 := *r
		r2.Header = r.Header.Clone()
		if genID != nil {
			r2.Header["X-Request-Id"] = genID
		}
		for _, k := range ea.ResponseHeaders { // canonical
			delete(r2.Header, k)
			if v := resp.Header[k]; len(v) > 0 {
				r2.Header[k] = v
			}
		}
		return &r2, 0
	case code == http.StatusUnauthorized && ea.SignIn != "":
		sep := "?"
		if strings.Contains(ea.SignIn, "?") {
			sep = "&"
		}
		rd := url.QueryEscape(original)
		if ea.SignInEscapeURI {
			rd = scheme + "://" + r.Host + strings.ReplaceAll(url.QueryEscape(r.URL.RequestURI()), "+", "%20")
		}
		w.Header()["Location"] = []string{ea.SignIn + sep + ea.SignInRedirectParam + "=" + rd}
		w.WriteHeader(http.StatusFound)
		return r, http.StatusFound
	case code == http.StatusUnauthorized:
		if v := resp.Header["Www-Authenticate"]; len(v) > 0 {
			w.Header()["Www-Authenticate"] = v
		}
		writePlain(w, http.StatusUnauthorized, "authentication required\n")
		return r, http.StatusUnauthorized
	case code == http.StatusForbidden:
		writePlain(w, http.StatusForbidden, "forbidden\n")
		return r, http.StatusForbidden
	default:
		return r, s.authError(w, r, rs, ea, errors.New("auth service answered "+resp.Status))
	}
}

// authError answers 500 for a failed auth subrequest and logs why.
func (s *Server) authError(w http.ResponseWriter, r *http.Request, rs *reqState, ea *routing.ExternalAuth, err error) int {
	if r.Context().Err() != nil {
		// The client went away: nobody reads the answer.
		writePlain(w, http.StatusBadGateway, "request canceled\n")
		return statusClientClosed
	}
	s.metrics.UpstreamError("auth")
	s.log.LogAttrs(r.Context(), slog.LevelWarn, "external auth failed", slog.String("host", r.Host),
		slog.String("path", r.URL.Path), slog.String("ingress", rs.ri.ingressName()), slog.String("auth_url", ea.URL),
		slog.Any("error", err))
	writePlain(w, http.StatusInternalServerError, "authentication service error\n")
	return http.StatusInternalServerError
}
