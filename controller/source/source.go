// Package source watches the Kubernetes objects the reference controller
// translates, with client-go shared informers: networking/v1 Ingresses and
// IngressClasses, core/v1 Services, ConfigMaps and TLS Secrets,
// discovery/v1 EndpointSlices. ConfigMaps are read for the custom-headers
// annotation and IngressClass parameters (see translate); the controller's
// RBAC must allow listing and watching them.
//
// Every add, update or delete signals Changes() with the time of the event,
// except an Ingress update that changed only its status (StatusOnly): no
// table depends on it, and the controller's own status writes come back as
// such updates, so they must neither cause a build nor extend a batch. It
// goes to Options.OnIngressStatus instead, for the status writer to judge.
// The channel has a buffer of one and the send never blocks, so a burst of
// events coalesces into one pending signal that carries the time of the
// burst's first event (the control loop measures event-to-publish latency
// from it).
//
// Snapshot lists the informer caches into a translate.Snapshot. The objects
// are the caches' own pointers, shared and read-only: translate never
// modifies its input, and nothing else may. Its Ingresses come in
// translation order (translate.CompareIngresses), from a copy of the cache
// that the Ingress event handlers keep sorted, and are unique by
// namespace/name, so a build neither sorts nor deduplicates them.
//
// To save memory, only Secrets of type kubernetes.io/tls are watched (field
// selector type=kubernetes.io/tls) unless Options.WatchOpaqueSecrets adds
// the Opaque ones, and managedFields and kubectl's last-applied-configuration
// annotation are dropped from every cached object, and Ingresses are
// compacted (labels dropped, repeated strings interned: compact.go), and
// the informers keep no namespace index (unindexed). With Options.Namespace
// set, namespaced objects are watched in that namespace only;
// IngressClasses are cluster-scoped and always watched cluster-wide.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/informers/internalinterfaces"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// TLSSecretFieldSelector restricts the Secret informer to TLS Secrets.
var TLSSecretFieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()

// OpaqueSecretFieldSelector restricts the second Secret informer (with
// Options.WatchOpaqueSecrets) to Opaque Secrets.
var OpaqueSecretFieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeOpaque)).String()

// Options configure a Source. The zero value watches every namespace.
type Options struct {
	// Namespace restricts namespaced objects to one namespace. Default ""
	// (metav1.NamespaceAll): all namespaces.
	Namespace string
	// Logger receives informer start and sync messages. Default
	// slog.Default().
	Logger *slog.Logger
	// WatchOpaqueSecrets also watches (and caches) Secrets of type Opaque,
	// which basic-auth annotations (auth-secret) reference; Snapshot then
	// holds both types. Default false: caching every Opaque Secret costs
	// memory (their whole data) and widens what a compromised controller
	// exposes, so it is opt-in.
	WatchOpaqueSecrets bool
	// OnIngressStatus is called, from the informer's goroutine, for every
	// Ingress update that changed nothing but status (and the
	// resourceVersion): such an update never signals Changes, as no
	// routing table depends on an Ingress's status, and the controller's own
	// status writes come back as such updates. It must not block (the status
	// writer queues the Ingress to judge it alone). Default nil: ignored.
	OnIngressStatus func(ing *networkingv1.Ingress)
}

// Source owns the informers. Create it with New, start it with Start.
type Source struct {
	opts Options
	log  *slog.Logger

	factory informers.SharedInformerFactory // namespaced objects and IngressClasses
	// secretFactories hold one factory per watched Secret type (a field
	// selector per factory): TLS, then Opaque with WatchOpaqueSecrets.
	secretFactories []informers.SharedInformerFactory

	ingresses      networkinglisters.IngressLister
	ingressClasses networkinglisters.IngressClassLister
	services       corelisters.ServiceLister
	slices         discoverylisters.EndpointSliceLister
	secrets        []corelisters.SecretLister // one per Secret type
	configMaps     corelisters.ConfigMapLister

	synced  []cache.InformerSynced
	changes chan time.Time
	// ordered is the Ingress cache in translation order (ordered.go).
	ordered *orderedIngresses
}

// New creates the informers (nothing runs until Start).
func New(client kubernetes.Interface, opts Options) (*Source, error) {
	if client == nil {
		return nil, errors.New("source: client is nil")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Source{opts: opts, log: opts.Logger, changes: make(chan time.Time, 1), ordered: newOrderedIngresses()}
	s.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(opts.Namespace), informers.WithTransform(stripManagedFields))
	unindexed(s.factory, opts.Namespace, nil, &networkingv1.Ingress{}, networkinginformers.NewIngressInformerWithOptions)
	unindexed(s.factory, opts.Namespace, nil, &corev1.Service{}, coreinformers.NewServiceInformerWithOptions)
	unindexed(s.factory, opts.Namespace, nil, &discoveryv1.EndpointSlice{}, discoveryinformers.NewEndpointSliceInformerWithOptions)
	unindexed(s.factory, opts.Namespace, nil, &corev1.ConfigMap{}, coreinformers.NewConfigMapInformerWithOptions)
	ing := s.factory.Networking().V1().Ingresses()
	cls := s.factory.Networking().V1().IngressClasses()
	svc := s.factory.Core().V1().Services()
	eps := s.factory.Discovery().V1().EndpointSlices()
	cms := s.factory.Core().V1().ConfigMaps()
	s.ingresses, s.ingressClasses, s.services, s.slices, s.configMaps =
		ing.Lister(), cls.Lister(), svc.Lister(), eps.Lister(), cms.Lister()
	informersByName := map[string]cache.SharedIndexInformer{
		"ingresses": ing.Informer(), "ingressclasses": cls.Informer(), "services": svc.Informer(),
		"endpointslices": eps.Informer(), "configmaps": cms.Informer(),
	}

	secretSelectors := map[string]string{"tls secrets": TLSSecretFieldSelector}
	if opts.WatchOpaqueSecrets {
		secretSelectors["opaque secrets"] = OpaqueSecretFieldSelector
	}
	for name, selector := range secretSelectors {
		// The selector goes to the informer unindexed registers (the
		// factory's own options would only reach informers it makes).
		tweak := func(o *metav1.ListOptions) { o.FieldSelector = selector }
		f := informers.NewSharedInformerFactoryWithOptions(client, 0,
			informers.WithNamespace(opts.Namespace), informers.WithTransform(stripManagedFields))
		unindexed(f, opts.Namespace, tweak, &corev1.Secret{}, coreinformers.NewSecretInformerWithOptions)
		sec := f.Core().V1().Secrets()
		s.secretFactories = append(s.secretFactories, f)
		s.secrets = append(s.secrets, sec.Lister())
		informersByName[name] = sec.Informer()
	}

	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.signal() },
		UpdateFunc: func(any, any) { s.signal() },
		DeleteFunc: func(any) { s.signal() },
	}
	for name, inf := range informersByName {
		h := cache.ResourceEventHandler(handler)
		if name == "ingresses" {
			h = s.ordered.handler(s.signal, s.ingressUpdated)
		}
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			return nil, fmt.Errorf("source: %s informer: add event handler: %w", name, err)
		}
		// The handler's, not the informer's: synced once the handler has
		// received the initial list too. The Ingress snapshot is the
		// handler's sorted copy, which lags the informer's store.
		s.synced = append(s.synced, reg.HasSynced)
	}
	return s, nil
}

// unindexed registers in f, before its typed accessor creates one, the
// informer of obj's type (made by newInformer) without the namespace index
// the generated informers add: the controller lists every object or gets
// one by key, never lists one namespace, and the index costs an entry per
// cached object (about 40 bytes an Ingress at 10,000). The factory's
// transform still applies (InformerFor sets it), and the typed accessor
// returns this informer.
func unindexed(f informers.SharedInformerFactory, namespace string, tweak internalinterfaces.TweakListOptionsFunc,
	obj runtime.Object, newInformer func(kubernetes.Interface, string, internalinterfaces.InformerOptions) cache.SharedIndexInformer) {
	f.InformerFor(obj, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return newInformer(c, namespace, internalinterfaces.InformerOptions{
			ResyncPeriod: resync, Indexers: cache.Indexers{}, TweakListOptions: tweak})
	})
}

// ingressUpdated signals an Ingress update unless only its status changed
// (then it goes to Options.OnIngressStatus).
func (s *Source) ingressUpdated(oldObj, newObj any) {
	old, ok1 := oldObj.(*networkingv1.Ingress)
	ing, ok2 := newObj.(*networkingv1.Ingress)
	if ok1 && ok2 && StatusOnly(old, ing) {
		if s.opts.OnIngressStatus != nil {
			s.opts.OnIngressStatus(ing)
		}
		return
	}
	s.signal()
}

// StatusOnly reports whether b differs from a in nothing but status,
// resourceVersion and managedFields (an update of the status subresource,
// such as the controller's own status write coming back).
func StatusOnly(a, b *networkingv1.Ingress) bool {
	if a.Generation != b.Generation || a.UID != b.UID {
		return false
	}
	x, y := *a, *b
	x.Status, y.Status = networkingv1.IngressStatus{}, networkingv1.IngressStatus{}
	x.ResourceVersion, y.ResourceVersion = "", ""
	x.ManagedFields, y.ManagedFields = nil, nil
	return equality.Semantic.DeepEqual(&x, &y)
}

// Ingress returns the cached Ingress namespace/name (shared, read-only);
// false when it is not in the cache.
func (s *Source) Ingress(namespace, name string) (*networkingv1.Ingress, bool) {
	ing, err := s.ingresses.Ingresses(namespace).Get(name)
	return ing, err == nil && ing != nil
}

// signal records an event without blocking; a pending signal keeps the
// time of the earliest event.
func (s *Source) signal() {
	select {
	case s.changes <- time.Now():
	default:
	}
}

// Changes is signalled (coalescing) on every informer event with the time
// of the first event not yet received.
func (s *Source) Changes() <-chan time.Time { return s.changes }

// Start runs the informers until ctx ends; it does not wait for them to
// sync (see WaitForSync). Call Shutdown after ctx ends to wait for the
// informer goroutines.
func (s *Source) Start(ctx context.Context) {
	s.log.Info("starting informers", slog.String("namespace", nsText(s.opts.Namespace)))
	s.factory.StartWithContext(ctx)
	for _, f := range s.secretFactories {
		f.StartWithContext(ctx)
	}
}

// Shutdown waits for the informer goroutines to end; the context given to
// Start must be done (or be cancelled soon).
func (s *Source) Shutdown() {
	s.factory.Shutdown()
	for _, f := range s.secretFactories {
		f.Shutdown()
	}
}

// HasSynced reports whether every informer has completed its initial list
// and delivered it to the Source's handlers.
func (s *Source) HasSynced() bool {
	for _, f := range s.synced {
		if !f() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until every informer has synced or ctx ends.
func (s *Source) WaitForSync(ctx context.Context) error {
	start := time.Now()
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return fmt.Errorf("source: informer caches not synced: %w", context.Cause(ctx))
	}
	s.log.Info("informer caches synced", slog.Duration("took", time.Since(start)))
	return nil
}

// Snapshot lists the caches. The objects are shared with the caches and
// must not be modified. Before HasSynced it may be incomplete.
func (s *Source) Snapshot() *translate.Snapshot {
	// An informer cache holds one object per namespace/name.
	snap := &translate.Snapshot{UniqueIngresses: true}
	// The listers' List never fails for labels.Everything().
	all := labels.Everything()
	snap.Ingresses = s.ordered.snapshot() // sorted: translation need not sort
	snap.IngressClasses, _ = s.ingressClasses.List(all)
	snap.Services, _ = s.services.List(all)
	snap.EndpointSlices, _ = s.slices.List(all)
	for _, l := range s.secrets {
		secrets, _ := l.List(all)
		snap.Secrets = append(snap.Secrets, secrets...)
	}
	snap.ConfigMaps, _ = s.configMaps.List(all)
	return snap
}

// LastAppliedAnnotation is the copy of the whole object that `kubectl
// apply` keeps in an annotation; it is dropped from cached objects.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// stripManagedFields drops metadata.managedFields and the
// LastAppliedAnnotation before an object is cached: the controller never
// reads them, and each repeats most of the object (with 10,000 Ingresses
// written by kubectl apply, they would double the cache). The object is
// the informer's own freshly decoded copy. Ingresses are compacted further
// (compactIngress).
func stripManagedFields(obj any) (any, error) {
	if acc, err := meta.Accessor(obj); err == nil {
		acc.SetManagedFields(nil)
		if a := acc.GetAnnotations(); a[LastAppliedAnnotation] != "" {
			delete(a, LastAppliedAnnotation)
		}
	}
	if ing, ok := obj.(*networkingv1.Ingress); ok {
		compactIngress(ing)
	}
	return obj, nil
}

func nsText(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}
