//go:build unix

package dataplane

import (
	"net"
	"syscall"
)

// idleProbe tells whether an idle upstream connection is still clean: no
// byte arrived since its last response and the upstream did not close it.
// It peeks at the socket without blocking (MSG_PEEK on the non-blocking
// descriptor): one system call when a connection is taken from its pool,
// no goroutine per idle connection and no allocation.
type idleProbe struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // probe.peek, bound once
	buf [1]byte
	n   int
	err error
}

func (p *idleProbe) setup(conn net.Conn) {
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
			p.fn = p.peek
		}
	}
}

func (p *idleProbe) peek(fd uintptr) bool {
	p.n, _, p.err = syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK)
	return true // never wait: EAGAIN is the answer
}

// clean reports whether nothing is pending on the connection: false when
// bytes arrived (a 408, a stray response) or the upstream closed it (EOF).
func (p *idleProbe) clean() bool {
	if p.rc == nil {
		return true // not a socket (tests): the response read decides
	}
	p.n, p.err = 0, nil
	if err := p.rc.Read(p.fn); err != nil {
		return false
	}
	return p.err == syscall.EAGAIN || p.err == syscall.EWOULDBLOCK
}
