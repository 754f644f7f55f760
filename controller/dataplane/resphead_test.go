package dataplane

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// respHeadSeeds are heads parseRespHead takes (fast) or leaves to
// http.ReadResponse.
var respHeadSeeds = []struct {
	raw  string
	fast bool
}{
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
	{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Sun, 06 Dec 2026 07:00:00 GMT\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx", true},
	{"HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx", true},
	{"HTTP/1.1 500 Internal Server Error\r\nX-Multi: a\r\nX-Multi: b\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 200 OK\r\nx-lower-case: v\r\ncontent-length: 3\r\n\r\nabc", true},
	{"HTTP/1.1 200 OK\r\nX-Spaces:   padded \t \r\nX-Empty:\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 200 OK\r\nConnection: x-hop\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 200 OK\r\nX-Obs-Text: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 0\r\n\r\n", true},
	{"HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", true},

	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", false},                                  // not whole
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false}, // chunked
	{"HTTP/1.1 200 OK\r\n\r\nuntil close", false},                                        // no length
	{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false},                            // HTTP/1.0
	{"HTTP/1.1 204 No Content\r\n\r\n", false},
	{"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", false},
	{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false},
	{"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok", false},
	{"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok", false},
	{"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\n X-Lead: a\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nX-Bare: a\nb\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nX-CR: a\rb\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nX Space: a\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nX-Sp : a\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200 OK\r\nNo-Colon\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n", false},
	{"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n", false},
	{"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false},
	{"\r\n\r\n", false},
	{"", false},
}

func TestParseRespHead(t *testing.T) {
	for _, c := range respHeadSeeds {
		_, _, ok := parseRespHead([]byte(c.raw))
		if ok != c.fast {
			t.Errorf("parseRespHead(%q): fast %v, want %v", c.raw, ok, c.fast)
		}
		checkRespHead(t, []byte(c.raw))
	}
}

// FuzzRespHead holds parseRespHead to http.ReadResponse: a head it takes
// must be one ReadResponse takes too, with the same status, header,
// length, Connection handling and head length.
func FuzzRespHead(f *testing.F) {
	for _, c := range respHeadSeeds {
		f.Add([]byte(c.raw))
	}
	f.Fuzz(checkRespHead)
}

func checkRespHead(t *testing.T, raw []byte) {
	h, n, ok := parseRespHead(raw)
	if !ok {
		return
	}
	br := bufio.NewReaderSize(bytes.NewReader(raw), len(raw)+16)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("parseRespHead took %q; ReadResponse refused it: %v", raw, err)
	}
	if got := len(raw) - br.Buffered(); got != n {
		t.Errorf("%q: head of %d bytes, ReadResponse read %d", raw, n, got)
	}
	want := respHead{code: resp.StatusCode, status: resp.Status, header: resp.Header, length: resp.ContentLength, close: resp.Close}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("%q:\n parseRespHead %+v\n ReadResponse  %+v", raw, h, want)
	}
}

// TestFastHeadBodies: bodies after a head read by readHead arrive whole
// (in one read or many), keep the connection for the next request, and
// one cut short by the upstream aborts the client's response instead of
// ending it early.
func TestFastHeadBodies(t *testing.T) {
	big := strings.Repeat("0123456789", 10_000) // beyond any buffer
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan struct{}, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- struct{}{}
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					switch req.URL.Path {
					case "/big":
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
						for i := 0; i < len(big); i += 7000 {
							io.WriteString(conn, big[i:min(i+7000, len(big))])
						}
					case "/cut":
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
						return
					default:
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\nsmall")
					}
				}
			}()
		}
	}()
	s := startServer(t, Options{}, singleRoute(t, ln.Addr().String()))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: dialTo(s.HTTPAddr())}}
	get := func(path string) (*http.Response, string, error) {
		resp, err := client.Get("http://f.example" + path)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	for _, path := range []string{"/small", "/big", "/small", "/big"} {
		resp, body, err := get(path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		want := "small"
		if path == "/big" {
			want = big
		}
		if body != want || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %d bytes; want 200, %d bytes", path, resp.StatusCode, len(body), len(want))
		}
		if path == "/small" && resp.Header.Get("X-Up") != "1" {
			t.Fatalf("GET %s: header %v lacks X-Up", path, resp.Header)
		}
	}
	if n := len(conns); n != 1 {
		t.Fatalf("%d upstream connections for four sequential requests, want 1 (the connection is reused)", n)
	}
	if _, body, err := get("/cut"); err == nil {
		t.Fatalf("GET /cut: body %q ended without an error; want the response aborted", body)
	}
}
