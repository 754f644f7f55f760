package source

import (
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
//     pointers of equal values are shared. Strings that are often unique
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
