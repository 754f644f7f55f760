// Package source watches the Kubernetes objects the reference controller
// translates, with client-go shared informers: networking/v1 Ingresses and
// IngressClasses, core/v1 Services, ConfigMaps and TLS Secrets,
// discovery/v1 EndpointSlices. ConfigMaps are read for the custom-headers
// annotation and IngressClass parameters (see translate); the controller's
// RBAC must allow listing and watching them.
//
// Every add, update or delete signals Changes() with the time of the event.
// The channel has a buffer of one and the send never blocks, so a burst of
// events coalesces into one pending signal that carries the time of the
// burst's first event (the control loop measures event-to-publish latency
// from it).
//
// Snapshot lists the informer caches into a translate.Snapshot. The objects
// are the caches' own pointers, shared and read-only: translate never
// modifies its input, and nothing else may.
//
// To save memory, only Secrets of type kubernetes.io/tls are watched (field
// selector type=kubernetes.io/tls), and managedFields are dropped from every
// cached object. With Options.Namespace set, namespaced objects are watched
// in that namespace only; IngressClasses are cluster-scoped and always
// watched cluster-wide.
package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// TLSSecretFieldSelector restricts the Secret informer to TLS Secrets.
var TLSSecretFieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeTLS)).String()

// Options configure a Source. The zero value watches every namespace.
type Options struct {
	// Namespace restricts namespaced objects to one namespace. Default ""
	// (metav1.NamespaceAll): all namespaces.
	Namespace string
	// Logger receives informer start and sync messages. Default
	// slog.Default().
	Logger *slog.Logger
}

// Source owns the informers. Create it with New, start it with Start.
type Source struct {
	opts Options
	log  *slog.Logger

	factory informers.SharedInformerFactory // namespaced objects and IngressClasses
	secrets informers.SharedInformerFactory // TLS Secrets only

	ingresses      networkinglisters.IngressLister
	ingressClasses networkinglisters.IngressClassLister
	services       corelisters.ServiceLister
	slices         discoverylisters.EndpointSliceLister
	tlsSecrets     corelisters.SecretLister
	configMaps     corelisters.ConfigMapLister

	synced  []cache.InformerSynced
	changes chan time.Time
}

// New creates the informers (nothing runs until Start).
func New(client kubernetes.Interface, opts Options) (*Source, error) {
	if client == nil {
		return nil, errors.New("source: client is nil")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Source{opts: opts, log: opts.Logger, changes: make(chan time.Time, 1)}
	s.factory = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(opts.Namespace), informers.WithTransform(stripManagedFields))
	s.secrets = informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(opts.Namespace), informers.WithTransform(stripManagedFields),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = TLSSecretFieldSelector }))

	ing := s.factory.Networking().V1().Ingresses()
	cls := s.factory.Networking().V1().IngressClasses()
	svc := s.factory.Core().V1().Services()
	eps := s.factory.Discovery().V1().EndpointSlices()
	sec := s.secrets.Core().V1().Secrets()
	cms := s.factory.Core().V1().ConfigMaps()
	s.ingresses, s.ingressClasses, s.services, s.slices, s.tlsSecrets, s.configMaps =
		ing.Lister(), cls.Lister(), svc.Lister(), eps.Lister(), sec.Lister(), cms.Lister()

	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.signal() },
		UpdateFunc: func(any, any) { s.signal() },
		DeleteFunc: func(any) { s.signal() },
	}
	for name, inf := range map[string]cache.SharedIndexInformer{
		"ingresses": ing.Informer(), "ingressclasses": cls.Informer(), "services": svc.Informer(),
		"endpointslices": eps.Informer(), "secrets": sec.Informer(), "configmaps": cms.Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("source: %s informer: add event handler: %w", name, err)
		}
		s.synced = append(s.synced, inf.HasSynced)
	}
	return s, nil
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
	s.secrets.StartWithContext(ctx)
}

// Shutdown waits for the informer goroutines to end; the context given to
// Start must be done (or be cancelled soon).
func (s *Source) Shutdown() {
	s.factory.Shutdown()
	s.secrets.Shutdown()
}

// HasSynced reports whether every informer has completed its initial list.
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
	snap := &translate.Snapshot{}
	// The listers' List never fails for labels.Everything().
	all := labels.Everything()
	snap.Ingresses, _ = s.ingresses.List(all)
	snap.IngressClasses, _ = s.ingressClasses.List(all)
	snap.Services, _ = s.services.List(all)
	snap.EndpointSlices, _ = s.slices.List(all)
	snap.Secrets, _ = s.tlsSecrets.List(all)
	snap.ConfigMaps, _ = s.configMaps.List(all)
	return snap
}

// stripManagedFields drops metadata.managedFields before an object is
// cached; the controller never reads them.
func stripManagedFields(obj any) (any, error) {
	if acc, err := meta.Accessor(obj); err == nil {
		acc.SetManagedFields(nil)
	}
	return obj, nil
}

func nsText(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}
