package dataplane

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// BenchmarkProxy measures one keep-alive GET through the data plane, with
// parallel clients. Client and upstream are minimal raw-socket loops (no
// net/http) so that ns/op and allocs/op are mostly the proxy's own; "direct"
// is the same client against the upstream without the proxy, measured in the
// same run. "fast" is the default upstream path, served by the connection
// loop (h1loop.go); "fast-nethttp" the same with net/http's server
// (Options.DisableConnLoop); "transport" forces
// http.Transport (Options.DisableFastPath); "fast-policy" is "fast" on a
// route with an annotation Policy.
func BenchmarkProxy(b *testing.B) {
	up := rawUpstream(b)
	table := buildTable(b, 1, nil,
		route("ns/bench", "bench.example", "/", routing.PathPrefix, backend("ns/bench:80", up)))
	fast := startServer(b, Options{}, table)
	noLoop := startServer(b, Options{DisableConnLoop: true}, table)
	slow := startServer(b, Options{DisableFastPath: true}, table)
	// The same route with an annotation Policy (source range, rewrite,
	// upstream-vhost): the cost of the policy branch.
	pol := policy(b, "whitelist-source-range", "127.0.0.0/8", "rewrite-target", "/y",
		"upstream-vhost", "internal.example")
	pr := policyRoute("ns/bench", "bench.example", "/", backend("ns/bench:80", up), pol)
	pr.Rewrite = rewrite(b, "/", "/y")
	withPolicy := startServer(b, Options{}, buildTable(b, 1, nil, pr))
	// The bench's policy scenario (bench/goalcases.go): a regular-expression
	// path rewritten to its second group, CORS, and a rate limit above the
	// load, requested with an Origin.
	bp := policyRoute("ns/bench", "bench.example", "/app(/|$)(.*)", backend("ns/bench:80", up),
		policy(b, "use-regex", "true", "rewrite-target", "/$2", "enable-cors", "true", "limit-rps", "100000"))
	bp.PathType = routing.PathImplementationSpecific
	bp.Rewrite = rewrite(b, bp.Path, "/$2")
	bp.Regex = bp.Rewrite.Regex
	benchPolicy := startServer(b, Options{}, buildTable(b, 1, nil, bp))
	b.Logf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0))

	const get = "GET /x HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\n\r\n"
	for _, tc := range []struct{ name, addr, req string }{
		{"direct", up, get},
		{"fast", fast.HTTPAddr(), get},
		{"fast-nethttp", noLoop.HTTPAddr(), get},
		{"transport", slow.HTTPAddr(), get},
		{"fast-policy", withPolicy.HTTPAddr(), get},
		{"fast-bench-policy", benchPolicy.HTTPAddr(), "GET /app/bench HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nOrigin: https://app.bench.test\r\n\r\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			runRaw(b, tc.addr, []byte(tc.req))
		})
	}
}

// BenchmarkProxyPost is BenchmarkProxy for a POST with a 4 KiB body (the
// issue 13 goal case): "fast" in the connection loop, "fast-nethttp" under
// net/http's server, and "transport" through ReverseProxy and
// http.Transport (Options.DisableFastPath), where every body went before
// bodies of declared length took the fast path.
func BenchmarkProxyPost(b *testing.B) {
	up := rawUpstream(b)
	table := buildTable(b, 1, nil,
		route("ns/bench", "bench.example", "/", routing.PathPrefix, backend("ns/bench:80", up)))
	body := bytes.Repeat([]byte("p"), 4096)
	req := append([]byte("POST /x HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nContent-Type: application/octet-stream\r\nContent-Length: 4096\r\n\r\n"), body...)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"fast", Options{}},
		{"fast-nethttp", Options{DisableConnLoop: true}},
		{"transport", Options{DisableFastPath: true}},
	} {
		s := startServer(b, tc.opts, table)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			runRaw(b, s.HTTPAddr(), req)
		})
	}
}

// runRaw sends req over 16 × GOMAXPROCS keep-alive connections to addr
// (like wrk -c 32 on 2 cores), one response read per request.
func runRaw(b *testing.B, addr string, req []byte) {
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		for pb.Next() {
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			if err := readRawResponse(br); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

var rawBody = []byte("hello from upstream\n")

// rawUpstream serves a fixed 200 response per request (its body, of
// Content-Length, discarded), keep-alive.
func rawUpstream(b *testing.B) string {
	b.Helper()
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(rawBody)) + "\r\n\r\n" + string(rawBody))
	return rawUpstreamFunc(b, func(_ int64, conn net.Conn, br *bufio.Reader) {
		for {
			n := 0
			for { // request head, then a body of Content-Length
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) <= 2 {
					break
				}
				if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
					n, _ = strconv.Atoi(string(bytes.TrimSpace(line[len(contentLength):])))
				}
			}
			if _, err := br.Discard(n); err != nil {
				return
			}
			if _, err := conn.Write(resp); err != nil {
				return
			}
		}
	})
}

var contentLength = []byte("content-length:")

// readRawResponse reads one response with a Content-Length body.
func readRawResponse(br *bufio.Reader) error {
	status := true
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if status {
			if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
				return &badStatus{string(line)}
			}
			status = false
			continue
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			n, err = strconv.Atoi(string(bytes.TrimSpace(line[len(contentLength):])))
			if err != nil {
				return err
			}
		}
	}
	if n < 0 {
		return &badStatus{"no Content-Length"}
	}
	_, err := br.Discard(n)
	return err
}

type badStatus struct{ s string }

func (e *badStatus) Error() string { return "unexpected response: " + e.s }

// BenchmarkServeHTTPNoUpstream measures the data plane's own 404 path
// (table load, Match, metrics, answer) without sockets.
func BenchmarkServeHTTPNoUpstream(b *testing.B) {
	table := buildTable(b, 1, nil,
		route("ns/a", "a.example", "/api", routing.PathPrefix, backend("ns/a:80", "127.0.0.1:1")))
	s, err := New(Options{Logger: testLogger(b), DisableHTTPS: true, Metrics: metrics.New()})
	if err != nil {
		b.Fatal(err)
	}
	s.Publish(table)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "http://a.example/other/path", nil)
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			s.ServeHTTP(w, req)
			if w.code != http.StatusNotFound {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

var _ io.Writer = (*discardWriter)(nil)

// BenchmarkProxyTLS measures one keep-alive GET over TLS through the data
// plane (the issue 13 TLS goal cases) with net/http's client: "h1" over
// HTTP/1.1 connections (the connection loop), "h2" multiplexed on one
// HTTP/2 connection (the native HTTP/2 server), "h2-nethttp" the same
// through net/http's HTTP/2 server (Options.NetHTTPH2), "h2-256" the
// native server with 256 requests in flight (the bench's largest h2
// sweep step that is not overload: two connections, as the client opens
// a second one past 250 streams). The client's cost
// is in ns/op too; compare them, or profile the server's frames.
func BenchmarkProxyTLS(b *testing.B) {
	up := rawUpstream(b)
	table := buildTable(b, 1, nil, route("ns/bench", "bench.example", "/", routing.PathPrefix, backend("ns/bench:80", up)))
	for _, tc := range []struct {
		name    string
		h2      bool
		netHTTP bool
		streams int // concurrent requests; 0: 16 per P
	}{{"h1", false, false, 0}, {"h2", true, false, 0}, {"h2-nethttp", true, true, 0}, {"h2-256", true, false, 256}} {
		b.Run(tc.name, func(b *testing.B) {
			s := startServer(b, Options{NetHTTPH2: tc.netHTTP}, table)
			c := clientTo(b, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true, ServerName: "bench.example"}) //nolint:gosec // test
			c.Transport.(*http.Transport).ForceAttemptHTTP2 = tc.h2
			c.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			b.ReportAllocs()
			b.SetParallelism(16)
			if tc.streams > 0 {
				b.SetParallelism(max(1, tc.streams/runtime.GOMAXPROCS(0)))
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Get("https://bench.example/x")
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || (resp.ProtoMajor == 2) != tc.h2 {
						b.Errorf("%s %d", resp.Proto, resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
