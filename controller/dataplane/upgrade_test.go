package dataplane

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// rawExchange sends raw on a new connection to addr and reads one response
// (its body read to the end).
func rawExchange(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // upper bound only
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response to %q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of the response to %q: %v", raw, err)
	}
	return resp, string(b)
}

// TestH2CUpgradeNotTunnelled: an "Upgrade: h2c" request is served as an
// ordinary HTTP/1.1 request (as nginx does): the upgrade, HTTP2-Settings
// and the Connection tokens naming them do not reach the backend, so no
// HTTP/2 connection can be tunnelled past path routing.
func TestH2CUpgradeNotTunnelled(t *testing.T) {
	up := newEcho(t, "up")
	for _, fast := range []bool{true, false} {
		s := startServer(t, Options{DisableFastPath: !fast}, singleRoute(t, up.addr()))
		for _, conn := range []string{"Upgrade, HTTP2-Settings", "HTTP2-Settings, upgrade, keep-alive"} {
			resp, body := rawExchange(t, s.HTTPAddr(), "GET /h2c HTTP/1.1\r\nHost: f.example\r\n"+
				"Connection: "+conn+"\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"+
				"X-Keep: 1\r\n\r\n")
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
				t.Fatalf("fast=%v Connection %q: %s %d, want HTTP/1.1 200 (body %q)", fast, conn, resp.Proto, resp.StatusCode, body)
			}
			var e echoed
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("fast=%v: decode echo %q: %v", fast, body, err)
			}
			for _, k := range []string{"Upgrade", "Http2-Settings", "Connection"} {
				if v, ok := e.Header[k]; ok {
					t.Errorf("fast=%v Connection %q: the backend got %s: %q", fast, conn, k, v)
				}
			}
			if e.Path != "/h2c" || e.Header.Get("X-Keep") != "1" {
				t.Errorf("fast=%v: the backend got path %q, X-Keep %q", fast, e.Path, e.Header.Get("X-Keep"))
			}
		}
	}
}
