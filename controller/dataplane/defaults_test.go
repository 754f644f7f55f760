package dataplane

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestDefaultUpstreamTimeouts: without annotations, connecting and waiting
// for the response head are bounded by default (5s, 60s like
// ingress-nginx), on every transport; a negative read timeout turns the
// bound off. The defaults' effect is checked with small values.
func TestDefaultUpstreamTimeouts(t *testing.T) {
	o := Options{}.withDefaults()
	if o.DialTimeout != 5*time.Second || o.ResponseHeaderTimeout != 60*time.Second {
		t.Errorf("defaults: connect %v, read %v; want 5s, 60s", o.DialTimeout, o.ResponseHeaderTimeout)
	}
	s, err := New(Options{DisableHTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.fast.responseHeaderTimeout != 60*time.Second || s.transport.ResponseHeaderTimeout != 60*time.Second ||
		s.h2c.ResponseHeaderTimeout != 60*time.Second || s.dialer.Timeout != 5*time.Second {
		t.Errorf("transports: fast %v, http1 %v, h2c %v, dial %v", s.fast.responseHeaderTimeout,
			s.transport.ResponseHeaderTimeout, s.h2c.ResponseHeaderTimeout, s.dialer.Timeout)
	}
	if o := (Options{ResponseHeaderTimeout: -1}).withDefaults(); o.ResponseHeaderTimeout > 0 {
		t.Errorf("negative read timeout became %v", o.ResponseHeaderTimeout)
	}

	// A backend that never answers, and one that never accepts: 504.
	release := make(chan struct{})
	silent := httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the proxy's close
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the upstream's Close
	for name, addr := range map[string]string{"read": silent, "connect": blackhole(t)} {
		srv := startServer(t, Options{DialTimeout: 150 * time.Millisecond, ResponseHeaderTimeout: 150 * time.Millisecond},
			singleRoute(t, addr))
		c := clientTo(t, srv.HTTPAddr(), nil)
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			resp, body := do(t, c, method, "http://f.example/", strings.NewReader("x"), nil)
			if resp.StatusCode != http.StatusGatewayTimeout || body != "upstream timeout\n" {
				t.Errorf("%s %s: %d %q, want 504", name, method, resp.StatusCode, body)
			}
		}
	}
}

// TestNewKeepsTheCallersTrustedProxies: New masks its own copy of
// Options.TrustedProxies; the caller's slice, which two servers may share,
// is not written (it was, racing with the first server's requests).
func TestNewKeepsTheCallersTrustedProxies(t *testing.T) {
	tp := []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}
	s, err := New(Options{TrustedProxies: tp, HTTPAddr: "127.0.0.1:0", DisableHTTPS: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := tp[0].String(); got != "10.1.2.3/8" {
		t.Errorf("the caller's prefix became %s", got)
	}
	if !s.isTrusted("10.9.9.9:1234") {
		t.Error("the masked copy does not trust 10.9.9.9")
	}
}
