package echoserver

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestInjectedListeners(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, Options{Listener: ln, TLSListener: tlsLn, Addr: "127.0.0.1:1"})
	if s.Addr() != ln.Addr().String() || s.TLSAddr() != tlsLn.Addr().String() {
		t.Fatalf("Addr %q TLSAddr %q, want the injected %v and %v", s.Addr(), s.TLSAddr(), ln.Addr(), tlsLn.Addr())
	}
	_, body := get(t, newClient(t), "http://"+ln.Addr().String()+"/in")
	if got := decode[Response](t, body); got.Path != "/in" {
		t.Errorf("plain: path %q", got.Path)
	}
	_, body = get(t, tlsClient(t, s.Certificate(), "localhost", 0, true), "https://"+tlsLn.Addr().String()+"/in")
	if got := decode[Response](t, body); got.TLS == nil || got.TLS.ServerName != "localhost" {
		t.Errorf("tls: %+v", got.TLS)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, l := range []net.Listener{ln, tlsLn} {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
			t.Errorf("listener %v still accepts after Shutdown", l.Addr())
		}
	}
}

func TestStartAndOptionErrors(t *testing.T) {
	s := start(t, Options{})
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start: %v, want already started", err)
	}
	busy, err := New(Options{Addr: s.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := busy.Start(); err == nil || !strings.Contains(err.Error(), `listen on Addr "`+s.Addr()+`"`) {
		t.Errorf("Start on a busy address: %v", err)
	}
	busyTLS, err := New(Options{TLSAddr: s.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := busyTLS.Start(); err == nil || !strings.Contains(err.Error(), "listen on TLSAddr") {
		t.Errorf("Start on a busy TLS address: %v", err)
	}
	if busyTLS.Addr() != "" {
		t.Errorf("Addr %q after a failed Start, want none", busyTLS.Addr())
	}
	if _, err := New(Options{MaxDelay: -time.Second}); err == nil || !strings.Contains(err.Error(), "MaxDelay") {
		t.Errorf("negative MaxDelay: %v", err)
	}
	if _, err := New(Options{MaxStreamChunks: -1}); err == nil || !strings.Contains(err.Error(), "MaxStreamChunks") {
		t.Errorf("negative MaxStreamChunks: %v", err)
	}
	if _, err := GenerateCertificate(); err == nil {
		t.Errorf("GenerateCertificate without hosts succeeded")
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	s := start(t, Options{})
	resp, err := newClient(t).Get(s.URL() + "/drain?stream=3&interval=300ms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadBytes('\n'); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	// The request is in flight; shut down while it streams.
	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shutdownErr <- s.Shutdown(ctx)
	}()
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", s.Addr())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}
	for i := 1; i < 3; i++ {
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatalf("chunk %d after Shutdown began: %v", i, err)
		}
		if got := decode[Chunk](t, line); got.Index != i {
			t.Errorf("chunk %d, want %d", got.Index, i)
		}
	}
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Errorf("Done not closed after Shutdown returned")
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err after a clean shutdown: %v", err)
	}
}

func TestShutdownDeadlineCutsRequests(t *testing.T) {
	s := start(t, Options{})
	resp, err := newClient(t).Get(s.URL() + "/stuck?stream=2&interval=30s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadBytes('\n'); err != nil { // the request is in flight
		t.Fatalf("first chunk: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want a deadline error", err)
	}
	if line, err := br.ReadBytes('\n'); err == nil {
		t.Errorf("the cut stream went on: %s", line)
	}
}

func TestShutdownClosesWebSockets(t *testing.T) {
	s := start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.Addr()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// One round trip so the server side is surely tracked.
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		readErr <- err
	}()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-readErr; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client read after Shutdown: %v, want close status 1001", err)
	}
	if resp, err := http.Get(s.URL() + HealthPath); err == nil {
		resp.Body.Close()
		t.Errorf("health answered %d after Shutdown", resp.StatusCode)
	}
}
