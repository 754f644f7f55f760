package dataplane

import (
	"context"
	"crypto/tls"
	"log"
	"net/http"
	"sync"

	"golang.org/x/net/http2"
)

// h2server tracks the native HTTP/2 connections of a Server.
type h2server struct {
	s      *Server
	hs     *http.Server // http.ServerContextKey of requests
	errLog *log.Logger

	mu      sync.Mutex
	conns   map[*h2conn]struct{}
	closing bool
	wg      sync.WaitGroup

	// Idle handler goroutines, last finished first (h2worker).
	workerMu sync.Mutex
	idle     []*h2worker
	stopped  bool // no idle workers kept (shutdown)
}

// h2IdleWorkers bounds the idle handler goroutines kept.
const h2IdleWorkers = 128

// h2worker is a goroutine that runs stream handlers one after another. A
// new goroutine per stream, as net/http's, grows its stack on every
// request (the proxy's call depth is larger than a new goroutine's stack),
// which copying cost about a tenth of the CPU per request at half the
// maximum rate; a reused one keeps its grown stack.
type h2worker struct{ jobs chan h2job }

type h2job struct {
	st       *h2stream
	w        *h2writer
	r        *http.Request
	tooLarge bool
}

// dispatch runs j on an idle worker, else on a new one.
func (h *h2server) dispatch(j h2job) {
	h.workerMu.Lock()
	if n := len(h.idle); n > 0 {
		wk := h.idle[n-1]
		h.idle = h.idle[:n-1]
		h.workerMu.Unlock()
		wk.jobs <- j
		return
	}
	h.workerMu.Unlock()
	wk := &h2worker{jobs: make(chan h2job, 1)}
	go wk.run(h, j)
}

func (wk *h2worker) run(h *h2server, j h2job) {
	for j.st != nil {
		j.st.c.runHandler(j.st, j.w, j.r, j.tooLarge)
		j = h2job{}
		h.workerMu.Lock()
		if len(h.idle) >= h2IdleWorkers || h.stopped {
			h.workerMu.Unlock()
			return
		}
		h.idle = append(h.idle, wk)
		h.workerMu.Unlock()
		j = <-wk.jobs // a zero job: the server is shutting down
	}
}

// stopWorkers ends the idle workers (at shutdown).
func (h *h2server) stopWorkers() {
	h.workerMu.Lock()
	idle := h.idle
	h.idle, h.stopped = nil, true
	h.workerMu.Unlock()
	for _, wk := range idle {
		wk.jobs <- h2job{}
	}
}

func newH2Server(s *Server, hs *http.Server, errLog *log.Logger) *h2server {
	return &h2server{s: s, hs: hs, errLog: errLog, conns: make(map[*h2conn]struct{})}
}

// serve serves tc (h2 negotiated, handshake done) until it closes.
func (h *h2server) serve(base context.Context, tc *tls.Conn) {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		_ = tc.Close()
		return
	}
	c := newH2Conn(h, base, tc)
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		h.wg.Done()
	}()
	c.serve()
}

// shutdown sends every connection GOAWAY and waits until their streams
// have ended and they closed, or ctx ends (then it closes them).
func (h *h2server) shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	conns := make([]*h2conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.goAway(http2.ErrCodeNo)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	defer h.stopWorkers()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		for c := range h.conns {
			c.closeConn()
		}
		h.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// maxHeaderListSize is net/http's: MaxHeaderBytes and 10 fields' overhead.
func (h *h2server) maxHeaderListSize() uint32 {
	n := h.s.opts.MaxHeaderBytes
	if n <= 0 {
		n = http.DefaultMaxHeaderBytes
	}
	return uint32(n + 10*32)
}
