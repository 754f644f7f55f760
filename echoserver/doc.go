// Package echoserver is ingresslab's echo backend: an HTTP server that answers
// every request with a JSON description of what it received, so that a test
// sending traffic through an Ingress controller can check what the controller
// forwarded (path, Host, headers, protocol, TLS) and which backend answered
// (namespace, ingress, service, pod, port).
//
// It is used in-process as a library (by unit tests, the cluster provider that
// runs backends in network namespaces, and benchmarks) and by the thin binary
// cmd/ingresslab-echo.
//
// # Response
//
// The body is a JSON [Response], compatible with the fields of the Gateway API
// echo-basic server and the ingress-controller-conformance echoserver: path
// (request URI including the query, as received), host, method, proto,
// headers, namespace, ingress, service, pod and tls (absent on plain HTTP),
// plus httpPort (the local port the request arrived on), servicePort (from
// [Identity]), clientAddress (the peer address), query and bodyLength (bytes
// read from the request body, which is always drained and discarded).
// Clients decode it with the same type.
//
// # Controls
//
// Requests steer the response with the following controls. An invalid value
// is answered with 400 and a JSON [ErrorResponse] naming the control and the
// accepted values.
//
//   - Path /status/NNN, or query status=NNN (the query wins when both are
//     given): answer with status NNN, 100..599, still with the JSON body.
//     Informational codes (1xx except 101) are sent as an informational
//     response followed by the usual 200 echo, which lets a test check that a
//     proxy forwards e.g. 103 Early Hints; 101 is refused (it needs a real
//     upgrade, see WebSocket below). Any other path below /status/ is a 400.
//   - Query delay=DURATION (a Go duration such as 250ms or 2s, at most
//     Options.MaxDelay, default 30s): wait on the server side before
//     answering. The wait ends early, without an answer, when the client
//     goes away.
//   - Header X-Echo-Set-Header: K:V,K2:V2 sets response headers K and K2
//     (echo-basic compatible: the name's case is kept, and a repeated name is
//     joined with commas into one value). Content-Length and
//     Transfer-Encoding cannot be set this way.
//   - Query stream=N (1..Options.MaxStreamChunks, default 1000) with optional
//     interval=DURATION (default 0): answer with N newline-delimited JSON
//     [Chunk] values (Content-Type application/x-ndjson), each stamped with
//     the time it was written and flushed at once, waiting interval between
//     chunks; interval and (N-1)*interval are each at most Options.MaxDelay.
//     This tests that a proxy streams instead of buffering. The status,
//     delay and X-Echo-Set-Header controls apply to streams too.
//   - WebSocket: a WebSocket upgrade request on any path (conventionally /ws)
//     is accepted and every message is echoed back with its type (text or
//     binary). The first subprotocol offered by the client is selected, the
//     origin is not checked, and the 101 response carries X-Echo-Namespace,
//     X-Echo-Ingress, X-Echo-Service and X-Echo-Pod headers (and any headers
//     asked for with X-Echo-Set-Header). On shutdown open WebSockets are
//     closed with status 1001 (going away).
//
// # Health
//
// [HealthPath] (/-/healthz) answers 200 "ok" while the server is healthy and
// 503 once [Server.SetHealthy] is called with false or shutdown has begun. The
// "/-/" prefix keeps the health check from shadowing echo of ordinary paths;
// /status/200 is an alternative readiness probe that always answers 200.
//
// # Faults
//
// For reliability tests a server can misbehave on purpose
// ([Options.Fault], [Server.SetFault]): [FaultHang] reads the request and
// never answers, [FaultReset] reads it and resets the connection,
// [FaultMalformed] reads it and answers bytes that are not HTTP. The health
// check is never faulted. [Server.FaultedRequests] lists the requests a
// fault swallowed, so a test can tell which requests a proxy sent to a
// faulty endpoint.
//
// # Protocols
//
// The plain listener speaks HTTP/1.1 and, with Options.H2C, HTTP/2 with prior
// knowledge (unencrypted HTTP/2 from net/http; the HTTP/1.1 Upgrade: h2c
// dance is not supported). The optional TLS listener offers ALPN h2 and
// http/1.1; without Options.TLSCertificate it uses a self-signed certificate
// from [GenerateCertificate].
package echoserver
