package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// Annotation features whose references the translation resolved into the
// Policy (routing.Policy.ResponseHeaders and ErrorPages), applied on the
// policy branch only:
//
//   - custom-headers: the Policy's ResponseHeaders are set on the response
//     before anything is written (servePolicy), so they are part of every
//     answer of the route, the data plane's own included; an upstream's
//     values for the same names are dropped (dropCustomHeaders), so they
//     replace rather than add to them, as ingress-nginx's more_set_headers.
//   - custom-http-errors with the default-backend annotation: an upstream
//     status listed in Policy.ErrorPages is answered by its Backend (the
//     annotation's Service), asked "GET /" with ingress-nginx's custom error headers
//     (X-Code, X-Format, X-Original-URI, X-Namespace, X-Ingress-Name,
//     X-Service-Name, X-Service-Port, X-Request-ID). The client gets the
//     upstream's status with the error backend's headers and body. When the
//     error backend cannot answer (no endpoint, connection error, timeout),
//     or without a default-backend annotation, the data plane's own error
//     page is sent. (A path whose Service has no endpoints is routed to the
//     default-backend Service by the translation itself.)

// setCustomHeaders sets the route's custom-headers on h (the
// ResponseWriter's header map, before WriteHeader). The value slices are
// shared and never modified: net/http only reads them, and appends copy
// them (len == cap).
func setCustomHeaders(h http.Header, r *routing.Route) {
	if r.Policy == nil {
		return
	}
	for k, v := range r.Policy.ResponseHeaders {
		h[k] = v
	}
}

// dropCustomHeaders removes from an upstream response header the names the
// route's custom-headers set.
func dropCustomHeaders(rs *reqState, h http.Header) {
	if rs.ri.policy == nil {
		return
	}
	for k := range rs.ri.policy.ResponseHeaders {
		delete(h, k)
	}
}

// errorBackend is the backend of the route's error pages, or nil.
func errorBackend(rs *reqState) *routing.Backend {
	if p := rs.ri.policy; p != nil && p.ErrorPages != nil {
		return p.ErrorPages.Backend
	}
	return nil
}

// errorBackendTimeout bounds one error-backend request (connect to end of
// response head).
const errorBackendTimeout = 5 * time.Second

// maxErrorBody bounds the error backend's body copied to the client.
const maxErrorBody = 1 << 20

// errorTransport asks error backends; it is shared by all servers (the
// error backend is a small, rarely used path).
var errorTransport = &http.Transport{
	DialContext:           (&net.Dialer{Timeout: errorBackendTimeout}).DialContext,
	ResponseHeaderTimeout: errorBackendTimeout,
	MaxIdleConnsPerHost:   4,
	IdleConnTimeout:       90 * time.Second,
	DisableCompression:    true,
}

// errorCursor spreads error-backend requests over its endpoints.
var errorCursor atomic.Uint32

var errNoErrorBackend = errors.New("dataplane: no error backend endpoint")

// fetchErrorPage asks the route's error backend for the page of code. req
// is the request the upstream answered (its URI, Accept and X-Request-ID
// are passed on).
func fetchErrorPage(ctx context.Context, rs *reqState, req *http.Request, code int) (*http.Response, error) {
	eb := errorBackend(rs)
	if eb == nil || eb.Unavailable != "" || len(eb.Endpoints) == 0 {
		return nil, errNoErrorBackend
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), errorBackendTimeout)
	n := len(eb.Endpoints)
	start := int(errorCursor.Add(1))
	var lastErr error
	for i := range min(n, 2) {
		addr := eb.Endpoints[(start+i)%n].Address
		out, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		if err != nil {
			cancel()
			return nil, err
		}
		if req != nil {
			out.Host = req.Host
			out.Header["X-Original-Uri"] = []string{req.URL.RequestURI()}
			if a := req.Header["Accept"]; len(a) > 0 {
				out.Header["X-Format"] = a
			}
			if id := req.Header["X-Request-Id"]; len(id) > 0 {
				out.Header["X-Request-Id"] = id
			}
		}
		out.Header["X-Code"] = []string{strconv.Itoa(code)}
		out.Header["X-Namespace"] = []string{rs.ri.route.Ingress.Namespace}
		out.Header["X-Ingress-Name"] = []string{rs.ri.route.Ingress.Name}
		if be := rs.ri.backend; be != nil {
			out.Header["X-Service-Name"] = []string{be.be.Service}
			out.Header["X-Service-Port"] = []string{be.be.Port}
		}
		resp, err := errorTransport.RoundTrip(out)
		if err == nil {
			resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		lastErr = err
	}
	cancel()
	return nil, lastErr
}

// errorPageHeaders are the error backend's response headers passed on.
var errorPageHeaders = []string{"Content-Type", "Content-Language", "Cache-Control", "Expires", "Last-Modified", "Etag", "Vary"}

// writeCustomError answers code for an upstream response listed in
// custom-http-errors (fast path): from the error backend, else with the
// data plane's own page.
func (s *Server) writeCustomError(w http.ResponseWriter, rs *reqState, resp *http.Response) {
	code := resp.StatusCode
	rs.code = code
	er, err := fetchErrorPage(resp.Request.Context(), rs, resp.Request, code)
	if err != nil {
		if !errors.Is(err, errNoErrorBackend) {
			s.log.Debug("error backend failed", "backend", errorBackend(rs).Key, "error", err)
		}
		writeErrorPage(w, code)
		return
	}
	defer er.Body.Close()
	h := w.Header()
	for _, k := range errorPageHeaders {
		if v := er.Header[k]; len(v) > 0 {
			h[k] = v
		}
	}
	w.WriteHeader(code)
	_, _ = io.Copy(w, io.LimitReader(er.Body, maxErrorBody))
}

// replaceWithCustomError turns an upstream response listed in
// custom-http-errors into the error backend's page with the same status
// (ReverseProxy path), else into the data plane's own page.
func replaceWithCustomError(resp *http.Response, rs *reqState) {
	er, err := fetchErrorPage(rs, rs, resp.Request, resp.StatusCode)
	if err != nil {
		replaceWithErrorPage(resp)
		return
	}
	resp.Body.Close()
	h := make(http.Header, len(errorPageHeaders))
	for _, k := range errorPageHeaders {
		if v := er.Header[k]; len(v) > 0 {
			h[k] = v
		}
	}
	resp.Header = h
	resp.Trailer = nil
	resp.TransferEncoding = nil
	resp.ContentLength = -1
	if er.ContentLength >= 0 && er.ContentLength <= maxErrorBody {
		resp.ContentLength = er.ContentLength
		h["Content-Length"] = []string{strconv.FormatInt(er.ContentLength, 10)}
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(er.Body, maxErrorBody), er.Body}
}
