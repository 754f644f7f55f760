//go:build unix

package dataplane

import (
	"io"
	"net"
	"os"
	"syscall"
)

// exchange sends a buffered request head and reads the first bytes of the
// response in one pass over the socket (syscall.RawConn.Read): on a reused
// connection a non-blocking read first checks that nothing arrived while
// it was idle (late bytes or the upstream's close: errLateBytes), then the
// head is written and the goroutine waits for the response without the
// read that would only find the socket empty. Three system calls per
// reused exchange (read, write, read) where a peek, a write and a
// speculative read would make four. The read readiness is reset before
// the write (RawRead's prepareRead), so a response that arrives after the
// write always wakes the wait.
type exchange struct {
	fc *fastConn
	rc syscall.RawConn
	fn func(fd uintptr) bool // x.step, bound once
	// peekFn is x.peek, bound once (clean); perr is its result.
	peekFn func(fd uintptr) bool
	perr   error

	// set per exchange
	p    []byte // where the response's first bytes go (the bufio.Reader's buffer)
	sent bool
	// resume: the head was sent by an exchange that timed out waiting
	// (the connection loop's lazy watch); only wait for the answer.
	resume bool
	// early: part of the request (a long head, a body) was written before
	// the exchange (upWriter), so the answer may already be there: the
	// first wait is preceded by a read.
	early bool
	late  bool
	n     int
	err   error // of the read
	werr  error // of the write
	probe [1]byte
}

// setup binds x to fc, sharing the RawConn of fc's raw reader (set first
// by newFastConn); x.rc stays nil when fc.conn is not a TCP socket.
func (x *exchange) setup(fc *fastConn) {
	x.fc = fc
	if rr := fc.lr.rr; rr != nil {
		x.rc = rr.rc
		x.fn, x.peekFn = x.step, x.peek
	}
}

// run flushes the connection's head and reads the response's first bytes
// into p (headLimit.Read calls it for the first read after a head).
func (x *exchange) run(p []byte) (int, error) {
	fc := x.fc
	if x.rc == nil { // not a socket (tests): plain write and read
		x.werr = nil
		if !x.resume {
			if err := fc.bw.Flush(); err != nil {
				x.werr = err
				return 0, err
			}
		}
		x.sent, x.resume = true, false
		return fc.conn.Read(p)
	}
	x.p, x.sent, x.late, x.n, x.err, x.werr = p, x.resume, false, 0, nil, nil
	x.resume = false
	err := x.rc.Read(x.fn)
	x.p = nil
	switch {
	case x.werr != nil:
		return 0, x.werr
	case x.late:
		return 0, errLateBytes
	case err != nil:
		return 0, err // the deadline (timeout, canceled request) or a closed connection
	case x.err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: fc.conn.LocalAddr(), Addr: fc.conn.RemoteAddr(),
			Err: os.NewSyscallError("read", x.err)}
	case x.n == 0:
		return 0, io.EOF
	}
	return x.n, nil
}

// step is the RawConn.Read callback: true ends the exchange, false waits
// until the socket is readable and calls it again.
func (x *exchange) step(fd uintptr) bool {
	if !x.sent {
		if x.fc.probeNext {
			x.fc.probeNext = false
			if _, err := sysRead(int(fd), x.p); err != syscall.EAGAIN && err != syscall.EWOULDBLOCK {
				x.late = true // bytes, the upstream's close or an error: not clean
				return true
			}
		}
		x.sent = true
		early := x.early // this flush's own writes set it too (upWriter)
		if err := x.fc.bw.Flush(); err != nil {
			x.werr = err
			return true
		}
		if !early {
			return false // the response cannot be there yet: wait for it
		}
		// Readiness was reset before this callback (prepareRead): an
		// answer to what went out earlier (all of it, or an early error
		// response) would not wake the wait. Look first.
	}
	n, err := sysRead(int(fd), x.p)
	if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK {
		return false
	}
	x.n, x.err = max(n, 0), err
	return true
}

// clean reports whether nothing is pending on the connection, with a
// non-blocking peek (MSG_PEEK): false when bytes arrived (a 408, a stray
// response) or the upstream closed it. It is used when a head is too long
// for the buffer and part of it is written before the exchange.
func (x *exchange) clean() bool {
	if x.rc == nil {
		return true // not a socket (tests): the response read decides
	}
	x.perr = nil
	err := x.rc.Read(x.peekFn) // bound once: no closure per request
	return err == nil && (x.perr == syscall.EAGAIN || x.perr == syscall.EWOULDBLOCK)
}

// peek is clean's non-blocking MSG_PEEK, its error in x.perr.
func (x *exchange) peek(fd uintptr) bool {
	x.perr = sysPeek(int(fd), &x.probe)
	return true // never wait: EAGAIN is the answer
}
