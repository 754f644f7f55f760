package dataplane

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// grpcFrame is one gRPC length-prefixed message (uncompressed).
func grpcFrame(msg string) []byte {
	b := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	copy(b[5:], msg)
	return b
}

func readGRPCFrame(r io.Reader) (string, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", err
	}
	msg := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
	_, err := io.ReadFull(r, msg)
	return string(msg), err
}

// grpcEcho is a gRPC-style bidirectional echo over HTTP/2: each request
// message comes back upper-cased at once, and the stream ends with
// grpc-status trailers that were not announced in the headers, as gRPC
// servers send them.
var grpcEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 || r.Header.Get("Te") != "trailers" || r.Header.Get("Content-Type") != "application/grpc" {
		http.Error(w, "want gRPC over HTTP/2 with TE: trailers, got "+r.Proto+" TE "+r.Header.Get("Te"), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	w.WriteHeader(http.StatusOK)
	n := 0
	for {
		msg, err := readGRPCFrame(r.Body)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.Header().Set(http.TrailerPrefix+"Grpc-Status", "13")
			return
		}
		n++
		_, _ = w.Write(grpcFrame(strings.ToUpper(msg)))
		http.NewResponseController(w).Flush()
	}
	w.Header().Set(http.TrailerPrefix+"Grpc-Status", "0")
	w.Header().Set(http.TrailerPrefix+"Grpc-Message", "echoed "+string(rune('0'+n)))
})

// grpcUpstream is an h2c-only server running grpcEcho.
func grpcUpstream(t *testing.T) string {
	t.Helper()
	return h2cUpstream(t, grpcEcho)
}

// h2cUpstream is an h2c-only server (HTTP/2 prior knowledge, no HTTP/1.1)
// running h.
func h2cUpstream(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &p, Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestGRPCThroughH2CUpstream streams gRPC-style messages both ways through
// the data plane, over HTTP/2 with TLS and over h2c downstream, to a backend
// marked routing.ProtocolH2C, and checks the trailers arrive.
func TestGRPCThroughH2CUpstream(t *testing.T) {
	up := grpcUpstream(t)
	be := backend("ns/grpc:50051", up)
	be.Protocol = routing.ProtocolH2C
	plain := backend("ns/grpc-as-http1:50051", up) // the same server without the protocol
	table := buildTable(t, 1, nil,
		route("ns/grpc", "grpc.example", "/", routing.PathPrefix, be),
		route("ns/grpc", "http1.example", "/", routing.PathPrefix, plain))
	s := startServer(t, Options{H2C: true}, table)

	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	for _, tc := range []struct {
		name, url string
		client    *http.Client
	}{
		{"h2-tls", "https://grpc.example/echo.Echo/Chat", clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true})}, //nolint:gosec // test
		{"h2c", "http://grpc.example/echo.Echo/Chat", func() *http.Client {
			c := clientTo(t, s.HTTPAddr(), nil)
			c.Transport.(*http.Transport).Protocols = &h2c
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPost, tc.url, pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/grpc")
			req.Header.Set("Te", "trailers")
			go pw.Write(grpcFrame("hello")) // the response starts once the first message is echoed
			resp, err := tc.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d %s: %q", resp.StatusCode, resp.Proto, b)
			}
			// Full duplex: each answer arrives while the request is still open.
			for _, msg := range []string{"hello", "world"} {
				if msg != "hello" {
					if _, err := pw.Write(grpcFrame(msg)); err != nil {
						t.Fatal(err)
					}
				}
				got, err := readGRPCFrame(resp.Body)
				if err != nil || got != strings.ToUpper(msg) {
					t.Fatalf("echo of %q: %q, %v", msg, got, err)
				}
			}
			pw.Close()
			rest, err := io.ReadAll(resp.Body)
			if err != nil || len(rest) != 0 {
				t.Fatalf("after the last message: %q, %v", rest, err)
			}
			if st, m := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message"); st != "0" || m != "echoed 2" {
				t.Errorf("trailers grpc-status %q grpc-message %q, want 0 and \"echoed 2\" (trailer %v)", st, m, resp.Trailer)
			}
		})
	}

	// The protocol is what makes it work: as HTTP/1.1 the backend fails.
	c := clientTo(t, s.HTTPSAddr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test
	resp, body := do(t, c, http.MethodPost, "https://http1.example/echo.Echo/Chat", bytes.NewReader(grpcFrame("x")),
		http.Header{"Content-Type": {"application/grpc"}, "Te": {"trailers"}})
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("h2c-only backend as HTTP/1.1: %d %q, want 502", resp.StatusCode, body)
	}
}
