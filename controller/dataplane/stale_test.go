package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// lateBytesUpstream answers each request with its path as the body and
// keeps the connection open. One connection takes the test's poke: it then
// writes late bytes (unsolicited) into the connection, idle by then, and
// reports on written.
func lateBytesUpstream(t *testing.T, late string) (addr string, poke, written chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	poke, written = make(chan struct{}), make(chan struct{})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				select {
				case <-poke:
					io.WriteString(conn, late)
					written <- struct{}{}
				case <-done:
				}
			}()
			go func() {
				defer conn.Close()
				tp := textproto.NewReader(bufio.NewReader(conn))
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					h, err := tp.ReadMIMEHeader()
					if err != nil {
						return
					}
					if n, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64); n > 0 {
						if _, err := io.CopyN(io.Discard, tp.R, n); err != nil {
							return
						}
					}
					_, target, _ := cutSpace(line)
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(target))+"\r\n\r\n"+target)
				}
			}()
		}
	}()
	return ln.Addr().String(), poke, written
}

func cutSpace(line string) (method, target string, ok bool) {
	for i := 0; i < len(line); i++ {
		if line[i] == ' ' {
			rest := line[i+1:]
			for j := 0; j < len(rest); j++ {
				if rest[j] == ' ' {
					return line[:i], rest[:j], true
				}
			}
			return line[:i], rest, true
		}
	}
	return line, "", false
}

// TestFastPathIgnoresLateBytesOnIdleConnections: bytes an upstream writes
// on an idle keep-alive connection (a 408 before it closes, or a whole
// stray response) must never be read as the next request's response. A
// request head longer than the connection's write buffer is partly written
// before the response is awaited: the check must come before that too;
// a body the buffer cannot hold with the head goes out with it in one
// write, after the check.
func TestFastPathIgnoresLateBytesOnIdleConnections(t *testing.T) {
	for name, late := range map[string]string{
		"408":      "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		"response": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale",
	} {
		for head, hdr := range map[string]http.Header{
			"short head": nil,
			"long head":  {"X-Long": {strings.Repeat("x", 6<<10)}}, // over the 4 KiB buffer
			"long body":  nil,
		} {
			t.Run(name+"/"+head, func(t *testing.T) {
				method, body := http.MethodGet, ""
				if head == "long body" {
					method, body = http.MethodPost, strings.Repeat("b", 6<<10) // with the head, over the buffer
				}
				addr, poke, written := lateBytesUpstream(t, late)
				s := startServer(t, Options{}, singleRoute(t, addr))
				c := clientTo(t, s.HTTPAddr(), nil)
				// The first response is complete at the client only after the
				// proxy read it to the end and pooled the connection.
				if body := getEcholess(t, c, "http://f.example/first"); body != "/first" {
					t.Fatalf("first request: %q", body)
				}
				poke <- struct{}{}
				<-written // the late bytes sit in the pooled connection
				for _, p := range []string{"/second", "/third"} {
					resp, got := do(t, c, method, "http://f.example"+p, strings.NewReader(body), hdr)
					if resp.StatusCode != http.StatusOK || got != p {
						t.Fatalf("%s %s: %d %q, want 200 %q (its own response)", method, p, resp.StatusCode, got, p)
					}
				}
			})
		}
	}
}
