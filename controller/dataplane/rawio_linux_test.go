package dataplane

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// dataSegmentsIn is the count of segments with data that conn received
// (TCP_INFO's tcpi_data_segs_in).
func dataSegmentsIn(conn net.Conn) (uint32, error) {
	rc, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
		return 0, err
	}
	if gerr != nil {
		return 0, fmt.Errorf("TCP_INFO: %w", gerr)
	}
	return info.Data_segs_in, nil
}

// TestFastPathSendsHeadAndBodyTogether: a request body that does not fit
// the upstream connection's write buffer with the head (a 4 KiB POST, and
// one of 20 KiB) reaches the upstream as one segment (loopback's MSS is
// 64 KiB), in one write: the upstream reads the whole request in one
// wake-up. Before, the head and the body's first bytes went in one write
// and the rest in one or two more, each its own segment.
func TestFastPathSendsHeadAndBodyTogether(t *testing.T) {
	if lo, err := net.InterfaceByName("lo"); err != nil || lo.MTU < 32<<10 {
		t.Skipf("loopback MTU below 32 KiB (%v): a 20 KiB request is more than one segment there whatever the writes", err)
	}
	type arrival struct {
		req  []byte
		segs uint32
		err  error
	}
	arrivals := make(chan arrival, 4)
	addr := rawUpstreamFunc(t, func(_ int64, conn net.Conn, _ *bufio.Reader) {
		// conn is read directly (the reader is left unused): each read is
		// what arrived.
		var req []byte
		var before uint32 // a new connection: every data segment is the request's
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			req = append(req, buf[:n]...)
			if !wholeRequest(req) {
				continue
			}
			after, err := dataSegmentsIn(conn)
			arrivals <- arrival{req, after - before, err}
			req, before = nil, after
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	s := startServer(t, Options{}, singleRoute(t, addr))
	c := clientTo(t, s.HTTPAddr(), nil)
	for _, size := range []int{4 << 10, 20 << 10, 4 << 10} { // the last on a reused connection
		body := bytes.Repeat([]byte("b"), size)
		resp, got := do(t, c, "POST", "http://f.example/upload", bytes.NewReader(body), nil)
		if resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("POST of %d bytes: %d %q", size, resp.StatusCode, got)
		}
		a := <-arrivals
		switch {
		case a.err != nil:
			t.Fatal(a.err)
		case a.segs == 0:
			t.Skip("the kernel does not count data segments (tcpi_data_segs_in is 0 after a request arrived)")
		}
		if _, rest, _ := bytes.Cut(a.req, []byte("\r\n\r\n")); !bytes.Equal(rest, body) {
			t.Fatalf("POST of %d bytes: the upstream got %d bytes of body", size, len(rest))
		}
		if a.segs != 1 {
			t.Errorf("POST of %d bytes: the request came in %d segments, want 1 (one write)", size, a.segs)
		}
	}
}

// wholeRequest reports whether b holds a request head and all of the
// body its Content-Length declares.
func wholeRequest(b []byte) bool {
	head, rest, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	if !ok {
		return false
	}
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n, err := strconv.Atoi(string(v))
			return err == nil && len(rest) >= n
		}
	}
	return true
}
