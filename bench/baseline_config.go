package bench

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
)

// The raw engines' generated configurations: what an Ingress controller's
// generated configuration does for the same Ingress rules. The route set is
// one host with one prefix (single-route, post, tls), one host with the
// policy of the policy scenario, or the many-routes table (hosts x
// prefixes over ten Services; HAProxy looks the Host and path up in a map
// with longest-prefix matching, as HAProxy Ingress does, and nginx gets a
// server block per host with a location per prefix, as ingress-nginx does).

// baselineRoute is what the engines serve.
type baselineRoute struct {
	// Scenario names the scenario that measures the engines (their
	// folder under the report's baselines/, and the report's notes).
	Scenario string
	// Hosts are the virtual hosts with their prefixes; other hosts get 404.
	Hosts []baselineHost
	// Upstreams maps each Service the prefixes name to its echo endpoint
	// (host:port).
	Upstreams map[string]string
	// PEM holds the certificate and its key when the engine terminates
	// TLS (nil: plain HTTP); Pool trusts the certificate (the probe).
	PEM  []byte
	Pool *x509.CertPool
	// Policy, when set, applies to the one route (Hosts[0].Paths[0]).
	Policy *baselinePolicy
}

// baselineHost is one virtual host.
type baselineHost struct {
	Host  string
	Paths []baselinePath
}

// HasRoot says whether a prefix is "/" (nginx then needs no location of
// its own for the paths no prefix matches).
func (h baselineHost) HasRoot() bool {
	return slices.ContainsFunc(h.Paths, func(p baselinePath) bool { return p.Prefix == "/" })
}

// baselinePath is one prefix of a host and the Service behind it. Prefix
// ends in "/" ("/" or "/p3/"): the requests sent are below it.
type baselinePath struct {
	Prefix  string
	Service string
}

// baselinePolicy is the policy scenario's annotations, as each engine
// expresses them: a regular-expression path rewritten to its second
// capture group (ingress-nginx's use-regex and rewrite-target "/$2"),
// CORS with credentials for requests that carry an Origin (enable-cors:
// the Origin echoed in Access-Control-Allow-Origin, with
// Access-Control-Allow-Credentials and Vary), and a per-client-address
// rate limit (limit-rps, burst of BurstMultiplier times the rate) set
// high enough that the load never reaches it, so it is checked on every
// request without refusing one.
type baselinePolicy struct {
	// Regex is the Ingress path, matched case-insensitively from the start
	// of the request path; Target is the rewrite with $2 (nginx syntax).
	Regex, Target   string
	RPS             int
	BurstMultiplier int
}

// Burst is the rate limit's burst in requests.
func (p *baselinePolicy) Burst() int { return p.RPS * p.BurstMultiplier }

// HAProxyTarget is Target in HAProxy's back-reference syntax (\2).
func (p *baselinePolicy) HAProxyTarget() string { return strings.ReplaceAll(p.Target, "$", `\`) }

// singleRoute is one host of scenario whose "/" goes to service at
// upstream.
func singleRoute(scenario, host, service, upstream string) baselineRoute {
	return baselineRoute{Scenario: scenario, Hosts: []baselineHost{{Host: host, Paths: []baselinePath{{Prefix: "/", Service: service}}}},
		Upstreams: map[string]string{service: upstream}}
}

// plainRoute is the single-route scenario's route.
func plainRoute(upstream string) baselineRoute {
	return singleRoute("single-route", singleHost, echoName, upstream)
}

// scheme is the route's URL scheme.
func (r baselineRoute) scheme() string {
	if r.PEM != nil {
		return "https"
	}
	return "http"
}

// probe is the URL and Service of the route the engine must serve before
// it is measured: the first host's first prefix.
func (r baselineRoute) probe() (url, service string) {
	h := r.Hosts[0]
	return r.scheme() + "://" + h.Host + h.Paths[0].Prefix, h.Paths[0].Service
}

// clientTLS is the probe's and the load's TLS configuration (nil: plain).
func (r baselineRoute) clientTLS() *tls.Config {
	if r.PEM == nil {
		return nil
	}
	return &tls.Config{RootCAs: r.Pool, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
}

// routes is the number of host and prefix pairs.
func (r baselineRoute) routes() int {
	n := 0
	for _, h := range r.Hosts {
		n += len(h.Paths)
	}
	return n
}

// describe says what the engines serve, for the report's notes.
func (r baselineRoute) describe() string {
	var parts []string
	if n := r.routes(); n == 1 {
		parts = append(parts, "one route")
	} else {
		parts = append(parts, fmt.Sprintf("%d routes (%d hosts; HAProxy: a longest-prefix map of Host and path, nginx: a server per host, a location per prefix)", n, len(r.Hosts)))
	}
	if r.PEM != nil {
		parts = append(parts, "TLS terminated with the controller's certificate, ALPN h2 and http/1.1, no session tickets")
	}
	if p := r.Policy; p != nil {
		parts = append(parts, fmt.Sprintf("policy: path %s rewritten to %s, CORS with credentials when an Origin is sent, rate limit %d rps per client address (burst %d)",
			p.Regex, p.Target, p.RPS, p.Burst()))
	}
	return strings.Join(parts, "; ")
}

// baselineConfig is what the configuration templates see.
type baselineConfig struct {
	Listen    string // 127.0.0.1:port
	Threads   int
	Dir       string // scratch folder (pid, temp paths)
	Hosts     []baselineHost
	Upstreams []baselineUpstream
	// Map is HAProxy's Host+path -> backend map file when there is more
	// than one route ("" : one route, chosen by a Host check).
	Map string
	// Cert is a PEM file with the certificate and its key when the engine
	// terminates TLS; "" serves plain HTTP.
	Cert   string
	Policy *baselinePolicy
}

// baselineUpstream is one Service's echo endpoint.
type baselineUpstream struct {
	Name, Addr string
}

// newBaselineConfig lays rt out for the templates (upstreams sorted by
// name).
func newBaselineConfig(rt baselineRoute, listen string, threads int, dir string) baselineConfig {
	c := baselineConfig{Listen: listen, Threads: threads, Dir: dir, Hosts: rt.Hosts, Policy: rt.Policy}
	for _, name := range slices.Sorted(maps.Keys(rt.Upstreams)) {
		c.Upstreams = append(c.Upstreams, baselineUpstream{Name: name, Addr: rt.Upstreams[name]})
	}
	if rt.routes() > 1 {
		c.Map = filepath.Join(dir, "routes.map")
	}
	return c
}

// writeMap writes HAProxy's route map: "host/prefix backend" per line.
// map_beg finds the longest matching prefix (HAProxy indexes the keys in
// a prefix tree).
func (c baselineConfig) writeMap() error {
	if c.Map == "" {
		return nil
	}
	var b strings.Builder
	for _, h := range c.Hosts {
		for _, p := range h.Paths {
			fmt.Fprintf(&b, "%s%s %s\n", h.Host, p.Prefix, p.Service)
		}
	}
	return os.WriteFile(c.Map, []byte(b.String()), 0o644)
}

const haproxyConfig = `# Generated by ingresslab bench: keep-alive both ways.
global
    nbthread {{.Threads}}
    maxconn 8000
    pidfile {{.Dir}}/haproxy.pid

defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 60s
    timeout http-keep-alive 120s
    option http-keep-alive
    option forwardfor

frontend ingress
    bind {{.Listen}}{{if .Cert}} ssl crt {{.Cert}} alpn h2,http/1.1 no-tls-tickets{{end}}
    http-request set-header X-Forwarded-Proto {{if .Cert}}https{{else}}http{{end}}
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Request-Id %[uuid]
{{- if .Map}}
    use_backend %[base,map_beg({{.Map}})]
    default_backend notfound
{{- else}}
    http-request return status 404 unless { hdr(host) -i {{(index .Hosts 0).Host}} }
{{- with .Policy}}
    http-request return status 404 unless { path_reg -i ^{{.Regex}} }
{{- end}}
    use_backend {{(index (index .Hosts 0).Paths 0).Service}}
{{- end}}
{{range .Upstreams}}
backend {{.Name}}
    http-reuse always
{{- with $.Policy}}
    stick-table type ip size 100k expire 60s store http_req_rate(1s)
    http-request track-sc0 src
    http-request deny deny_status 503 if { sc_http_req_rate(0) gt {{.RPS}} }
    http-request set-var(txn.origin) req.hdr(origin)
    http-request replace-path (?i)^{{.Regex}} {{.HAProxyTarget}}
    http-response set-header Access-Control-Allow-Origin %[var(txn.origin)] if { var(txn.origin) -m found }
    http-response set-header Access-Control-Allow-Credentials true if { var(txn.origin) -m found }
    http-response add-header Vary Origin if { var(txn.origin) -m found }
{{- end}}
    server {{.Name}}-0 {{.Addr}}
{{end}}
backend notfound
    http-request return status 404
`

const nginxConfig = `# Generated by ingresslab bench: keep-alive both ways.
daemon off;
master_process on;
worker_processes {{.Threads}};
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;

events {
    worker_connections 8192;
}

http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server_names_hash_max_size 16384;
    server_names_hash_bucket_size 128;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
{{- if .Cert}}
    ssl_certificate {{.Cert}};
    ssl_certificate_key {{.Cert}};
    ssl_session_tickets off;
    ssl_protocols TLSv1.2 TLSv1.3;
{{- end}}
{{- with .Policy}}
    limit_req_zone $binary_remote_addr zone=bench:10m rate={{.RPS}}r/s;
    limit_req_status 503;
    map $http_origin $cors_credentials {
        "" "";
        default "true";
    }
    map $http_origin $cors_vary {
        "" "";
        default "Origin";
    }
{{- end}}
{{range .Upstreams}}
    upstream {{.Name}} {
        server {{.Addr}};
        keepalive 1024;
        keepalive_requests 1000000;
    }
{{end}}
    server {
        listen {{.Listen}}{{if .Cert}} ssl http2{{end}} default_server;
        return 404;
    }
{{range .Hosts}}
    server {
        listen {{$.Listen}}{{if $.Cert}} ssl http2{{end}};
        server_name {{.Host}};
{{- range .Paths}}
{{- if $.Policy}}
        location ~* "^{{$.Policy.Regex}}" {
            limit_req zone=bench burst={{$.Policy.Burst}} nodelay;
            rewrite "(?i)^{{$.Policy.Regex}}" {{$.Policy.Target}} break;
            add_header Access-Control-Allow-Origin $http_origin always;
            add_header Access-Control-Allow-Credentials $cors_credentials always;
            add_header Vary $cors_vary always;
{{- else}}
        location {{.Prefix}} {
{{- end}}
            proxy_pass http://{{.Service}};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Request-Id $request_id;
            proxy_buffering on;
        }
{{- end}}
{{- if not .HasRoot}}
        location / {
            return 404;
        }
{{- end}}
    }
{{end}}
}
`

func writeBaselineConfig(path, text string, c baselineConfig) error {
	t, err := template.New(filepath.Base(path)).Option("missingkey=error").Parse(text)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := t.Execute(f, c); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return c.writeMap()
}
