package dataplane

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// TestConnLoopCloseIdleSparesArrivedRequest: at shutdown, a keep-alive
// connection whose client already sent a request that the loop's
// goroutine has not read yet (it was not scheduled) is not closed as idle
// (the request would be lost: the drain bench saw 9 such of 240 in
// flight); one with nothing sent is; the final pass (all) closes both.
func TestConnLoopCloseIdleSparesArrivedRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pair := func() (client net.Conn, c *h1conn) {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		srv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return client, &h1conn{lc: newLimitConn(srv, nil, netip.Addr{})} // state loopIdle
	}
	quietClient, quiet := pair()
	sentClient, sent := pair()
	if _, err := io.WriteString(sentClient, "GET / HTTP/1.1\r\nHost: f.example\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, time.Millisecond, true, func(context.Context) (bool, error) {
		return sent.lc.pending(), nil
	}); err != nil {
		t.Fatalf("the request never reached the server's socket: %v", err)
	}
	if quiet.lc.pending() {
		t.Fatal("pending() on a connection the client sent nothing on")
	}
	l := &h1loop{conns: map[*h1conn]struct{}{quiet: {}, sent: {}}}

	l.closeIdle(false)
	if got := quiet.state.Load(); got != loopClosed {
		t.Errorf("idle connection: state %d, want closed", got)
	}
	if _, err := quietClient.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection's client read %v, want EOF", err)
	}
	if got := sent.state.Load(); got != loopIdle || sent.lc.closed.Load() {
		t.Fatalf("connection with a request waiting: state %d, closed %v; want it left to its goroutine", got, sent.lc.closed.Load())
	}
	l.closeIdle(true)
	if !sent.lc.closed.Load() {
		t.Error("the final pass left a connection open")
	}
}
