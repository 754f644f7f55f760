package dataplane

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1writer is the http.ResponseWriter of a request served by the
// connection loop (h1loop.go). It frames the response as net/http's
// server does for an HTTP/1.1 request:
//   - the head is sent once the framing is known: at once with a valid
//     Content-Length, else when the body passes chunkingThreshold, at a
//     Flush or when the handler returns; a handler that returns first gets
//     a Content-Length, else the body is chunked;
//   - a Date field is added when the handler set none, and Content-Type is
//     sniffed when the handler did not set the key (a nil value sends none);
//   - 1xx heads are sent at once without the body fields;
//   - HEAD, 1xx, 204 and 304 responses carry no body, and 204 and 304 no
//     Content-Length or Content-Type;
//   - trailers: the keys the Trailer field announced and those with
//     http.TrailerPrefix, after a chunked body;
//   - "Connection: close" (from the handler, the client or a Shutdown)
//     closes the connection after the response;
//   - header names that are not tokens are dropped and CR/LF in values
//     become spaces.
//
// It is reset per request and owned by its connection's goroutine.
type h1writer struct {
	conn *h1conn // for watch
	bw   *bufio.Writer
	h    http.Header
	head bool // the request is HEAD

	code      int
	wrote     bool // WriteHeader (final) called
	committed bool // head written to bw
	chunked   bool
	cl        int64 // the handler's Content-Length; -1 none
	written   int64
	pending   []byte // body held back before the head (≤ chunkingThreshold)
	trailers  []string
	closing   bool // send "Connection: close" and close after
	err       error
}

// chunkingThreshold is how much body of unknown length is held back
// before the head goes out chunked (net/http's bufferBeforeChunkingSize).
const chunkingThreshold = 2048

func (w *h1writer) reset(head bool, closing bool) {
	clear(w.h)
	w.head, w.closing = head, closing
	w.code, w.wrote, w.committed, w.chunked = 0, false, false, false
	w.cl, w.written, w.pending, w.trailers, w.err = -1, 0, w.pending[:0], w.trailers[:0], nil
}

// Header implements http.ResponseWriter.
func (w *h1writer) Header() http.Header { return w.h }

// WriteHeader implements http.ResponseWriter.
func (w *h1writer) WriteHeader(code int) {
	if w.wrote {
		return // superfluous, as net/http (which logs it)
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.informational(code)
		return
	}
	w.code, w.wrote = code, true
	if v := w.h["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.cl = n
		} else {
			delete(w.h, "Content-Length")
		}
	}
	if c := w.h["Connection"]; len(c) > 0 && tokenListed(c, "close") {
		w.closing = true
	}
	if w.cl >= 0 || !w.bodyAllowed() {
		w.commit()
	}
}

// informational sends a 1xx head at once.
func (w *h1writer) informational(code int) {
	w.statusLine(code)
	for k, vv := range w.h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		w.field(k, vv)
	}
	_, _ = w.bw.WriteString("\r\n")
	w.err = w.bw.Flush()
}

func (w *h1writer) bodyAllowed() bool {
	return !w.head && w.code != http.StatusNoContent && w.code != http.StatusNotModified
}

// Write implements http.ResponseWriter.
func (w *h1writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.head {
		return len(p), nil // eaten, as net/http
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if len(w.pending)+len(p) <= chunkingThreshold {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.chunked = true
		w.commit()
	}
	w.body(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush implements http.Flusher.
func (w *h1writer) Flush() { _ = w.FlushError() }

// FlushError sends what is buffered (http.ResponseController).
func (w *h1writer) FlushError() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.chunked = w.bodyAllowed()
		w.commit()
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// body writes p as framed.
func (w *h1writer) body(p []byte) {
	if len(p) == 0 || w.err != nil {
		return
	}
	if w.chunked {
		_, _ = w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16))
		_, _ = w.bw.WriteString("\r\n")
		_, _ = w.bw.Write(p)
		_, w.err = w.bw.WriteString("\r\n")
		return
	}
	_, w.err = w.bw.Write(p)
}

// finish completes the response when the handler returned; it reports
// whether the connection may serve another request.
func (w *h1writer) finish() bool {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		if w.cl < 0 && w.bodyAllowed() && len(w.announced()) == 0 && !w.hasPrefixTrailer() {
			w.cl = int64(len(w.pending))
			w.h["Content-Length"] = []string{strconv.Itoa(len(w.pending))}
		} else {
			w.chunked = w.bodyAllowed()
		}
		w.commit()
	}
	if w.chunked && w.err == nil {
		_, _ = w.bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			if vv := w.h[k]; len(vv) > 0 {
				w.field(k, vv)
			}
		}
		for k, vv := range w.h {
			if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
				w.field(http.CanonicalHeaderKey(name), vv)
			}
		}
		_, w.err = w.bw.WriteString("\r\n")
	}
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err == nil && w.cl >= 0 && w.written < w.cl && w.bodyAllowed() {
		w.err = errShortBody // the client would wait for the rest
	}
	return w.err == nil && !w.closing
}

var errShortBody = errors.New("dataplane: handler wrote less than its Content-Length")

func (w *h1writer) announced() []string { return w.h["Trailer"] }

func (w *h1writer) hasPrefixTrailer() bool {
	for k := range w.h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// commit writes the head with the framing decided by the caller (chunked,
// cl) followed by the held-back body.
func (w *h1writer) commit() {
	w.committed = true
	if !w.closing && w.conn != nil && w.conn.l.closing.Load() {
		w.closing = true // Shutdown began during the request
	}
	if w.conn != nil && !w.closing && !w.conn.body.discard() {
		w.closing = true // the rest of the request body could not be read
	}
	if w.chunked {
		for _, v := range w.announced() {
			for k := range strings.SplitSeq(v, ",") {
				if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
					w.trailers = append(w.trailers, k)
				}
			}
		}
	}
	if _, ok := w.h["Content-Type"]; !ok && len(w.pending) > 0 && w.bodyAllowed() {
		w.h["Content-Type"] = []string{http.DetectContentType(w.pending)}
	}
	w.statusLine(w.code)
	hasDate := false
	noBody := w.code == http.StatusNoContent || w.code == http.StatusNotModified
	for k, vv := range w.h {
		switch k {
		case "Transfer-Encoding":
			continue // the framing below
		case "Content-Length", "Content-Type":
			if noBody {
				continue // must not be sent (RFC 9110 section 8.6), as net/http
			}
		case "Trailer":
			if !w.chunked {
				continue
			}
		case "Date":
			hasDate = true
		case "Connection":
			if w.closing {
				continue // written once below
			}
		}
		if w.chunked && slices.Contains(w.trailers, k) || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		w.field(k, vv)
	}
	if !hasDate {
		_, _ = w.bw.WriteString("Date: ")
		_, _ = w.bw.Write(time.Now().UTC().AppendFormat(w.bw.AvailableBuffer(), http.TimeFormat))
		_, _ = w.bw.WriteString("\r\n")
	}
	if w.chunked {
		_, _ = w.bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if w.closing {
		_, _ = w.bw.WriteString("Connection: close\r\n")
	}
	_, w.err = w.bw.WriteString("\r\n")
	if len(w.pending) > 0 {
		w.body(w.pending)
		w.pending = w.pending[:0]
	}
}

// statusLine writes "HTTP/1.1 code text".
func (w *h1writer) statusLine(code int) {
	_, _ = w.bw.WriteString("HTTP/1.1 ")
	_, _ = w.bw.Write(strconv.AppendInt(w.bw.AvailableBuffer(), int64(code), 10))
	_ = w.bw.WriteByte(' ')
	if text := http.StatusText(code); text != "" {
		_, _ = w.bw.WriteString(text)
	} else {
		_, _ = w.bw.WriteString("status code ")
		_, _ = w.bw.Write(strconv.AppendInt(w.bw.AvailableBuffer(), int64(code), 10))
	}
	_, _ = w.bw.WriteString("\r\n")
}

var newlineToSpace = strings.NewReplacer("\r", " ", "\n", " ")

// field writes one header field per value, as net/http: names that are
// not tokens are dropped, CR and LF in values become spaces and values
// are trimmed.
func (w *h1writer) field(k string, vv []string) {
	if !httpguts.ValidHeaderFieldName(k) {
		return
	}
	for _, v := range vv {
		if strings.ContainsAny(v, "\r\n") {
			v = newlineToSpace.Replace(v)
		}
		v = strings.Trim(v, " \t")
		_, _ = w.bw.WriteString(k)
		_, _ = w.bw.WriteString(": ")
		_, _ = w.bw.WriteString(v)
		_, _ = w.bw.WriteString("\r\n")
	}
}
