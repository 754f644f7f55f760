// Command ingresslab-echo runs ingresslab's echo backend (package
// echoserver): every request is answered with a JSON description of what was
// received and which backend answered. It only turns flags and environment
// variables into echoserver.Options, prints the bound addresses as
// "listening on http://HOST:PORT" (and https://...) on stdout, serves until
// SIGINT or SIGTERM, then shuts down gracefully and exits 0.
//
// Identity flags fall back to the environment variables of the Gateway API
// echo-basic server (NAMESPACE, INGRESS_NAME, SERVICE_NAME, POD_NAME,
// SERVICE_PORT), as do the ports (HTTP_PORT, HTTPS_PORT) and the certificate
// files (TLS_SERVER_CERT, TLS_SERVER_PRIVKEY). Run with --help for the list.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ingresslab/ingresslab/echoserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, stop, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the command line asks for.
type config struct {
	opts            echoserver.Options
	listenFD        int
	tlsCertFile     string
	tlsKeyFile      string
	shutdownTimeout time.Duration
}

// parseArgs reads flags, with environment fallbacks from getenv.
func parseArgs(args []string, getenv func(string) string, output io.Writer) (*config, error) {
	fs := flag.NewFlagSet("ingresslab-echo", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: ingresslab-echo [flags]\n\n"+
			"Echo backend for ingresslab: answers every request with JSON describing it.\n"+
			"Controls: /status/NNN or ?status=NNN, ?delay=DURATION, header X-Echo-Set-Header: K:V,...,\n"+
			"?stream=N&interval=DURATION, WebSocket upgrade on any path (conventionally /ws).\n"+
			"Health: %s. Stops gracefully on SIGINT/SIGTERM.\n\nFlags:\n", echoserver.HealthPath)
		fs.PrintDefaults()
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	portEnv := func(name, def string) string {
		if v := getenv(name); v != "" {
			return ":" + v
		}
		return def
	}
	hostname, _ := os.Hostname()

	c := &config{}
	o := &c.opts
	fs.StringVar(&o.Addr, "addr", portEnv("HTTP_PORT", ":3000"), "plain HTTP listen address; port 0 picks a free port (env HTTP_PORT sets the port)")
	fs.IntVar(&c.listenFD, "listen-fd", 0, "serve plain HTTP on this inherited listening socket instead of --addr (file descriptor 3 or above, as a parent process passes it; the local cluster's --backend-processes do)")
	fs.StringVar(&o.TLSAddr, "tls-addr", portEnv("HTTPS_PORT", ""), "HTTPS listen address; empty disables HTTPS unless a certificate is given, then :8443 (env HTTPS_PORT sets the port)")
	fs.StringVar(&c.tlsCertFile, "tls-cert", env("TLS_SERVER_CERT", ""), "PEM certificate file for HTTPS; without it HTTPS uses a self-signed certificate (env TLS_SERVER_CERT)")
	fs.StringVar(&c.tlsKeyFile, "tls-key", env("TLS_SERVER_PRIVKEY", ""), "PEM private key file for --tls-cert (env TLS_SERVER_PRIVKEY)")
	tlsHosts := fs.String("tls-hosts", "", "comma-separated names and IPs of the self-signed certificate (default localhost, 127.0.0.1, ::1 and the Service's DNS names)")
	fs.BoolVar(&o.H2C, "h2c", false, "also accept unencrypted HTTP/2 with prior knowledge on --addr (env H2C=true)")
	fs.StringVar(&o.Identity.Namespace, "namespace", env("NAMESPACE", ""), "namespace reported in answers (env NAMESPACE)")
	fs.StringVar(&o.Identity.Ingress, "ingress", env("INGRESS_NAME", ""), "Ingress name reported in answers (env INGRESS_NAME)")
	fs.StringVar(&o.Identity.Service, "service", env("SERVICE_NAME", ""), "Service name reported in answers (env SERVICE_NAME)")
	fs.StringVar(&o.Identity.Pod, "pod", env("POD_NAME", hostname), "pod name reported in answers (env POD_NAME; default the host name)")
	fs.StringVar(&o.Identity.ServicePort, "service-port", env("SERVICE_PORT", ""), "Service port reported in answers (env SERVICE_PORT)")
	fs.DurationVar(&o.MaxDelay, "max-delay", echoserver.DefaultMaxDelay, "largest accepted delay, interval and stream length")
	fs.IntVar(&o.MaxStreamChunks, "max-stream-chunks", echoserver.DefaultMaxStreamChunks, "largest accepted stream=N")
	fs.BoolVar(&o.LogRequests, "log-requests", false, "log every request to stderr (env LOG_REQUESTS=true)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")

	for _, b := range []struct {
		env string
		dst *bool
	}{{"H2C", &o.H2C}, {"LOG_REQUESTS", &o.LogRequests}} {
		if v := getenv(b.env); v != "" {
			parsed, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("env %s: %q is not a boolean", b.env, v)
			}
			*b.dst = parsed
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *tlsHosts != "" {
		for h := range strings.SplitSeq(*tlsHosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				o.TLSHosts = append(o.TLSHosts, h)
			}
		}
	}
	if (c.tlsCertFile == "") != (c.tlsKeyFile == "") {
		return nil, errors.New("flags --tls-cert and --tls-key: give both or neither")
	}
	if c.tlsCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCertFile, c.tlsKeyFile)
		if err != nil {
			return nil, fmt.Errorf("flags --tls-cert %q and --tls-key %q: %w", c.tlsCertFile, c.tlsKeyFile, err)
		}
		o.TLSCertificate = &cert
		if o.TLSAddr == "" {
			o.TLSAddr = ":8443"
		}
	}
	if o.Addr == "" {
		return nil, errors.New("flag --addr: must not be empty")
	}
	if c.listenFD != 0 && c.listenFD < 3 {
		return nil, fmt.Errorf("flag --listen-fd: %d is standard input, output or error; an inherited socket is 3 or above", c.listenFD)
	}
	return c, nil
}

// inheritedListener is the listening socket at file descriptor fd.
func inheritedListener(fd int) (net.Listener, error) {
	f := os.NewFile(uintptr(fd), "listen-fd")
	if f == nil {
		return nil, fmt.Errorf("flag --listen-fd: %d is not an open file", fd)
	}
	defer f.Close() // FileListener holds its own copy
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("flag --listen-fd: %d: %w", fd, err)
	}
	return l, nil
}

// run serves until ctx ends and returns the exit code. stop is called once
// ctx has ended, so that a second signal kills the process.
func run(ctx context.Context, stop func(), args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ingresslab-echo: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	c.opts.Logger = logger
	if c.listenFD != 0 {
		l, err := inheritedListener(c.listenFD)
		if err != nil {
			fmt.Fprintf(stderr, "ingresslab-echo: %v\n", err)
			return 2
		}
		c.opts.Listener = l
	}
	s, err := echoserver.New(c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "ingresslab-echo: %v\n", err)
		return 1
	}
	if err := s.Start(); err != nil {
		fmt.Fprintf(stderr, "ingresslab-echo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "listening on %s\n", s.URL())
	if u := s.TLSURL(); u != "" {
		fmt.Fprintf(stdout, "listening on %s\n", u)
	}

	select {
	case <-ctx.Done():
		stop()
	case <-s.Done():
		fmt.Fprintf(stderr, "ingresslab-echo: %v\n", s.Err())
		return 1
	}
	logger.Info("shutting down", "timeout", c.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "ingresslab-echo: %v\n", err)
		return 1
	}
	return 0
}
