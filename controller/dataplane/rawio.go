//go:build unix

package dataplane

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// rawReader reads a socket through its syscall.RawConn with sysRead
// (rawio_linux.go says why). Like net.Conn's Read it waits for the socket
// to be readable when it is empty, honours the read deadline, and returns
// io.EOF when the peer closed; its errors are *net.OpError as net.Conn's
// are. It is safe for concurrent use, as net.Conn is.
type rawReader struct {
	mu   sync.Mutex // the fields below are per call
	conn net.Conn
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // r.read, bound once
	p    []byte
	n    int
	err  error
}

// rawWriter writes a socket through its syscall.RawConn with sysWrite:
// all of p, waiting while the socket's buffer is full, within the write
// deadline. It is safe for concurrent use, as net.Conn is.
type rawWriter struct {
	mu   sync.Mutex // the fields below are per call
	conn net.Conn
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // w.write, bound once
	p    []byte
	n    int
	// b is written after p (writeTwo); nb of it are out
	b   []byte
	nb  int
	err error
}

// newRawIO reads and writes c with raw calls when c is a TCP socket (not
// TLS, not a wrapper); nil, nil for any other connection.
func newRawIO(c net.Conn) (*rawReader, *rawWriter) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	r, w := &rawReader{conn: c, rc: rc}, &rawWriter{conn: c, rc: rc}
	r.fn, w.fn = r.read, w.write
	return r, w
}

func (r *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p, r.n, r.err = p, 0, nil
	err := r.rc.Read(r.fn)
	r.p = nil
	switch {
	case err != nil: // the deadline, or a closed connection
		return 0, renameOp(err, "read")
	case r.err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.conn.LocalAddr(), Addr: r.conn.RemoteAddr(), Err: os.NewSyscallError("read", r.err)}
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// read is the RawConn callback: false waits until the socket is readable.
func (r *rawReader) read(fd uintptr) bool {
	n, err := sysRead(int(fd), r.p)
	if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK {
		return false
	}
	r.n, r.err = max(n, 0), err
	return true
}

func (w *rawWriter) Write(p []byte) (int, error) { return w.writeTwo(p, nil) }

// writeTwo writes a then b as one stream: in one writev(2) when the
// socket takes both, the rest as Write does. n counts bytes of a and b.
func (w *rawWriter) writeTwo(a, b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.p, w.n, w.b, w.nb, w.err = a, 0, b, 0, nil
	err := w.rc.Write(w.fn)
	n := w.n + w.nb
	w.p, w.b = nil, nil
	switch {
	case w.err != nil:
		return n, &net.OpError{Op: "write", Net: "tcp", Source: w.conn.LocalAddr(), Addr: w.conn.RemoteAddr(), Err: os.NewSyscallError("write", w.err)}
	case err != nil: // the deadline, or a closed connection
		return n, renameOp(err, "write")
	}
	return n, nil
}

// write is the RawConn callback: it writes until p, then b, is out (both
// in one writev while both have bytes left); false waits until the
// socket is writable again.
func (w *rawWriter) write(fd uintptr) bool {
	for w.n < len(w.p) || w.nb < len(w.b) {
		var n int
		var err error
		switch {
		case w.n < len(w.p) && w.nb < len(w.b):
			n, err = sysWritev2(int(fd), w.p[w.n:], w.b[w.nb:])
		case w.n < len(w.p):
			n, err = sysWrite(int(fd), w.p[w.n:])
		default:
			n, err = sysWrite(int(fd), w.b[w.nb:])
		}
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return false
		case err != nil:
			w.err = err
			return true
		}
		if k := len(w.p) - w.n; n > k {
			w.n, w.nb = len(w.p), w.nb+n-k
		} else {
			w.n += n
		}
	}
	return true
}

// renameOp names a RawConn error's operation as net.Conn's Read and Write
// do ("read", not "raw-read"): logs and answers read the same either way.
func renameOp(err error, op string) error {
	if oe, ok := err.(*net.OpError); ok {
		oe.Op = op
	}
	return err
}

// pending reports whether the socket holds bytes not read yet (or the
// peer's close), without reading them: a non-blocking recv(2) with
// MSG_PEEK. It is safe beside a concurrent Read.
func (r *rawReader) pending() bool {
	var b [1]byte
	var err error
	if cerr := r.rc.Control(func(fd uintptr) { err = sysPeek(int(fd), &b) }); cerr != nil {
		return false
	}
	return err == nil
}
