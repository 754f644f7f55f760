package translate

import (
	"crypto/tls"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// Well-known names.
const (
	// DefaultControllerName is the spec.controller of our IngressClasses.
	DefaultControllerName = "ingresslab.dev/ingress-controller"
	// DefaultIngressClassName is the legacy annotation value we serve.
	DefaultIngressClassName = "ingresslab"

	// AnnotationIngressClass is the deprecated class annotation.
	AnnotationIngressClass = "kubernetes.io/ingress.class"
	// AnnotationDefaultClass marks the cluster's default IngressClass.
	AnnotationDefaultClass = "ingressclass.kubernetes.io/is-default-class"
	// LabelServiceName links an EndpointSlice to its Service.
	LabelServiceName = discoveryv1.LabelServiceName
)

// Warning reasons.
const (
	ReasonInvalidHost             = "InvalidHost"
	ReasonInvalidPath             = "InvalidPath"
	ReasonInvalidPathType         = "InvalidPathType"
	ReasonDuplicatePath           = "DuplicatePath"
	ReasonInvalidBackend          = "InvalidBackend"
	ReasonUnsupportedBackend      = "UnsupportedBackend"
	ReasonServiceNotFound         = "ServiceNotFound"
	ReasonServicePortNotFound     = "ServicePortNotFound"
	ReasonExternalNameNotAllowed  = "ExternalNameNotAllowed"
	ReasonInvalidService          = "InvalidService"
	ReasonInvalidAddress          = "InvalidAddress"
	ReasonDuplicateDefaultBackend = "DuplicateDefaultBackend"
	ReasonSecretNotFound          = "SecretNotFound"
	ReasonInvalidSecret           = "InvalidSecret"
	ReasonCertificateHostMismatch = "CertificateHostMismatch"
	ReasonCertificateConflict     = "CertificateConflict"
	ReasonEmptyIngress            = "EmptyIngress"
	// ReasonConfigMapNotFound: a ConfigMap named by custom-headers or by
	// IngressClass parameters does not exist.
	ReasonConfigMapNotFound = "ConfigMapNotFound"
	// ReasonInvalidConfigMap: a custom-headers ConfigMap has an invalid
	// entry; it is ignored as a whole.
	ReasonInvalidConfigMap = "InvalidConfigMap"
	// ReasonInvalidParameters: an IngressClass's spec.parameters are not a
	// usable ConfigMap reference or hold an invalid value; the controller's
	// defaults apply to its Ingresses.
	ReasonInvalidParameters = "InvalidParameters"
	// ReasonServerAliasConflict: a server-alias names a host that another
	// Ingress has as a rule host: the real host wins.
	ReasonServerAliasConflict = "ServerAliasConflict"
	// ReasonDefaultBackendNotFound: the default-backend annotation names a
	// Service that does not exist or has no TCP port.
	ReasonDefaultBackendNotFound = "DefaultBackendNotFound"
	// ReasonHostOwnedByNamespace: with HostOwnershipFirstNamespace, a rule,
	// TLS entry or canary of an Ingress names a host that an Ingress of
	// another namespace claimed first; it is not applied.
	ReasonHostOwnedByNamespace = "HostOwnedByNamespace"
)

// HostOwnership is who may add routes to a host (Options.HostOwnership).
type HostOwnership string

const (
	// HostOwnershipAny is the documented Ingress semantics: every Ingress
	// may add paths to any host; conflicting paths go to the oldest.
	HostOwnershipAny HostOwnership = "any"
	// HostOwnershipFirstNamespace gives a host to the namespace of the
	// oldest Ingress (then first by namespace/name) that has it as a rule
	// host; rules, TLS hosts and canaries for it in Ingresses of other
	// namespaces are dropped with a HostOwnedByNamespace warning. For
	// multi-tenant clusters, where a namespace must not take over paths of
	// another tenant's host.
	HostOwnershipFirstNamespace HostOwnership = "first-namespace"
)

// ParseHostOwnership parses a --host-ownership value ("" is the default,
// HostOwnershipAny).
func ParseHostOwnership(s string) (HostOwnership, error) {
	switch h := HostOwnership(s); h {
	case "", HostOwnershipAny:
		return HostOwnershipAny, nil
	case HostOwnershipFirstNamespace:
		return h, nil
	}
	return "", fmt.Errorf("host ownership %q: want %q or %q", s, HostOwnershipAny, HostOwnershipFirstNamespace)
}

// Snapshot is the informer state Translate reads. Every object is treated as
// read-only; nil entries are skipped.
type Snapshot struct {
	Ingresses      []*networkingv1.Ingress
	IngressClasses []*networkingv1.IngressClass
	Services       []*corev1.Service
	EndpointSlices []*discoveryv1.EndpointSlice
	Secrets        []*corev1.Secret
	// ConfigMaps are read for custom-headers and for IngressClass
	// parameters (annotation dialect).
	ConfigMaps []*corev1.ConfigMap
	// UniqueIngresses promises that no two entries of Ingresses share a
	// namespace/name, as an informer cache guarantees. Translate then
	// skips the bookkeeping that makes the first of such duplicates win
	// (maps of every Ingress, on every build). The result is the same
	// either way for a snapshot that keeps the promise. Default false.
	UniqueIngresses bool
}

// Options configure Translate. The zero value of a string field means its
// default; DefaultOptions returns every default spelled out.
type Options struct {
	// ControllerName is the IngressClass spec.controller we serve.
	// Default DefaultControllerName.
	ControllerName string `json:"controllerName,omitempty"`
	// IngressClassName is the value of the legacy kubernetes.io/ingress.class
	// annotation we serve. Default DefaultIngressClassName.
	IngressClassName string `json:"ingressClassName,omitempty"`
	// WatchWithoutClass serves Ingresses with neither class field nor
	// annotation even when none of our classes is the default. Default false.
	WatchWithoutClass bool `json:"watchWithoutClass,omitempty"`
	// AllowExternalName routes to ExternalName Services (externalName:port).
	// Default false: such backends are Unavailable with a warning.
	AllowExternalName bool `json:"allowExternalName,omitempty"`
	// StatusAddresses is the desired status.loadBalancer.ingress of our
	// Ingresses. Default empty.
	StatusAddresses []corev1.LoadBalancerIngress `json:"statusAddresses,omitempty"`
	// ManageStatus makes status updates even when StatusAddresses is empty:
	// our Ingresses that carry a status get it cleared (e.g. the
	// --publish-service Service lost its addresses). Default false: status
	// is managed only while StatusAddresses is not empty.
	ManageStatus bool `json:"manageStatus,omitempty"`
	// DefaultBackend is the Service port that answers requests no rule
	// matches when no Ingress sets spec.defaultBackend (the oldest Ingress's
	// one wins over it). Default nil: the data plane's own 404.
	DefaultBackend *DefaultBackend `json:"defaultBackend,omitempty"`
	// DefaultCertificate names the kubernetes.io/tls Secret whose
	// certificate Result.DefaultCertificate carries. Default nil: none (the
	// data plane generates a self-signed one).
	DefaultCertificate *routing.ObjectRef `json:"defaultCertificate,omitempty"`
	// AnnotationDialect is the annotation prefix read from our Ingresses
	// (ingresslab.dev/* or nginx.ingress.kubernetes.io/*; annotations of
	// the other prefix are ignored). Default annotations.DialectIngressLab.
	AnnotationDialect annotations.Dialect `json:"annotationDialect,omitempty"`
	// HostOwnership says who may add routes to a host. Default
	// HostOwnershipAny (the Ingress API's semantics);
	// HostOwnershipFirstNamespace is the opt-in multi-tenant rule.
	HostOwnership HostOwnership `json:"hostOwnership,omitempty"`
	// Generation is stamped on the Table. Default 0.
	Generation uint64 `json:"generation,omitempty"`
	// CertCache keeps parsed TLS Secrets from one translation to the next
	// (see CertCache); its owner passes it to one Translate at a time.
	// Default nil: every translation parses the Secrets it uses.
	CertCache *CertCache `json:"-"`
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{ControllerName: DefaultControllerName, IngressClassName: DefaultIngressClassName,
		AnnotationDialect: annotations.DialectIngressLab, HostOwnership: HostOwnershipAny}
}

// withDefaults fills empty fields.
func (o Options) withDefaults() Options {
	if o.ControllerName == "" {
		o.ControllerName = DefaultControllerName
	}
	if o.IngressClassName == "" {
		o.IngressClassName = DefaultIngressClassName
	}
	if o.AnnotationDialect == "" {
		o.AnnotationDialect = annotations.DialectIngressLab
	}
	if o.HostOwnership == "" {
		o.HostOwnership = HostOwnershipAny
	}
	return o
}

// DefaultBackend is a Service port (Options.DefaultBackend); Port is a
// number or a name, as in an Ingress backend.
type DefaultBackend struct {
	Namespace string                          `json:"namespace"`
	Service   string                          `json:"service"`
	Port      networkingv1.ServiceBackendPort `json:"port"`
}

// Result is the outcome of one translation.
type Result struct {
	// Table is the routing table; never nil.
	Table *routing.Table
	// DefaultCertificate is the parsed Options.DefaultCertificate Secret;
	// nil when none is configured or the Secret is missing or invalid (then
	// a warning about the Secret says why).
	DefaultCertificate *tls.Certificate
	// Statuses are the status writes needed, sorted by namespace/name.
	Statuses []StatusUpdate
	// Warnings are sorted by object, field, reason and message, without
	// duplicates.
	Warnings []Warning
	// Owned lists the Ingresses we serve (the snapshot's objects,
	// read-only), in translation order (CompareIngresses: oldest first).
	// Not sorted by name: with 10,000 Ingresses that sort was an eighth of
	// a build, and only the status writer needs it, later and off the build
	// path (StatusPlan.Update). Pointers rather than names: 8 bytes an
	// Ingress instead of 32, for objects the snapshot holds anyway.
	Owned []*networkingv1.Ingress
	// StatusPlan is what this translation wants of every Ingress's status:
	// the status writer keeps it to judge a later status-only change of one
	// Ingress without a new translation. Its Updates are Statuses.
	StatusPlan *StatusPlan

	// memo is what Update needs to patch this result (incremental.go); nil
	// when the translation cannot be patched.
	memo *memo
}

// StatusUpdate is the status.loadBalancer.ingress an Ingress must get; an
// empty LoadBalancer clears it. IngressStatus converts it to the Ingress API
// type.
type StatusUpdate struct {
	Ingress routing.ObjectRef `json:"ingress"`
	// LoadBalancer is the status to write: read-only, and shared by the
	// updates of one Result (thousands of Ingresses, one address list).
	LoadBalancer []corev1.LoadBalancerIngress `json:"loadBalancer"`
}

// Warning is something in an object that the translation could not honour.
type Warning struct {
	// Kind is the object's kind: "Ingress", "EndpointSlice".
	Kind   string            `json:"kind"`
	Object routing.ObjectRef `json:"object"`
	// Field is the JSON path in the object, e.g.
	// "spec.rules[0].http.paths[1].backend.service.port".
	Field string `json:"field,omitempty"`
	// Reason is a CamelCase reason (the Reason* constants).
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// String formats the warning for logs and events.
func (w Warning) String() string {
	s := w.Kind + " " + w.Object.String()
	if w.Field != "" {
		s += " " + w.Field
	}
	return s + ": " + w.Reason + ": " + w.Message
}

// IngressStatus converts load-balancer addresses to the Ingress status type.
func IngressStatus(lbs []corev1.LoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
	out := make([]networkingv1.IngressLoadBalancerIngress, 0, len(lbs))
	for _, lb := range lbs {
		in := networkingv1.IngressLoadBalancerIngress{IP: lb.IP, Hostname: lb.Hostname}
		for _, p := range lb.Ports {
			in.Ports = append(in.Ports, networkingv1.IngressPortStatus{Port: p.Port, Protocol: p.Protocol, Error: p.Error})
		}
		out = append(out, in)
	}
	return out
}
