package dataplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/internal/testtools"
)

// h2Modes are the two HTTP/2 servers of the HTTPS listener.
var h2Modes = []struct {
	name    string
	netHTTP bool
}{{"net/http", true}, {"native", false}}

// h2Client speaks HTTP/2 only, with small receive windows when small is
// set (so that the server's writers wait for WINDOW_UPDATE).
func h2Client(t testing.TB, addr string, small bool) *http.Client {
	t.Helper()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}
	var p http.Protocols
	p.SetHTTP2(true)
	tr.Protocols = &p
	if small {
		tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerConnection: 64 << 10, MaxReceiveBufferPerStream: 64 << 10}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func TestH2Behaviour(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16*8) // 2 MiB
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(big)
		case "/sum":
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		case "/trailers":
			w.Header().Set("Trailer", "X-Checksum")
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Checksum", "abc")
		case "/hints":
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "final")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			fmt.Fprintf(w, "path=%s host=%s proto=%s cookie=%s", r.URL.Path, r.Host, r.Proto, r.Header.Get("Cookie"))
		}
	})
	table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
	for _, m := range h2Modes {
		t.Run(m.name, func(t *testing.T) {
			s := startServer(t, Options{NetHTTPH2: m.netHTTP}, table)
			c := h2Client(t, s.HTTPSAddr(), false)
			small := h2Client(t, s.HTTPSAddr(), true)

			t.Run("get", func(t *testing.T) {
				req, _ := http.NewRequest("GET", "https://s.example/a?b=c", nil)
				req.Header.Add("Cookie", "a=1")
				req.Header.Add("Cookie", "b=2")
				resp, body := doReq(t, c, req)
				if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
					t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
				}
				if !strings.HasPrefix(body, "path=/a host=s.example") || !strings.Contains(body, "cookie=a=1; b=2") {
					t.Errorf("body %q", body)
				}
				date, err := http.ParseTime(resp.Header.Get("Date"))
				if err != nil || time.Since(date).Abs() > 2*time.Second || resp.ContentLength != int64(len(body)) {
					t.Errorf("Date %q (%v), Content-Length %d for %d bytes", resp.Header.Get("Date"), err, resp.ContentLength, len(body))
				}
			})
			t.Run("flow control out", func(t *testing.T) {
				for _, cl := range []*http.Client{c, small} {
					resp, body := doReq(t, cl, mustReq(t, "GET", "https://s.example/big", nil))
					if resp.StatusCode != 200 || body != string(big) {
						t.Fatalf("status %d, %d of %d bytes", resp.StatusCode, len(body), len(big))
					}
				}
			})
			t.Run("flow control in", func(t *testing.T) {
				payload := bytes.Repeat([]byte("x"), 3<<20+17)
				sum := sha256.Sum256(payload)
				resp, body := doReq(t, c, mustReq(t, "POST", "https://s.example/sum", bytes.NewReader(payload)))
				if want := fmt.Sprintf("%d %x", len(payload), sum); resp.StatusCode != 200 || body != want {
					t.Fatalf("status %d, %q, want %q", resp.StatusCode, body, want)
				}
			})
			t.Run("trailers", func(t *testing.T) {
				resp, body := doReq(t, c, mustReq(t, "GET", "https://s.example/trailers", nil))
				if body != "body" || resp.Trailer.Get("X-Checksum") != "abc" {
					t.Errorf("body %q, trailer %v", body, resp.Trailer)
				}
			})
			t.Run("early hints", func(t *testing.T) {
				resp, body := doReq(t, c, mustReq(t, "GET", "https://s.example/hints", nil))
				if resp.StatusCode != 200 || body != "final" {
					t.Errorf("status %d, body %q", resp.StatusCode, body)
				}
			})
			t.Run("no content and head", func(t *testing.T) {
				resp, body := doReq(t, c, mustReq(t, "GET", "https://s.example/empty", nil))
				if resp.StatusCode != 204 || body != "" {
					t.Errorf("status %d, body %q", resp.StatusCode, body)
				}
				resp, body = doReq(t, c, mustReq(t, "HEAD", "https://s.example/big", nil))
				if resp.StatusCode != 200 || body != "" {
					t.Errorf("HEAD: status %d, body %q", resp.StatusCode, body)
				}
			})
			t.Run("concurrent streams", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 200)
				for i := range 200 {
					wg.Go(func() {
						resp, err := c.Get("https://s.example/n/" + strconv.Itoa(i))
						if err != nil {
							errs <- err
							return
						}
						b, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil || !strings.HasPrefix(string(b), "path=/n/"+strconv.Itoa(i)+" ") {
							errs <- fmt.Errorf("request %d: %q, %v", i, b, err)
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
			})
			t.Run("no route", func(t *testing.T) {
				resp, _ := doReq(t, c, mustReq(t, "GET", "https://other.example/", nil))
				if resp.StatusCode != 404 {
					t.Errorf("status %d", resp.StatusCode)
				}
			})
		})
	}
}

// TestH2BodyTrailersAtEOF: a request's declared trailer fields reach
// Request.Trailer when the body's Read returns io.EOF, in the reading
// goroutine, not when the frame arrives (the handler may read the map
// until then: ReverseProxy clones it); undeclared ones are dropped.
func TestH2BodyTrailersAtEOF(t *testing.T) {
	c := &h2conn{streams: map[uint32]*h2stream{}}
	c.cond.L = &c.mu
	st := &h2stream{c: c, id: 1, recvWin: h2StreamWindow}
	trailer := http.Header{"X-Sum": nil}
	b := &h2body{st: st, want: -1, trailer: trailer}
	b.cond.L = &b.mu
	st.body = b
	if err := b.write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if !b.finish([]hpack.HeaderField{{Name: "x-sum", Value: "7"}, {Name: "x-other", Value: "1"}}) {
		t.Fatal("finish refused a body without Content-Length")
	}
	if len(trailer["X-Sum"]) != 0 {
		t.Fatalf("trailer set before the body was read: %v", trailer)
	}
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "data" {
		t.Fatalf("body %q, %v", got, err)
	}
	if len(trailer) != 1 || trailer.Get("X-Sum") != "7" {
		t.Errorf("trailer after EOF %v, want only X-Sum: 7", trailer)
	}
}

// TestH2GracefulShutdown: a request in flight when Shutdown begins gets
// its whole response; the connection then ends.
func TestH2GracefulShutdown(t *testing.T) {
	for _, m := range h2Modes {
		t.Run(m.name, func(t *testing.T) {
			release := make(chan struct{})
			started := make(chan struct{}, 1)
			up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				started <- struct{}{}
				<-release
				_, _ = io.WriteString(w, "done")
			})
			table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
			s := startServer(t, Options{NetHTTPH2: m.netHTTP}, table)
			c := h2Client(t, s.HTTPSAddr(), false)
			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := c.Get("https://s.example/slow")
				if err != nil {
					got <- result{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				got <- result{string(b), err}
			}()
			<-started
			shut := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shut <- s.Shutdown(ctx)
			}()
			waitFor(t, "the server to stop accepting", func() bool {
				conn, err := net.Dial("tcp", s.HTTPSAddr())
				if err == nil {
					conn.Close()
				}
				return err != nil
			})
			close(release)
			if r := <-got; r.err != nil || r.body != "done" {
				t.Errorf("in-flight request: %q, %v", r.body, r.err)
			}
			if err := <-shut; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

// TestH2Spec runs h2spec (github.com/summerwind/h2spec, given by $H2SPEC)
// against both HTTP/2 servers: the native one must pass every case that
// net/http's passes.
func TestH2Spec(t *testing.T) {
	bin := os.Getenv("H2SPEC")
	if bin == "" {
		bin = filepath.Join("..", "..", "bin", "h2spec") // make tools
	}
	if _, err := os.Stat(bin); err != nil {
		testtools.Require(t, fmt.Errorf("h2spec (make tools, or $H2SPEC): %w", err))
	}
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	table := buildTable(t, 1, nil, route("ns/s", "", "/", routing.PathPrefix, backend("ns/s:80", up)))
	failed := map[string][]string{}
	outs := map[string]string{}
	for _, m := range h2Modes {
		s := startServer(t, Options{NetHTTPH2: m.netHTTP}, table)
		_, port, _ := net.SplitHostPort(s.HTTPSAddr())
		out, _ := exec.Command(bin, "-t", "-k", "-h", "127.0.0.1", "-p", port, "-o", "5").CombinedOutput()
		summary := h2specSummary.FindString(string(out))
		if summary == "" {
			t.Fatalf("h2spec did not run: %s", out)
		}
		failed[m.name] = h2specFailures(string(out))
		outs[m.name] = string(out)
		if os.Getenv("H2SPEC_RAW") != "" {
			_ = os.WriteFile(os.Getenv("H2SPEC_RAW")+"."+strings.ReplaceAll(m.name, "/", "_"), out, 0o644)
		}
		t.Logf("%s: %s; failed: %s", m.name, summary, strings.Join(failed[m.name], "; "))
	}
	std := map[string]bool{}
	for _, f := range failed["net/http"] {
		std[f] = true
	}
	for _, f := range failed["native"] {
		if !std[f] {
			_, details, _ := strings.Cut(outs["native"], "Failures:")
			t.Errorf("native fails where net/http passes: %s\n%s", f, details)
		}
	}
}

var h2specSummary = regexp.MustCompile(`\d+ tests, \d+ passed, \d+ skipped, \d+ failed`)

// h2specFailures lists the failed cases of h2spec's summary, each with
// its section: "6.5.3. Settings Synchronization / 1: Sends ...".
func h2specFailures(out string) []string {
	_, summary, ok := strings.Cut(out, "Failures:")
	if !ok {
		return nil
	}
	var ids []string
	section := ""
	for _, line := range strings.Split(summary, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "×"):
			ids = append(ids, section+" / "+strings.TrimSpace(strings.TrimPrefix(trimmed, "×")))
		case h2specSection.MatchString(trimmed):
			section = trimmed
		}
	}
	return ids
}

var h2specSection = regexp.MustCompile(`^\d+(\.\d+)*\. `)

func mustReq(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func doReq(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", req.Method, req.URL, err)
	}
	return resp, string(b)
}

// TestH2SlowReaderBounded: responses to a client that stops reading wait
// for the connection's write in progress: what is queued stays within
// h2OutLimit and one frame, however many streams write; once the client
// reads again, every stream's body arrives whole.
func TestH2SlowReaderBounded(t *testing.T) {
	if netHTTPH2Tests {
		t.Skip("the native server's write queue")
	}
	const streams, size = 16, 2 << 20
	big := bytes.Repeat([]byte("abcdefghijklmnop"), size/16)
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) })
	table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
	s := startServer(t, Options{}, table)

	raw, tc, fr := rawH2(t, s.HTTPSAddr(), 16<<10) // the kernel holds little of what is sent
	for i := range streams {
		h2Request(t, fr, uint32(2*i+1), "GET", "https", "s.example", "/big")
	}

	var c *h2conn
	waitFor(t, "a write blocked by the client and writers waiting behind it", func() bool {
		s.h2.mu.Lock()
		for hc := range s.h2.conns {
			c = hc
		}
		s.h2.mu.Unlock()
		if c == nil {
			return false
		}
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.flushing && len(c.out) >= h2OutLimit
	})
	c.wmu.Lock()
	queued := len(c.out)
	c.wmu.Unlock()
	if max := h2OutLimit + h2DefaultMaxFrame + 9; queued > max {
		t.Errorf("%d bytes queued behind the blocked write, want at most %d", queued, max)
	}

	_ = raw.SetReadBuffer(4 << 20) // reading at full speed again
	_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
	got := map[uint32]int{}
	for done := 0; done < streams; {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d streams: %v", done, err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			got[f.StreamID] += len(f.Data())
			if f.StreamEnded() {
				done++
			}
		case *http2.MetaHeadersFrame:
			if f.PseudoValue("status") != "200" {
				t.Fatalf("stream %d: status %s", f.StreamID, f.PseudoValue("status"))
			}
		}
	}
	for id, n := range got {
		if n != size {
			t.Errorf("stream %d: %d bytes, want %d", id, n, size)
		}
	}
}

// rawH2 opens an HTTP/2 connection to addr (TLS, no certificate check) with
// the largest windows, and a receive buffer of rcvBuf bytes when > 0.
func rawH2(t *testing.T, addr string, rcvBuf int) (*net.TCPConn, *tls.Conn, *http2.Framer) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw := c.(*net.TCPConn)
	if rcvBuf > 0 {
		_ = raw.SetReadBuffer(rcvBuf)
	}
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // test
	t.Cleanup(func() { tc.Close() })
	_ = tc.SetDeadline(time.Now().Add(30 * time.Second))
	fr := h2Framer(t, tc, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	if err := fr.WriteWindowUpdate(0, 1<<31-1-65535); err != nil {
		t.Fatal(err)
	}
	return raw, tc, fr
}

// h2Framer starts HTTP/2 on conn as a client: the preface and SETTINGS.
func h2Framer(t *testing.T, conn io.ReadWriter, settings ...http2.Setting) *http2.Framer {
	t.Helper()
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return fr
}

// h2Request sends a bodiless request on stream id, its pseudo-header
// fields as given (unchecked).
func h2Request(t *testing.T, fr *http2.Framer, id uint32, method, scheme, authority, path string) {
	t.Helper()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", path}} {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// TestH2ConnCloseReachesUpstream: a client that closes its connection
// while its streams wait for their upstream ends the upstream requests
// (the streams' watch, cancelwatch.go).
func TestH2ConnCloseReachesUpstream(t *testing.T) {
	for _, m := range h2Modes {
		t.Run(m.name, func(t *testing.T) {
			entered, canceled := make(chan struct{}, 2), make(chan struct{}, 2)
			up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				entered <- struct{}{}
				select {
				case <-r.Context().Done():
					canceled <- struct{}{}
				case <-time.After(10 * time.Second):
				}
			})
			table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
			s := startServer(t, Options{NetHTTPH2: m.netHTTP}, table)
			_, tc, fr := rawH2(t, s.HTTPSAddr(), 0)
			h2Request(t, fr, 1, "GET", "https", "s.example", "/a")
			h2Request(t, fr, 3, "GET", "https", "s.example", "/b")
			<-entered
			<-entered
			tc.Close()
			for range 2 {
				select {
				case <-canceled:
				case <-time.After(5 * time.Second):
					t.Fatal("an upstream request was not canceled after the client closed its connection")
				}
			}
		})
	}
}

// TestH2StuckWriteClosed: a client that resets the stream whose response
// it stopped reading, then idles, leaves a write blocked with no stream
// open; the idle connection still closes (its last write is waited for
// h2CloseFlushTimeout at most).
func TestH2StuckWriteClosed(t *testing.T) {
	if netHTTPH2Tests {
		t.Skip("the native server's write queue")
	}
	defer func(d time.Duration) { h2CloseFlushTimeout = d }(h2CloseFlushTimeout)
	h2CloseFlushTimeout = 200 * time.Millisecond
	big := bytes.Repeat([]byte("x"), 16<<20)
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) })
	table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
	s := startServer(t, Options{IdleTimeout: 100 * time.Millisecond}, table)
	_, _, fr := rawH2(t, s.HTTPSAddr(), 16<<10)
	h2Request(t, fr, 1, "GET", "https", "s.example", "/big")
	conns := func() (n int, blocked bool) {
		s.h2.mu.Lock()
		defer s.h2.mu.Unlock()
		for c := range s.h2.conns {
			c.wmu.Lock()
			blocked = blocked || c.flushing
			c.wmu.Unlock()
		}
		return len(s.h2.conns), blocked
	}
	waitFor(t, "a write blocked by the client", func() bool { _, b := conns(); return b })
	if err := fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the idle connection to close", func() bool { n, _ := conns(); return n == 0 })
}

// TestH2ClosedStreamHeaders: HEADERS on a stream whose response the client
// already has whole (both sides ended it) is a connection error (RFC 9113
// section 5.1; STREAM_CLOSED from the native server, as h2spec 5.1/12
// expects, PROTOCOL_ERROR from net/http's), never a stream reset: the
// stream is closed before its last frame can reach the client.
func TestH2ClosedStreamHeaders(t *testing.T) {
	up := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	table := buildTable(t, 1, nil, route("ns/s", "s.example", "/", routing.PathPrefix, backend("ns/s:80", up)))
	for _, m := range h2Modes {
		t.Run(m.name, func(t *testing.T) {
			s := startServer(t, Options{NetHTTPH2: m.netHTTP}, table)
			for i := range 50 {
				_, tc, fr := rawH2(t, s.HTTPSAddr(), 0)
				h2Request(t, fr, 1, "GET", "https", "s.example", "/")
				for ended := false; !ended; {
					f, err := fr.ReadFrame()
					if err != nil {
						t.Fatalf("connection %d: %v", i, err)
					}
					ended = f.Header().StreamID == 1 && f.Header().Flags.Has(http2.FlagDataEndStream)
				}
				h2Request(t, fr, 1, "GET", "https", "s.example", "/")
				for done := false; !done; {
					f, err := fr.ReadFrame()
					if err != nil {
						t.Fatalf("connection %d: %v, want GOAWAY", i, err)
					}
					switch f := f.(type) {
					case *http2.GoAwayFrame:
						if want := http2.ErrCodeStreamClosed; s.h2 != nil && f.ErrCode != want { // the native server
							t.Fatalf("connection %d: GOAWAY %v, want %v", i, f.ErrCode, want)
						}
						done = true
					case *http2.RSTStreamFrame:
						t.Fatalf("connection %d: RST_STREAM %v on the closed stream, want GOAWAY STREAM_CLOSED", i, f.ErrCode)
					}
				}
				tc.Close()
			}
		})
	}
}
