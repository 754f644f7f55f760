package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// loopServer starts a server whose connection loop counts what it serves.
func loopServer(t *testing.T, opts Options, addr string) (*Server, *atomic.Int64) {
	t.Helper()
	n := new(atomic.Int64)
	opts.loopServed = func() { n.Add(1) }
	return startServer(t, opts, singleRoute(t, addr)), n
}

// rawResponses writes raw to addr on a new connection and reads one
// response per method given (HEAD responses have no body).
func rawResponses(t *testing.T, addr, raw string, methods ...string) ([]*http.Response, []string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return rawOn(t, c, raw, methods...)
}

// rawFinals sends raw on a new connection and reads n final responses
// (1xx ones are skipped) to GET requests.
func rawFinals(t *testing.T, addr, raw string, n int) []*http.Response {
	t.Helper()
	c, br := dialLoop(t, addr)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	var resps []*http.Response
	for len(resps) < n {
		if resp, _ := readResponse(t, br); resp.StatusCode >= 200 {
			resps = append(resps, resp)
		}
	}
	return resps
}

// rawTLSResponses is rawResponses over TLS (HTTP/1.1 by ALPN).
func rawTLSResponses(t *testing.T, addr, raw string, methods ...string) ([]*http.Response, []string) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec // a test server's generated certificate
	if err != nil {
		t.Fatal(err)
	}
	return rawOn(t, c, raw, methods...)
}

func rawOn(t *testing.T, c net.Conn, raw string, methods ...string) ([]*http.Response, []string) {
	t.Helper()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var resps []*http.Response
	var bodies []string
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d of %q: %v", len(resps)+1, raw, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("body %d of %q: %v", len(resps)+1, raw, err)
		}
		resps, bodies = append(resps, resp), append(bodies, string(b))
	}
	return resps, bodies
}

// dialLoop opens a raw connection to addr with a 10 s deadline.
func dialLoop(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readResponse reads one response with its body.
func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func variedUpstream(w http.ResponseWriter, r *http.Request) {
	f, _ := w.(http.Flusher)
	switch r.URL.Path {
	case "/cl":
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		io.WriteString(w, "hello")
	case "/chunked":
		io.WriteString(w, "part one,")
		f.Flush()
		io.WriteString(w, "part two")
	case "/big":
		io.WriteString(w, strings.Repeat("x", 10<<10))
	case "/empty":
	case "/204":
		w.WriteHeader(http.StatusNoContent)
	case "/304":
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusNotModified)
	case "/trailers":
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
	case "/undeclared":
		io.WriteString(w, "body")
		f.Flush()
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	case "/599":
		w.WriteHeader(599)
		io.WriteString(w, "odd")
	case "/103":
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	case "/close":
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	case "/sse":
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		f.Flush()
		io.WriteString(w, "data: 2\n\n")
	default:
		io.WriteString(w, "uri="+r.URL.RequestURI())
	}
}

// TestConnLoopMatchesNetHTTP sends the same requests, in plain HTTP and
// over TLS, through the connection loop and through net/http's server
// (Options.DisableConnLoop):
// status, header fields (but Date), framing, body, trailers and whether
// the connection stays open must be the same.
func TestConnLoopMatchesNetHTTP(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	loop, served := loopServer(t, Options{}, addr)
	plain := startServer(t, Options{DisableConnLoop: true}, singleRoute(t, addr))
	for _, tc := range []struct{ method, path, extra, body string }{
		{"GET", "/cl", "", ""}, {"HEAD", "/cl", "", ""}, {"GET", "/chunked", "", ""}, {"GET", "/big", "", ""},
		{"GET", "/empty", "", ""}, {"HEAD", "/empty", "", ""}, {"GET", "/204", "", ""}, {"GET", "/304", "", ""},
		{"GET", "/trailers", "TE: trailers\r\n", ""}, {"GET", "/undeclared", "TE: trailers\r\n", ""},
		{"GET", "/599", "", ""}, {"GET", "/103", "", ""}, {"GET", "/close", "", ""}, {"GET", "/sse", "", ""},
		{"DELETE", "/cl", "Content-Length: 0\r\n", ""}, {"OPTIONS", "/cl?q=1", "", ""},
		{"GET", "/cl", "Connection: close\r\n", ""}, {"GET", "/missing-route", "X: y\r\n", ""},
		// Bodies of declared length: served by the loop, and discarded
		// when the answer does not read them (the missing route's 404).
		{"POST", "/cl", "Content-Length: 5\r\n", "hello"}, {"PUT", "/big", "Content-Length: 100\r\n", strings.Repeat("p", 100)},
		{"PATCH", "/chunked", "Content-Length: 3\r\n", "abc"}, {"POST", "/204", "Content-Length: 0\r\n", ""},
		{"POST", "/missing-route", "Content-Length: 6000\r\n", strings.Repeat("m", 6000)}, {"DELETE", "/103", "Content-Length: 2\r\n", "no"},
	} {
		for _, tls := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s%s/tls=%v", tc.method, tc.path, tls), func(t *testing.T) {
				host := "f.example"
				if tc.path == "/missing-route" {
					host = "nowhere.example"
				}
				raw := tc.method + " " + tc.path + " HTTP/1.1\r\nHost: " + host + "\r\n" + tc.extra + "\r\n" + tc.body
				// The same request again on the same connection: it stays
				// open after a body (read or discarded).
				raw += raw
				methods := []string{tc.method, tc.method}
				if tc.path == "/103" {
					methods = []string{"GET", "GET", "GET", "GET"} // the 103, then the final response
				}
				if tc.extra == "Connection: close\r\n" {
					methods = methods[:1] // the second request is not read
				}
				exchange, loopAddr, plainAddr := rawResponses, loop.HTTPAddr(), plain.HTTPAddr()
				if tls {
					exchange, loopAddr, plainAddr = rawTLSResponses, loop.HTTPSAddr(), plain.HTTPSAddr()
				}
				before := served.Load()
				got, gotBody := exchange(t, loopAddr, raw, methods...)
				if host == "f.example" && served.Load() != before+int64(len(methods)) && tc.path != "/103" {
					t.Errorf("the connection loop served %d requests, want %d", served.Load()-before, len(methods))
				}
				want, wantBody := exchange(t, plainAddr, raw, methods...)
				for i := range got {
					g, w := got[i], want[i]
					gh, wh := maps.Clone(g.Header), maps.Clone(w.Header)
					delete(gh, "Date")
					delete(wh, "Date")
					if g.StatusCode != w.StatusCode || !equalHeaders(gh, wh) || gotBody[i] != wantBody[i] ||
						g.ContentLength != w.ContentLength || strings.Join(g.TransferEncoding, ",") != strings.Join(w.TransferEncoding, ",") ||
						g.Close != w.Close || !equalHeaders(g.Trailer, w.Trailer) {
						t.Errorf("response %d:\nloop:     %d %v cl=%d te=%v close=%v trailer=%v body=%.40q\nnet/http: %d %v cl=%d te=%v close=%v trailer=%v body=%.40q",
							i, g.StatusCode, gh, g.ContentLength, g.TransferEncoding, g.Close, g.Trailer, gotBody[i],
							w.StatusCode, wh, w.ContentLength, w.TransferEncoding, w.Close, w.Trailer, wantBody[i])
					}
					if _, ok := g.Header["Date"]; !ok && g.StatusCode >= 200 {
						t.Errorf("response %d of the loop has no Date", i)
					}
				}
			})
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

// TestConnLoopHandsOver: on one connection, requests the loop does not
// serve itself (a body, HTTP/1.0, a malformed field, a partial head) go
// to net/http with every byte the loop had read, and are answered in
// order; pipelined requests are answered in order.
func TestConnLoopHandsOver(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	s, served := loopServer(t, Options{}, addr)
	get := "GET /cl HTTP/1.1\r\nHost: f.example\r\n\r\n"
	for name, tc := range map[string]struct {
		raw    string
		codes  []int
		served int64
	}{
		"pipelined":        {get + get + get, []int{200, 200, 200}, 3},
		"body in the loop": {get + "POST /cl HTTP/1.1\r\nHost: f.example\r\nContent-Length: 3\r\n\r\nabc" + get, []int{200, 200, 200}, 3},
		"body over bound":  {get + "POST /cl HTTP/1.1\r\nHost: f.example\r\nContent-Length: 32769\r\n\r\n" + strings.Repeat("b", 32769) + get, []int{200, 200, 200}, 1},
		// Whether net/http sends 100 Continue depends on whether the body
		// was read before the answer (the upstream does not read it): the
		// interim responses are not counted (rawFinals).
		"body with expect":   {get + "PUT /cl HTTP/1.1\r\nHost: f.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc" + get, []int{200, 200, 200}, 1},
		"GET with a body":    {get + "GET /cl HTTP/1.1\r\nHost: f.example\r\nContent-Length: 3\r\n\r\nabc" + get, []int{200, 200, 200}, 1},
		"two lengths":        {"POST /cl HTTP/1.1\r\nHost: f.example\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", []int{200}, 0},
		"http/1.0":           {"GET /cl HTTP/1.0\r\nHost: f.example\r\n\r\n", []int{200}, 0}, // then closed (ambiguousFraming)
		"bad field name":     {get + "GET /cl HTTP/1.1\r\nHost: f.example\r\nBad Name: x\r\n\r\n", []int{200, 400}, 1},
		"obsolete folding":   {get + "GET /cl HTTP/1.1\r\nHost: f.example\r\nX-A: 1\r\n 2\r\n\r\n", []int{200, 200}, 1}, // net/http joins it
		"two hosts":          {"GET /cl HTTP/1.1\r\nHost: f.example\r\nHost: g.example\r\n\r\n", []int{400}, 0},
		"no host":            {"GET /cl HTTP/1.1\r\nX: y\r\n\r\n", []int{400}, 0},
		"absolute form":      {"GET http://f.example/cl HTTP/1.1\r\nHost: f.example\r\n\r\n", []int{200}, 0},
		"chunked request":    {"DELETE /cl HTTP/1.1\r\nHost: f.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{200}, 0}, // then closed
		"upgrade":            {"GET /cl HTTP/1.1\r\nHost: f.example\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n", []int{200}, 0},
		"bad content length": {"GET /cl HTTP/1.1\r\nHost: f.example\r\nContent-Length: x\r\n\r\n", []int{400}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			before := served.Load()
			resps := rawFinals(t, s.HTTPAddr(), tc.raw, len(tc.codes))
			for i, r := range resps {
				if r.StatusCode != tc.codes[i] {
					t.Errorf("response %d: %d, want %d", i+1, r.StatusCode, tc.codes[i])
				}
			}
			if n := served.Load() - before; n != tc.served {
				t.Errorf("the loop served %d, want %d", n, tc.served)
			}
		})
	}
}

// TestConnLoopPartialHead: a head that arrives in two writes is served
// by the loop (it reads on until the head is whole); one larger than its
// buffer goes to net/http.
func TestConnLoopPartialHead(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	s, served := loopServer(t, Options{}, addr)
	c, br := dialLoop(t, s.HTTPAddr())
	io.WriteString(c, "GET /cl HTTP/1.1\r\nHo")
	io.WriteString(c, "st: f.example\r\n\r\n")
	if resp, _ := readResponse(t, br); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if served.Load() != 1 {
		t.Errorf("the loop served %d, want 1", served.Load())
	}
	big := "GET /cl HTTP/1.1\r\nHost: f.example\r\nX-Big: " + strings.Repeat("b", loopHeadSize) + "\r\n\r\n"
	io.WriteString(c, big)
	if resp, _ := readResponse(t, br); resp.StatusCode != 200 {
		t.Fatalf("status %d for a large head", resp.StatusCode)
	}
	if served.Load() != 1 {
		t.Errorf("the loop served a head larger than its buffer")
	}
}

// TestConnLoopShutdownClosesIdle: Shutdown closes the loop's idle
// keep-alive connections and returns once they are gone.
func TestConnLoopShutdownClosesIdle(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	s, served := loopServer(t, Options{}, addr)
	c, br := dialLoop(t, s.HTTPAddr())
	io.WriteString(c, "GET /cl HTTP/1.1\r\nHost: f.example\r\n\r\n")
	readResponse(t, br)
	if served.Load() != 1 {
		t.Fatalf("the loop served %d, want 1", served.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the idle connection is still open after Shutdown")
	}
}

// TestConnLoopPolicyRoutes: requests to Policy routes that answer
// themselves or rewrite before the fast proxy are served by the loop,
// exactly as by net/http's server; external auth goes to net/http.
func TestConnLoopPolicyRoutes(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	be := backend("ns/f:80", addr)
	rw := policyRoute("ns/rw", "rw.example", "/", be, policy(t, "rewrite-target", "/y"))
	rw.Rewrite = rewrite(t, "/", "/y")
	table := func() *routing.Table {
		return buildTable(t, 1, nil,
			policyRoute("ns/cors", "cors.example", "/", be, policy(t, "enable-cors", "true")),
			policyRoute("ns/src", "src.example", "/", be, policy(t, "whitelist-source-range", "10.0.0.0/8")),
			policyRoute("ns/redir", "redir.example", "/", be, policy(t, "permanent-redirect", "https://else.example/")),
			policyRoute("ns/basic", "basic.example", "/", be, policy(t, "auth-type", "basic", "auth-secret", "s")),
			policyRoute("ns/auth", "auth.example", "/", be, policy(t, "auth-url", "http://"+addr+"/check")),
			rw)
	}
	n := new(atomic.Int64)
	loop := startServer(t, Options{loopServed: func() { n.Add(1) }}, table())
	plain := startServer(t, Options{DisableConnLoop: true}, table())
	for _, tc := range []struct {
		name, raw string
		loop      bool
	}{
		{"preflight", "OPTIONS /x HTTP/1.1\r\nHost: cors.example\r\nOrigin: https://a.example\r\nAccess-Control-Request-Method: PUT\r\n\r\n", true},
		{"cors get", "GET /x HTTP/1.1\r\nHost: cors.example\r\nOrigin: https://a.example\r\n\r\n", true},
		{"source range", "GET /x HTTP/1.1\r\nHost: src.example\r\n\r\n", true},
		{"redirect", "GET /x?a=b HTTP/1.1\r\nHost: redir.example\r\n\r\n", true},
		{"basic auth", "GET /x HTTP/1.1\r\nHost: basic.example\r\n\r\n", true},
		{"rewrite", "GET /x?q=1 HTTP/1.1\r\nHost: rw.example\r\n\r\n", true},
		{"external auth", "GET /x HTTP/1.1\r\nHost: auth.example\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := n.Load()
			got, gotBody := rawResponses(t, loop.HTTPAddr(), tc.raw, "GET")
			if served := n.Load() - before; served != 0 != tc.loop {
				t.Errorf("the loop served %d requests, want it to serve: %v", served, tc.loop)
			}
			want, wantBody := rawResponses(t, plain.HTTPAddr(), tc.raw, "GET")
			g, w := got[0], want[0]
			delete(g.Header, "Date")
			delete(w.Header, "Date")
			if g.StatusCode != w.StatusCode || !equalHeaders(g.Header, w.Header) || gotBody[0] != wantBody[0] {
				t.Errorf("\nloop:     %d %v %q\nnet/http: %d %v %q", g.StatusCode, g.Header, gotBody[0],
					w.StatusCode, w.Header, wantBody[0])
			}
		})
	}
}

// TestConnLoopTimeouts: the loop closes a connection that sends no head
// within ReadHeaderTimeout, and one idle for IdleTimeout after a request.
func TestConnLoopTimeouts(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	const header, idle = 150 * time.Millisecond, 300 * time.Millisecond
	s, served := loopServer(t, Options{ReadHeaderTimeout: header, IdleTimeout: idle}, addr)
	closedAfter := func(c net.Conn, br *bufio.Reader) time.Duration {
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(10 * time.Second))
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("the server sent a byte instead of closing")
		}
		return time.Since(start)
	}
	c, br := dialLoop(t, s.HTTPAddr())
	if d := closedAfter(c, br); d < header-header/64-10*time.Millisecond || d > 5*time.Second {
		t.Errorf("a silent connection closed after %v, want about ReadHeaderTimeout %v", d, header)
	}

	c2, br2 := dialLoop(t, s.HTTPAddr())
	for range 2 {
		io.WriteString(c2, "GET /cl HTTP/1.1\r\nHost: f.example\r\n\r\n")
		readResponse(t, br2)
	}
	if served.Load() != 2 {
		t.Fatalf("the loop served %d, want 2", served.Load())
	}
	if d := closedAfter(c2, br2); d < idle-idle/64-10*time.Millisecond || d > 5*time.Second {
		t.Errorf("an idle connection closed after %v, want about IdleTimeout %v", d, idle)
	}
}

// TestConnLoopSlowUpstreamWatch: a request whose upstream answers after
// lazyWatchDelay is watched (a background read); the watch ends cleanly:
// the connection serves the next request, and a request the client
// pipelined while the watch read is answered in order.
func TestConnLoopSlowUpstreamWatch(t *testing.T) {
	release := make(chan struct{})
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "uri="+r.URL.Path)
	})
	s, served := loopServer(t, Options{}, addr)
	c, br := dialLoop(t, s.HTTPAddr())
	read := func(want string) {
		t.Helper()
		if _, b := readResponse(t, br); b != want {
			t.Fatalf("body %q, want %q", b, want)
		}
	}
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: f.example\r\n\r\n")
	// The watch starts once the upstream took lazyWatchDelay.
	waitFor(t, "the watch to start", func() bool { return s.loop.watches.Load() == 1 })
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: f.example\r\n\r\n")
	close(release)
	read("uri=/slow")
	read("uri=/next")
	io.WriteString(c, "GET /third HTTP/1.1\r\nHost: f.example\r\n\r\n")
	read("uri=/third")
	if served.Load() != 3 {
		t.Errorf("the loop served %d of 3", served.Load())
	}
}

// TestConnLoopTLS: over TLS the loop serves HTTP/1.1 with Request.TLS set;
// HTTP/2 goes to net/http at once; an HTTP/1.1 connection handed over
// after a read keeps its TLS state (X-Forwarded-Proto https); plain HTTP
// on the TLS port gets net/http's 400.
func TestConnLoopTLS(t *testing.T) {
	addr, _ := countingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Method+" "+r.Header.Get("X-Forwarded-Proto")+" "+r.Header.Get("X-Forwarded-Port"))
	})
	s, served := loopServer(t, Options{}, addr)
	_, port, _ := net.SplitHostPort(s.HTTPSAddr())
	get := "GET /x HTTP/1.1\r\nHost: f.example\r\n\r\n"
	post := "POST /x HTTP/1.1\r\nHost: f.example\r\nContent-Length: 2\r\n\r\nhi"
	resps, bodies := rawTLSResponses(t, s.HTTPSAddr(), get+post+get, "GET", "POST", "GET")
	for i, want := range []string{"GET https " + port, "POST https " + port, "GET https " + port} {
		if resps[i].StatusCode != 200 || bodies[i] != want {
			t.Errorf("response %d: %d %q, want 200 %q", i+1, resps[i].StatusCode, bodies[i], want)
		}
	}
	if served.Load() != 3 {
		t.Errorf("the loop served %d, want 3 (a body of declared length too)", served.Load())
	}

	c := clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a test server's generated certificate
	resp, body := do(t, c, "GET", "https://f.example/x", nil, nil)
	if resp.ProtoMajor != 2 || body != "GET https "+port {
		t.Errorf("HTTP/2: %s %q", resp.Proto, body)
	}
	if served.Load() != 3 {
		t.Errorf("the loop served an HTTP/2 request")
	}

	resps, bodies = rawResponses(t, s.HTTPSAddr(), get, "GET")
	if resps[0].StatusCode != 400 || !strings.Contains(bodies[0], "HTTP request to an HTTPS server") {
		t.Errorf("plain HTTP on the TLS port: %d %q", resps[0].StatusCode, bodies[0])
	}
}

// TestConnLoopLateExchange: a short wait that has passed before the
// exchange with the upstream even began (the request's goroutine
// scheduled late; here a delay of 0) is not a timeout: the request is
// sent, watched and answered.
func TestConnLoopLateExchange(t *testing.T) {
	addr, _ := countingUpstream(t, variedUpstream)
	s := startServer(t, Options{lazyWatchDelay: -1}, singleRoute(t, addr))
	c, br := dialLoop(t, s.HTTPAddr())
	for range 20 {
		io.WriteString(c, "GET /cl HTTP/1.1\r\nHost: f.example\r\n\r\n")
		if resp, body := readResponse(t, br); resp.StatusCode != 200 || body != "hello" {
			t.Fatalf("%d %q, want 200 hello", resp.StatusCode, body)
		}
	}
	if s.loop.watches.Load() == 0 {
		t.Error("no request was watched")
	}
}

// TestConnLoopSlowResponseHead: a response head whose end, or whose final
// head after a 103, comes after the short wait is still read whole (not
// a 504).
func TestConnLoopSlowResponseHead(t *testing.T) {
	const pause = 30 * time.Millisecond // the upstream's, longer than the delay below
	addr := rawUpstreamFunc(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/103" {
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
			} else {
				io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			}
			time.Sleep(pause) //nolint:forbidigo // the slow upstream under test
			rest := "Content-Length: 2\r\n\r\nok"
			if req.URL.Path == "/103" {
				rest = "HTTP/1.1 200 OK\r\n" + rest
			}
			io.WriteString(c, rest)
		}
	})
	s := startServer(t, Options{lazyWatchDelay: 5 * time.Millisecond}, singleRoute(t, addr))
	c, br := dialLoop(t, s.HTTPAddr())
	for _, path := range []string{"/split", "/103", "/split"} {
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: f.example\r\n\r\n")
		resp, body := readResponse(t, br)
		if path == "/103" {
			if resp.StatusCode != 103 {
				t.Fatalf("%s: %d, want the 103 first", path, resp.StatusCode)
			}
			resp, body = readResponse(t, br)
		}
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%s: %d %q, want 200 ok", path, resp.StatusCode, body)
		}
	}
}
