// Package status is the reference controller's only writer to the API
// server: it writes Ingress status.loadBalancer.ingress.
//
// The control loop hands each build's status updates (computed by translate:
// our Ingresses get our addresses, other Ingresses carrying exactly our
// addresses get them cleared) to Writer.Update, which never blocks: the
// latest list replaces any list not yet written. The Writer's goroutine
// writes them only while this instance is the leader. For each update it
// reads the Ingress fresh, compares the status as a set, and calls
// UpdateStatus only when it differs, retrying on conflict. Failed writes are
// retried with a backoff (500ms doubling to 30s) until a newer list arrives
// or they succeed.
//
// Leadership uses client-go leader election with a coordination.k8s.io
// Lease (Options.LeaderElection); without it (single-instance development
// runs) the Writer is always the leader. On becoming leader the latest list
// is written again, so statuses left stale by a previous leader are fixed.
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
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/retry"

	"github.com/ingresslab/ingresslab/controller/metrics"
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
	Client kubernetes.Interface
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

// Writer writes Ingress statuses while leader.
type Writer struct {
	opts    Options
	log     *slog.Logger
	elector *leaderelection.LeaderElector // nil without leader election
	leader  atomic.Bool
	signal  chan struct{}

	mu      sync.Mutex
	pending []translate.StatusUpdate
	dirty   bool
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

// Update replaces the status updates to write; it never blocks. The slice
// must not be modified afterwards.
func (w *Writer) Update(updates []translate.StatusUpdate) {
	w.mu.Lock()
	w.pending = updates
	w.dirty = true
	w.mu.Unlock()
	w.kick()
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
		ups, dirty := w.pending, w.dirty
		w.dirty = false
		w.mu.Unlock()
		if !dirty {
			continue
		}
		if err := w.apply(ctx, ups); err != nil && ctx.Err() == nil {
			backoff = min(max(2*backoff, minRetry), maxRetry)
			w.log.Warn("Ingress status write failed; retrying", slog.Duration("in", backoff), slog.Any("error", err))
			w.mu.Lock()
			w.dirty = true
			w.mu.Unlock()
			retry = time.After(backoff)
		} else {
			backoff, retry = 0, nil
		}
	}
}

// apply writes every update, stopping early when leadership is lost.
func (w *Writer) apply(ctx context.Context, ups []translate.StatusUpdate) error {
	var errs []error
	for _, u := range ups {
		if !w.leader.Load() || ctx.Err() != nil {
			return nil
		}
		if err := w.write(ctx, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// write sets one Ingress's status when it differs, retrying on conflict.
func (w *Writer) write(ctx context.Context, u translate.StatusUpdate) error {
	want := translate.IngressStatus(u.LoadBalancer)
	ns, name := u.Ingress.Namespace, u.Ingress.Name
	client := w.opts.Client.NetworkingV1().Ingresses(ns)
	wrote := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ing, err := client.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if translate.StatusKey(ing.Status.LoadBalancer.Ingress) == translate.StatusKey(want) {
			return nil
		}
		ing.Status.LoadBalancer.Ingress = want
		_, err = client.UpdateStatus(ctx, ing, metav1.UpdateOptions{})
		wrote = true
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil // deleted since the build
	}
	if wrote || err != nil {
		w.opts.Metrics.StatusWrite(err)
	}
	if err != nil {
		return fmt.Errorf("status: ingress %s/%s: write status.loadBalancer.ingress: %w", ns, name, err)
	}
	if wrote {
		w.log.Info("updated Ingress status", slog.String("namespace", ns), slog.String("name", name),
			slog.String("loadBalancer", describe(want)))
	}
	return nil
}

func describe(lbs []networkingv1.IngressLoadBalancerIngress) string {
	if len(lbs) == 0 {
		return "(cleared)"
	}
	parts := make([]string, 0, len(lbs))
	for _, lb := range lbs {
		parts = append(parts, lb.IP+lb.Hostname)
	}
	return strings.Join(parts, ",")
}
