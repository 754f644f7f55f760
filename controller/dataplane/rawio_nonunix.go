//go:build !unix

package dataplane

import "net"

// Without unix sockets the data plane reads and writes through net.Conn.
type rawReader struct{ net.Conn }
type rawWriter struct{ net.Conn }

func newRawIO(net.Conn) (*rawReader, *rawWriter) { return nil, nil }
