package echoserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
)

// Fault makes a server misbehave on purpose, for reliability tests of the
// proxy in front of it. Set it with Options.Fault or Server.SetFault; it
// applies to every request read after it is set, except HealthPath.
type Fault string

// The faults. On HTTP/1 the server takes over the connection after reading
// the request head; on HTTP/2 (TLS listener, ALPN h2) a fault that needs the
// raw connection resets the stream instead.
const (
	// FaultNone serves normally.
	FaultNone Fault = ""
	// FaultHang accepts the request and never answers: the connection stays
	// open until the client closes it or the server stops.
	FaultHang Fault = "hang"
	// FaultStall reads the request head and then nothing, not even the
	// body, so that a client sending one stalls once the socket buffers
	// are full; the connection is closed after StallLimit or when the
	// server stops.
	FaultStall Fault = "stall"
	// FaultReset reads the request head, then closes the connection with a
	// TCP reset (SO_LINGER 0) without answering.
	FaultReset Fault = "reset"
	// FaultMalformed reads the request head, answers bytes that are not a
	// valid HTTP response (status line "HTTP/1.1 2OO MALFORMED"), and
	// closes the connection.
	FaultMalformed Fault = "malformed"
)

// Faults lists the faults other than FaultNone.
var Faults = []Fault{FaultHang, FaultStall, FaultReset, FaultMalformed}

// StallLimit bounds how long FaultStall holds a connection (it does not
// read, so it cannot see the client close).
const StallLimit = 2 * time.Minute

// ParseFault checks a fault name ("" is FaultNone).
func ParseFault(s string) (Fault, error) {
	f := Fault(s)
	if f == FaultNone || slices.Contains(Faults, f) {
		return f, nil
	}
	return FaultNone, fmt.Errorf("unknown fault %q (want one of %v, or empty for none)", s, Faults)
}

// MalformedResponse is what FaultMalformed writes.
const MalformedResponse = "HTTP/1.1 2OO MALFORMED\r\nX-Echo-Fault: malformed\r\n\r\n"

// maxFaulted bounds the request log of FaultedRequests.
const maxFaulted = 1000

// SetFault changes how the server answers from the next request on.
// FaultNone restores normal answers. Connections held by FaultHang stay held
// until their client closes them or the server stops.
func (s *Server) SetFault(f Fault) { s.fault.Store(&f) }

// Fault returns the current fault.
func (s *Server) Fault() Fault {
	if f := s.fault.Load(); f != nil {
		return *f
	}
	return FaultNone
}

// FaultedRequests returns the request targets (RequestURI) of the requests
// the server read and did not answer because of a fault, oldest first (at
// most the last 1000). A test uses it to see which requests a proxy sent to
// a faulty endpoint, e.g. to check that a POST was not retried elsewhere.
func (s *Server) FaultedRequests() []string {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return slices.Clone(s.faulted)
}

func (s *Server) recordFault(r *http.Request) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if len(s.faulted) == maxFaulted {
		s.faulted = slices.Delete(s.faulted, 0, 1)
	}
	s.faulted = append(s.faulted, r.RequestURI)
}

// stopFaults releases connections held by FaultHang (Close, Shutdown).
func (s *Server) stopFaults() { s.faultOnce.Do(func() { close(s.faultStop) }) }

// serveFault misbehaves as f; it returns 0 (no status was sent).
func (s *Server) serveFault(w http.ResponseWriter, r *http.Request, f Fault) int {
	s.recordFault(r)
	hj, ok := w.(http.Hijacker)
	if !ok || r.ProtoMajor != 1 {
		// HTTP/2: no raw connection. Hang on the stream, or reset it.
		if f == FaultHang {
			select {
			case <-r.Context().Done():
			case <-s.faultStop:
			}
		}
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	switch f {
	case FaultHang:
		gone := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, conn) // returns when the client closes
			close(gone)
		}()
		select {
		case <-gone:
		case <-s.faultStop:
		}
		_ = conn.Close()
	case FaultStall:
		t := time.NewTimer(StallLimit)
		select {
		case <-t.C:
		case <-s.faultStop:
		}
		t.Stop()
		_ = conn.Close()
	case FaultReset:
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST
		}
		_ = conn.Close()
	case FaultMalformed:
		_, _ = io.WriteString(conn, MalformedResponse)
		_ = conn.Close()
	}
	return 0
}

// CloseConnections closes every HTTP connection of the server, idle or
// not (clients then need a new connection for their next request), before
// the path to the server is made lossy. Closing only those marked idle
// raced with a response just written: its connection is marked idle a
// moment after the client has the answer, so a proxy could keep it and
// stall on the lossy path until its read timeout instead of meeting the
// loss on connect. A request still in flight is cut. Hijacked connections
// (WebSockets) are left alone.
func (s *Server) CloseConnections() {
	s.srv.SetKeepAlivesEnabled(false) // closes idle connections
	s.srv.SetKeepAlivesEnabled(true)
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c, st := range s.conns {
		if st == http.StateIdle || st == http.StateActive || st == http.StateNew {
			_ = c.Close()
		}
	}
}

// trackConn is the server's ConnState hook.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	default:
		if s.conns == nil {
			s.conns = map[net.Conn]http.ConnState{}
		}
		s.conns[c] = st
	}
}
