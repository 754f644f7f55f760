package framework

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/echoserver"
)

// RawResponse is one response read off a raw connection.
type RawResponse struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Echo is the decoded echo response, nil when the body was not one.
	Echo *echoserver.Response
}

// RawResult is what a raw exchange got back: the responses in order, and
// how the connection ended.
type RawResult struct {
	Responses []RawResponse
	// Closed is true when the controller closed the connection (EOF or
	// reset) before the read deadline.
	Closed bool
	// Err is the read error that ended the exchange (nil at EOF).
	Err error
	// Took is the time from the last write to the end of the exchange.
	Took time.Duration
}

// String summarises the result for failure messages.
func (r RawResult) String() string {
	var b strings.Builder
	for i, resp := range r.Responses {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", resp.StatusCode)
		if resp.Echo != nil {
			fmt.Fprintf(&b, " (backend %s saw %s %s, %d body bytes)", resp.Echo.Service, resp.Echo.Method, resp.Echo.Path, resp.Echo.BodyLength)
		}
	}
	if len(r.Responses) == 0 {
		b.WriteString("no response")
	}
	switch {
	case r.Closed:
		b.WriteString("; connection closed")
	case r.Err != nil:
		fmt.Fprintf(&b, "; %v", r.Err)
	}
	return b.String()
}

// Statuses returns the status code of every response.
func (r RawResult) Statuses() []int {
	out := make([]int, len(r.Responses))
	for i, resp := range r.Responses {
		out[i] = resp.StatusCode
	}
	return out
}

// RawConn is a connection to the controller that sends bytes as they are:
// for requests net/http would normalise or refuse to send (smuggling,
// malformed framing, slow clients).
type RawConn struct {
	net.Conn
	r *bufio.Reader
}

// DialRaw opens a TCP connection to the controller's HTTP listener, or a
// TLS one to its HTTPS listener when tlsConf is not nil (sent as is: set
// ServerName, versions and ALPN there).
func (c *Client) DialRaw(ctx context.Context, tlsConf *tls.Config) (*RawConn, error) {
	addr := c.HTTPAddr
	if tlsConf != nil {
		addr = c.HTTPSAddr
	}
	if addr == "" {
		return nil, errors.New("the controller has no address for this scheme")
	}
	if err := c.guard(ctx, addr); err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	d := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if tlsConf != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return &RawConn{Conn: conn, r: bufio.NewReader(conn)}, nil
}

// ReadResponses reads responses until the connection ends or deadline
// passes (then the result is not Closed). A response to HEAD is not
// expected here: every body is read by its framing.
func (c *RawConn) ReadResponses(deadline time.Time) RawResult {
	start := time.Now()
	var out RawResult
	_ = c.SetReadDeadline(deadline)
	for {
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			out.Took = time.Since(start)
			out.Closed, out.Err = closedErr(err)
			return out
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		rr := RawResponse{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
		var echo echoserver.Response
		if json.Unmarshal(body, &echo) == nil && echo.Path != "" {
			rr.Echo = &echo
		}
		out.Responses = append(out.Responses, rr)
		if err != nil {
			out.Took = time.Since(start)
			out.Closed, out.Err = closedErr(err)
			return out
		}
		if resp.Close {
			// The controller said it closes: wait for it to do so.
			_, err := c.r.Peek(1)
			out.Took = time.Since(start)
			out.Closed, out.Err = closedErr(err)
			if err == nil {
				out.Closed, out.Err = false, errors.New("bytes after a response with Connection: close")
			}
			return out
		}
	}
}

// WaitClosed blocks until the controller closes the connection (true) or
// deadline passes (false); bytes it sends meanwhile are discarded.
func (c *RawConn) WaitClosed(deadline time.Time) (bool, time.Duration) {
	start := time.Now()
	_ = c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c.r)
	closed, _ := closedErr(err)
	return closed, time.Since(start)
}

// closedErr tells a closed connection (EOF, reset) from a read deadline.
func closedErr(err error) (closed bool, rest error) {
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, err
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return true, nil // reset or similar: the peer is gone
	}
	return false, err
}

// Exchange opens a raw connection, writes raw (a whole request, or
// several, exactly as given), half-closes nothing, and reads responses
// until the controller closes the connection or the request timeout
// passes. A connection that stays open after the last response is normal
// keep-alive: the result is then not Closed.
func (c *Client) Exchange(ctx context.Context, tlsConf *tls.Config, raw []byte, wait time.Duration) (RawResult, error) {
	conn, err := c.DialRaw(ctx, tlsConf)
	if err != nil {
		return RawResult{}, err
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(wait))
	if _, err := conn.Write(raw); err != nil {
		// The controller may refuse mid-request and close: read what it
		// said.
		res := conn.ReadResponses(time.Now().Add(wait))
		if len(res.Responses) == 0 && !res.Closed {
			return res, fmt.Errorf("write: %w", err)
		}
		return res, nil
	}
	return conn.ReadResponses(time.Now().Add(wait)), nil
}

// CRLF joins request lines with CRLF and ends the head with an empty line:
// RawRequest("GET / HTTP/1.1", "Host: a") is "GET / HTTP/1.1\r\nHost:
// a\r\n\r\n". A body is appended as is.
func RawRequest(lines ...string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
