package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// rawConn dials the data plane from the local address from (127.0.0.x).
func rawConn(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second)) // upper bound
	return c
}

// rawRoundTrip sends one keep-alive GET on c and returns the status, or
// the error when the connection was closed instead.
func rawRoundTrip(c net.Conn, br *bufio.Reader) (int, error) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: f.example\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestConnectionLimits: connections beyond the per-client limit are closed
// while another client still gets served, and the global limit holds for
// all clients together.
func TestConnectionLimits(t *testing.T) {
	up := newEcho(t, "up")
	s := startServer(t, Options{MaxConnections: 3, MaxConnectionsPerClient: 2}, singleRoute(t, up.addr()))
	addr := s.HTTPAddr()
	var held []net.Conn
	for range 2 {
		c := rawConn(t, "127.0.0.1", addr)
		if code, err := rawRoundTrip(c, bufio.NewReader(c)); err != nil || code != 200 {
			t.Fatalf("connection within the limit: %d %v", code, err)
		}
		held = append(held, c)
	}
	c := rawConn(t, "127.0.0.1", addr)
	if code, err := rawRoundTrip(c, bufio.NewReader(c)); err == nil {
		t.Errorf("third connection of one client served (%d), want it closed", code)
	}
	other := rawConn(t, "127.0.0.2", addr)
	if code, err := rawRoundTrip(other, bufio.NewReader(other)); err != nil || code != 200 {
		t.Errorf("another client while the first is at its limit: %d %v, want 200", code, err)
	}
	third := rawConn(t, "127.0.0.3", addr) // 4th connection in all
	if code, err := rawRoundTrip(third, bufio.NewReader(third)); err == nil {
		t.Errorf("connection over the global limit served (%d), want it closed", code)
	}
	// A closed connection gives its slot back.
	held[0].Close()
	waitFor(t, "the closed connection's slot", func() bool {
		c := rawConn(t, "127.0.0.1", addr)
		defer c.Close()
		code, err := rawRoundTrip(c, bufio.NewReader(c))
		return err == nil && code == 200
	})
}

// TestClientBodyTimeout: a request body that stalls longer than
// ClientBodyTimeout is answered 408 and its connection closed; one that
// keeps coming, however slowly, is not cut.
func TestClientBodyTimeout(t *testing.T) {
	up := newEcho(t, "up")
	s := startServer(t, Options{ClientBodyTimeout: 300 * time.Millisecond}, singleRoute(t, up.addr()))
	for name, head := range map[string]string{
		"content-length": "POST / HTTP/1.1\r\nHost: f.example\r\nContent-Length: 10\r\n\r\nabc",
		"chunked":        "POST / HTTP/1.1\r\nHost: f.example\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
	} {
		c := rawConn(t, "127.0.0.1", s.HTTPAddr())
		start := time.Now()
		io.WriteString(c, head) // and nothing more
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%s: stalled body answered %d after %v, want 408", name, resp.StatusCode, time.Since(start))
		}
		if _, err := br.Peek(1); err != io.EOF {
			t.Errorf("%s: connection still open after 408 (%v)", name, err)
		}
	}
	// 10 bytes, one every 50ms: 500ms in all, never 300ms without one.
	c := rawConn(t, "127.0.0.1", s.HTTPAddr())
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: f.example\r\nContent-Length: 10\r\n\r\n")
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range 10 {
		<-tick.C
		io.WriteString(c, "x")
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("slow but steady body: %v %v, want 200", resp, err)
	}
}
