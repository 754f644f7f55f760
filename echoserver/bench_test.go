package echoserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a minimal http.ResponseWriter for measuring the handler
// alone.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkHandler(b *testing.B) {
	s, err := New(Options{Identity: testIdentity})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://echo.example.test/some/path?a=1", nil)
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		s.ServeHTTP(w, req)
	}
}

func benchmarkOverSocket(b *testing.B, opts Options, client func(testing.TB) *http.Client) {
	s := start(b, opts)
	c := client(b)
	url := s.URL() + "/some/path?a=1"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkHTTP1 measures round trips over keep-alive HTTP/1.1 connections
// on 127.0.0.1 (client and server share the machine's cores).
func BenchmarkHTTP1(b *testing.B) {
	benchmarkOverSocket(b, Options{}, func(tb testing.TB) *http.Client {
		tr := &http.Transport{MaxIdleConnsPerHost: 256}
		tb.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	})
}

// BenchmarkH2C measures round trips over one prior-knowledge HTTP/2
// connection on 127.0.0.1.
func BenchmarkH2C(b *testing.B) {
	benchmarkOverSocket(b, Options{H2C: true}, func(tb testing.TB) *http.Client {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr := &http.Transport{Protocols: &p}
		tb.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	})
}
