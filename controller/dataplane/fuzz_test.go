package dataplane

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// scriptedUpstream answers the first request for /fuzz on each connection
// with the bytes of the current fuzz input, written as they are, and every
// other request with a well-formed response naming its path. A connection
// stays open after the fuzz bytes, so whatever the proxy leaves unread on it
// is there for the next request that reuses it.
type scriptedUpstream struct {
	ln net.Listener
	mu sync.Mutex
	// raw is the fuzz response.
	raw []byte
}

func newScriptedUpstream(tb testing.TB) *scriptedUpstream {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	u := &scriptedUpstream{ln: ln}
	go u.serve()
	tb.Cleanup(func() { ln.Close() })
	return u
}

func (u *scriptedUpstream) set(raw []byte) {
	u.mu.Lock()
	u.raw = raw
	u.mu.Unlock()
}

func (u *scriptedUpstream) serve() {
	for {
		conn, err := u.ln.Accept()
		if err != nil {
			return
		}
		go u.conn(conn)
	}
}

func (u *scriptedUpstream) conn(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if req.URL.Path == "/fuzz" {
			u.mu.Lock()
			raw := u.raw
			u.mu.Unlock()
			if _, err := conn.Write(raw); err != nil {
				return
			}
			continue
		}
		body := "good:" + req.URL.Path
		if _, err := fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
			return
		}
	}
}

// FuzzFastPathResponse sends a bodiless GET through the fast upstream path
// to an upstream that answers with arbitrary bytes, then a second GET from
// another client. Whatever the first answer was (garbage, a truncated or
// oversized head, bad framing, extra responses, bytes after the body), the
// proxy must not crash or hang, and the second client must get its own
// response: never bytes the upstream sent for the first request.
func FuzzFastPathResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk",
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	up := newScriptedUpstream(f)
	// The logger must not write through f: the fuzz function may not call
	// F's methods.
	s := startServer(f, Options{ResponseHeaderTimeout: 300 * time.Millisecond, MaxResponseHeaderBytes: 4 << 10, Logger: slog.New(slog.DiscardHandler)},
		singleRoute(f, up.ln.Addr().String()))
	client := &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, DialContext: dialTo(s.HTTPAddr())},
	}
	get := func(path string) (*http.Response, string, error) {
		resp, err := client.Get("http://f.example" + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	n := 0
	f.Fuzz(func(t *testing.T, raw []byte) {
		up.set(raw)
		// The first answer may be anything, or nothing within the client's
		// timeout: only the proxy's survival and the next answer count.
		_, _, _ = get("/fuzz")
		n++
		for i := range 2 {
			p := fmt.Sprintf("/good-%d-%d", n, i)
			resp, body, err := get(p)
			if err != nil {
				t.Fatalf("after the fuzz response %q: GET %s: %v", raw, p, err)
			}
			if resp.StatusCode != http.StatusOK || body != "good:"+p {
				t.Fatalf("after the fuzz response %q: GET %s got %d %q, want 200 %q (a response meant for another request)",
					raw, p, resp.StatusCode, truncate(body, 200), "good:"+p)
			}
		}
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// dialTo returns a DialContext that connects to addr whatever the URL says.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}
