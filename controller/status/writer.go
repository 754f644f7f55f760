// Package status is the reference controller's only writer to the API
// server: it writes Ingress status.loadBalancer.ingress.
//
// The control loop hands each build's translate.StatusPlan (our Ingresses
// get our addresses, other Ingresses carrying exactly our addresses get them
// cleared; the writes that needed against the build's snapshot) to
// Writer.Update, which never blocks: the latest plan replaces any plan whose
// writes are not done yet. The Writer's goroutine writes them only while
// this instance is the leader, never in the loop's goroutine, so a backlog
// of writes delays no build. For each Ingress it reads the informer cache
// (Options.Ingresses), judges it against the plan (skipping any whose
// status is already right, e.g. written since the build), and writes with
// one merge patch of the status subresource conditional on the cached
// resourceVersion; on a conflict it judges a fresher copy again (the
// cache's, or one GET when the cache lags). Writes go through their own
// client (Options.StatusClient, its own rate limiter), so they never delay
// the informers. Failed writes are retried with a backoff (500ms doubling
// to 30s).
//
// An Ingress whose status alone changed causes no build (package source);
// it comes to Writer.Observe, which judges it against the latest plan: the
// echo of our own write needs nothing, a status someone else overwrote is
// written again.
//
// Leadership uses client-go leader election with a coordination.k8s.io
// Lease (Options.LeaderElection); without it (single-instance development
// runs) the Writer is always the leader. On becoming leader the latest plan
// is written again (and OnStartedLeading typically triggers a build), so
// statuses left stale by a previous leader are fixed.
//
// The desired addresses come from an AddressSource: StaticAddresses
// (--publish-status-address) or ServiceAddresses (--publish-service, a
// watched Service's load-balancer status, external IPs, external name or
// cluster IP).
package status

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// Defaults of LeaderElectionOptions, as in Kubernetes components.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Backoff of failed writes.
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 30 * time.Second
)

// LeaderElectionOptions configure the Lease-based leader election.
type LeaderElectionOptions struct {
	// Namespace and Name of the Lease. Required.
	Namespace, Name string
	// Identity of this instance in the Lease. Default: hostname + "_" +
	// random hex.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod default to 15s, 10s, 2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Options configure a Writer. Client is required.
type Options struct {
	// Client runs the leader election (the Lease) and, without
	// StatusClient, writes the statuses.
	Client kubernetes.Interface
	// StatusClient writes the statuses. Give it its own rest.Config (its
	// own rate limiter), so that a backlog of status writes (one per
	// Ingress after thousands were created) never delays the informers'
	// requests or the Lease renewals. Default Client.
	StatusClient kubernetes.Interface
	// Ingresses reads Ingresses from the informer cache (*source.Source
	// implements it), so a write costs one request and an Ingress whose
	// status is already right costs none. Default nil: each Ingress is read
	// from the API server before its write.
	Ingresses IngressGetter
	// LeaderElection enables leader election. Default nil: this instance is
	// always the leader.
	LeaderElection *LeaderElectionOptions
	// OnStartedLeading is called (in its own goroutine) when this instance
	// becomes leader, e.g. to trigger a build. Default nil.
	OnStartedLeading func()
	// Metrics counts writes. Default nil: none.
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// IngressGetter reads one Ingress from a cache; the object is shared and
// read-only.
type IngressGetter interface {
	Ingress(namespace, name string) (*networkingv1.Ingress, bool)
}

// Writer writes Ingress statuses while leader.
type Writer struct {
	opts    Options
	log     *slog.Logger
	elector *leaderelection.LeaderElector // nil without leader election
	leader  atomic.Bool
	signal  chan struct{}

	mu sync.Mutex
	// plan is the latest build's; dirty until its Updates are taken.
	plan  *translate.StatusPlan
	dirty bool
	// observed are Ingresses to judge against plan again: status changes
	// the plan does not want, and failed writes.
	observed map[routing.ObjectRef]struct{}
}

// New validates opts and prepares the leader election (nothing runs until
// Run).
func New(opts Options) (*Writer, error) {
	if opts.Client == nil {
		return nil, errors.New("status: Options.Client is nil")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StatusClient == nil {
		opts.StatusClient = opts.Client
	}
	w := &Writer{opts: opts, log: opts.Logger, signal: make(chan struct{}, 1)}
	if le := opts.LeaderElection; le != nil {
		if le.Namespace == "" || le.Name == "" {
			return nil, fmt.Errorf("status: leader election lease %q/%q needs a namespace and a name", le.Namespace, le.Name)
		}
		id := le.Identity
		if id == "" {
			id = DefaultIdentity()
		}
		cfg := leaderelection.LeaderElectionConfig{
			Lock: &resourcelock.LeaseLock{
				LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
				Client:     opts.Client.CoordinationV1(),
				LockConfig: resourcelock.ResourceLockConfig{Identity: id},
			},
			LeaseDuration:   cmpOr(le.LeaseDuration, DefaultLeaseDuration),
			RenewDeadline:   cmpOr(le.RenewDeadline, DefaultRenewDeadline),
			RetryPeriod:     cmpOr(le.RetryPeriod, DefaultRetryPeriod),
			ReleaseOnCancel: true,
			Name:            le.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) { w.setLeader(true) },
				OnStoppedLeading: func() { w.setLeader(false) },
			},
		}
		el, err := leaderelection.NewLeaderElector(cfg)
		if err != nil {
			return nil, fmt.Errorf("status: leader election lease %s/%s: %w", le.Namespace, le.Name, err)
		}
		w.elector = el
	} else {
		w.leader.Store(true)
	}
	return w, nil
}

// DefaultIdentity is hostname_randomhex.
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ingresslab"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "_" + hex.EncodeToString(b[:])
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// IsLeader reports whether this instance currently writes statuses.
func (w *Writer) IsLeader() bool { return w.leader.Load() }

func (w *Writer) setLeader(on bool) {
	was := w.leader.Swap(on)
	switch {
	case on && !was:
		w.log.Info("became leader: writing Ingress statuses")
		w.mu.Lock()
		w.dirty = true // re-apply the latest desired statuses
		w.mu.Unlock()
		w.kick()
		if w.opts.OnStartedLeading != nil {
			go w.opts.OnStartedLeading()
		}
	case !on && was:
		w.log.Info("lost leadership: no longer writing Ingress statuses")
	}
}

func (w *Writer) kick() {
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// Update hands over a build's status plan, replacing any plan whose writes
// are not done yet (the newer plan's Updates cover them); it never blocks.
// A nil plan writes nothing.
func (w *Writer) Update(plan *translate.StatusPlan) {
	w.mu.Lock()
	w.plan, w.dirty = plan, true
	w.mu.Unlock()
	w.kick()
}

// Observe judges an Ingress whose status changed (source's
// OnIngressStatus) against the latest plan, and queues a write when the
// plan wants another status: someone else overwrote it. The echo of the
// Writer's own write is dropped here. It never blocks.
func (w *Writer) Observe(ing *networkingv1.Ingress) {
	w.mu.Lock()
	plan := w.plan
	w.mu.Unlock()
	u, ok := plan.Update(ing) // the plan is immutable
	if !ok {
		return
	}
	w.mu.Lock()
	w.queue(u.Ingress)
	w.mu.Unlock()
	w.kick()
}

// queue adds ref to observed; w.mu must be held.
func (w *Writer) queue(refs ...routing.ObjectRef) {
	if w.observed == nil {
		w.observed = make(map[routing.ObjectRef]struct{}, len(refs))
	}
	for _, r := range refs {
		w.observed[r] = struct{}{}
	}
}

// Run writes statuses (and runs the leader election) until ctx ends. With
// leader election the Lease is released on return.
func (w *Writer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	if w.elector != nil {
		wg.Go(func() {
			for ctx.Err() == nil {
				w.elector.Run(ctx) // returns when leadership is lost or ctx ends
			}
		})
	}
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.signal:
		case <-retry:
		}
		if !w.leader.Load() {
			continue
		}
		w.mu.Lock()
		plan, dirty, observed := w.plan, w.dirty, w.observed
		w.dirty, w.observed = false, nil
		w.mu.Unlock()
		var todo pending
		if dirty && plan != nil {
			todo.updates = plan.Updates // read, not copied: thousands after a restart
		}
		for r := range observed {
			todo.observed = append(todo.observed, r)
		}
		if todo.len() == 0 {
			continue
		}
		failed, err := w.apply(ctx, plan, todo)
		if len(failed) > 0 && ctx.Err() == nil {
			backoff = min(max(2*backoff, minRetry), maxRetry)
			w.log.Warn("Ingress status write failed; retrying", slog.Duration("in", backoff),
				slog.Int("ingresses", len(failed)), slog.Any("error", err))
			w.mu.Lock()
			w.queue(failed...)
			w.mu.Unlock()
			retry = time.After(backoff)
		} else {
			backoff, retry = 0, nil
		}
	}
}

// apply judges and writes each Ingress of todo against plan. It stops
// early when leadership is lost (the next leader's build covers the rest)
// or a newer plan arrived (the rest are queued again, to be judged with
// it). It returns the Ingresses whose write failed.
func (w *Writer) apply(ctx context.Context, plan *translate.StatusPlan, todo pending) ([]routing.ObjectRef, error) {
	var errs []error
	var failed []routing.ObjectRef
	for i := range todo.len() {
		ref := todo.at(i)
		if !w.leader.Load() || ctx.Err() != nil {
			return nil, nil
		}
		if i%16 == 0 && w.newerPlan(plan) {
			w.mu.Lock()
			for j := i; j < todo.len(); j++ {
				w.queue(todo.at(j))
			}
			w.mu.Unlock()
			w.kick()
			break
		}
		if err := w.write(ctx, plan, ref); err != nil {
			errs = append(errs, err)
			failed = append(failed, ref)
		}
	}
	return failed, errors.Join(errs...)
}

// pending lists the Ingresses one round of Run judges: a plan's updates,
// then the observed ones.
type pending struct {
	updates  []translate.StatusUpdate
	observed []routing.ObjectRef
}

func (p pending) len() int { return len(p.updates) + len(p.observed) }

// at returns the i-th Ingress, 0 <= i < len().
func (p pending) at(i int) routing.ObjectRef {
	if i < len(p.updates) {
		return p.updates[i].Ingress
	}
	return p.observed[i-len(p.updates)]
}

// newerPlan reports whether a plan newer than plan waits.
func (w *Writer) newerPlan(plan *translate.StatusPlan) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dirty && w.plan != plan
}

// maxConflicts bounds the attempts of one write that meet a conflict.
const maxConflicts = 5

// write gives one Ingress the status plan wants for it, if any: read from
// the cache, written with one merge patch of the status subresource that
// carries the cached resourceVersion. On a conflict the Ingress is judged
// again on a fresher copy: the cache's, or the API server's when the cache
// has not caught up yet.
func (w *Writer) write(ctx context.Context, plan *translate.StatusPlan, ref routing.ObjectRef) error {
	ing, err := w.get(ctx, ref, false)
	for attempt := 1; err == nil && ing != nil; attempt++ {
		u, ok := plan.Update(ing)
		if !ok {
			return nil
		}
		err = w.patch(ctx, ing, u)
		if err == nil {
			w.opts.Metrics.StatusWrite(nil)
			w.log.Info("updated Ingress status", slog.String("namespace", ref.Namespace), slog.String("name", ref.Name),
				slog.String("loadBalancer", describe(u.LoadBalancer)))
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == maxConflicts {
			break
		}
		prev := ing.ResourceVersion
		ing, err = w.get(ctx, ref, false)
		if err == nil && ing != nil && ing.ResourceVersion == prev {
			ing, err = w.get(ctx, ref, true)
		}
	}
	if err == nil || apierrors.IsNotFound(err) {
		return nil // deleted since
	}
	w.opts.Metrics.StatusWrite(err)
	return fmt.Errorf("status: ingress %s/%s: write status.loadBalancer.ingress: %w", ref.Namespace, ref.Name, err)
}

// get reads an Ingress from the cache, or from the API server when fresh
// is set or there is no cache; nil when it does not exist.
func (w *Writer) get(ctx context.Context, ref routing.ObjectRef, fresh bool) (*networkingv1.Ingress, error) {
	if w.opts.Ingresses != nil && !fresh {
		ing, _ := w.opts.Ingresses.Ingress(ref.Namespace, ref.Name)
		return ing, nil
	}
	ing, err := w.opts.StatusClient.NetworkingV1().Ingresses(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ing, err
}

// statusPatch is the merge patch of a status write. The resourceVersion
// makes it conditional: the API server refuses it with a conflict when the
// Ingress changed since it was read.
type statusPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Status struct {
		LoadBalancer struct {
			Ingress []networkingv1.IngressLoadBalancerIngress `json:"ingress"`
		} `json:"loadBalancer"`
	} `json:"status"`
}

// patch writes u to ing's status subresource, conditional on ing's
// resourceVersion. Only status is sent: no metadata the cache dropped can
// be lost.
func (w *Writer) patch(ctx context.Context, ing *networkingv1.Ingress, u translate.StatusUpdate) error {
	var p statusPatch
	p.Metadata.ResourceVersion = ing.ResourceVersion
	p.Status.LoadBalancer.Ingress = translate.IngressStatus(u.LoadBalancer)
	body, err := json.Marshal(&p)
	if err != nil {
		return fmt.Errorf("encode status patch: %w", err)
	}
	_, err = w.opts.StatusClient.NetworkingV1().Ingresses(ing.Namespace).Patch(ctx, ing.Name, types.MergePatchType, body,
		metav1.PatchOptions{}, "status")
	return err
}

func describe(lbs []corev1.LoadBalancerIngress) string {
	if len(lbs) == 0 {
		return "(cleared)"
	}
	parts := make([]string, 0, len(lbs))
	for _, lb := range lbs {
		parts = append(parts, lb.IP+lb.Hostname)
	}
	return strings.Join(parts, ",")
}
