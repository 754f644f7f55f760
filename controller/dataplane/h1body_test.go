package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"testing"
)

// FuzzLoopParse holds the connection loop's request parser to net/http's:
// any head the loop takes (parse ok), http.ReadRequest must take too, with
// the same method, target, Host, header fields, Content-Length and close,
// and the body the loop reads must be the one net/http reads. What the
// loop does not take goes to net/http anyway (handoff).
func FuzzLoopParse(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
		"POST /p?q=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc",
		"PUT /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 03\r\nConnection: close\r\n\r\nabcdef",
		"PATCH /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: +3\r\n\r\nabc",
		"POST /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 1\r\n\r\nx",
		"DELETE /p HTTP/1.1\r\nHost: a.example\r\nContent-Length: 99999999999999999999\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &h1conn{l: &h1loop{s: &Server{fastBodyMax: 32 << 10}}, hdr: http.Header{}}
		c.base = (&http.Request{}).WithContext(context.Background())
		c.br = bufio.NewReaderSize(bytes.NewReader(data), loopHeadSize)
		if _, err := c.br.Peek(1); err != nil {
			return
		}
		r, ok := c.parse("192.0.2.1:1234")
		if !ok {
			return
		}
		_, _ = c.br.Discard(c.headLen)
		var loopBody []byte
		if r.ContentLength > 0 {
			loopBody, _ = io.ReadAll(r.Body)
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("the loop took a head net/http refuses (%v): %q", err, data)
		}
		wantBody, _ := io.ReadAll(want.Body)
		gh, wh := maps.Clone(r.Header), maps.Clone(want.Header)
		delete(wh, "Host")
		if r.Method != want.Method || r.URL.String() != want.URL.String() || r.RequestURI != want.RequestURI || r.Host != want.Host ||
			!equalHeaders(gh, wh) || r.ContentLength != want.ContentLength || r.Close != want.Close || !bytes.Equal(loopBody, wantBody) {
			t.Fatalf("the loop and net/http read %q differently:\nloop:     %s %s host=%q cl=%d close=%v %v body=%q\nnet/http: %s %s host=%q cl=%d close=%v %v body=%q",
				data, r.Method, r.URL, r.Host, r.ContentLength, r.Close, gh, loopBody,
				want.Method, want.URL, want.Host, want.ContentLength, want.Close, wh, wantBody)
		}
	})
}
