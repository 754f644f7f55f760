package dataplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// Server is the data plane. Create it with New, publish a table with Publish,
// bind with Start and stop with Shutdown. It is also an http.Handler.
type Server struct {
	opts        Options
	log         *slog.Logger
	metrics     *metrics.Metrics
	trusted     []netip.Prefix
	defaultCert atomic.Pointer[tls.Certificate] // SetDefaultCertificate; nil: generated
	generated   *tls.Certificate                // self-signed, for unknown SNI without a default
	ids         *requestIDs
	pool        *statePool
	limits      *limitPool            // rate limit counters (ratelimit.go)
	notFound    *metrics.RouteMetrics // requests answered without a route
	proxy       *httputil.ReverseProxy
	buffers     *bufferPool
	fast        *fastTransport // nil when Options.DisableFastPath
	// fastBodyMax bounds the request bodies the fast path reads whole
	// (Options.BufferSize: one pooled buffer holds it).
	fastBodyMax int64
	transport   *http.Transport // HTTP/1.1 upstreams
	h2c         *http.Transport // HTTP/2 cleartext upstreams (routing.ProtocolH2C)
	upstream    *upstream
	dialer      *net.Dialer
	// upstreams caches the transports of upstream TLS configurations
	// (backend-protocol HTTPS, GRPCS) across tables (upstreamtls.go).
	upstreams *transportPool
	// authTransport sends external auth subrequests (extauth.go).
	authTransport *http.Transport
	// authCache keeps external auth answers (authcache.go).
	authCache authCache

	cur       atomic.Pointer[snapshot]
	published atomic.Bool
	closing   atomic.Bool
	pubMu     sync.Mutex
	active    sync.WaitGroup // requests in ServeHTTP, upgraded connections included

	// Set by Start before serving, read-only afterwards.
	mu                        sync.Mutex
	started                   bool
	httpSrv, httpsSrv         *http.Server
	httpLn, httpsLn           net.Listener
	httpPortVal, httpsPortVal []string // X-Forwarded-Port values
	redirectPort              string   // ":8443", or "" for 443
	cancelBase                context.CancelFunc
	conns                     *connLimiter // nil without connection limits
	loop, tlsLoop             *h1loop      // the connection loops; nil when off (h1loop.go, h1tls.go)
	httpsH1Srv                *http.Server // HTTP/1.1 over TLS handed over by tlsLoop
	h2                        *h2server    // HTTP/2 over TLS unless Options.NetHTTPH2 (h2conn.go)
	shutdownOnce              sync.Once
}

// New validates opts and returns a Server that is not listening yet.
func New(opts Options) (*Server, error) {
	o := opts.withDefaults()
	for i, p := range o.TrustedProxies {
		if !p.IsValid() {
			return nil, fmt.Errorf("dataplane: Options.TrustedProxies[%d] %q is not a valid prefix", i, p)
		}
	}
	if o.HTTPSRedirectPort < 0 || o.HTTPSRedirectPort > 65535 {
		return nil, fmt.Errorf("dataplane: Options.HTTPSRedirectPort %d is out of range", o.HTTPSRedirectPort)
	}
	if o.DisableHTTP && o.DisableHTTPS {
		return nil, errors.New("dataplane: Options.DisableHTTP and DisableHTTPS are both set: nothing to serve")
	}
	if o.ShutdownDelay < 0 {
		return nil, fmt.Errorf("dataplane: Options.ShutdownDelay %v is negative", o.ShutdownDelay)
	}
	s := &Server{
		opts:    o,
		log:     o.Logger,
		metrics: o.Metrics,
		trusted: slices.Clone(o.TrustedProxies), // masked below: not the caller's slice
		ids:     newRequestIDs(),
		pool:    newStatePool(),
		limits:  newLimitPool(),
	}
	for i, p := range s.trusted {
		s.trusted[i] = p.Masked()
	}
	if !o.DisableHTTPS {
		c, err := selfSignedCertificate(defaultCertificateCommonName)
		if err != nil {
			return nil, fmt.Errorf("dataplane: generated default certificate: %w", err)
		}
		s.generated = c
	}
	s.defaultCert.Store(o.DefaultCertificate)
	s.notFound = s.metrics.Route(metrics.NoIngress, metrics.NoService)
	s.newProxy()
	return s, nil
}

// Publish makes t the table for every request that starts from now on and
// records its generation. A nil table is ignored. It first joins every
// route of t with its runtime state (newSnapshot), so requests do no lazy
// work, then drops the runtime state of backends, endpoints, rate limiters
// and upstream transports t no longer references: what the join found in
// use, with no second walk over the routes.
func (s *Server) Publish(t *routing.Table) {
	if t == nil {
		return
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	snap, b := s.newSnapshot(t, s.cur.Load())
	s.cur.Store(snap)
	s.published.Store(true)
	s.metrics.SetGeneration(t.Generation)
	backends := s.pool.prune(b.backends)
	s.limits.prune(b.limits)
	s.upstreams.prune(b.upstreams)
	hosts, routes := t.Size()
	s.metrics.SetTableSize(routes, hosts, backends)
	s.metrics.RetainRoutes()
}

// SetDefaultCertificate sets the certificate served for TLS server names
// the table has no certificate for (and to clients that send none), from the
// next handshake on; nil serves the generated self-signed certificate. Safe
// for concurrent use; the handshake path reads it with one atomic load.
func (s *Server) SetDefaultCertificate(cert *tls.Certificate) {
	s.defaultCert.Store(cert)
}

// DefaultCertificate returns the certificate served for unknown server names
// (the generated one when none is set; nil with DisableHTTPS and none set).
func (s *Server) DefaultCertificate() *tls.Certificate {
	if c := s.defaultCert.Load(); c != nil {
		return c
	}
	return s.generated
}

// Table returns the table being served, nil before the first Publish.
func (s *Server) Table() *routing.Table {
	if snap := s.cur.Load(); snap != nil {
		return snap.table
	}
	return nil
}

// Generation returns the generation of the table being served (0 before the
// first Publish).
func (s *Server) Generation() uint64 {
	if t := s.Table(); t != nil {
		return t.Generation
	}
	return 0
}

// Ready reports whether the Server should receive traffic: a table has been
// published and Shutdown has not begun.
func (s *Server) Ready() bool { return s.published.Load() && !s.closing.Load() }

// HTTPAddr returns the bound plain-HTTP address ("" before Start or when
// disabled).
func (s *Server) HTTPAddr() string { return s.addr(func() net.Listener { return s.httpLn }) }

// HTTPSAddr returns the bound HTTPS address ("" before Start or when disabled).
func (s *Server) HTTPSAddr() string { return s.addr(func() net.Listener { return s.httpsLn }) }

func (s *Server) addr(ln func() net.Listener) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := ln(); l != nil {
		return l.Addr().String()
	}
	return ""
}

// Start binds the listeners and serves them in the background. It returns
// once both are listening. ctx bounds binding only; stop with Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("dataplane: Start called twice")
	}
	if s.closing.Load() {
		return errors.New("dataplane: Start after Shutdown")
	}
	var lc net.ListenConfig
	listen := func(given net.Listener, addr, field string) (net.Listener, error) {
		if given != nil {
			return given, nil
		}
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dataplane: listen on Options.%s %q: %w", field, addr, err)
		}
		return ln, nil
	}
	var err error
	if !s.opts.DisableHTTP {
		if s.httpLn, err = listen(s.opts.HTTPListener, s.opts.HTTPAddr, "HTTPAddr"); err != nil {
			return err
		}
	}
	if !s.opts.DisableHTTPS {
		if s.httpsLn, err = listen(s.opts.HTTPSListener, s.opts.HTTPSAddr, "HTTPSAddr"); err != nil {
			if s.httpLn != nil {
				s.httpLn.Close()
				s.httpLn = nil
			}
			return err
		}
	}
	if s.opts.MaxConnections > 0 || s.opts.MaxConnectionsPerClient > 0 {
		s.conns = newConnLimiter(s.opts.MaxConnections, s.opts.MaxConnectionsPerClient)
		if s.httpLn != nil {
			s.httpLn = &limitListener{Listener: s.httpLn, l: s.conns}
		}
		if s.httpsLn != nil {
			s.httpsLn = &limitListener{Listener: s.httpsLn, l: s.conns}
		}
	}
	s.httpPortVal = portValue(s.httpLn)
	s.httpsPortVal = portValue(s.httpsLn)
	switch {
	case s.opts.HTTPSRedirectPort != 0 && s.opts.HTTPSRedirectPort != 443:
		s.redirectPort = ":" + strconv.Itoa(s.opts.HTTPSRedirectPort)
	case s.opts.HTTPSRedirectPort == 0 && s.httpsPortVal != nil && s.httpsPortVal[0] != "443":
		s.redirectPort = ":" + s.httpsPortVal[0]
	}

	base, cancel := context.WithCancel(context.Background())
	s.cancelBase = cancel
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	newServer := func(protocols *http.Protocols) *http.Server {
		return &http.Server{
			Handler:           s,
			ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
			ReadTimeout:       s.opts.ReadTimeout,
			WriteTimeout:      s.opts.WriteTimeout,
			IdleTimeout:       s.opts.IdleTimeout,
			MaxHeaderBytes:    s.opts.MaxHeaderBytes,
			ErrorLog:          errLog,
			BaseContext:       func(net.Listener) context.Context { return base },
			ConnContext:       connContext,
			Protocols:         protocols,
		}
	}
	if s.httpLn != nil {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(s.opts.H2C)
		s.httpSrv = newServer(&p)
		if s.fast != nil && !s.opts.DisableConnLoop {
			// The connection loop accepts; net/http serves what it hands over.
			s.loop = newH1Loop(s, s.httpLn, base)
			go s.serve("http", func() error { return s.httpSrv.Serve(s.loop.hand) })
			go s.serve("http-loop", s.loop.serve)
		} else {
			go s.serve("http", func() error { return s.httpSrv.Serve(s.httpLn) })
		}
	}
	if s.httpsLn != nil {
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetHTTP2(true)
		s.httpsSrv = newServer(&p)
		s.httpsSrv.TLSConfig = s.tlsConfig()
		if s.fast != nil && !s.opts.DisableConnLoop {
			// The loop handshakes; net/http serves HTTP/2 and what the
			// loop hands over after a read (h1tls.go).
			s.tlsLoop = newH1Loop(s, s.httpsLn, base)
			s.tlsLoop.tlsConf, s.tlsLoop.errLog = s.httpsSrv.TLSConfig, errLog
			s.tlsLoop.handTLS1 = newHandoff(s.httpsLn.Addr())
			if !s.opts.NetHTTPH2 {
				s.h2 = newH2Server(s, s.httpsSrv, errLog)
			}
			var p1 http.Protocols
			p1.SetHTTP1(true)
			s.httpsH1Srv = newServer(&p1)
			s.httpsH1Srv.Handler = http.HandlerFunc(s.serveHandedTLS)
			go s.serve("https", func() error { return s.httpsSrv.Serve(s.tlsLoop.hand) })
			go s.serve("https-handed", func() error { return s.httpsH1Srv.Serve(s.tlsLoop.handTLS1) })
			go s.serve("https-loop", s.tlsLoop.serve)
		} else {
			go s.serve("https", func() error { return s.httpsSrv.ServeTLS(s.httpsLn, "", "") })
		}
	}
	go s.janitor(base)
	s.started = true
	s.log.Info("data plane listening", slog.String("http", addrString(s.httpLn)),
		slog.String("https", addrString(s.httpsLn)))
	return nil
}

func (s *Server) serve(name string, serve func() error) {
	if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("data plane listener failed", slog.String("listener", name), slog.Any("error", err))
	}
}

func addrString(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// portValue returns the listener's port as an X-Forwarded-Port value.
func portValue(ln net.Listener) []string {
	if ln == nil {
		return nil
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		return []string{strconv.Itoa(ta.Port)}
	}
	if _, port, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		return []string{port}
	}
	return nil
}

// Shutdown stops the Server gracefully: Ready turns false at once; the
// Server keeps accepting and serving for Options.ShutdownDelay (cut short
// when ctx ends), so that load balancers and kube-proxy see it not ready and
// stop sending new connections; then the listeners close, and in-flight
// requests (upgraded connections included) may finish until ctx ends or
// Options.ShutdownTimeout passes, whichever is first. Then the remaining
// connections are closed and the error says so. Later calls wait for the
// first and return nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	var err error // stays nil for later calls
	s.shutdownOnce.Do(func() { err = s.shutdown(ctx) })
	return err
}

func (s *Server) shutdown(ctx context.Context) error {
	if d := s.opts.ShutdownDelay; d > 0 {
		s.log.Info("data plane not ready; serving until the shutdown delay ends", slog.Duration("delay", d))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if ctx.Err() != nil {
		// Ended before the drain (e.g. during the delay): connections that
		// are just finishing a response still get drainGrace.
		gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), drainGrace)
		defer gcancel()
		ctx = gctx
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	defer cancel()
	s.log.Info("data plane shutting down", slog.Duration("timeout", s.opts.ShutdownTimeout))

	var wg sync.WaitGroup
	servers := []*http.Server{s.httpSrv, s.httpsSrv, s.httpsH1Srv}
	errs := make([]error, len(servers)+3)
	for i, srv := range servers {
		if srv == nil {
			continue
		}
		wg.Go(func() { errs[i] = srv.Shutdown(ctx) })
	}
	for i, l := range []*h1loop{s.loop, s.tlsLoop} {
		if l != nil {
			wg.Go(func() { errs[len(servers)+i] = l.shutdown(ctx) })
		}
	}
	if s.h2 != nil {
		wg.Go(func() { errs[len(servers)+2] = s.h2.shutdown(ctx) })
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil {
		// The servers no longer track hijacked (upgraded) connections.
		done := make(chan struct{})
		go func() { s.active.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			// A request ending just now (or none left, with the waiting
			// goroutine not yet run) is not an incomplete drain.
			grace := time.NewTimer(drainGrace)
			select {
			case <-done:
			case <-grace.C:
				err = ctx.Err()
			}
			grace.Stop()
		}
	}
	if err != nil {
		for _, srv := range servers {
			if srv != nil {
				srv.Close()
			}
		}
		err = fmt.Errorf("dataplane: drain in-flight requests: %w", err)
	}
	s.cancelBase() // ends upgraded connections still open, stops the janitor
	s.transport.CloseIdleConnections()
	s.h2c.CloseIdleConnections()
	s.upstreams.closeIdle()
	s.authTransport.CloseIdleConnections()
	s.pool.sweepIdle(0, true)
	return err
}

// drainGrace is how long Shutdown still waits for in-flight requests once
// its deadline passed (or, when its context ended before the drain, how
// long the drain lasts), before it reports the drain incomplete.
const drainGrace = 100 * time.Millisecond

// janitor closes fast-path upstream connections that stayed idle for
// Options.UpstreamIdleTimeout and forgets rate-limited clients idle for
// limitIdle, until ctx ends.
func (s *Server) janitor(ctx context.Context) {
	every := max(s.opts.UpstreamIdleTimeout/2, time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.pool.sweepIdle(s.opts.UpstreamIdleTimeout, false)
			s.limits.sweep(time.Now().Add(-limitIdle))
		}
	}
}
