package dataplane

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The fast path reads the common upstream response head itself, from the
// connection's buffer, instead of with http.ReadResponse: an HTTP/1.1
// final response with one Content-Length, whose head is whole in the
// buffer and written the plain way (CRLF line ends, no folded lines, only
// token bytes in field names). That is what most upstreams send, and it
// costs one string for the head, the header map, one slice for its values
// and one allocation for the response and its body, where ReadResponse
// makes some eleven. Every other head (1xx, HEAD, 204 and 304, chunked or
// unbounded bodies, HTTP/1.0, Pragma, anything unusual) is left in the
// buffer for http.ReadResponse, so the rules are net/http's throughout; a
// fuzz test (FuzzRespHead) holds the two parsers to the same result.

// respHead is a response head parsed by parseRespHead.
type respHead struct {
	code   int
	status string // "200 OK", as Response.Status
	header http.Header
	length int64 // Content-Length
	close  bool  // Connection: close (then removed, as ReadResponse does)
}

// maxFastFields bounds the header fields of a head parseRespHead reads;
// longer heads go to http.ReadResponse.
const maxFastFields = 64

// parseRespHead parses the response head at the start of b when it is
// whole and of the common form above; it returns the head and its length
// in bytes, or ok false (and nothing consumed) for http.ReadResponse.
func parseRespHead(b []byte) (h respHead, n int, ok bool) {
	n = indexHeadEnd(b)
	if n < 0 {
		return h, 0, false
	}
	// Status line: "HTTP/1.1 ddd[ reason]".
	eol := bytes.IndexByte(b, '\n') // the head ends in CRLF CRLF: found
	if eol < 13 || b[eol-1] != '\r' || string(b[:9]) != "HTTP/1.1 " || !httpguts.ValidHeaderFieldValue(string(b[9:eol-1])) {
		return h, 0, false // too short, a bare LF, or a control byte
	}
	if eol-1 > 12 && b[12] != ' ' {
		return h, 0, false
	}
	code := 0
	for _, c := range b[9:12] {
		if c < '0' || c > '9' {
			return h, 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return h, 0, false // no body, or informational: ReadResponse's rules
	}
	// Count the fields first: one map and one values slice of that size.
	fields := bytes.Count(b[:n], []byte("\n")) - 2
	if fields > maxFastFields {
		return h, 0, false
	}
	s := string(b[:n-2]) // one string; status and fields are slices of it
	h.code = code
	h.status = s[9 : eol-1]
	h.header = make(http.Header, fields)
	vals := make([]string, fields)
	h.length = -1
	// Each field as the connection loop reads a request's (h1conn.parse):
	// a name of token bytes (a folded line starts with a space: refused),
	// a trimmed value without control bytes (a bare CR or LF is one).
	for rest := s[eol+1:]; rest != ""; {
		var field string
		field, rest, _ = strings.Cut(rest, "\r\n")
		name, v, ok := strings.Cut(field, ":")
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			return respHead{}, 0, false
		}
		v = strings.Trim(v, " \t")
		if !httpguts.ValidHeaderFieldValue(v) {
			return respHead{}, 0, false
		}
		key := textproto.CanonicalMIMEHeaderKey(name) // no copy when already canonical
		switch key {
		case "Transfer-Encoding", "Pragma", "Content-Length":
			if key != "Content-Length" || h.length >= 0 {
				return respHead{}, 0, false // chunked, Pragma's Cache-Control, repeated lengths: ReadResponse
			}
			cl, err := strconv.ParseUint(v, 10, 63)
			if err != nil || v == "" || v[0] == '+' {
				return respHead{}, 0, false
			}
			h.length = int64(cl)
		}
		if vv, seen := h.header[key]; seen {
			h.header[key] = append(vv, v)
		} else {
			vals[0] = v
			h.header[key], vals = vals[:1:1], vals[1:]
		}
	}
	if h.length < 0 {
		return respHead{}, 0, false // read to EOF: ReadResponse
	}
	if conn := h.header["Connection"]; len(conn) > 0 && tokenListed(conn, "close") {
		h.close = true
		delete(h.header, "Connection")
	}
	return h, n, true
}
