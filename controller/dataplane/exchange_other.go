//go:build !unix

package dataplane

// exchange without raw sockets: the head is flushed and the response read
// with plain calls, and idle connections are not checked before reuse; a
// reused connection's late bytes are then caught only when they arrive
// with a response (fastBody.release) or when they are a 408
// (fastTransport.send retries it).
type exchange struct {
	fc     *fastConn
	werr   error // of the write
	sent   bool  // the head went out
	resume bool  // see exchange_unix.go
	early  bool  // see exchange_unix.go (a plain read needs no care)
}

func (x *exchange) setup(fc *fastConn) { x.fc = fc }

func (x *exchange) run(p []byte) (int, error) {
	x.werr = nil
	if !x.resume {
		if err := x.fc.bw.Flush(); err != nil {
			x.werr = err
			return 0, err
		}
	}
	x.sent, x.resume = true, false
	return x.fc.conn.Read(p)
}

func (x *exchange) clean() bool { return true }
