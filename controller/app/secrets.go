package app

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ingresslab/ingresslab/controller/source"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// opaqueSource is the source plus an informer of Opaque Secrets, which
// basic-auth annotations (auth-secret) reference; it is used with
// Options.WatchOpaqueSecrets. The source itself watches kubernetes.io/tls
// Secrets only: caching every Opaque Secret of the cluster costs memory
// (their whole data) and widens what a compromised controller exposes, so
// it is opt-in; without it, a basic-auth Ingress is denied (503) with a
// SecretNotFound warning rather than served unprotected.
type opaqueSource struct {
	*source.Source
	factory informers.SharedInformerFactory
	lister  corelisters.SecretLister
	synced  cache.InformerSynced
	changes chan time.Time
}

// loopSource is what the loop reads (loop.Source).
type loopSource interface {
	Changes() <-chan time.Time
	WaitForSync(ctx context.Context) error
	Snapshot() *translate.Snapshot
}

// opaqueSecretSelector restricts the informer to Opaque Secrets.
var opaqueSecretSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeOpaque)).String()

func newOpaqueSource(src *source.Source, client kubernetes.Interface, namespace string) (*opaqueSource, error) {
	o := &opaqueSource{Source: src, changes: make(chan time.Time, 1)}
	o.factory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(namespace),
		informers.WithTransform(func(obj any) (any, error) {
			if s, ok := obj.(*corev1.Secret); ok {
				s.ManagedFields = nil
			}
			return obj, nil
		}),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.FieldSelector = opaqueSecretSelector }))
	inf := o.factory.Core().V1().Secrets()
	o.lister = inf.Lister()
	signal := func() { o.signal(time.Now()) }
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { signal() },
		UpdateFunc: func(any, any) { signal() },
		DeleteFunc: func(any) { signal() },
	}); err != nil {
		return nil, fmt.Errorf("opaque secrets informer: add event handler: %w", err)
	}
	o.synced = inf.Informer().HasSynced
	return o, nil
}

// signal records an event without blocking (a pending signal keeps the
// earliest time).
func (o *opaqueSource) signal(t time.Time) {
	select {
	case o.changes <- t:
	default:
	}
}

// Changes merges the source's signals and the Opaque Secrets' events.
func (o *opaqueSource) Changes() <-chan time.Time { return o.changes }

// Start runs both informers and the signal forwarder until ctx ends.
func (o *opaqueSource) Start(ctx context.Context) {
	o.Source.Start(ctx)
	o.factory.StartWithContext(ctx)
	go func() {
		for {
			select {
			case t := <-o.Source.Changes():
				o.signal(t)
			case <-ctx.Done():
				return
			}
		}
	}()
}

// Shutdown waits for both informers' goroutines.
func (o *opaqueSource) Shutdown() {
	o.Source.Shutdown()
	o.factory.Shutdown()
}

// WaitForSync waits for both.
func (o *opaqueSource) WaitForSync(ctx context.Context) error {
	if err := o.Source.WaitForSync(ctx); err != nil {
		return err
	}
	if !cache.WaitForCacheSync(ctx.Done(), o.synced) {
		return fmt.Errorf("opaque secrets informer not synced: %w", context.Cause(ctx))
	}
	return nil
}

// Snapshot is the source's snapshot with the Opaque Secrets added.
func (o *opaqueSource) Snapshot() *translate.Snapshot {
	snap := o.Source.Snapshot()
	opaque, _ := o.lister.List(labels.Everything()) // never fails for Everything
	snap.Secrets = append(snap.Secrets, opaque...)
	return snap
}
