package dataplane

import (
	"net/http"
	"strings"
)

// Checks of the client's request before routing (ServeHTTP).

// valClose is the Connection value that ends a client connection after
// the response (len == cap: never appended to in place).
var valClose = []string{"close"}

// ambiguousFraming closes the client connection after the response to an
// HTTP/1.x request whose body framing may be read differently by another
// parser (RFC 9112 section 6.1, request smuggling): a Transfer-Encoding on
// HTTP/1.0 (net/http ignores it, so the body's bytes would be read as the
// next request) or a Transfer-Encoding with a Content-Length (net/http
// drops the Content-Length and reads the chunked body, as the RFC allows,
// and then the connection must close). net/http removes both fields from
// the request without a trace, so every HTTP/1.0 request and every
// HTTP/1.1 request with a chunked body gets "Connection: close": HTTP/1.0
// keep-alive is not offered, and a client that streams a chunked upload
// opens a new connection for its next request.
func ambiguousFraming(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && (r.ProtoMinor == 0 || r.TransferEncoding != nil) {
		w.Header()["Connection"] = valClose
	}
}

// dropH2CUpgrade serves an "Upgrade: h2c" request (RFC 7540 section 3.2)
// as the HTTP/1.1 request it also is, as nginx does: h2c is removed from
// Upgrade (the field goes when nothing else is left), HTTP2-Settings is
// dropped, and so are the Connection tokens naming them. Tunnelled, the
// upgrade would let the client speak HTTP/2 to the backend past path
// routing. Requests without Upgrade pay one map lookup.
func dropH2CUpgrade(h http.Header) {
	up, ok := h["Upgrade"]
	if !ok || !tokenListed(up, "h2c") {
		return
	}
	var keep []string
	for _, v := range up {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "h2c") {
				keep = append(keep, t)
			}
		}
	}
	delete(h, "Http2-Settings")
	if len(keep) > 0 {
		h["Upgrade"] = []string{strings.Join(keep, ", ")}
	} else {
		delete(h, "Upgrade")
	}
	var conn []string
	for _, v := range h["Connection"] {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" || strings.EqualFold(t, "HTTP2-Settings") || len(keep) == 0 && strings.EqualFold(t, "Upgrade") {
				continue
			}
			conn = append(conn, t)
		}
	}
	if len(conn) > 0 {
		h["Connection"] = []string{strings.Join(conn, ", ")}
	} else {
		delete(h, "Connection")
	}
}

// clientOwned reports whether a request header the client sent is dropped
// on the way to the backend because the controller owns its meaning: the
// client's address and the original request (X-Real-IP, True-Client-IP,
// X-Original-URI; X-Forwarded-Prefix, which the controller sets itself for
// x-forwarded-prefix), and every name with an underscore, as nginx drops
// them (underscores_in_headers off): a backend that reads '_' as '-' would
// take X_Forwarded_For for X-Forwarded-For. k is in canonical form.
func clientOwned(k string) bool {
	switch k {
	case "X-Real-Ip", "True-Client-Ip", "X-Original-Uri", "X-Forwarded-Prefix":
		return true
	}
	return strings.IndexByte(k, '_') >= 0
}

// dropClientOwned removes the clientOwned headers from h (the outbound
// header of the ReverseProxy path; writeHead skips them on the fast path).
func dropClientOwned(h http.Header) {
	for k := range h {
		if clientOwned(k) {
			delete(h, k)
		}
	}
}

// badTarget reports whether r's request target is none the data plane
// proxies (RFC 9112 section 3.2, RFC 9113 section 8.3.1): origin-form
// ("/..."), absolute-form with an http or https scheme (whose host net/http
// already made r.Host), or "*" of OPTIONS. Anything else, such as "a:/b",
// "ftp://h/x", "*" of GET (HTTP/1.1, or ":path *" in HTTP/2) or CONNECT's
// authority-form, would reach the backend as some other target: answered
// 400. Origin-form costs three comparisons.
func badTarget(r *http.Request) bool {
	u := r.URL
	if u.Opaque != "" {
		return true
	}
	if len(u.Path) > 0 && u.Path[0] == '/' && u.Scheme == "" {
		return false // origin-form
	}
	switch u.Scheme {
	case "http", "https": // net/http lowercases it
		return u.Path != "" && u.Path[0] != '/'
	case "":
		return r.RequestURI != "*" || r.Method != http.MethodOptions
	}
	return true
}
