package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// AddressSource gives the desired status.loadBalancer.ingress of our
// Ingresses. The slice is shared and must not be modified.
type AddressSource interface {
	Addresses() []corev1.LoadBalancerIngress
}

// StaticAddresses is a fixed address list (--publish-status-address).
type StaticAddresses []corev1.LoadBalancerIngress

// Addresses returns the list.
func (s StaticAddresses) Addresses() []corev1.LoadBalancerIngress { return s }

// ParseAddresses parses a comma-separated list of IP addresses and DNS host
// names ("203.0.113.7,lb.example.com"). Spaces around items are ignored.
func ParseAddresses(list string) (StaticAddresses, error) {
	var out StaticAddresses
	for i, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("address list %q: item %d is empty", list, i)
		}
		if ip, err := netip.ParseAddr(item); err == nil {
			if ip.Zone() != "" {
				return nil, fmt.Errorf("address list %q: %q: an IP address with a zone is not allowed", list, item)
			}
			out = append(out, corev1.LoadBalancerIngress{IP: ip.String()})
			continue
		}
		if errs := validation.IsDNS1123Subdomain(strings.ToLower(item)); len(errs) > 0 {
			return nil, fmt.Errorf("address list %q: %q is neither an IP address nor a DNS name: %s", list, item, strings.Join(errs, "; "))
		}
		out = append(out, corev1.LoadBalancerIngress{Hostname: strings.ToLower(item)})
	}
	return out, nil
}

// AddressesOf returns where a Service makes the controller reachable, the
// first that is set of: status.loadBalancer.ingress, spec.externalIPs,
// spec.externalName (type ExternalName), spec.clusterIPs (not "None").
// Nil for a nil Service.
func AddressesOf(svc *corev1.Service) []corev1.LoadBalancerIngress {
	if svc == nil {
		return nil
	}
	if lbs := svc.Status.LoadBalancer.Ingress; len(lbs) > 0 {
		return slices.Clone(lbs)
	}
	var out []corev1.LoadBalancerIngress
	for _, ip := range svc.Spec.ExternalIPs {
		out = append(out, corev1.LoadBalancerIngress{IP: ip})
	}
	if len(out) > 0 {
		return out
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName && svc.Spec.ExternalName != "" {
		return []corev1.LoadBalancerIngress{{Hostname: strings.TrimSuffix(svc.Spec.ExternalName, ".")}}
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if ip != "" && ip != corev1.ClusterIPNone {
			out = append(out, corev1.LoadBalancerIngress{IP: ip})
		}
	}
	return out
}

// ServiceAddressOptions configure a ServiceAddresses.
type ServiceAddressOptions struct {
	// OnChange is called (from an informer goroutine) when the addresses
	// change, e.g. to trigger a build. Default nil.
	OnChange func()
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// ServiceAddresses watches one Service (--publish-service) and gives its
// addresses (AddressesOf); empty while the Service does not exist.
type ServiceAddresses struct {
	namespace, name string
	opts            ServiceAddressOptions
	factory         informers.SharedInformerFactory
	synced          cache.InformerSynced
	cur             atomic.Pointer[[]corev1.LoadBalancerIngress]
}

// NewServiceAddresses prepares the watch of namespace/name (nothing runs
// until Start).
func NewServiceAddresses(client kubernetes.Interface, namespace, name string, opts ServiceAddressOptions) (*ServiceAddresses, error) {
	if client == nil {
		return nil, errors.New("status: publish service: client is nil")
	}
	if namespace == "" || name == "" {
		return nil, fmt.Errorf("status: publish service %q/%q needs a namespace and a name", namespace, name)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &ServiceAddresses{namespace: namespace, name: name, opts: opts}
	var empty []corev1.LoadBalancerIngress
	s.cur.Store(&empty)
	s.factory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}))
	inf := s.factory.Core().V1().Services().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.set(obj) },
		UpdateFunc: func(_, obj any) { s.set(obj) },
		DeleteFunc: func(any) { s.set(nil) },
	})
	if err != nil {
		return nil, fmt.Errorf("status: publish service %s/%s: %w", namespace, name, err)
	}
	s.synced = inf.HasSynced
	return s, nil
}

func (s *ServiceAddresses) set(obj any) {
	svc, _ := obj.(*corev1.Service)
	next := AddressesOf(svc)
	if translate.StatusKey(translate.IngressStatus(*s.cur.Load())) == translate.StatusKey(translate.IngressStatus(next)) {
		return
	}
	s.cur.Store(&next)
	s.opts.Logger.Info("publish service addresses changed", slog.String("service", s.namespace+"/"+s.name),
		slog.String("addresses", describe(next)))
	if s.opts.OnChange != nil {
		s.opts.OnChange()
	}
}

// Addresses returns the Service's current addresses.
func (s *ServiceAddresses) Addresses() []corev1.LoadBalancerIngress { return *s.cur.Load() }

// Start runs the watch until ctx ends.
func (s *ServiceAddresses) Start(ctx context.Context) { s.factory.StartWithContext(ctx) }

// WaitForSync blocks until the first list is done or ctx ends.
func (s *ServiceAddresses) WaitForSync(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced) {
		return fmt.Errorf("status: publish service %s/%s: cache not synced: %w", s.namespace, s.name, context.Cause(ctx))
	}
	return nil
}

// Shutdown waits for the watch goroutines after ctx ended.
func (s *ServiceAddresses) Shutdown() { s.factory.Shutdown() }

var (
	_ AddressSource = StaticAddresses(nil)
	_ AddressSource = (*ServiceAddresses)(nil)
)
