package dataplane

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// connLimiter bounds the client connections open at once, in all and per
// client address (Options.MaxConnections, MaxConnectionsPerClient), for
// both listeners together. A connection over a limit is closed as soon as
// it is accepted, before TLS or HTTP, so one client cannot hold every
// connection slot (slow bodies, idle keep-alives) while others still get
// served. Accepting is the only place it costs anything.
type connLimiter struct {
	max, perClient int // <= 0: no limit
	mu             sync.Mutex
	total          int
	byAddr         map[netip.Addr]int
	refused        atomic.Int64
}

func newConnLimiter(max, perClient int) *connLimiter {
	return &connLimiter{max: max, perClient: perClient, byAddr: make(map[netip.Addr]int)}
}

func (l *connLimiter) acquire(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max || l.perClient > 0 && l.byAddr[a] >= l.perClient {
		return false
	}
	l.total++
	l.byAddr[a]++
	return true
}

func (l *connLimiter) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.byAddr[a] - 1; n > 0 {
		l.byAddr[a] = n
	} else {
		delete(l.byAddr, a)
	}
}

// limitListener applies a connLimiter to a listener.
type limitListener struct {
	net.Listener
	l *connLimiter
}

func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := remoteAddr(c)
		if !ln.l.acquire(a) {
			ln.l.refused.Add(1)
			c.Close()
			continue
		}
		return newLimitConn(c, ln.l, a), nil
	}
}

func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// limitConn gives its slot back when closed (once), and tells the fast
// path when the client is gone (cancelwatch.go). The connection loop
// wraps connections of a listener without limits in one with a nil l.
type limitConn struct {
	net.Conn
	l      *connLimiter
	addr   netip.Addr
	closed atomic.Bool
	// cw: a read of the client failed (cancelwatch.go).
	cw clientWatch
	// rr and rw read and write a TCP socket with raw system calls
	// (rawio.go); nil for any other connection.
	rr *rawReader
	rw *rawWriter
}

// newLimitConn wraps c, accepted from a listener with limiter l (nil: no
// limits) for the client address a.
func newLimitConn(c net.Conn, l *connLimiter, a netip.Addr) *limitConn {
	lc := &limitConn{Conn: c, l: l, addr: a}
	lc.rr, lc.rw = newRawIO(c)
	return lc
}

// pending reports whether the client sent bytes the server has not read
// yet; false when unknown (not a TCP socket).
func (c *limitConn) pending() bool {
	return c.rr != nil && c.rr.pending()
}

func (c *limitConn) Write(p []byte) (int, error) {
	if c.rw != nil {
		return c.rw.Write(p)
	}
	return c.Conn.Write(p)
}

func (c *limitConn) Close() error {
	if c.closed.CompareAndSwap(false, true) && c.l != nil {
		c.l.release(c.addr)
	}
	return c.Conn.Close()
}

// CloseWrite keeps net/http's graceful close (half-close) working.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
