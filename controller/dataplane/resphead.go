package dataplane

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strconv"

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
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return h, 0, false
	}
	n = end + 4
	raw := b[:end+2] // every line with its CRLF
	// Status line: "HTTP/1.1 ddd[ reason]".
	eol := bytes.IndexByte(raw, '\n') // raw ends in CRLF: found
	if eol < 1 || raw[eol-1] != '\r' {
		return h, 0, false
	}
	line := raw[:eol-1]
	if len(line) < 12 || string(line[:9]) != "HTTP/1.1 " || !plainLine(line) {
		return h, 0, false
	}
	if len(line) > 12 && line[12] != ' ' {
		return h, 0, false
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return h, 0, false // no body, or informational: ReadResponse's rules
	}
	// Count the fields first: one map and one values slice of that size.
	fields := bytes.Count(raw, []byte("\n")) - 1
	if fields > maxFastFields {
		return h, 0, false
	}
	s := string(raw) // one string; status and fields are slices of it
	h.code = code
	h.status = s[9 : eol-1]
	h.header = make(http.Header, fields)
	vals := make([]string, fields)
	h.length = -1
	for off := eol + 1; off < len(s); {
		e := off + bytes.IndexByte(raw[off:], '\n') // raw ends in CRLF: found
		if e-1 <= off || raw[e-1] != '\r' {
			return respHead{}, 0, false // a bare LF
		}
		ln := raw[off : e-1]
		if ln[0] == ' ' || ln[0] == '\t' || !plainLine(ln) {
			return respHead{}, 0, false // folded or malformed: ReadResponse decides
		}
		colon := bytes.IndexByte(ln, ':')
		if colon <= 0 {
			return respHead{}, 0, false
		}
		key, canon := fieldKey(ln[:colon])
		if !canon {
			return respHead{}, 0, false
		}
		vs, ve := off+colon+1, e-1
		for vs < ve && (s[vs] == ' ' || s[vs] == '\t') {
			vs++
		}
		for ve > vs && (s[ve-1] == ' ' || s[ve-1] == '\t') {
			ve--
		}
		if key == "" {
			key = s[off : off+colon]
		}
		v := s[vs:ve]
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
		off = e + 1
	}
	if h.length < 0 {
		return respHead{}, 0, false // read to EOF: ReadResponse
	}
	if conn := h.header["Connection"]; len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, "close") {
		h.close = true
		delete(h.header, "Connection")
	}
	return h, n, true
}

// plainLine reports whether a head line holds only bytes net/http takes
// in a field value (visible ASCII, obs-text, SP, HTAB): no CR, no NUL, no
// other control byte.
func plainLine(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// fieldKey checks a field name: ok false when it holds a byte that is not
// a token byte. A name already in canonical form returns "" (the caller
// slices its own string); another is canonicalized (an allocation).
func fieldKey(k []byte) (key string, ok bool) {
	upper := true
	canonical := true
	for _, c := range k {
		if !httpguts.IsTokenRune(rune(c)) {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return "", true
	}
	return textproto.CanonicalMIMEHeaderKey(string(k)), true
}
