package framework

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// rawServer accepts one connection, reads one request head, writes reply
// and then closes the connection (close) or holds it until the test ends.
func rawServer(t *testing.T, reply string, closeAfter bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
			return
		}
		_, _ = io.WriteString(conn, reply)
		if !closeAfter {
			<-done
		}
	}()
	return ln.Addr().String()
}

func TestExchangeReadsEveryResponseUntilClose(t *testing.T) {
	two := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
	c := &Client{HTTPAddr: rawServer(t, two, true)}
	res, err := c.Exchange(context.Background(), nil, RawRequest("GET / HTTP/1.1", "Host: a"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Statuses(); len(got) != 2 || got[0] != 200 || got[1] != 400 || !res.Closed {
		t.Fatalf("got %v closed=%v (%s), want [200 400] and closed", got, res.Closed, res)
	}
}

func TestExchangeOpenConnectionIsNotClosed(t *testing.T) {
	c := &Client{HTTPAddr: rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false)}
	res, err := c.Exchange(context.Background(), nil, RawRequest("GET / HTTP/1.1", "Host: a"), 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 1 || res.Closed {
		t.Fatalf("%s: want one response and an open connection", res)
	}
}

func TestExchangeConnectionCloseHeaderWaitsForClose(t *testing.T) {
	c := &Client{HTTPAddr: rawServer(t, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true)}
	res, err := c.Exchange(context.Background(), nil, RawRequest("GET / HTTP/1.1", "Host: a"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 1 || !res.Closed {
		t.Fatalf("%s: want one response and a closed connection", res)
	}
}

func TestDialRawRefusesNonLoopback(t *testing.T) {
	c := &Client{HTTPAddr: "192.0.2.1:80"}
	if _, err := c.DialRaw(context.Background(), nil); err == nil {
		t.Fatal("dialled a non-loopback address")
	}
}
