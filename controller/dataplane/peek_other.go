//go:build !unix

package dataplane

import "net"

// idleProbe is a no-op without MSG_PEEK: a reused connection's late bytes
// are then caught only when they arrive with a response (fastBody.release)
// or when they are a 408 (fastTransport.send retries it).
type idleProbe struct{}

func (p *idleProbe) setup(net.Conn) {}

func (p *idleProbe) clean() bool { return true }
