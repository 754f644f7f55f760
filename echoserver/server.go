package echoserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Defaults of Options.
const (
	DefaultAddr                = "127.0.0.1:0"
	DefaultMaxDelay            = 30 * time.Second
	DefaultMaxStreamChunks     = 1000
	DefaultMaxWebSocketMessage = 16 << 20
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultIdleTimeout         = 2 * time.Minute
)

// DefaultTLSHosts are the names of the self-signed certificate, before the
// Service names derived from Identity.
var DefaultTLSHosts = []string{"localhost", "127.0.0.1", "::1"}

// Options configure a Server. The zero value serves plain HTTP/1.1 on a free
// port of 127.0.0.1.
type Options struct {
	// Addr is the plain HTTP listen address. Default DefaultAddr
	// ("127.0.0.1:0", a free port); ignored when Listener is set.
	Addr string
	// Listener, when set, is served instead of listening on Addr (e.g. a
	// listener created inside a network namespace). Shutdown closes it.
	Listener net.Listener

	// TLSAddr enables the HTTPS listener on this address. Default "":
	// no HTTPS unless TLSListener is set.
	TLSAddr string
	// TLSListener, when set, is a plain TCP listener to serve HTTPS on (the
	// server adds TLS). It enables HTTPS and takes precedence over TLSAddr.
	TLSListener net.Listener
	// TLSCertificate is the HTTPS certificate. Default: a self-signed
	// certificate for TLSHosts, made by GenerateCertificate.
	TLSCertificate *tls.Certificate
	// TLSHosts are the DNS names and IP addresses of the self-signed
	// certificate. Default DefaultTLSHosts plus, when Identity has a Service,
	// SERVICE, SERVICE.NAMESPACE, SERVICE.NAMESPACE.svc and
	// SERVICE.NAMESPACE.svc.cluster.local.
	TLSHosts []string

	// H2C enables unencrypted HTTP/2 with prior knowledge on the plain
	// listener, next to HTTP/1.1. Default false.
	H2C bool

	// Identity is copied into every answer.
	Identity Identity

	// MaxDelay caps the delay and interval controls and the length of a
	// stream. Default DefaultMaxDelay (30s).
	MaxDelay time.Duration
	// MaxStreamChunks caps the stream control. Default DefaultMaxStreamChunks
	// (1000).
	MaxStreamChunks int
	// MaxWebSocketMessage caps the size of one WebSocket message in bytes.
	// Default DefaultMaxWebSocketMessage (16 MiB).
	MaxWebSocketMessage int64

	// ReadHeaderTimeout of the HTTP server. Default DefaultReadHeaderTimeout
	// (10s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout of keep-alive connections. Default DefaultIdleTimeout (2m).
	IdleTimeout time.Duration

	// Logger receives server errors and, with LogRequests, one line per
	// request. Default: discard.
	Logger *slog.Logger
	// LogRequests logs every request at level Info. Default false.
	LogRequests bool

	// Fault makes the server misbehave from the start (see Fault and
	// Server.SetFault). Default FaultNone.
	Fault Fault
}

// Server is an echo server. Create it with New, then either Start it or
// embed Handler in a server of your own.
type Server struct {
	opts    Options
	cert    *tls.Certificate
	srv     *http.Server
	healthy atomic.Bool

	mu      sync.Mutex
	started bool
	ln      net.Listener
	tlsLn   net.Listener
	done    chan struct{}
	err     error

	wsMu       sync.Mutex
	wsConns    map[*websocket.Conn]struct{}
	wsShutdown bool
	wsDrained  bool
	wsDone     chan struct{}

	fault     atomic.Pointer[Fault]
	faultMu   sync.Mutex
	faulted   []string
	faultStop chan struct{}
	faultOnce sync.Once

	// conns are the open HTTP connections (ConnState), so that
	// CloseIdleConnections can close those not yet marked idle too.
	connMu sync.Mutex
	conns  map[net.Conn]http.ConnState
}

var _ http.Handler = (*Server)(nil)

// New checks opts, fills in defaults and, when HTTPS is enabled without a
// certificate, generates a self-signed one. It does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.MaxDelay < 0 {
		return nil, fmt.Errorf("echoserver: options: MaxDelay %v is negative", opts.MaxDelay)
	}
	if opts.MaxStreamChunks == 0 {
		opts.MaxStreamChunks = DefaultMaxStreamChunks
	}
	if opts.MaxStreamChunks < 0 {
		return nil, fmt.Errorf("echoserver: options: MaxStreamChunks %d is negative", opts.MaxStreamChunks)
	}
	if opts.MaxWebSocketMessage <= 0 {
		opts.MaxWebSocketMessage = DefaultMaxWebSocketMessage
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := ParseFault(string(opts.Fault)); err != nil {
		return nil, fmt.Errorf("echoserver: options: Fault: %w", err)
	}
	s := &Server{
		opts:    opts,
		done:    make(chan struct{}),
		wsConns: make(map[*websocket.Conn]struct{}),
		wsDone:  make(chan struct{}),

		faultStop: make(chan struct{}),
	}
	s.healthy.Store(true)
	s.SetFault(opts.Fault)

	if s.tlsEnabled() {
		s.cert = opts.TLSCertificate
		if s.cert == nil {
			hosts := opts.TLSHosts
			if len(hosts) == 0 {
				hosts = defaultTLSHosts(&opts.Identity)
			}
			cert, err := GenerateCertificate(hosts...)
			if err != nil {
				return nil, fmt.Errorf("echoserver: options: TLSCertificate: %w", err)
			}
			s.cert = cert
		}
	}

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true) // over TLS, by ALPN
	protocols.SetUnencryptedHTTP2(opts.H2C)
	s.srv = &http.Server{
		Handler:           s,
		Protocols:         &protocols,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		ConnState:         s.trackConn,
	}
	if s.cert != nil {
		s.srv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{*s.cert},
			MinVersion:   tls.VersionTLS12,
			// Listed explicitly: net/http configures its HTTP/2 server only
			// once, and when the plain listener's Serve gets there first it
			// does so only if the TLS config mentions h2.
			NextProtos: []string{"h2", "http/1.1"},
		}
	}
	return s, nil
}

func (s *Server) tlsEnabled() bool {
	return s.opts.TLSAddr != "" || s.opts.TLSListener != nil
}

// TLSHostsFor returns the names the default self-signed certificate of a
// server with identity id covers (DefaultTLSHosts plus the Service's
// names); callers add the endpoint's own address when clients verify it.
func TLSHostsFor(id Identity) []string { return defaultTLSHosts(&id) }

func defaultTLSHosts(id *Identity) []string {
	hosts := slices.Clone(DefaultTLSHosts)
	if id.Service != "" {
		hosts = append(hosts, id.Service)
		if id.Namespace != "" {
			base := id.Service + "." + id.Namespace
			hosts = append(hosts, base, base+".svc", base+".svc.cluster.local")
		}
	}
	return hosts
}

// Handler returns the echo handler, for embedding in another server. The
// Server itself is that handler; Shutdown still closes WebSockets it opened.
func (s *Server) Handler() http.Handler { return s }

// Start listens (or takes Options.Listener and Options.TLSListener) and
// serves in the background. It returns once the listeners are bound, so Addr
// and TLSAddr are known; it can be called only once.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("echoserver: start: already started")
	}
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("echoserver: start: listen on Addr %q: %w", s.opts.Addr, err)
		}
	}
	var tlsLn net.Listener
	if s.tlsEnabled() {
		tlsLn = s.opts.TLSListener
		if tlsLn == nil {
			var err error
			if tlsLn, err = net.Listen("tcp", s.opts.TLSAddr); err != nil {
				_ = ln.Close()
				return fmt.Errorf("echoserver: start: listen on TLSAddr %q: %w", s.opts.TLSAddr, err)
			}
		}
	}
	s.started, s.ln, s.tlsLn = true, ln, tlsLn

	var wg sync.WaitGroup
	serve := func(name string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.mu.Lock()
				if s.err == nil {
					s.err = fmt.Errorf("echoserver: serve %s: %w", name, err)
				}
				s.mu.Unlock()
				s.opts.Logger.Error("serve failed", "listener", name, "error", err)
				_ = s.srv.Close() // stop the other listener too
			}
		})
	}
	serve("http "+ln.Addr().String(), func() error { return s.srv.Serve(ln) })
	if tlsLn != nil {
		serve("https "+tlsLn.Addr().String(), func() error { return s.srv.ServeTLS(tlsLn, "", "") })
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return nil
}

// Addr returns the bound plain HTTP address (host:port), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// TLSAddr returns the bound HTTPS address (host:port), or "" before Start or
// when HTTPS is off.
func (s *Server) TLSAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// URL returns "http://" + Addr(), or "" before Start.
func (s *Server) URL() string {
	if a := s.Addr(); a != "" {
		return "http://" + a
	}
	return ""
}

// TLSURL returns "https://" + TLSAddr(), or "" when there is none.
func (s *Server) TLSURL() string {
	if a := s.TLSAddr(); a != "" {
		return "https://" + a
	}
	return ""
}

// Certificate returns the HTTPS certificate (with Leaf set when generated),
// or nil when HTTPS is off.
func (s *Server) Certificate() *tls.Certificate { return s.cert }

// Identity returns the identity the server answers with.
func (s *Server) Identity() Identity { return s.opts.Identity }

// SetHealthy sets what HealthPath answers: 200 when true, 503 when false.
func (s *Server) SetHealthy(ok bool) { s.healthy.Store(ok) }

// Done is closed when the server has stopped serving on all its listeners:
// after Shutdown or Close, or after a listener failed (see Err). It is never
// closed when Start was not called.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns the error that stopped serving, or nil (also after a clean
// Shutdown).
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Shutdown stops the server gracefully: the health check turns 503, the
// listeners close, in-flight requests (including delays and streams) finish,
// idle connections close and open WebSockets are closed with 1001. When ctx
// ends first the remaining connections are closed at once and the error
// wraps ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.healthy.Store(false)
	s.stopFaults()
	wsErr := make(chan error, 1)
	go func() { wsErr <- s.closeWebSockets(ctx, false) }()
	err := s.srv.Shutdown(ctx)
	if err2 := <-wsErr; err == nil {
		err = err2
	}
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("echoserver: shutdown: %w", err)
	}
	s.waitServing(ctx)
	return nil
}

// Close stops the server at once, dropping every connection.
func (s *Server) Close() error {
	s.healthy.Store(false)
	s.stopFaults()
	err := s.srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.closeWebSockets(ctx, true)
	if err != nil {
		return fmt.Errorf("echoserver: close: %w", err)
	}
	return nil
}

// waitServing waits for the serve loops to return, when they were started.
func (s *Server) waitServing(ctx context.Context) {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}
