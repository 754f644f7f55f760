//go:build !unix

package dataplane

import "net"

// Without unix sockets the data plane reads and writes through net.Conn.
type rawReader struct{ net.Conn }
type rawWriter struct{ net.Conn }

func newRawIO(net.Conn) (*rawReader, *rawWriter) { return nil, nil }

// writeTwo is never called: newRawIO gives no rawWriter here.
func (w *rawWriter) writeTwo(a, b []byte) (int, error) {
	n, err := w.Write(a)
	if err != nil {
		return n, err
	}
	m, err := w.Write(b)
	return n + m, err
}

// pending is never called: newRawIO gives no rawReader here.
func (r *rawReader) pending() bool { return false }
