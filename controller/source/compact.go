package source

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unique"

	networkingv1 "k8s.io/api/networking/v1"
)

// compactIngress shrinks an Ingress the informer just decoded, before it is
// cached, to what the controller reads. With thousands of Ingresses the
// cache is most of the controller's memory, and each decoded string and
// pointer is an allocation of its own:
//   - labels, owner references and finalizers are dropped: the controller
//     never reads them (it writes status with a patch, never the whole
//     object); a Helm chart's labels alone are a map of several hundred
//     bytes per Ingress. DeletionTimestamp stays.
//   - the namespace is interned (package unique): every Ingress of a
//     namespace shares one copy; the pathType and ingressClassName
//     pointers of equal values are shared, and so are the paths' equal
//     service backends (name and port) and equal
//     status.loadBalancer.ingress lists (the controller writes the same
//     addresses to every Ingress it serves). Strings that are often unique
//     (names, hosts, paths, annotation values) are not interned: for a
//     value held once, interning costs an entry in unique's map and saves
//     nothing.
//
// The cached objects are read-only for everyone (see the package
// documentation), which is what makes sharing safe.
func compactIngress(ing *networkingv1.Ingress) {
	ing.Labels = nil
	ing.OwnerReferences = nil
	ing.Finalizers = nil
	ing.Namespace = intern(ing.Namespace)
	if c := ing.Spec.IngressClassName; c != nil {
		ing.Spec.IngressClassName = internPtr(*c)
	}
	ing.Status.LoadBalancer.Ingress = sharedStatus(ing.Status.LoadBalancer.Ingress)
	for i := range ing.Spec.Rules {
		http := ing.Spec.Rules[i].HTTP
		if http == nil {
			continue
		}
		for j := range http.Paths {
			p := &http.Paths[j]
			if p.PathType != nil {
				p.PathType = pathTypePtr(*p.PathType)
			}
			if s := p.Backend.Service; s != nil {
				p.Backend.Service = sharedService(s)
			}
		}
	}
}

// intern returns the canonical copy of s.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// internPtr returns a shared pointer to s for the first maxShared
// distinct values (IngressClass names: a handful), else a new pointer.
func internPtr(s string) *string {
	if p, ok := sharedPtrs.load(s); ok {
		return p
	}
	s = intern(s)
	return sharedPtrs.share(s, &s)
}

// sharedStatus returns the shared copy of a status.loadBalancer.ingress
// list equal to lb, for the first maxShared distinct lists, else lb.
func sharedStatus(lb []networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
	if len(lb) == 0 {
		return lb
	}
	return sharedStatuses.share(statusKey(lb), lb)
}

// sharedService returns the shared copy of a path's service backend equal
// to s (name and port), for the first maxShared distinct ones, else s:
// many hosts routed to one Service repeat the same 48-byte value.
func sharedService(s *networkingv1.IngressServiceBackend) *networkingv1.IngressServiceBackend {
	key := s.Name + "\x00" + s.Port.Name + "\x00" + strconv.Itoa(int(s.Port.Number))
	return sharedServices.share(key, s)
}

// statusKey encodes lb, every field of it, unambiguously.
func statusKey(lb []networkingv1.IngressLoadBalancerIngress) string {
	var b strings.Builder
	for _, e := range lb {
		b.WriteString(strconv.Quote(e.IP))
		b.WriteString(strconv.Quote(e.Hostname))
		for _, p := range e.Ports {
			b.WriteString(strconv.Itoa(int(p.Port)))
			b.WriteString(strconv.Quote(string(p.Protocol)))
			if p.Error != nil {
				b.WriteString(strconv.Quote(*p.Error))
			} else {
				b.WriteString("-")
			}
		}
		b.WriteString(";")
	}
	return b.String()
}

// maxShared bounds each sharedSet, which is never pruned.
const maxShared = 256

// sharedSet holds the shared value of each of its first maxShared keys.
type sharedSet[V any] struct {
	m sync.Map // string -> V
	n atomic.Int32
}

func (s *sharedSet[V]) load(key string) (V, bool) {
	v, ok := s.m.Load(key)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// share returns the value stored for key, storing v first when there is
// none and the set is not full; v itself when it is full.
func (s *sharedSet[V]) share(key string, v V) V {
	if got, ok := s.load(key); ok {
		return got
	}
	if s.n.Load() >= maxShared {
		return v
	}
	got, loaded := s.m.LoadOrStore(key, v)
	if !loaded {
		s.n.Add(1)
	}
	return got.(V)
}

var (
	sharedPtrs     sharedSet[*string]
	sharedStatuses sharedSet[[]networkingv1.IngressLoadBalancerIngress]
	sharedServices sharedSet[*networkingv1.IngressServiceBackend]
)

// The three valid path types, shared by every cached path that names one.
var (
	pathExact                  = networkingv1.PathTypeExact
	pathPrefix                 = networkingv1.PathTypePrefix
	pathImplementationSpecific = networkingv1.PathTypeImplementationSpecific
)

// pathTypePtr returns the shared pointer for a valid path type, else a new
// one (an invalid value is kept for the warning that names it).
func pathTypePtr(t networkingv1.PathType) *networkingv1.PathType {
	switch t {
	case pathExact:
		return &pathExact
	case pathPrefix:
		return &pathPrefix
	case pathImplementationSpecific:
		return &pathImplementationSpecific
	}
	return &t
}
