//go:build unix

package dataplane

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestRawIO: the raw reader and writer behave as net.Conn's Read and Write
// over a real socket: a write larger than the socket's buffers waits for
// the reader and arrives whole, an empty socket waits for bytes, the read
// deadline ends the wait with os.ErrDeadlineExceeded, the peer's close is
// io.EOF, and a write to a reset connection fails; errors are *net.OpError
// named "read" and "write".
func TestRawIO(t *testing.T) {
	c, s := tcpPair(t)
	_, w := newRawIO(c)
	r, _ := newRawIO(s)
	if w == nil || r == nil {
		t.Fatal("no raw reader or writer for a TCP connection")
	}
	if r, w := newRawIO(&limitConn{Conn: c}); r != nil || w != nil {
		t.Error("raw I/O for a connection that is not a *net.TCPConn")
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB: many times the socket buffers
	werr := make(chan error, 1)
	go func() {
		n, err := w.Write(big)
		if err == nil && n != len(big) {
			err = io.ErrShortWrite
		}
		werr <- err
	}()
	got := make([]byte, 0, len(big))
	buf := make([]byte, 64<<10)
	for len(got) < len(big) {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-werr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("the bytes read differ from those written")
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("empty read: %d, %v", n, err)
	}

	_ = s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := r.Read(buf)
	var oe *net.OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" {
		t.Errorf("read past the deadline: %v", err)
	}
	_ = s.SetReadDeadline(time.Time{})

	if _, err := c.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n, err := io.ReadFull(r, buf[:4]); err != nil || string(buf[:n]) != "last" {
		t.Errorf("bytes before the close: %q, %v", buf[:n], err)
	}
	if _, err := r.Read(buf); err != io.EOF {
		t.Errorf("read after the peer's close: %v, want io.EOF", err)
	}

	// The client end is closed: it answers what still arrives with a
	// reset, and the writes after that fail.
	_, ws := newRawIO(s)
	var wErr error
	for i := 0; i < 100 && wErr == nil; i++ {
		_, wErr = ws.Write(buf)
	}
	if wErr == nil || !errors.As(wErr, &oe) || oe.Op != "write" {
		t.Errorf("write to a closed peer: %v", wErr)
	}
	if !errors.Is(wErr, syscall.EPIPE) && !errors.Is(wErr, syscall.ECONNRESET) {
		t.Errorf("write to a closed peer: %v, want EPIPE or ECONNRESET", wErr)
	}
}

// TestRawIOAllocations: a raw read and write allocate nothing.
func TestRawIOAllocations(t *testing.T) {
	c, s := tcpPair(t)
	_, w := newRawIO(c)
	r, _ := newRawIO(s)
	msg, buf := []byte("ping"), make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := w.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf[:len(msg)]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per write and read, want 0", allocs)
	}
}

// TestRawIOWhereUsed: accepted TCP connections and the fast path's
// upstream connections get raw I/O; any other connection (a pipe here, TLS
// elsewhere) keeps net.Conn's, and reads and writes the same.
func TestRawIOWhereUsed(t *testing.T) {
	c, s := tcpPair(t)
	lc := newLimitConn(s, nil, netip.Addr{})
	fc := newFastConn(c, 4096)
	if lc.rr == nil || lc.rw == nil || fc.lr.rr == nil || fc.rw == nil {
		t.Fatalf("TCP: limitConn raw %v/%v, fastConn raw %v/%v", lc.rr != nil, lc.rw != nil, fc.lr.rr != nil, fc.rw != nil)
	}
	if _, err := lc.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("through the limitConn's raw writer: %q, %v", buf, err)
	}

	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	pc := newLimitConn(p1, nil, netip.Addr{})
	if pc.rr != nil || pc.rw != nil || newFastConn(p2, 4096).rw != nil {
		t.Fatal("raw I/O over a pipe")
	}
	go func() { _, _ = p2.Write([]byte("pipe")) }()
	if _, err := io.ReadFull(pc, buf[:4]); err != nil || string(buf[:4]) != "pipe" {
		t.Fatalf("limitConn over a pipe: %q, %v", buf[:4], err)
	}
}

// TestRawIOWriteTwo: writeTwo sends a then b as one stream, also when the
// socket takes only part of a writev (both many times its buffers), and
// allocates nothing.
func TestRawIOWriteTwo(t *testing.T) {
	c, s := tcpPair(t)
	_, w := newRawIO(c)
	r, _ := newRawIO(s)
	a := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	b := bytes.Repeat([]byte("FEDCBA9876543210"), 1<<18)
	werr := make(chan error, 1)
	go func() {
		n, err := w.writeTwo(a, b)
		if err == nil && n != len(a)+len(b) {
			err = io.ErrShortWrite
		}
		werr <- err
	}()
	got := make([]byte, len(a)+len(b))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("writeTwo: %v", err)
	}
	if !bytes.Equal(got[:len(a)], a) || !bytes.Equal(got[len(a):], b) {
		t.Fatal("the bytes read differ from a then b")
	}
	for _, tc := range []struct{ a, b string }{{"head ", "body"}, {"", "body"}, {"head", ""}} {
		if n, err := w.writeTwo([]byte(tc.a), []byte(tc.b)); err != nil || n != len(tc.a)+len(tc.b) {
			t.Fatalf("writeTwo(%q, %q): %d, %v", tc.a, tc.b, n, err)
		}
		buf := make([]byte, len(tc.a)+len(tc.b))
		if _, err := io.ReadFull(r, buf); err != nil || string(buf) != tc.a+tc.b {
			t.Fatalf("writeTwo(%q, %q): read %q, %v", tc.a, tc.b, buf, err)
		}
	}
	head, body, buf := []byte("head "), []byte("body"), make([]byte, 9)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := w.writeTwo(head, body); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per writeTwo and read, want 0", allocs)
	}
}
