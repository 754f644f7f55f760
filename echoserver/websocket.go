package echoserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"golang.org/x/net/http/httpguts"
)

// isWebSocketUpgrade reports whether r asks for a WebSocket upgrade.
func isWebSocketUpgrade(r *http.Request) bool {
	return httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") &&
		httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket")
}

// serveWebSocket accepts the upgrade and echoes every message back.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) int {
	var setHeaders [][2]string
	if values := r.Header[SetHeaderHeader]; len(values) > 0 {
		var err error
		if setHeaders, err = parseSetHeaders(values); err != nil {
			return writeError(w, http.StatusBadRequest, badControl("header %s: %v", SetHeaderHeader, err))
		}
	}
	if s.wsClosing() {
		return writeError(w, http.StatusServiceUnavailable, errors.New("server is shutting down"))
	}
	h := w.Header()
	id := &s.opts.Identity
	h.Set("X-Echo-Namespace", id.Namespace)
	h.Set("X-Echo-Ingress", id.Ingress)
	h.Set("X-Echo-Service", id.Service)
	h.Set("X-Echo-Pod", id.Pod)
	applySetHeaders(h, setHeaders)

	var subprotocols []string
	for _, v := range r.Header["Sec-Websocket-Protocol"] {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				subprotocols = append(subprotocols, p)
			}
		}
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       subprotocols,
		InsecureSkipVerify: true, // an echo backend for tests: any origin
	})
	if err != nil {
		// Accept has answered with the reason (400, 403, 426...).
		s.opts.Logger.Debug("websocket accept failed", "remote", r.RemoteAddr, "error", err)
		return http.StatusBadRequest
	}
	defer func() { _ = c.CloseNow() }()
	if !s.trackWS(c) {
		_ = c.Close(websocket.StatusGoingAway, "server is shutting down")
		return http.StatusSwitchingProtocols
	}
	defer s.untrackWS(c)
	c.SetReadLimit(s.opts.MaxWebSocketMessage)

	// The request context is not cancelled for hijacked connections; the
	// loop ends when the peer closes or Shutdown closes the connection.
	ctx := context.Background()
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			break
		}
		wr, err := c.Writer(ctx, typ)
		if err != nil {
			break
		}
		if _, err := io.Copy(wr, rd); err != nil {
			_ = wr.Close()
			break
		}
		if err := wr.Close(); err != nil {
			break
		}
	}
	return http.StatusSwitchingProtocols
}

// trackWS records an open WebSocket; false when shutdown has begun.
func (s *Server) trackWS(c *websocket.Conn) bool {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	if s.wsShutdown {
		return false
	}
	s.wsConns[c] = struct{}{}
	return true
}

func (s *Server) untrackWS(c *websocket.Conn) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	delete(s.wsConns, c)
	if s.wsShutdown && len(s.wsConns) == 0 && !s.wsDrained {
		s.wsDrained = true
		close(s.wsDone)
	}
}

func (s *Server) wsClosing() bool {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	return s.wsShutdown
}

// closeWebSockets closes every open WebSocket with 1001 (going away) and
// waits, until ctx ends, for their handlers to return. With now it drops the
// connections without a closing handshake.
func (s *Server) closeWebSockets(ctx context.Context, now bool) error {
	s.wsMu.Lock()
	s.wsShutdown = true
	conns := make([]*websocket.Conn, 0, len(s.wsConns))
	for c := range s.wsConns {
		conns = append(conns, c)
	}
	if len(s.wsConns) == 0 && !s.wsDrained {
		s.wsDrained = true
		close(s.wsDone)
	}
	s.wsMu.Unlock()
	for _, c := range conns {
		if now {
			_ = c.CloseNow()
		} else {
			go func() { _ = c.Close(websocket.StatusGoingAway, "server is shutting down") }()
		}
	}
	select {
	case <-s.wsDone:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			_ = c.CloseNow()
		}
		return ctx.Err()
	}
}
