// Package admin is the reference controller's admin HTTP server, on its own
// listener (default 127.0.0.1:10254): liveness and readiness probes,
// Prometheus metrics, and views of the served routing table that suites and
// benchmarks poll to wait for convergence.
//
// Endpoints (GET or HEAD):
//
//	/healthz        200 "ok" while the process serves
//	/readyz         200 "ready" when Options.Ready says so, else 503
//	/metrics        Options.Metrics (Prometheus exposition)
//	/generation     the served table's generation as plain text ("0" before
//	                the first table); ?format=json adds readiness and counts
//	/debug/table    the served table as JSON (routing.Table.Dump)
//	/warnings       Options.Warnings as JSON
//	/debug/pprof/   net/http/pprof, only with Options.Pprof
//
// The package consumes small interfaces (TableSource, WarningSource, a
// readiness func, an http.Handler for metrics) rather than controller types.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// DefaultAddr is the admin listen address when Options.Addr is empty.
const DefaultAddr = "127.0.0.1:10254"

// TableSource gives the routing table being served (nil before the first).
// *dataplane.Server implements it.
type TableSource interface {
	Table() *routing.Table
}

// WarningSource gives the warnings of the last translation as a
// JSON-encodable value (typically a slice of structs). The control loop
// implements it.
type WarningSource interface {
	Warnings() any
}

// Options configures the admin server.
type Options struct {
	// Addr is the listen address. Default DefaultAddr; port 0 picks a free
	// port (see Server.Addr). Ignored when Listener is set.
	Addr string
	// Listener, when set, is served instead of binding Addr.
	Listener net.Listener
	// Tables is the source of the served table. Default: none (generation 0,
	// /debug/table answers 503).
	Tables TableSource
	// Ready reports readiness for /readyz. Default: ready once Tables has a
	// table.
	Ready func() bool
	// Warnings is the source of /warnings. Default: an empty list.
	Warnings WarningSource
	// Metrics serves /metrics (metrics.Metrics.Handler). Default: 404.
	Metrics http.Handler
	// Pprof mounts net/http/pprof under /debug/pprof/. Default false.
	Pprof bool
	// ShutdownTimeout bounds Shutdown's drain. Default 5s.
	ShutdownTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server is the admin HTTP server.
type Server struct {
	opts    Options
	handler http.Handler

	mu      sync.Mutex
	ln      net.Listener
	srv     *http.Server
	stopped bool
}

// New returns an admin Server that is not listening yet.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	if opts.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("admin: Options.ShutdownTimeout %v is negative", opts.ShutdownTimeout)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Ready == nil {
		tables := opts.Tables
		opts.Ready = func() bool { return tables != nil && tables.Table() != nil }
	}
	s := &Server{opts: opts}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Ready() {
			writeText(w, http.StatusOK, "ready\n")
			return
		}
		writeText(w, http.StatusServiceUnavailable, "not ready\n")
	})
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics)
	}
	mux.HandleFunc("GET /generation", s.generation)
	mux.HandleFunc("GET /debug/table", s.debugTable)
	mux.HandleFunc("GET /warnings", s.warnings)
	if s.opts.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Handler returns the admin routes, for mounting elsewhere or testing.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) table() *routing.Table {
	if s.opts.Tables == nil {
		return nil
	}
	return s.opts.Tables.Table()
}

// GenerationInfo is the JSON form of /generation.
type GenerationInfo struct {
	Generation uint64 `json:"generation"`
	Ready      bool   `json:"ready"`
	// Published is false before the first table.
	Published bool          `json:"published"`
	Stats     routing.Stats `json:"stats"`
}

func (s *Server) generation(w http.ResponseWriter, r *http.Request) {
	t := s.table()
	var gen uint64
	if t != nil {
		gen = t.Generation
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "text":
		writeText(w, http.StatusOK, strconv.FormatUint(gen, 10)+"\n")
	case "json":
		info := GenerationInfo{Generation: gen, Ready: s.opts.Ready(), Published: t != nil}
		if t != nil {
			info.Stats = t.Stats()
		}
		writeJSON(w, http.StatusOK, info)
	default:
		writeText(w, http.StatusBadRequest, "unknown format "+strconv.Quote(f)+": want text or json\n")
	}
}

func (s *Server) debugTable(w http.ResponseWriter, r *http.Request) {
	t := s.table()
	if t == nil {
		writeText(w, http.StatusServiceUnavailable, "no routing table published yet\n")
		return
	}
	writeJSON(w, http.StatusOK, t.Dump())
}

func (s *Server) warnings(w http.ResponseWriter, r *http.Request) {
	var v any = []any{}
	if s.opts.Warnings != nil {
		if got := s.opts.Warnings.Warnings(); got != nil {
			v = got
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeText(w, http.StatusInternalServerError, "encode JSON: "+err.Error()+"\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// Start binds the listener and serves in the background; it returns once
// listening. ctx bounds binding only; stop with Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("admin: Start called twice")
	}
	ln := s.opts.Listener
	if ln == nil {
		var lc net.ListenConfig
		var err error
		if ln, err = lc.Listen(ctx, "tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("admin: listen on Options.Addr %q: %w", s.opts.Addr, err)
		}
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	srv := s.srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.opts.Logger.Error("admin server failed", slog.String("addr", ln.Addr().String()), slog.Any("error", err))
		}
	}()
	s.opts.Logger.Info("admin server listening", slog.String("addr", ln.Addr().String()))
	return nil
}

// Addr returns the bound address, "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops the server, waiting up to Options.ShutdownTimeout (or ctx)
// for requests in progress. Later calls return nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	done := s.stopped
	s.stopped = true
	s.mu.Unlock()
	if srv == nil || done {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}
