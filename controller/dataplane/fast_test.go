package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// countingUpstream is an httptest server that counts the connections it accepted.
func countingUpstream(t *testing.T, h http.HandlerFunc) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), conns
}

func singleRoute(t testing.TB, addr string) *routing.Table {
	return buildTable(t, 1, nil, route("ns/f", "f.example", "/", routing.PathPrefix, backend("ns/f:80", addr)))
}

func TestFastPathReusesConnections(t *testing.T) {
	addr, conns := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			for i := range 3 {
				io.WriteString(w, strings.Repeat("x", 100*(i+1)))
				http.NewResponseController(w).Flush()
			}
			w.Header().Set("X-Sum", "600")
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		default:
			io.WriteString(w, "hello "+r.Method)
		}
	})
	s := startServer(t, Options{}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for i := range 5 {
		for _, tc := range []struct {
			method, path string
			code         int
			body         string
		}{
			{"GET", "/", 200, "hello GET"},
			{"HEAD", "/", 200, ""},
			{"DELETE", "/", 200, "hello DELETE"},
			{"GET", "/204", 204, ""},
			{"GET", "/304", 304, ""},
			{"GET", "/chunked", 200, strings.Repeat("x", 600)},
		} {
			resp, body := do(t, c, tc.method, "http://f.example"+tc.path, nil, nil)
			if resp.StatusCode != tc.code || body != tc.body {
				t.Fatalf("round %d %s %s: %d %q, want %d %q", i, tc.method, tc.path, resp.StatusCode, body, tc.code, tc.body)
			}
			if tc.path == "/chunked" && resp.Trailer.Get("X-Sum") != "600" {
				t.Errorf("chunked GET lost its trailer: %v", resp.Trailer)
			}
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream accepted %d connections for sequential requests, want 1 (kept alive)", n)
	}
	// "Connection: close" from the upstream: the connection is not pooled.
	do(t, c, "GET", "http://f.example/close", nil, nil)
	if e := getEcholess(t, c, "http://f.example/"); e != "hello GET" {
		t.Fatalf("after a closed connection: %q", e)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("upstream accepted %d connections, want 2 (the closed one replaced once)", n)
	}
}

func getEcholess(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, body := do(t, c, http.MethodGet, url, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, body)
	}
	return body
}

// oneShotUpstream answers one request per connection and closes it without
// announcing "Connection: close", as an upstream whose idle timeout fired does.
func oneShotUpstream(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := new(atomic.Int64)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conn.Close()
				tp := textproto.NewReader(bufio.NewReader(conn))
				if _, err := tp.ReadLine(); err != nil {
					return
				}
				if _, err := tp.ReadMIMEHeader(); err != nil {
					return
				}
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	return ln.Addr().String(), conns
}

func TestFastPathRetriesStaleConnection(t *testing.T) {
	addr, conns := oneShotUpstream(t)
	s := startServer(t, Options{}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for i := range 5 {
		if body := getEcholess(t, c, "http://f.example/"); body != "ok" {
			t.Fatalf("request %d: %q", i, body)
		}
	}
	if n := conns.Load(); n < 5 {
		t.Errorf("upstream saw %d connections for 5 requests, want 5", n)
	}
}

func TestFastPathLargeAndAbandonedBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/small" {
			io.WriteString(w, "small")
			return
		}
		w.Write(big)
	})
	s := startServer(t, Options{}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for range 2 {
		if body := getEcholess(t, c, "http://f.example/big"); sha256.Sum256([]byte(body)) != sha256.Sum256(big) {
			t.Fatalf("1 MiB body corrupted (%d bytes)", len(body))
		}
	}
	// A client that gives up mid-body: the upstream connection must not be
	// reused with unread bytes in it.
	for range 3 {
		resp, err := c.Get("http://f.example/big")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		io.ReadFull(resp.Body, buf)
		resp.Body.Close()
		c.Transport.(*http.Transport).CloseIdleConnections()
	}
	for range 5 {
		if body := getEcholess(t, c, "http://f.example/small"); body != "small" {
			t.Fatalf("after abandoned bodies got %d bytes %.20q, want %q", len(body), body, "small")
		}
	}
}

// TestFastPathClientCancelReachesUpstream: a client that goes away while
// the upstream has not answered ends the upstream request, through the
// listener's connection (the default) or, without a connection limit, the
// request's context (cancelwatch.go).
// Over HTTP/2 the client resets its stream: the native server's stream
// watch (or, on net/http's server, the context) ends the upstream request.
func TestFastPathClientCancelReachesUpstream(t *testing.T) {
	for name, opts := range map[string]Options{"limitConn": {}, "context": {MaxConnections: -1}} {
		t.Run(name, func(t *testing.T) { testClientCancelReachesUpstream(t, opts, false) })
	}
	for _, m := range h2Modes {
		t.Run("h2 "+m.name, func(t *testing.T) { testClientCancelReachesUpstream(t, Options{NetHTTPH2: m.netHTTP}, true) })
	}
}

func testClientCancelReachesUpstream(t *testing.T, opts Options, h2 bool) {
	entered, canceled := make(chan struct{}), make(chan struct{})
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	})
	s := startServer(t, opts, singleRoute(t, addr))
	c, url := clientTo(t, s.HTTPAddr(), nil), "http://f.example/slow"
	if h2 {
		c, url = h2Client(t, s.HTTPSAddr(), false), "https://f.example/slow"
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not canceled after the client went away")
	}
	if err := <-errc; err == nil {
		t.Error("canceled client request succeeded")
	}
}

func TestEarlyHintsForwarded(t *testing.T) {
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	})
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, addr))
		c := clientTo(t, s.HTTPAddr(), nil)
		var got []int
		var link string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, code)
			link = h.Get("Link")
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodGet, "http://f.example/", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "final" || len(got) != 1 || got[0] != 103 ||
			link != "</style.css>; rel=preload" {
			t.Errorf("fast=%v: %d %q, informational %v Link %q, want 103 then 200", fast, resp.StatusCode, body, got, link)
		}
	}
}

func TestResponseHeaderTimeoutIs504(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	s := startServer(t, Options{ResponseHeaderTimeout: 100 * time.Millisecond}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, method := range []string{http.MethodGet, http.MethodPost} { // fast path, then http.Transport
		resp, body := do(t, c, method, "http://f.example/", strings.NewReader(""), nil)
		if resp.StatusCode != http.StatusGatewayTimeout || body != "upstream timeout\n" {
			t.Errorf("%s: %d %q, want 504 upstream timeout", method, resp.StatusCode, body)
		}
	}
}

func TestFastPathPoolsOnlyCleanConnections(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)
	addr, conns := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	ft := &fastTransport{dialer: &net.Dialer{}, maxIdlePerHost: 4, idleTimeout: time.Minute, bufSize: 4096}
	var p connPool
	idle := func() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.idle) }
	send := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		resp, err := ft.roundTrip(&fastReq{in: req, addr: addr}, &p)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	resp := send()
	if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != int64(len(big)) {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	resp.Body.Close()
	if idle() != 1 {
		t.Fatalf("%d idle connections after a complete body, want 1", idle())
	}

	resp = send() // reuses the pooled connection
	io.ReadFull(resp.Body, make([]byte, 10))
	resp.Body.Close()
	if idle() != 0 {
		t.Errorf("%d idle connections after an abandoned body, want 0", idle())
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream accepted %d connections, want 1", n)
	}
	p.sweep(0, true)
}

func TestFastPathDropsConnectionWithExtraBytes(t *testing.T) {
	addr := rawUpstreamFunc(t, func(_ int64, conn net.Conn, br *bufio.Reader) {
		tp := textproto.NewReader(br)
		for {
			if _, err := tp.ReadLine(); err != nil {
				return
			}
			if _, err := tp.ReadMIMEHeader(); err != nil {
				return
			}
			// A body longer than announced: the rest must not be read
			// as the next response.
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 500 Bogus\r\n\r\n")
		}
	})
	s := startServer(t, Options{}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for i := range 3 {
		if body := getEcholess(t, c, "http://f.example/"); body != "ok" {
			t.Fatalf("request %d: %q", i, body)
		}
	}
}
