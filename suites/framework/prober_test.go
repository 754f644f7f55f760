package framework

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/ingresslab/ingresslab/echoserver"
)

// TestProberCounts runs a prober against a real local server whose answers
// cycle through a correct one, a wrong backend, a 503 and a dropped
// connection, and checks each is counted where it belongs.
func TestProberCounts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 0:
			_ = json.NewEncoder(w).Encode(echoserver.Response{Path: r.URL.Path, Service: "svc-a"})
		case 1:
			_ = json.NewEncoder(w).Encode(echoserver.Response{Path: r.URL.Path, Namespace: "ns", Service: "svc-wrong"})
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })

	client := &Client{HTTPAddr: ln.Addr().String(), Timeout: 5 * time.Second}
	p := startProber(context.Background(), client, ProberOptions{
		Request: Request{Host: "probe.test"}, Backends: []string{"svc-a"}, Rate: 200,
	})
	gomega.NewWithT(t).Eventually(func() int { return p.Counts().Sent }).
		WithTimeout(10*time.Second).WithPolling(10*time.Millisecond).Should(gomega.BeNumerically(">=", 40), "requests sent")
	c, first := p.stop()
	if !first {
		t.Fatal("first stop() not reported as first")
	}
	if again, first := p.stop(); first || again.Sent != c.Sent {
		t.Fatalf("second stop() = %+v, %v; want the same counts, not first", again, first)
	}
	if c.Sent != c.OK+c.Misrouted+c.Non2xx+c.Errors {
		t.Fatalf("counts do not add up: %s", c)
	}
	if c.OK == 0 || c.Misrouted == 0 || c.Non2xx == 0 || c.Errors == 0 {
		t.Fatalf("want every kind of answer counted: %s", c)
	}
	if c.Statuses[503] != c.Non2xx {
		t.Fatalf("non-2xx %d, 503s %d: %s", c.Non2xx, c.Statuses[503], c)
	}
	if !strings.Contains(c.FirstMisroute, "ns/svc-wrong") {
		t.Fatalf("first misroute %q does not name the wrong backend", c.FirstMisroute)
	}
	if c.Name != "GET http://probe.test/" {
		t.Fatalf("default name %q", c.Name)
	}
}
