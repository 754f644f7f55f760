// Package translate turns a Snapshot of Kubernetes objects (Ingresses,
// IngressClasses, Services, EndpointSlices, Secrets, ConfigMaps) into a
// routing.Table, the
// Ingress status updates to write and warnings about what could not be
// honoured. Translate is a pure function: no I/O, no logging, no clock, no
// global state; the same Snapshot and Options always give the same Result, and
// the input objects are never modified.
//
// # Which Ingresses are ours
//
// An Ingress is served when spec.ingressClassName names an IngressClass whose
// spec.controller is Options.ControllerName; or, without that field, when its
// kubernetes.io/ingress.class annotation equals Options.IngressClassName
// (whether or not an IngressClass of that name exists); or, with neither, when
// one of our IngressClasses carries ingressclass.kubernetes.io/is-default-class
// "true" or Options.WatchWithoutClass is set. Everything else is ignored.
//
// # Order and conflicts
//
// Our Ingresses are processed oldest first (creationTimestamp, then
// namespace/name). Rules of one host from several Ingresses, in any
// namespaces, are merged into one virtual host. When a host + path is already
// routed, the older Ingress keeps it and the newer path gets a DuplicatePath
// warning naming the winner. "Already routed" uses the matching key of the
// routing package: Exact paths compare as written; Prefix and
// ImplementationSpecific share one key space and ignore a trailing '/', so
// Prefix "/foo/" of a newer Ingress conflicts with Prefix "/foo" of an older
// one. The same rule decides the per-host default backend, the table-wide
// default backend (DuplicateDefaultBackend) and a host's certificate
// (CertificateConflict).
//
// # Path types
//
// ImplementationSpecific means exactly Prefix (element-wise on '/', trailing
// '/' ignored); an empty ImplementationSpecific path, which the API allows,
// means "/". Exact and Prefix paths are validated as the API server does
// (absolute, no "//", "/./", "/../", "%2f", no trailing "/." or "/.."); an
// invalid path, host or path type skips that path only, with a warning.
//
// # Backends
//
// A Service backend resolves to the Service's port (by number or name, TCP
// only), then to the EndpointSlices labelled kubernetes.io/service-name with
// the port of the same name; the slice's port number is dialled (targetPort
// may differ from the Service port). The Service port's appProtocol (else
// the slice port's) picks the upstream protocol (routing.Backend.Protocol):
// "kubernetes.io/h2c", "h2c" and "grpc" mean HTTP/2 cleartext with prior
// knowledge (what gRPC backends speak); everything else, "kubernetes.io/ws"
// included, HTTP/1.1 (Upgrade passes through it). Ready, non-terminating endpoints are used
// (ready nil counts as ready); serving-but-terminating endpoints only when
// none is ready (serving nil defers to ready). Only an endpoint's first
// address is used, as kube-proxy does. Addresses are sorted and deduplicated.
//
// A backend that cannot serve is still routed, with routing.Backend.Unavailable
// set so the data plane answers 503 instead of falling through to a shorter
// path: a missing Service or port (warning), an ExternalName Service without
// Options.AllowExternalName (warning), a resource backend (warning
// UnsupportedBackend), an invalid backend (warning InvalidBackend). A Service
// with no usable endpoint is a runtime condition, not a mistake in the
// Ingress: it gets Unavailable "no ready endpoints for ns/name:port" and no
// warning.
//
// # Default backends and TLS
//
// spec.defaultBackend becomes the default of every host of the Ingress's
// rules ("" for rules without host) and, if none is set yet, the table-wide
// default. Each spec.tls host gets the Secret's certificate and HTTPS
// redirect; a spec.tls entry without hosts applies to the hosts of the
// Ingress's rules. A missing or invalid Secret still marks the hosts for
// redirect (the data plane then serves its default certificate) and warns; a
// certificate that does not cover a host is used anyway, with a
// CertificateHostMismatch warning.
//
// Options.DefaultBackend (the controller's --default-backend-service) is the
// table-wide default only when no Ingress's spec.defaultBackend took it; its
// route has no Ingress (zero ObjectRef), and its problems are warnings of
// Kind "Service".
//
// Options.DefaultCertificate names the Secret parsed into
// Result.DefaultCertificate, the certificate for unknown SNI; when it is
// missing or invalid the result has none (the data plane falls back to a
// generated certificate) and a warning of Kind "Secret" says why.
//
// # Annotations
//
// Each of our Ingresses's annotations are parsed with annotations.
// ParseIngress in one dialect (the other prefix is ignored): the one its
// IngressClass's parameters select, else Options.AnnotationDialect
// (ingresslab.dev/* by default, nginx.ingress.kubernetes.io/* with
// --annotation-dialect nginx). IngressClass parameters: spec.parameters
// naming a ConfigMap (apiGroup "" or unset, kind ConfigMap, scope Namespace
// with its namespace) whose key "annotationDialect" (ParamAnnotationDialect)
// is "ingresslab" or "nginx"; an absent or empty key means the default.
// Parameters of another kind or scope, a missing ConfigMap or an invalid
// value are warnings on the IngressClass (Kind "IngressClass", Field
// spec.parameters...), and its Ingresses use the default. An Ingress
// selected by the legacy class annotation uses the parameters of our
// IngressClass of that name, one without class those of our default
// IngressClass (the first by name). The parsed annotations.Policy is then
// resolved (the references below) and converted by RoutePolicy into the
// neutral, dialect-free routing.Policy, which is attached, as one shared
// read-only pointer, to every route of the Ingress:
// its paths, and the host and table-wide defaults its spec.defaultBackend
// takes (so an allowlist also guards the default backend it serves). An
// Ingress with no applied annotation gets a nil Policy, which keeps its
// routes on the data plane's plain fast path. Every parser warning becomes an
// Ingress warning with Field "metadata.annotations[<key>]" and the parser's
// Reason (InvalidAnnotation, RefusedAnnotation, ...), so it reaches Events
// and /warnings.
//
// Basic auth (auth-type basic) resolves auth-secret from the snapshot's
// Secrets into routing.Policy.BasicAuth (htpasswd {SHA}, $apr1$ and bcrypt hashes;
// auth-file or auth-map). A missing or unusable Secret denies the Ingress
// (503) with a SecretNotFound or InvalidSecret warning on auth-secret. The
// controller caches Opaque Secrets only with --watch-opaque-secrets.
//
// A canary Ingress (canary: "true") is processed after every other
// Ingress: each of its paths becomes routing.Route.Canary of the route with
// the same host, path type and path of a non-canary Ingress (its backend
// and canary rule, converted by CanaryRule; the main route's policy applies
// to both). A path without
// such a route, or whose route already has a canary, is skipped with a
// NoMainIngress warning; the canary's default backend and TLS are not used.
//
// Regex mode (use-regex "true" or rewrite-target) makes the Ingress's
// Prefix and ImplementationSpecific paths regular-expression routes
// (routing.Route.Regex: case-insensitive, anchored at the start, RE2); its
// Exact paths stay exact, and other Ingresses of the same host keep their
// own matching (ingress-nginx switches every path of the host). Within the
// host: Exact first, then regex and Prefix paths longest first (see
// routing). A regex path written like another Ingress's Prefix path of the
// host is a duplicate (older wins). use-regex without rewrite-target needs
// no Policy: the routes carry the expressions. With rewrite-target, every
// route of the Ingress (an Exact one too: only its matching stays exact)
// gets routing.Route.Rewrite: its path's expression and the target.
//
// server-alias adds its hosts as virtual hosts with the paths of every
// rule with a host of the Ingress (same backends and Policy) and its
// spec.defaultBackend; an alias that another Ingress of ours has as a rule
// host is not used (ServerAliasConflict: the real host wins); an alias
// equal to one of the Ingress's own hosts is ignored; path conflicts
// between aliases are DuplicatePath as usual. Aliases get no certificate
// unless spec.tls lists them.
//
// default-backend names a Service in the Ingress's namespace (its first TCP
// port): a path or default route of the Ingress whose backend has no
// endpoint (none ready, or the Service or port missing) routes to it
// instead, and with custom-http-errors it becomes routing.Policy.
// ErrorPages.Backend, which the data plane asks for those error pages. A missing
// Service, or one without a TCP port, is a DefaultBackendNotFound warning on
// the annotation (other resolution problems keep their own reasons), which
// is then not applied.
//
// custom-headers names a ConfigMap ("name" in the Ingress's namespace, or
// "namespace/name" with cross-namespace references allowed); its entries,
// validated by annotations.ParseHeaders (RFC 9110 token names, no control
// characters such as CR or LF in values, no framing headers, at most 100),
// become routing.Policy.ResponseHeaders of the Ingress's routes. A
// missing ConfigMap (ConfigMapNotFound) or one with any invalid entry
// (InvalidConfigMap) is a warning and no header is added. ConfigMaps come
// from Snapshot.ConfigMaps, so a change to one makes a new table.
//
// backend-protocol becomes routing.Route.Upstream of every route of the
// Ingress (upstream.go), replacing the backends' appProtocol: HTTP, GRPC
// and H2C (HTTP/2 cleartext), HTTPS and GRPCS (TLS, with the proxy-ssl-*
// options resolved into a routing.UpstreamTLS). proxy-ssl-secret names a
// Secret (kubernetes.io/tls, or Opaque with --watch-opaque-secrets) with
// ca.crt (required with proxy-ssl-verify "on") and optionally tls.crt and
// tls.key (the client certificate). As in ingress-nginx, a Secret that is
// missing or unusable denies the Ingress (503) with a SecretNotFound or
// InvalidSecret warning on proxy-ssl-secret; proxy-ssl-* without HTTPS or
// GRPCS are ignored with the parser's warning.
//
// External auth (auth-url and friends) and proxy-send-timeout need nothing
// resolved: the data plane applies them from the Policy.
//
// # Status
//
// Status is managed when Options.StatusAddresses is not empty or
// Options.ManageStatus is set. Then each of our Ingresses whose
// status.loadBalancer differs (as a set) from StatusAddresses gets a
// StatusUpdate to it (an empty list clears it), and each other Ingress whose
// status is exactly our (non-empty) addresses gets one that clears it.
// Otherwise no status is written.
package translate
