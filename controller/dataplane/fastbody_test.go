package dataplane

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestFastPathBodies: request bodies of declared length up to BufferSize
// take the fast path (one pooled upstream connection for all of them,
// from fresh client connections) and arrive whole with their
// Content-Length, across the sizes where the head and body fill the
// upstream buffer exactly, spill over it, or are written past it before
// the exchange; a body one byte over the bound takes the ReverseProxy
// path and arrives whole too.
func TestFastPathBodies(t *testing.T) {
	addr, conns := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(b)
		fmt.Fprintf(w, "%s %s %d %s", r.Method, r.Header.Get("Content-Length"), len(b), hex.EncodeToString(sum[:8]))
	})
	const bound = 32 << 10
	s := startServer(t, Options{BufferSize: bound}, singleRoute(t, addr))
	check := func(method string, n int) {
		t.Helper()
		body := strings.Repeat("0123456789abcdef", n/16+1)[:n]
		sum := sha256.Sum256([]byte(body))
		want := fmt.Sprintf("%s %d %d %s", method, n, n, hex.EncodeToString(sum[:8]))
		c := clientTo(t, s.HTTPAddr(), nil) // a new client connection each time
		resp, got := do(t, c, method, "http://f.example/up", strings.NewReader(body), nil)
		if resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("%s of %d bytes: %d %q, want %q", method, n, resp.StatusCode, got, want)
		}
	}
	for range 3 {
		for _, n := range []int{1, 3800, 3900, 4096, 8000, 8192, 8300, 16 << 10, bound} {
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
				check(m, n)
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream accepted %d connections for sequential requests, want 1 (the fast path's pool)", n)
	}
	check(http.MethodPost, bound+1)
	if n := conns.Load(); n != 2 {
		t.Errorf("upstream accepted %d connections, want 2 (http.Transport's for the body over the bound)", n)
	}
}

// rawUpstreamFunc accepts connections and runs serve on each (n counts
// them from 1) with a reader positioned at its first request, closing the
// connection after; it returns the address.
func rawUpstreamFunc(t testing.TB, serve func(n int64, conn net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(n.Add(1), conn, bufio.NewReader(conn))
			}()
		}
	}()
	return ln.Addr().String()
}

// readRequestHead reads one request head and returns its Content-Length.
func readRequestHead(br *bufio.Reader) (int, error) {
	tp := textproto.NewReader(br)
	if _, err := tp.ReadLine(); err != nil {
		return 0, err
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return 0, err
	}
	if v := h.Get("Content-Length"); v != "" {
		return strconv.Atoi(v)
	}
	return 0, nil
}

// TestFastPathEarlyAnswer: an upstream that answers as soon as it has the
// head, before it reads the body (413 to an upload), on a reused
// connection, with a body longer than the upstream buffer, so that part
// of the request goes out before the exchange: the answer is read at
// once, not left waiting for a readiness that was reset before the rest
// of the body was sent (the wait would end at ResponseHeaderTimeout, 504).
func TestFastPathEarlyAnswer(t *testing.T) {
	addr := rawUpstreamFunc(t, func(_ int64, conn net.Conn, br *bufio.Reader) {
		for {
			n, err := readRequestHead(br)
			if err != nil {
				return
			}
			if n == 0 {
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				continue
			}
			io.WriteString(conn, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!")
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return
			}
		}
	})
	s := startServer(t, Options{ResponseHeaderTimeout: 3 * time.Second}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for i := range 5 {
		if resp, got := do(t, c, http.MethodGet, "http://f.example/", nil, nil); resp.StatusCode != http.StatusOK || got != "ok" {
			t.Fatalf("GET %d: %d %q", i, resp.StatusCode, got)
		}
		start := time.Now()
		resp, got := do(t, c, http.MethodPost, "http://f.example/upload", strings.NewReader(strings.Repeat("x", 20<<10)), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || got != "big!" {
			t.Fatalf("POST %d: %d %q after %v, want the upstream's early 413", i, resp.StatusCode, got, time.Since(start))
		}
	}
}

// TestFastPathReplaysOnlyIdempotent: a reused upstream connection that the
// upstream closes after reading a request, without answering: a PUT (with
// its body, read whole) is sent again on a new connection and succeeds, a
// POST is not sent twice and gets 502 (as http.Transport decides), and a
// POST with an Idempotency-Key is sent again.
func TestFastPathReplaysOnlyIdempotent(t *testing.T) {
	var seen atomic.Int64
	addr := rawUpstreamFunc(t, func(_ int64, conn net.Conn, br *bufio.Reader) {
		for served := 0; ; served++ {
			n, err := readRequestHead(br)
			if err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return
			}
			if n > 0 {
				seen.Add(1)
			}
			if served == 1 {
				return // the second request on a connection: closed unanswered
			}
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	s := startServer(t, Options{}, singleRoute(t, addr))
	for _, tc := range []struct {
		method string
		hdr    http.Header
		code   int
		sends  int64
	}{
		{http.MethodPut, nil, http.StatusOK, 2},
		{http.MethodPost, nil, http.StatusBadGateway, 1},
		{http.MethodPost, http.Header{"Idempotency-Key": {"k"}}, http.StatusOK, 2},
	} {
		c := clientTo(t, s.HTTPAddr(), nil)
		// One answered request leaves the connection pooled; the next
		// request with a body reuses it.
		if resp, _ := do(t, c, http.MethodGet, "http://f.example/", nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET: %d", resp.StatusCode)
		}
		before := seen.Load()
		resp, _ := do(t, c, tc.method, "http://f.example/", strings.NewReader("payload"), tc.hdr)
		if resp.StatusCode != tc.code || seen.Load()-before != tc.sends {
			t.Errorf("%s %v on a connection closed unanswered: %d, sent %d times; want %d, %d", tc.method, tc.hdr,
				resp.StatusCode, seen.Load()-before, tc.code, tc.sends)
		}
	}
}

// TestConnLoopBodies: the connection loop serves requests with a body of
// declared length itself: a body that arrives in pieces after its head,
// pipelined requests with bodies in one write, and a body the answer does
// not read (proxy-body-size's 413) which is discarded so that the next
// request on the connection is served; a body cut short by the client's
// close reaches no upstream.
func TestConnLoopBodies(t *testing.T) {
	up := newEcho(t, "up")
	table := buildTable(t, 1, nil,
		route("ns/f", "f.example", "/", routing.PathPrefix, backend("ns/f:80", up.addr())),
		policyRoute("ns/small", "small.example", "/", backend("ns/f:80", up.addr()), policy(t, "proxy-body-size", "10")))
	var served atomic.Int64
	s := startServer(t, Options{loopServed: func() { served.Add(1) }}, table)
	post := func(host, body string) string {
		return "POST /b HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	echoedBody := func(i int, raw string) string {
		var e echoed
		if err := jsonUnmarshal(raw, &e); err != nil {
			t.Fatalf("response %d: %v: %q", i, err, raw)
		}
		return e.Body
	}

	// In pieces: the head, then the body in three writes.
	c := rawConn(t, "127.0.0.1", s.HTTPAddr())
	br := bufio.NewReader(c)
	io.WriteString(c, "PUT /b HTTP/1.1\r\nHost: f.example\r\nContent-Length: 9\r\n\r\n")
	for _, part := range []string{"abc", "def", "ghi"} {
		time.Sleep(5 * time.Millisecond) //nolint:forbidigo // the client sends its body slowly, on purpose
		io.WriteString(c, part)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || echoedBody(0, string(b)) != "abcdefghi" {
		t.Errorf("body in pieces: %d %q", resp.StatusCode, b)
	}
	c.Close()

	// Pipelined, and a body the 413 leaves unread.
	before := served.Load()
	raw := post("f.example", "one") + post("small.example", strings.Repeat("z", 5000)) + post("f.example", strings.Repeat("3", 4000))
	resps, bodies := rawResponses(t, s.HTTPAddr(), raw, "POST", "POST", "POST")
	if resps[0].StatusCode != 200 || echoedBody(0, bodies[0]) != "one" || resps[1].StatusCode != http.StatusRequestEntityTooLarge ||
		resps[2].StatusCode != 200 || echoedBody(2, bodies[2]) != strings.Repeat("3", 4000) || resps[1].Close {
		t.Errorf("pipelined: %d %d %d (close after the 413: %v)", resps[0].StatusCode, resps[1].StatusCode, resps[2].StatusCode, resps[1].Close)
	}
	if n := served.Load() - before; n != 3 {
		t.Errorf("the loop served %d, want 3", n)
	}

	// Cut short: the client closes before the declared end.
	hits := up.hits.Load()
	c = rawConn(t, "127.0.0.1", s.HTTPAddr())
	io.WriteString(c, "POST /b HTTP/1.1\r\nHost: f.example\r\nContent-Length: 100\r\n\r\nonly this")
	c.(*net.TCPConn).CloseWrite()
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body cut short: %d, want 400 or no answer", resp.StatusCode)
	}
	c.Close()
	if up.hits.Load() != hits {
		t.Errorf("a body cut short reached the upstream")
	}
}
