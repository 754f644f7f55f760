package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// TestPolicySendTimeout: an upload that stalls for longer than
// proxy-send-timeout is answered 504; one that keeps flowing is proxied.
func TestPolicySendTimeout(t *testing.T) {
	up := newEcho(t, "up") // reads the whole body before answering
	pol := policy(t, "proxy-send-timeout", "1")
	pol.Timeouts.Send = routing.Duration(300 * time.Millisecond) // the annotation counts whole seconds
	s := startServer(t, Options{}, buildTable(t, 1, nil,
		policyRoute("ns/send", "send.example", "/", backend("ns/up:80", up.addr()), pol)))

	// A stalled upload: 10 of 100 announced bytes, then nothing.
	conn, err := net.Dial("tcp", s.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: send.example\r\nContent-Length: 100\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled upload: no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "send timeout") {
		t.Errorf("stalled upload: %d %q, want 504 upstream send timeout", resp.StatusCode, body)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("stalled upload answered after %v, before proxy-send-timeout", d)
	}

	// A chunked upload that keeps flowing passes (each pipe write returns
	// once the proxy has read the piece).
	pr, pw := io.Pipe()
	go func() {
		for i := range 5 {
			if _, err := pw.Write([]byte(strings.Repeat("x", 1000*(i+1)))); err != nil {
				return
			}
		}
		pw.Close()
	}()
	c := clientTo(t, s.HTTPAddr(), nil)
	resp2, raw := do(t, c, http.MethodPost, "http://send.example/up", pr, nil)
	if resp2.StatusCode != http.StatusOK || len(decodeEcho(t, raw).Body) != 15000 {
		t.Errorf("flowing upload: %d, body %d bytes", resp2.StatusCode, len(raw))
	}
	// Bodiless requests are not affected.
	getEcho(t, c, "http://send.example/get", nil)
}

// TestPolicyConnectTimeout: proxy-connect-timeout bounds connecting to an
// endpoint that never answers (504), well before Options.DialTimeout, on
// the fast path (GET) and through http.Transport (POST).
func TestPolicyConnectTimeout(t *testing.T) {
	addr := blackhole(t)
	pol := policy(t, "proxy-connect-timeout", "1")
	pol.Timeouts.Connect = routing.Duration(300 * time.Millisecond) // the annotation counts whole seconds
	s := startServer(t, Options{DialTimeout: 30 * time.Second}, buildTable(t, 1, nil,
		policyRoute("ns/slow", "connect.example", "/", backend("ns/slow:80", addr), pol)))
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("x")
		}
		start := time.Now()
		resp, raw := do(t, c, method, "http://connect.example/", body, nil)
		d := time.Since(start)
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("%s: %d %q after %v, want 504", method, resp.StatusCode, raw, d)
		}
		if d < 300*time.Millisecond || d > 5*time.Second {
			t.Errorf("%s: answered after %v, want about proxy-connect-timeout (300ms)", method, d)
		}
	}
}

// eofSignal is a request body of n bytes that closes done when it has been
// read to its end.
type eofSignal struct {
	n    int
	done chan struct{}
}

func (b *eofSignal) Read(p []byte) (int, error) {
	if b.n == 0 {
		select {
		case <-b.done:
		default:
			close(b.done)
		}
		return 0, io.EOF
	}
	k := min(len(p), b.n)
	clear(p[:k])
	b.n -= k
	return k, nil
}

// TestPolicySendTimeoutLinger: an upstream that takes no body stalls a
// 32 MiB upload; the answer is 504, and the rest of the upload is read
// and discarded (nginx's lingering close) so the client, still sending,
// finishes its body and reads the 504 instead of a connection reset.
func TestPolicySendTimeoutLinger(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never reads
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	pol := policy(t, "proxy-send-timeout", "1")
	pol.Timeouts.Send = routing.Duration(300 * time.Millisecond)
	s := startServer(t, Options{}, buildTable(t, 1, nil,
		policyRoute("ns/stall", "stall.example", "/", backend("ns/stall:80", ln.Addr().String()), pol)))
	body := &eofSignal{n: 32 << 20, done: make(chan struct{})}
	c := clientTo(t, s.HTTPAddr(), nil)
	req, err := http.NewRequest(http.MethodPost, "http://stall.example/up", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(body.n)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("stalled upstream: %v, want a 504", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(raw), "send timeout") {
		t.Errorf("stalled upstream: %d %q, want 504 upstream send timeout", resp.StatusCode, raw)
	}
	select {
	case <-body.done:
	case <-time.After(lingerTime):
		t.Errorf("the client could not send the rest of its body: the proxy stopped reading it")
	}
}
