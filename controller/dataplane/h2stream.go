package dataplane

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2stream is one request of an h2conn. The fields after id are guarded
// by the connection's mu.
type h2stream struct {
	c      *h2conn
	id     uint32
	cancel context.CancelFunc
	body   *h2body // nil: the request had no body (END_STREAM on HEADERS)
	// cw: the stream was reset or its connection ended (cancelwatch.go).
	cw clientWatch

	sendWin      int64
	recvWin      int64
	recvUnacked  int64
	remoteClosed bool // END_STREAM or RST_STREAM received
	reset        bool
}

// newRequest builds st's request from its HEADERS; nil and the stream
// error's code when they are malformed (RFC 9113 section 8.3).
func (c *h2conn) newRequest(st *h2stream, f *http2.MetaHeadersFrame) (*http.Request, http2.ErrCode) {
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	scheme, authority := f.PseudoValue("scheme"), f.PseudoValue("authority")
	if f.PseudoValue("protocol") != "" {
		return nil, http2.ErrCodeProtocol // extended CONNECT is not offered
	}
	isConnect := method == "CONNECT"
	if isConnect {
		if path != "" || scheme != "" || authority == "" {
			return nil, http2.ErrCodeProtocol
		}
	} else if method == "" || path == "" || scheme == "" {
		return nil, http2.ErrCodeProtocol
	}
	if !httpguts.ValidHostHeader(authority) {
		return nil, http2.ErrCodeProtocol
	}
	fields := f.RegularFields()
	header := make(http.Header, len(fields))
	var cookies []string
	for _, hf := range fields {
		switch hf.Name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return nil, http2.ErrCodeProtocol // connection-specific (8.2.2)
		case "te":
			if hf.Value != "trailers" {
				return nil, http2.ErrCodeProtocol
			}
		case "cookie":
			cookies = append(cookies, hf.Value)
			continue
		}
		k := canonicalH2Key(hf.Name)
		header[k] = append(header[k], hf.Value)
	}
	if len(cookies) > 0 {
		header["Cookie"] = []string{strings.Join(cookies, "; ")} // 8.2.3
	}
	if authority == "" {
		authority = header.Get("Host")
	}
	delete(header, "Host")

	r := &http.Request{Method: method, Proto: "HTTP/2.0", ProtoMajor: 2, Header: header, Host: authority,
		RemoteAddr: c.remote, TLS: c.tls, RequestURI: path}
	if isConnect {
		r.URL = &url.URL{Host: authority}
		r.RequestURI = authority
	} else {
		u, err := url.ParseRequestURI(path)
		if err != nil {
			return nil, http2.ErrCodeProtocol
		}
		r.URL = u
	}
	for _, k := range trailerNames(header["Trailer"]) {
		switch k {
		case "Transfer-Encoding", "Trailer", "Content-Length":
		default:
			if r.Trailer == nil {
				r.Trailer = make(http.Header)
			}
			r.Trailer[k] = nil
		}
	}
	ctx, cancel := context.WithCancel(c.ctx)
	st.cancel = cancel
	if st.remoteClosed {
		r.Body, r.ContentLength = http.NoBody, 0
	} else {
		r.ContentLength = -1
		if cl := header.Get("Content-Length"); cl != "" {
			n, err := strconv.ParseUint(cl, 10, 63)
			if err != nil {
				cancel()
				return nil, http2.ErrCodeProtocol
			}
			r.ContentLength = int64(n)
		}
		st.body = &h2body{st: st, want: r.ContentLength, trailer: r.Trailer,
			needContinue: strings.EqualFold(header.Get("Expect"), "100-continue")}
		st.body.cond.L = &st.body.mu
		r.Body = st.body
	}
	return r.WithContext(ctx), 0
}

// commonH2Keys maps wire names to their canonical form without allocating.
var commonH2Keys = keyMap(textproto.CanonicalMIMEHeaderKey, "accept", "accept-encoding", "accept-language",
	"authorization", "cache-control", "content-length", "content-type", "cookie", "date", "expect", "host",
	"if-modified-since", "if-none-match", "origin", "referer", "trailer", "user-agent", "x-forwarded-for",
	"x-forwarded-proto", "x-request-id", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "te")

// keyMap maps each of keys to f(key): header names converted once instead
// of on every request.
func keyMap(f func(string) string, keys ...string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = f(k)
	}
	return m
}

// trailerNames are the canonical names a Trailer header's values list.
func trailerNames(vv []string) []string {
	var names []string
	for _, v := range vv {
		for k := range strings.SplitSeq(v, ",") {
			if k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k)); k != "" {
				names = append(names, k)
			}
		}
	}
	return names
}

func canonicalH2Key(k string) string {
	if c, ok := commonH2Keys[k]; ok {
		return c
	}
	return textproto.CanonicalMIMEHeaderKey(k)
}

// h2body is a request body: the serve goroutine writes DATA into it, the
// handler reads, and what it read is given back as window.
type h2body struct {
	st           *h2stream
	mu           sync.Mutex
	cond         sync.Cond
	buf          []byte
	err          error       // io.EOF once ended
	closed       bool        // the handler closed it: later data is dropped
	want, got    int64       // Content-Length (-1: none) and bytes received
	trailer      http.Header // the request's Trailer: written by the reader, at EOF
	gotTrailer   http.Header // the trailer fields received
	deadline     time.Time
	timer        *time.Timer
	needContinue bool
}

// write appends p: errH2BodyLength beyond Content-Length, errH2BodyGone
// when the handler no longer reads.
func (b *h2body) write(p []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.err != nil {
		return errH2BodyGone
	}
	b.got += int64(len(p))
	if b.want >= 0 && b.got > b.want {
		b.err = errH2BodyLength
		b.cond.Broadcast()
		return errH2BodyLength
	}
	b.buf = append(b.buf, p...)
	b.cond.Broadcast()
	return nil
}

var errH2BodyGone = errors.New("http2: request body no longer read")

// errH2BodyLength: DATA beyond the request's Content-Length.
var errH2BodyLength = errors.New("http2: request body longer than its Content-Length")

// finish ends the body (END_STREAM) with trailer fields; false when its
// length differs from Content-Length. The declared fields reach the
// request's Trailer when Read returns io.EOF, in the reading goroutine (as
// net/http's): the handler may read the map until then.
func (b *h2body) finish(trailers []hpack.HeaderField) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return true
	}
	if b.want >= 0 && b.got != b.want {
		return false
	}
	for _, hf := range trailers {
		k := canonicalH2Key(hf.Name)
		if _, declared := b.trailer[k]; declared { // undeclared ones are dropped, as by net/http
			if b.gotTrailer == nil {
				b.gotTrailer = make(http.Header)
			}
			b.gotTrailer[k] = append(b.gotTrailer[k], hf.Value)
		}
	}
	b.err = io.EOF
	b.cond.Broadcast()
	return true
}

// abort ends the body with err (a reset or a closed connection).
func (b *h2body) abort(err error) {
	b.mu.Lock()
	if b.err == nil || b.err == io.EOF && len(b.buf) > 0 {
		b.err = err
	}
	b.cond.Broadcast()
	b.mu.Unlock()
}

// closeRead is the handler's end: later DATA is given back unread.
func (b *h2body) closeRead() {
	b.mu.Lock()
	n := len(b.buf)
	b.closed, b.buf = true, nil
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	if n > 0 {
		b.st.c.consumed(b.st, int64(n))
	}
}

func (b *h2body) Close() error {
	b.closeRead()
	return nil
}

func (b *h2body) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.needContinue {
		b.needContinue = false
		b.mu.Unlock()
		b.st.c.writeContinue(b.st)
		b.mu.Lock()
	}
	for len(b.buf) == 0 && b.err == nil && !b.closed {
		if !b.deadline.IsZero() && !time.Now().Before(b.deadline) {
			b.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		b.cond.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	}
	if len(b.buf) == 0 {
		err := b.err
		if err == io.EOF && b.gotTrailer != nil {
			maps.Copy(b.trailer, b.gotTrailer)
			b.gotTrailer = nil
		}
		b.mu.Unlock()
		return 0, err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	if len(b.buf) == 0 {
		b.buf = b.buf[:0:0]
	}
	b.mu.Unlock()
	b.st.c.consumed(b.st, int64(n))
	return n, nil
}

// setDeadline bounds the wait of Read (ResponseController.SetReadDeadline).
func (b *h2body) setDeadline(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deadline = t
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if !t.IsZero() {
		b.timer = time.AfterFunc(time.Until(t), func() {
			b.mu.Lock()
			b.cond.Broadcast()
			b.mu.Unlock()
		})
	}
}

func (c *h2conn) writeContinue(st *h2stream) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return
	}
	c.hbuf.Reset()
	_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: "100"})
	c.flushLocked(c.writeHeaderBlock(st.id, false))
}

// writeHeaderBlock writes hbuf as HEADERS and CONTINUATION frames (wmu
// held).
func (c *h2conn) writeHeaderBlock(id uint32, endStream bool) error {
	c.mu.Lock()
	maxFrame := int(c.maxFrame)
	c.mu.Unlock()
	block := c.hbuf.Bytes()
	first := true
	for first || len(block) > 0 {
		frag := block
		if len(frag) > maxFrame {
			frag = frag[:maxFrame]
		}
		block = block[len(frag):]
		var err error
		if first {
			err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag,
				EndStream: endStream, EndHeaders: len(block) == 0})
			first = false
		} else {
			err = c.fr.WriteContinuation(id, len(block) == 0, frag)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
