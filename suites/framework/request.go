package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ingresslab/ingresslab/echoserver"
)

// Request is one HTTP request sent to the controller under test. The
// connection goes to the controller's address; Host and SNI are kept.
type Request struct {
	Method string // default GET
	Host   string
	Path   string // path and query, default "/"
	HTTPS  bool
	// SNI is the TLS server name; default Host without port.
	SNI string
	// HTTP2 negotiates h2 over TLS (ALPN) instead of HTTP/1.1.
	HTTP2 bool
	// ClientCert is sent when the server asks for a client certificate
	// (HTTPS only), even when its CA is not one the server names.
	ClientCert *tls.Certificate
	Headers    map[string]string
	// Body is sent as the request body (with its Content-Length).
	Body []byte
}

func (r Request) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return r.Method
}

func (r Request) path() string {
	if r.Path == "" {
		return "/"
	}
	return r.Path
}

func (r Request) sni() string {
	if r.SNI != "" {
		return r.SNI
	}
	h, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		return r.Host
	}
	return h
}

// String is a short description: "GET https://foo.com/bar".
func (r Request) String() string {
	scheme := "http"
	if r.HTTPS {
		scheme = "https"
	}
	return fmt.Sprintf("%s %s://%s%s", r.method(), scheme, r.Host, r.path())
}

// Curl returns a curl command that reproduces the request against addr.
func (r Request) Curl(addr string) string {
	scheme, port := "http", "80"
	if r.HTTPS {
		scheme, port = "https", "443"
	}
	host := r.sni()
	var b strings.Builder
	fmt.Fprintf(&b, "curl -sv -X %s --connect-to %s:%s:%s", r.method(), host, port, addr)
	if r.HTTPS {
		b.WriteString(" -k")
		if r.HTTP2 {
			b.WriteString(" --http2")
		}
	}
	if r.Host != host {
		fmt.Fprintf(&b, " -H 'Host: %s'", r.Host)
	}
	keys := make([]string, 0, len(r.Headers))
	for k := range r.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " -H '%s: %s'", k, r.Headers[k])
	}
	if r.Body != nil {
		fmt.Fprintf(&b, " --data-binary @<(head -c %d /dev/zero | tr '\\0' x)", len(r.Body))
	}
	fmt.Fprintf(&b, " '%s://%s:%s%s'", scheme, host, port, r.path())
	return b.String()
}

// Response is what came back.
type Response struct {
	Request    Request
	StatusCode int
	Header     http.Header
	Body       []byte
	// Echo is the decoded echo response, nil when the body was not one.
	Echo *echoserver.Response
	// TLS is the connection state for HTTPS.
	TLS *tls.ConnectionState
	// Proto is the protocol of the response ("HTTP/1.1", "HTTP/2.0").
	Proto string
	Err   error
	At    time.Time
	// Elapsed runs from sending the request to the end of the body (or the
	// error).
	Elapsed time.Duration
}

// String summarises the response for failure messages.
func (r Response) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%s -> error: %v", r.Request, r.Err)
	}
	body := string(r.Body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	s := fmt.Sprintf("%s -> %d %s", r.Request, r.StatusCode, strings.TrimSpace(body))
	if loc := r.Header.Get("Location"); loc != "" {
		s += " (Location: " + loc + ")"
	}
	return s
}

// Backend is the service that answered ("" when not an echo response).
func (r Response) Backend() string {
	if r.Echo == nil {
		return ""
	}
	return r.Echo.Service
}

// Client sends Requests to one controller. Connections are not reused:
// every request opens a new one, so that SNI-based certificate selection and
// route changes are seen at once.
type Client struct {
	HTTPAddr, HTTPSAddr string
	Timeout             time.Duration
	// Guard, when set, must accept the address before anything is sent.
	Guard func(ctx context.Context, addr netip.Addr) error

	mu       sync.Mutex
	checked  map[string]error
	http1    *http.Client
	tlsPerCN map[string]*http.Client
}

func (c *Client) guard(ctx context.Context, addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err, ok := c.checked[addr]; ok {
		return err
	}
	host, _, err := net.SplitHostPort(addr)
	if err == nil {
		var ip netip.Addr
		ip, err = netip.ParseAddr(host)
		if err == nil {
			if c.Guard != nil {
				err = c.Guard(ctx, ip)
			} else if !ip.IsLoopback() {
				err = fmt.Errorf("refusing to send traffic to %s: not loopback", ip)
			}
		} else {
			err = fmt.Errorf("controller address %q must be an IP:port", addr)
		}
	}
	if c.checked == nil {
		c.checked = map[string]error{}
	}
	c.checked[addr] = err
	return err
}

func (c *Client) client(r Request) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if !r.HTTPS {
		if c.http1 == nil {
			addr := c.HTTPAddr
			c.http1 = &http.Client{
				CheckRedirect: noRedirect,
				Transport: &http.Transport{
					DisableKeepAlives: true,
					DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
						return (&net.Dialer{}).DialContext(ctx, network, addr)
					},
				},
			}
		}
		return c.http1
	}
	key := r.sni() + "|" + fmt.Sprint(r.HTTP2) + fmt.Sprintf("|%p", r.ClientCert)
	if cl, ok := c.tlsPerCN[key]; ok {
		return cl
	}
	addr := c.HTTPSAddr
	tlsConf := &tls.Config{ServerName: r.sni(), InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}} //nolint:gosec // the suites inspect the certificate themselves
	if r.HTTP2 {
		tlsConf.NextProtos = []string{"h2", "http/1.1"}
	}
	if cert := r.ClientCert; cert != nil {
		tlsConf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	tr := &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   tlsConf,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	if r.HTTP2 {
		// Offer h2 and http/1.1 by ALPN, as browsers do: a server without
		// h2 must still be able to pick http/1.1.
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP1(true)
		tr.Protocols.SetHTTP2(true)
	}
	cl := &http.Client{CheckRedirect: noRedirect, Transport: tr}
	if c.tlsPerCN == nil {
		c.tlsPerCN = map[string]*http.Client{}
	}
	c.tlsPerCN[key] = cl
	return cl
}

// Do sends the request and reads the whole response.
func (c *Client) Do(ctx context.Context, r Request) Response {
	out := c.do(ctx, r)
	out.Elapsed = time.Since(out.At)
	return out
}

func (c *Client) do(ctx context.Context, r Request) Response {
	out := Response{Request: r, At: time.Now()}
	addr := c.HTTPAddr
	scheme := "http"
	if r.HTTPS {
		addr, scheme = c.HTTPSAddr, "https"
	}
	if addr == "" {
		out.Err = fmt.Errorf("the controller has no %s address", scheme)
		return out
	}
	if err := c.guard(ctx, addr); err != nil {
		out.Err = err
		return out
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method(), scheme+"://"+r.sni()+r.path(), body)
	if err != nil {
		out.Err = err
		return out
	}
	req.Host = r.Host
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client(r).Do(req)
	if err != nil {
		out.Err = err
		return out
	}
	defer resp.Body.Close()
	out.StatusCode, out.Header, out.TLS, out.Proto = resp.StatusCode, resp.Header, resp.TLS, resp.Proto
	out.Body, out.Err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var echo echoserver.Response
	if json.Unmarshal(out.Body, &echo) == nil && echo.Path != "" {
		out.Echo = &echo
	}
	return out
}
