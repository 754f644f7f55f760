package dataplane

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ingresslab/ingresslab/controller/routing"
)

func TestWebSocketPassthrough(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte(r.Host+" echo: "), msg...)); err != nil {
				return
			}
		}
	}))
	t.Cleanup(up.Close)
	table := buildTable(t, 1, nil,
		route("ns/ws", "ws.example", "/", routing.PathPrefix, backend("ns/ws:80", up.Listener.Addr().String())))
	s := startServer(t, Options{}, table)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws://"+s.HTTPAddr()+"/chat", &websocket.DialOptions{Host: "ws.example"})
	if err != nil {
		t.Fatalf("dial through the proxy: %v (response %v)", err, resp)
	}
	defer conn.CloseNow()
	for _, msg := range []string{"hello", "again"} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := "ws.example echo: " + msg; string(got) != want {
			t.Errorf("read %q, want %q", got, want)
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestStreamingFlushesEarly(t *testing.T) {
	release := make(chan struct{})
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
		}
		io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "second\n")
	})
	table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
	s := startServer(t, Options{}, table)
	slow := startServer(t, Options{DisableFastPath: true}, table)

	for _, tc := range []struct {
		name string
		c    *http.Client
		url  string
	}{
		{"chunked over HTTP/1.1", clientTo(t, s.HTTPAddr(), nil), "http://s.example/chunked"},
		{"event stream over HTTP/2", clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}), "https://s.example/sse"},
		{"chunked via http.Transport", clientTo(t, slow.HTTPAddr(), nil), "http://s.example/chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.Get(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			if err != nil || line != "first\n" {
				t.Fatalf("first chunk %q, %v", line, err)
			}
			// The upstream is still blocked: the first chunk came through early.
			release <- struct{}{}
			rest, err := io.ReadAll(br)
			if err != nil || string(rest) != "second\n" {
				t.Fatalf("rest %q, %v", rest, err)
			}
		})
	}
}

func TestTrailersPassThrough(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		w.Header().Set("Content-Type", "application/grpc")
		io.WriteString(w, "payload")
		w.Header().Set("Grpc-Status", "0")
	})
	table := buildTable(t, 1, nil, route("ns/g", "g.example", "/", routing.PathPrefix, backend("ns/g:80", up)))
	s := startServer(t, Options{}, table)
	for name, c := range map[string]*http.Client{
		"http1": clientTo(t, s.HTTPAddr(), nil),
		"h2":    clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}),
	} {
		scheme := "http"
		if name == "h2" {
			scheme = "https"
		}
		resp, body := do(t, c, http.MethodPost, scheme+"://g.example/svc/Method", strings.NewReader("req"),
			http.Header{"Te": {"trailers"}})
		if resp.StatusCode != 200 || body != "payload" || resp.Trailer.Get("Grpc-Status") != "0" {
			t.Errorf("%s: %d %q trailers %v, want Grpc-Status 0", name, resp.StatusCode, body, resp.Trailer)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	table := buildTable(t, 1, nil, route("ns/g", "g.example", "/", routing.PathPrefix, backend("ns/g:80", up)))
	s := startServer(t, Options{}, table)
	if !s.Ready() {
		t.Fatal("not ready after Publish and Start")
	}
	c := clientTo(t, s.HTTPAddr(), nil)

	type result struct {
		code int
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := c.Get("http://g.example/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{resp.StatusCode, string(b), err}
	}()
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	waitFor(t, "Ready to turn false", func() bool { return !s.Ready() })
	waitFor(t, "the listener to close", func() bool {
		conn, err := net.Dial("tcp", s.HTTPAddr())
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a request was in flight", err)
	default:
	}
	close(release)
	r := <-got
	if r.err != nil || r.code != 200 || r.body != "done" {
		t.Errorf("in-flight request: %d %q %v, want 200 done", r.code, r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestShutdownTimeoutClosesUpgradedConnections(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, _, _ = c.Read(r.Context()) // hold the connection open
	}))
	t.Cleanup(up.Close)
	table := buildTable(t, 1, nil,
		route("ns/ws", "", "/", routing.PathPrefix, backend("ns/ws:80", up.Listener.Addr().String())))
	s := startServer(t, Options{ShutdownTimeout: 200 * time.Millisecond}, table)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+s.HTTPAddr()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	err = s.Shutdown(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want a drain deadline error", err)
	}
	if _, _, err := conn.Read(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("upgraded connection still open after Shutdown gave up (read err %v)", err)
	}
}
