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
//     pointers of equal values are shared, and so are equal
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
			if p := &http.Paths[j]; p.PathType != nil {
				p.PathType = pathTypePtr(*p.PathType)
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

// internPtr returns a shared pointer to s for the first maxSharedPtrs
// distinct values (IngressClass names: a handful), else a new pointer.
func internPtr(s string) *string {
	if p, ok := sharedPtrs.Load(s); ok {
		return p.(*string)
	}
	s = intern(s)
	if sharedPtrCount.Load() >= maxSharedPtrs {
		return &s
	}
	p, loaded := sharedPtrs.LoadOrStore(s, &s)
	if !loaded {
		sharedPtrCount.Add(1)
	}
	return p.(*string)
}

// maxSharedPtrs bounds sharedPtrs, which is never pruned.
const maxSharedPtrs = 256

var (
	sharedPtrs     sync.Map // string -> *string
	sharedPtrCount atomic.Int32
)

// sharedStatus returns the shared copy of a status.loadBalancer.ingress
// list equal to lb, for the first maxSharedPtrs distinct lists, else lb.
func sharedStatus(lb []networkingv1.IngressLoadBalancerIngress) []networkingv1.IngressLoadBalancerIngress {
	if len(lb) == 0 {
		return lb
	}
	key := statusKey(lb)
	if v, ok := sharedStatuses.Load(key); ok {
		return v.([]networkingv1.IngressLoadBalancerIngress)
	}
	if sharedStatusCount.Load() >= maxSharedPtrs {
		return lb
	}
	v, loaded := sharedStatuses.LoadOrStore(key, lb)
	if !loaded {
		sharedStatusCount.Add(1)
	}
	return v.([]networkingv1.IngressLoadBalancerIngress)
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

var (
	sharedStatuses    sync.Map // statusKey -> []networkingv1.IngressLoadBalancerIngress
	sharedStatusCount atomic.Int32
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
