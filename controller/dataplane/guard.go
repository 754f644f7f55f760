package dataplane

import (
	"net/http"
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
