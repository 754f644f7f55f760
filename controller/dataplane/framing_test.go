package dataplane

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// pathRecorder is an upstream that records the paths it was asked for.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) handler(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	p.mu.Unlock()
	io.WriteString(w, "ok")
}

func (p *pathRecorder) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// TestAmbiguousFramingClosesConnection: a request with both Content-Length
// and Transfer-Encoding, or an HTTP/1.0 request with Transfer-Encoding,
// has faulty framing (RFC 9112 section 6.1): the connection is closed
// after the response, so the bytes after the request as one parser sees
// it never become a second request to the backend.
func TestAmbiguousFramingClosesConnection(t *testing.T) {
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: f.example\r\n\r\n"
	for name, raw := range map[string]string{
		"CL+TE": "POST /a HTTP/1.1\r\nHost: f.example\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\n\r\n" + smuggled,
		"HTTP/1.0 TE": "POST /a HTTP/1.0\r\nHost: f.example\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" +
			smuggled,
	} {
		t.Run(name, func(t *testing.T) {
			rec := &pathRecorder{}
			addr, _ := countingUpstream(t, rec.handler)
			for _, fast := range []bool{true, false} {
				s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, addr))
				conn, err := net.Dial("tcp", s.HTTPAddr())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second)) // upper bound: the proxy must close first
				if _, err := io.WriteString(conn, raw); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(conn)
				var codes []int
				for {
					if _, err := br.Peek(1); err != nil {
						if err != io.EOF {
							t.Fatalf("fast=%v: after %v: %v (want the connection closed)", fast, codes, err)
						}
						break
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("fast=%v: after %v: %v", fast, codes, err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					codes = append(codes, resp.StatusCode)
				}
				if len(codes) != 1 {
					t.Errorf("fast=%v: %d responses %v on the connection, want 1", fast, len(codes), codes)
				}
			}
			for _, p := range rec.seen() {
				if p != "/a" {
					t.Errorf("the backend received %s", p)
				}
			}
		})
	}
}
