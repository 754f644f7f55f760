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
//   - strings that repeat across Ingresses (namespace, IngressClass name,
//     Service and port names, paths, annotation values) are interned
//     (package unique), and the pathType and ingressClassName pointers of
//     equal values are shared.
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
	for k, v := range ing.Annotations {
		ing.Annotations[k] = intern(v)
	}
	compactBackend(ing.Spec.DefaultBackend)
	for i := range ing.Spec.Rules {
		http := ing.Spec.Rules[i].HTTP
		if http == nil {
			continue
		}
		for j := range http.Paths {
			p := &http.Paths[j]
			p.Path = intern(p.Path)
			if p.PathType != nil {
				p.PathType = pathTypePtr(*p.PathType)
			}
			compactBackend(&p.Backend)
		}
	}
}

func compactBackend(b *networkingv1.IngressBackend) {
	if b == nil || b.Service == nil {
		return
	}
	b.Service.Name = intern(b.Service.Name)
	b.Service.Port.Name = intern(b.Service.Port.Name)
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
