// Package dataplane is the reference controller's data plane: an HTTP and
// HTTPS reverse proxy that routes each request with the routing.Table the
// control loop last published.
//
// Per request the Server loads the current table exactly once (one atomic
// pointer load; the pointer also carries caches derived from that table), asks
// it for the route (Table.Match) and, over TLS, the certificate
// (Table.Certificate through tls.Config.GetCertificate; SNI picks the
// certificate, the Host header picks the route).
//
// Answers of the data plane itself, all short plain text:
//   - 404 when no route matches (the controller's own default backend);
//   - 503 when the backend is unavailable (the body names the reason) or has
//     no endpoints, or before the first table is published;
//   - 502 when the upstream fails (504 when it times out); the error is logged
//     with the backend key and the endpoint;
//   - 308 to https://host[:port]/path?query for plain-HTTP requests to hosts
//     the table marks as TLS-enabled (on by default, see
//     Options.NoHTTPSRedirect).
//
// Proxying uses net/http/httputil.ReverseProxy with a Rewrite hook: the Host
// header is preserved, hop-by-hop headers are removed, X-Forwarded-For/-Proto/
// -Host/-Port are set (kept and appended to only from Options.TrustedProxies),
// X-Request-ID is generated when absent (random process prefix + counter),
// Upgrade requests (WebSocket) are passed through, trailers are forwarded, and
// responses without Content-Length or of type text/event-stream are flushed
// as they arrive. Downstream speaks HTTP/1.1 and HTTP/2 over TLS, and h2c
// when Options.H2C is set.
//
// Upstream connections are plain HTTP/1.1. Bodiless GET/HEAD/OPTIONS/DELETE
// requests without Upgrade take a fast path (fast.go): a per-endpoint stack of
// idle connections driven from the handler goroutine, which avoids
// http.Transport's two goroutine hand-offs per request (about a quarter less
// time per request than http.Transport in BenchmarkProxy, 2 cores, 32
// keep-alive connections). Everything else (bodies, upgrades)
// goes through a tuned http.Transport (large idle pool per endpoint, no
// compression). Copy buffers are pooled. Trailers pass through both paths,
// but gRPC needs HTTP/2 to the upstream too (h2c), which is not implemented
// yet.
//
// Load balancing is round-robin per backend. The cursor lives outside the
// table, in a pool keyed by routing.Backend.Key, so it survives table swaps;
// Publish prunes the state of keys the new table no longer references. An
// endpoint that refuses a connection is skipped for a short passive-health
// backoff, and an idempotent request without a body is retried on the next
// endpoint (at most Options.MaxAttempts endpoints).
package dataplane
