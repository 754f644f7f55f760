package dataplane

import (
	"context"
	"crypto/tls"
	"log"
	"net/http"
	"slices"
	"sync"
	"time"

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

	// Idle handler goroutines, last finished first (h2worker). lowIdle is
	// the fewest idle since the last trim: the workers at the bottom of
	// the stack below it ran nothing for a whole h2WorkerTrim period, and
	// trimWorkers ends them (armed while any is idle).
	workerMu  sync.Mutex
	idle      []*h2worker
	lowIdle   int
	trim      *time.Timer
	trimArmed bool
	stopped   bool // no idle workers kept (shutdown)
}

// h2IdleWorkers bounds the idle handler goroutines kept. It is at least
// the streams the busiest connections keep in flight: with 128, a client
// keeping 256 streams in flight (two connections, the bench's h2 sweep)
// made about half of its streams start a new goroutine, as the workers
// that finished a group of responses together outnumbered the bound and
// ended, so the next requests grew new stacks.
const h2IdleWorkers = 1024

// h2WorkerTrim is how long a worker may stay idle before it ends, at most
// twice that: the busy periods of a connection keep their workers, and a
// burst's extra goroutines do not outlive it for long.
var h2WorkerTrim = 10 * time.Second // a variable for tests

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
		h.idle[n-1] = nil
		h.idle = h.idle[:n-1]
		h.lowIdle = min(h.lowIdle, n-1)
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
		if !h.trimArmed {
			h.trimArmed = true
			h.lowIdle = len(h.idle)
			h.trim.Reset(h2WorkerTrim)
		}
		h.workerMu.Unlock()
		j = <-wk.jobs // a zero job: ended (trimmed, or the server shut down)
	}
}

// trimWorkers ends the workers that stayed idle for a whole h2WorkerTrim
// (the bottom lowIdle of the stack: it never got shorter), and runs again
// while any is idle.
func (h *h2server) trimWorkers() {
	h.workerMu.Lock()
	var ended []*h2worker
	if n := h.lowIdle; n > 0 {
		ended = slices.Clone(h.idle[:n])
		h.idle = slices.Clone(h.idle[n:]) // no hold on the ended ones
	}
	h.lowIdle = len(h.idle)
	h.trimArmed = len(h.idle) > 0 && !h.stopped
	if h.trimArmed {
		h.trim.Reset(h2WorkerTrim)
	}
	h.workerMu.Unlock()
	for _, wk := range ended {
		wk.jobs <- h2job{}
	}
}

// stopWorkers ends the idle workers (at shutdown).
func (h *h2server) stopWorkers() {
	h.workerMu.Lock()
	idle := h.idle
	h.idle, h.stopped = nil, true
	h.lowIdle, h.trimArmed = 0, false
	h.trim.Stop()
	h.workerMu.Unlock()
	for _, wk := range idle {
		wk.jobs <- h2job{}
	}
}

func newH2Server(s *Server, hs *http.Server, errLog *log.Logger) *h2server {
	h := &h2server{s: s, hs: hs, errLog: errLog, conns: make(map[*h2conn]struct{})}
	h.trim = time.AfterFunc(time.Hour, h.trimWorkers)
	h.trim.Stop() // armed when a worker goes idle
	return h
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
