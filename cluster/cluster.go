// Package cluster defines how ingresslab gets a Kubernetes cluster, publishes
// echo backends into it and runs the Ingress controller under test.
//
// A Provider is one way to do that: "local" (package cluster/local: a real
// etcd and kube-apiserver run as local processes, backends in a network
// namespace), and later "kind" and "existing". Consumers depend on the small
// interfaces they need (Cluster, BackendPublisher, ControllerRunner).
package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"k8s.io/client-go/rest"
)

// Cluster is a running Kubernetes API server.
type Cluster interface {
	// Name of the provider ("local", "kind", "existing").
	Name() string
	// RESTConfig returns admin credentials for the cluster.
	RESTConfig() *rest.Config
	// KubeconfigPath is a kubeconfig file with the same credentials.
	KubeconfigPath() string
	// Destroy stops the cluster and removes everything it created.
	Destroy(ctx context.Context) error
}

// BackendPublisher publishes echo backends as Services with endpoints.
type BackendPublisher interface {
	// PublishBackend starts spec.Replicas echo endpoints and publishes them as
	// a Service with EndpointSlices (and core/v1 Endpoints).
	PublishBackend(ctx context.Context, spec BackendSpec) (*Backend, error)
	// ScaleBackend changes the number of endpoints.
	ScaleBackend(ctx context.Context, b *Backend, replicas int) error
	// SetEndpointConditions changes the published conditions of endpoint i.
	SetEndpointConditions(ctx context.Context, b *Backend, i int, c EndpointConditions) error
	// DeleteBackend stops the endpoints and deletes the published objects.
	DeleteBackend(ctx context.Context, b *Backend) error
	// CheckTarget returns an error unless traffic to addr stays on this
	// machine: loopback, or a test host this provider created and verified.
	CheckTarget(ctx context.Context, addr netip.Addr) error
}

// BackendSpec describes an echo backend.
type BackendSpec struct {
	Namespace string
	// Name is the Service name; endpoints are named Name-0, Name-1, ...
	Name string
	// Ports of the Service. Default: one port named "http", 80 -> 8080.
	Ports []ServicePort
	// Replicas is the number of endpoints (default 1; 0 is allowed).
	Replicas int
	// Refusing makes the last Refusing of the Replicas endpoints published
	// ready while nothing listens on them, so connections to them are
	// refused (for retry specs). Endpoints added later by ScaleBackend
	// serve normally. Providers that cannot do this return an
	// error wrapping errors.ErrUnsupported.
	Refusing int
	// Labels are added to the Service and its EndpointSlices.
	Labels map[string]string
}

// WithDefaults checks the spec and fills in the defaults: one port named
// "http", 80 -> 8080, and TargetPort = Port where it is zero. Ports are
// copied, so the caller's slice is never changed.
func (spec BackendSpec) WithDefaults() (BackendSpec, error) {
	if spec.Namespace == "" || spec.Name == "" {
		return spec, fmt.Errorf("backend needs a namespace and a name (got %q/%q)", spec.Namespace, spec.Name)
	}
	if spec.Replicas < 0 {
		return spec, fmt.Errorf("backend %s/%s: replicas %d is negative", spec.Namespace, spec.Name, spec.Replicas)
	}
	if spec.Refusing < 0 || spec.Refusing > spec.Replicas {
		return spec, fmt.Errorf("backend %s/%s: refusing %d is not within 0..replicas (%d)", spec.Namespace, spec.Name, spec.Refusing, spec.Replicas)
	}
	if len(spec.Ports) == 0 {
		spec.Ports = []ServicePort{{Name: "http", Port: 80, TargetPort: 8080}}
	}
	spec.Ports = slices.Clone(spec.Ports)
	for i, p := range spec.Ports {
		if p.TargetPort == 0 {
			spec.Ports[i].TargetPort = p.Port
		}
		if p.Port <= 0 || p.Port > 65535 || spec.Ports[i].TargetPort <= 0 || spec.Ports[i].TargetPort > 65535 {
			return spec, fmt.Errorf("backend %s/%s: ports[%d]: port %d -> %d out of range", spec.Namespace, spec.Name, i, p.Port, p.TargetPort)
		}
	}
	return spec, nil
}

// ServicePort is one port of a backend Service.
type ServicePort struct {
	// Name of the port; the EndpointSlice port carries the same name.
	Name string
	// Port is the Service port; TargetPort is where endpoints listen.
	Port, TargetPort int32
	// TLS makes the endpoints serve HTTPS on TargetPort, with a
	// self-signed certificate for the Service's names (name, name.ns,
	// name.ns.svc, name.ns.svc.cluster.local), for backend-protocol HTTPS.
	TLS bool
}

// EndpointConditions are the EndpointSlice conditions of one endpoint.
type EndpointConditions struct {
	Ready, Serving, Terminating bool
}

// Ready are the conditions of a healthy endpoint.
var Ready = EndpointConditions{Ready: true, Serving: true}

// Backend is a published backend.
type Backend struct {
	Spec      BackendSpec
	Endpoints []Endpoint
}

// Endpoint is one echo server behind a backend.
type Endpoint struct {
	// Pod is the identity the echo server reports ("name-i").
	Pod string
	// Address is where the endpoint listens (IP, or 127.0.0.x for FQDN
	// slices without root).
	Address netip.Addr
	// Conditions as published.
	Conditions EndpointConditions
}

// ControllerRunner starts the Ingress controller under test.
type ControllerRunner interface {
	StartController(ctx context.Context, spec ControllerSpec) (*Process, error)
}

// ControllerSpec says how to run a controller process.
type ControllerSpec struct {
	// Name is used for the log file name.
	Name string
	// Command is the program and its arguments, already rendered.
	Command []string
	// Env is added to the environment (KEY=VALUE).
	Env []string
	// Dir is the working directory (default: the current one).
	Dir string
	// LogPath is where stdout and stderr go (default: a file in the
	// provider's data directory).
	LogPath string
	// ExtraFiles are inherited by the process as file descriptors 3, 4,
	// ... (StartProcess only; the caller still closes its own copies).
	ExtraFiles []*os.File
}
