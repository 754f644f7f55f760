package echoserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"
)

// rawRequest sends one HTTP/1.1 request on a new connection and returns
// what the server sent back until it closed the connection or 1 s passed
// without a byte, and the read error that ended it.
func rawRequest(t *testing.T, s *Server, target string) (string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	got, err := io.ReadAll(conn)
	return string(got), err
}

func TestFaultModes(t *testing.T) {
	s := start(t, Options{})
	c := newClient(t)

	s.SetFault(FaultReset)
	got, err := rawRequest(t, s, "/reset?id=1")
	if got != "" || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset: got %q, %v; want nothing and a connection reset", got, err)
	}

	s.SetFault(FaultMalformed)
	got, err = rawRequest(t, s, "/malformed")
	if got != MalformedResponse || err != nil {
		t.Errorf("malformed: got %q, %v; want %q then EOF", got, err, MalformedResponse)
	}
	if _, err := c.Get(s.URL() + "/malformed-client"); err == nil || !strings.Contains(err.Error(), "malformed HTTP") {
		t.Errorf("a Go client reading the malformed answer got error %v, want a malformed HTTP response", err)
	}

	s.SetFault(FaultHang)
	got, err = rawRequest(t, s, "/hang")
	var ne net.Error
	if got != "" || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("hang: got %q, %v; want nothing until the read deadline", got, err)
	}
	// The health check is never faulted.
	if resp, _ := get(t, c, s.URL()+HealthPath); resp.StatusCode != http.StatusOK {
		t.Errorf("health check under a fault: %d, want 200", resp.StatusCode)
	}

	want := []string{"/reset?id=1", "/malformed", "/malformed-client", "/hang"}
	if got := s.FaultedRequests(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("FaultedRequests = %q, want %q", got, want)
	}

	s.SetFault(FaultNone)
	if resp, _ := get(t, c, s.URL()+"/back"); resp.StatusCode != http.StatusOK {
		t.Errorf("after FaultNone: %d, want 200", resp.StatusCode)
	}
}

// TestFaultHangReleasedByClose checks that Close ends connections a hang
// holds, so a stopped endpoint does not leave its clients waiting.
func TestFaultHangReleasedByClose(t *testing.T) {
	s := start(t, Options{Fault: FaultHang})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The request was read once it is in the log; then stop the server.
	gomega.NewWithT(t).Eventually(s.FaultedRequests).WithTimeout(5*time.Second).ShouldNot(gomega.BeEmpty(),
		"the hanging server never read the request")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(conn).ReadByte()
	if err == nil {
		t.Fatal("read a byte from a hanging server")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("Close left the hung connection open")
	}
}

func TestParseFault(t *testing.T) {
	for _, ok := range []string{"", "hang", "reset", "malformed"} {
		if _, err := ParseFault(ok); err != nil {
			t.Errorf("ParseFault(%q): %v", ok, err)
		}
	}
	if _, err := ParseFault("slow"); err == nil || !strings.Contains(err.Error(), `"slow"`) {
		t.Errorf("ParseFault(slow) = %v, want an error naming it", err)
	}
	if _, err := New(Options{Fault: "nope"}); err == nil || !strings.Contains(err.Error(), "Fault") {
		t.Errorf("New with a bad fault = %v, want an error naming Options.Fault", err)
	}
}

// TestFaultStallTakesNoBody: with FaultStall the server reads the request
// head and no body byte, so a client writing a large body blocks once the
// socket buffers are full (here: a write deadline expires).
func TestFaultStallTakesNoBody(t *testing.T) {
	s := start(t, Options{Fault: FaultStall})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 64 << 20
	if _, err := fmt.Fprintf(conn, "POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	chunk := make([]byte, 1<<20)
	written := 0
	for written < size {
		n, err := conn.Write(chunk)
		written += n
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("write after %d bytes: %v, want a write timeout", written, err)
			}
			break
		}
	}
	if written >= size {
		t.Errorf("the whole %d-byte body was taken, want the writes to stall", size)
	}
	if got := s.FaultedRequests(); len(got) != 1 || got[0] != "/stall" {
		t.Errorf("FaultedRequests = %q, want [/stall]", got)
	}
}

// TestCloseConnectionsClosesActive: before a path is made lossy, every
// connection is closed, not only those already marked idle: one whose
// response is still being produced (here a delayed answer) is closed
// too, so no client keeps a connection into the lossy path.
func TestCloseConnectionsClosesActive(t *testing.T) {
	s := start(t, Options{})
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /slow?delay=3s HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The connection is active once the server has read the request.
	gomega.NewWithT(t).Eventually(func() bool {
		s.connMu.Lock()
		defer s.connMu.Unlock()
		for _, st := range s.conns {
			if st == http.StateActive {
				return true
			}
		}
		return false
	}).WithTimeout(5 * time.Second).Should(gomega.BeTrue())
	s.CloseConnections()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = bufio.NewReader(conn).ReadByte()
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("the active connection was left open: %v", err)
	}
}
