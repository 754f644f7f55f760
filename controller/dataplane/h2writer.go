package dataplane

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2writer is the http.ResponseWriter of a native HTTP/2 stream. The
// handler's goroutine writes the stream's frames itself: HEADERS when the
// first bytes go out (a Flush, more than h2WriteChunk bytes, or the end),
// DATA within the flow-control windows, trailers last, and one flush of
// the connection's buffer per call, so that a small response is one TLS
// write.
type h2writer struct {
	st          *h2stream
	req         *http.Request
	hdr         http.Header
	status      int
	wroteHeader bool
	sentHeader  bool
	done        bool
	buf         []byte
	written     int64 // body bytes the handler wrote
	declaredLen int64 // Content-Length, -1: none
	trailerKeys []string
}

var errH2StreamReset = errors.New("http2: stream reset")

func (w *h2writer) Header() http.Header { return w.hdr }

func (w *h2writer) WriteHeader(code int) {
	if w.wroteHeader || w.done {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		if code != http.StatusSwitchingProtocols { // no 101 in HTTP/2
			w.st.c.writeInformational(w.st, code, w.hdr)
		}
		return
	}
	w.status, w.wroteHeader = code, true
	if cl := w.hdr.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.declaredLen = n
		} else {
			w.hdr.Del("Content-Length")
		}
	}
	w.trailerKeys = trailerNames(w.hdr["Trailer"])
}

func (w *h2writer) Write(p []byte) (int, error) {
	keep, err := w.admit(len(p))
	if keep {
		w.buf = append(w.buf, p...)
		err = w.spill()
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *h2writer) WriteString(s string) (int, error) {
	keep, err := w.admit(len(s))
	if keep {
		w.buf = append(w.buf, s...)
		err = w.spill()
	}
	if err != nil {
		return 0, err
	}
	return len(s), nil
}

// admit counts n body bytes of a Write: keep is false when they are not
// sent (HEAD), err when they may not be written at all.
func (w *h2writer) admit(n int) (keep bool, err error) {
	if w.done {
		return false, http.ErrHandlerTimeout
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return false, http.ErrBodyNotAllowed
	}
	if w.declaredLen >= 0 && w.written+int64(n) > w.declaredLen {
		return false, http.ErrContentLength
	}
	w.written += int64(n)
	return w.req.Method != http.MethodHead, nil
}

// spill sends the buffer once it holds h2WriteChunk bytes.
func (w *h2writer) spill() error {
	if len(w.buf) < h2WriteChunk {
		return nil
	}
	return w.send(false)
}

// Flush implements http.Flusher.
func (w *h2writer) Flush() { _ = w.FlushError() }

// FlushError sends the head and what is buffered (http.ResponseController).
func (w *h2writer) FlushError() error {
	if w.done {
		return nil
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.send(false)
}

// SetReadDeadline bounds the request body's reads
// (http.ResponseController, the ClientBodyTimeout).
func (w *h2writer) SetReadDeadline(t time.Time) error {
	if w.st.body != nil {
		w.st.body.setDeadline(t)
	}
	return nil
}

// EnableFullDuplex: HTTP/2 streams are full duplex.
func (w *h2writer) EnableFullDuplex() error { return nil }

// finish ends the response when the handler returned, and the stream.
func (w *h2writer) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	err := w.send(true)
	w.done = true
	c, st := w.st.c, w.st
	switch {
	case err != nil:
		c.resetStream(st, http2.ErrCodeInternal, errors.Is(err, errH2StreamReset) || errors.Is(err, errH2Closed))
	default:
		c.mu.Lock()
		open := !st.remoteClosed
		c.mu.Unlock()
		if open {
			// A complete response before the whole request: ask the client
			// to stop sending, without error (RFC 9113 section 8.1).
			c.resetStream(st, http2.ErrCodeNo, false)
			return
		}
		c.closeStream(st)
	}
}

// send writes the head if not yet sent and the buffered body, and with
// final the end of the stream (trailers or END_STREAM).
func (w *h2writer) send(final bool) error {
	c, st := w.st.c, w.st
	var trailers []hpack.HeaderField
	if final {
		trailers = w.trailers()
		if w.declaredLen >= 0 && w.written != w.declaredLen && w.req.Method != http.MethodHead && bodyAllowed(w.status) {
			return errors.New("http2: handler wrote less than Content-Length")
		}
	}
	isHead := w.req.Method == http.MethodHead
	endStream := final && len(trailers) == 0
	c.wmu.Lock()
	locked := true
	defer func() {
		if locked {
			c.wmu.Unlock()
		}
	}()
	if c.werr != nil {
		return c.werr
	}
	if !w.sentHeader {
		w.sentHeader = true
		headEnds := final && (isHead || len(w.buf) == 0 && len(trailers) == 0)
		c.encodeHead(w, final)
		if err := c.writeHeaderBlock(st.id, headEnds); err != nil {
			c.flushLocked(err)
			return err
		}
		if headEnds {
			return c.endLocked(st)
		}
	} else if final && len(w.buf) == 0 && len(trailers) == 0 {
		if err := c.fr.WriteData(st.id, true, nil); err != nil {
			c.flushLocked(err)
			return err
		}
		return c.endLocked(st)
	}
	p := w.buf
	for len(p) > 0 {
		n, err := c.reserve(st, len(p), false)
		if err != nil {
			c.flushLocked(nil)
			return err
		}
		if n == 0 { // no window: send what is written and wait for some
			c.flushLocked(nil)
			c.wmu.Unlock()
			locked = false
			n, err = c.reserve(st, len(p), true)
			c.wmu.Lock()
			locked = true
			if err != nil {
				return err
			}
			if c.werr != nil {
				return c.werr
			}
		}
		if !c.roomLocked() {
			return c.werr
		}
		if err := c.fr.WriteData(st.id, endStream && n == len(p), p[:n]); err != nil {
			c.flushLocked(err)
			return err
		}
		p = p[n:]
	}
	w.buf = w.buf[:0]
	if len(trailers) > 0 {
		c.hbuf.Reset()
		for _, hf := range trailers {
			_ = c.henc.WriteField(hf)
		}
		if err := c.writeHeaderBlock(st.id, true); err != nil {
			c.flushLocked(err)
			return err
		}
	}
	if final {
		return c.endLocked(st)
	}
	c.flushLocked(nil)
	return c.werr
}

// endLocked writes a response's last frames, END_STREAM among them (wmu
// held). A stream the client has ended too is closed first, before the
// bytes can reach the client: a frame the client sends on the stream once
// it has our END_STREAM finds it closed (RFC 9113 section 5.1: a
// connection error), as with net/http's serve loop, which closes the
// stream as it writes the frame.
func (c *h2conn) endLocked(st *h2stream) error {
	c.mu.Lock()
	done := st.remoteClosed
	c.mu.Unlock()
	if done {
		c.closeStream(st)
	}
	c.flushLocked(nil)
	return c.werr
}

// reserve takes up to n bytes of send window for st, at most a frame;
// with wait it waits while there is none, else it returns 0.
func (c *h2conn) reserve(st *h2stream, n int, wait bool) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if st.reset {
			return 0, errH2StreamReset
		}
		if c.closed {
			return 0, errH2Closed
		}
		if avail := min(int64(n), c.sendWin, st.sendWin, int64(c.maxFrame)); avail > 0 {
			c.sendWin -= avail
			st.sendWin -= avail
			return int(avail), nil
		}
		if !wait {
			return 0, nil
		}
		c.cond.Wait()
	}
}

// trailers are the declared trailer fields with values and those named
// with http.TrailerPrefix.
func (w *h2writer) trailers() []hpack.HeaderField {
	var out []hpack.HeaderField
	for _, k := range w.trailerKeys {
		for _, v := range w.hdr[k] {
			out = appendField(out, k, v)
		}
	}
	for k, vv := range w.hdr {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vv {
				out = appendField(out, name, v)
			}
		}
	}
	return out
}

func appendField(out []hpack.HeaderField, k, v string) []hpack.HeaderField {
	if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
		return out
	}
	return append(out, hpack.HeaderField{Name: lowerH2Key(k), Value: v})
}

// encodeHead encodes the response head into hbuf (wmu held): :status, the
// header fields but connection-specific ones and trailers, a
// Content-Length when the whole body is known, Date, and a sniffed
// Content-Type, as net/http's HTTP/2 server.
func (c *h2conn) encodeHead(w *h2writer, final bool) {
	c.hbuf.Reset()
	enc := c.henc
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(w.status)})
	h := w.hdr
	c.encodeFields(h, func(k string) bool { return slices.Contains(w.trailerKeys, k) })
	if _, ok := h["Content-Length"]; !ok && final && bodyAllowed(w.status) && w.req.Method != http.MethodHead &&
		len(w.trailerKeys) == 0 {
		_ = enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(w.buf))})
	}
	if _, ok := h["Date"]; !ok {
		_ = enc.WriteField(hpack.HeaderField{Name: "date", Value: c.dateLocked()})
	}
	if _, ok := h["Content-Type"]; !ok && bodyAllowed(w.status) && len(w.buf) > 0 && h.Get("Content-Encoding") == "" {
		_ = enc.WriteField(hpack.HeaderField{Name: "content-type", Value: http.DetectContentType(w.buf)})
	}
}

// dateLocked is the Date of a response now (wmu held), formatted once a
// second per connection.
func (c *h2conn) dateLocked() string {
	now := time.Now()
	if sec := now.Unix(); sec != c.dateSec {
		c.dateSec, c.date = sec, now.UTC().Format(http.TimeFormat)
	}
	return c.date
}

// writeInformational sends a 1xx response with the current header.
func (c *h2conn) writeInformational(st *h2stream, code int, h http.Header) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return
	}
	c.hbuf.Reset()
	_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: statusText(code)})
	c.encodeFields(h, func(k string) bool { return k == "Content-Length" })
	c.flushLocked(c.writeHeaderBlock(st.id, false))
}

// encodeFields encodes h's fields into hbuf (wmu held), but for names
// skip picks, trailers (http.TrailerPrefix), connection-specific fields
// (RFC 9113 section 8.2.2) and invalid names or values.
func (c *h2conn) encodeFields(h http.Header, skip func(string) bool) {
	for k, vv := range h {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade":
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) || skip(k) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		lk := lowerH2Key(k)
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				_ = c.henc.WriteField(hpack.HeaderField{Name: lk, Value: v})
			}
		}
	}
}

// bodyAllowed is net/http's bodyAllowedForStatus.
func bodyAllowed(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

var statusTexts = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusText(code int) string {
	if code >= 0 && code < len(statusTexts) {
		return statusTexts[code]
	}
	return strconv.Itoa(code)
}

// lowerH2Keys maps common canonical names to wire names.
var lowerH2Keys = keyMap(strings.ToLower, "Accept-Ranges", "Access-Control-Allow-Credentials",
	"Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Origin",
	"Access-Control-Expose-Headers", "Access-Control-Max-Age", "Age", "Cache-Control", "Content-Encoding",
	"Content-Language", "Content-Length", "Content-Type", "Date", "Etag", "Expires", "Last-Modified", "Link",
	"Location", "Server", "Set-Cookie", "Strict-Transport-Security", "Trailer", "Vary", "Www-Authenticate",
	"X-Content-Type-Options", "X-Request-Id", "Grpc-Status", "Grpc-Message", "Grpc-Encoding")

func lowerH2Key(k string) string {
	if l, ok := lowerH2Keys[k]; ok {
		return l
	}
	return strings.ToLower(k)
}
