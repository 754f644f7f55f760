// Package loop is the reference controller's control loop: one goroutine
// that owns the controller state and turns informer changes into published
// routing tables.
//
// Run waits for the Source's first sync and builds the first table at once.
// After that, each change signal (from the Source, or from Trigger) starts a
// batch: the loop waits until no further signal arrived for a quiet time,
// but never longer than Options.MaxDelay after the batch's first event. The
// quiet time is Options.HoldOff when the loop is in a burst, so the rest of
// the burst is batched behind its first build, and Options.Settle otherwise,
// so a lone change is published within milliseconds. The loop is in a burst
// when its last build ended less than HoldOff before the batch's first event
// and that build was the initial one, or its batch took more than one
// signal, or the new event came while it was building. A build for a single
// change therefore does not delay the next single change. The echo of the
// controller's own status write is no event at all: the Source does not
// signal Ingress updates that changed only the status. Then
// it takes a Snapshot, calls translate with the next Generation (1, 2, 3, ...
// strictly increasing, one per build; translate.Update patches the last
// build's Result instead when only a few isolated Ingresses changed, so a
// change among 10,000 Ingresses does not translate the other 9,999), hands
// the default certificate to the CertificateSink (when set), publishes the table, records metrics
// (build duration, event-to-publish latency, generation, warning count),
// stores the warnings for the admin server (Warnings, lock-free: an immutable
// slice behind an atomic pointer), reports warnings that are new since the
// previous build (one log line each and, when a Recorder is set, one
// Kubernetes Event on the object), and hands the status plan to the
// StatusSink, which writes statuses in its own goroutine.
//
// No periodic resync is done: a table only changes when its inputs change.
package loop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// Defaults of Options.
const (
	// DefaultHoldOff is how long the loop waits after the last event of a
	// burst before building.
	DefaultHoldOff = 50 * time.Millisecond
	// DefaultMaxDelay caps the wait from a batch's first event to the build.
	DefaultMaxDelay = 250 * time.Millisecond
	// DefaultSettle is the quiet time before building when the loop was
	// idle: long enough to take the watch events of one client write
	// together, short next to a propagation budget of 20ms.
	DefaultSettle = 2 * time.Millisecond
)

// Source gives change signals and snapshots (*source.Source implements it).
type Source interface {
	// Changes is signalled with the time of the first unseen event.
	Changes() <-chan time.Time
	// WaitForSync blocks until the initial state is complete or ctx ends.
	WaitForSync(ctx context.Context) error
	// Snapshot returns the current objects, read-only.
	Snapshot() *translate.Snapshot
}

// Publisher receives each new table (*dataplane.Server implements it).
type Publisher interface {
	Publish(t *routing.Table)
}

// CertificateSink receives the default certificate of each build, nil when
// the data plane should serve its generated one (*dataplane.Server
// implements it).
type CertificateSink interface {
	SetDefaultCertificate(cert *tls.Certificate)
}

// StatusSink receives the status plan of each build (Result.StatusPlan:
// the writes it needs, and the intent to judge later status changes by);
// it must not block (*status.Writer implements it).
type StatusSink interface {
	Update(plan *translate.StatusPlan)
}

// TranslateFunc is the signature of translate.Translate.
type TranslateFunc func(*translate.Snapshot, translate.Options) translate.Result

// Options configure a Loop. Source and Publisher are required.
type Options struct {
	Source    Source
	Publisher Publisher
	// Translate is the template of every translation; the loop sets its
	// Generation and (when StatusAddresses is set) StatusAddresses.
	Translate translate.Options
	// TranslateFunc replaces translate.Translate (tests).
	// Default translate.Translate.
	TranslateFunc TranslateFunc
	// StatusAddresses returns the desired status.loadBalancer.ingress at
	// each build. Default nil: Translate.StatusAddresses is used as is.
	StatusAddresses func() []corev1.LoadBalancerIngress
	// Status receives each build's status updates. Default nil: none.
	Status StatusSink
	// Certificates receives each build's Result.DefaultCertificate (from
	// Translate.DefaultCertificate) before the table is published, so a
	// rotated Secret is served without a restart. Default nil: none.
	Certificates CertificateSink
	// Recorder, when set, gets one Warning Event per new warning.
	Recorder record.EventRecorder
	// EmitEvents gates Events (e.g. only the leader emits them); a warning
	// not emitted because of it is emitted by the first build where it
	// returns true. Default: always.
	EmitEvents func() bool
	// Metrics records builds. Default nil: none.
	Metrics *metrics.Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// HoldOff is the quiet time after the last event of a burst before the
	// build, and how long after a burst's build a change still counts as
	// part of the burst (it then waits for HoldOff, not Settle; see the
	// package documentation). Default DefaultHoldOff (50ms).
	HoldOff time.Duration
	// Settle is the quiet time before the build of a change outside a
	// burst. Default DefaultSettle (2ms); it must not exceed HoldOff.
	Settle time.Duration
	// MaxDelay caps the time from a batch's first event to its build.
	// Default DefaultMaxDelay (250ms).
	MaxDelay time.Duration
	// AfterInitialBuild, when set, is called once on the loop's goroutine
	// after the first table (the initial list's) is published. Default
	// nil.
	AfterInitialBuild func()
	// Clock times the batches and the builds; the times the Source signals
	// must come from it too. Default clock.RealClock (tests pass a
	// k8s.io/utils/clock/testing.FakeClock).
	Clock clock.Clock
}

// Loop is the control loop. Create it with New and run it with Run.
type Loop struct {
	opts      Options
	log       *slog.Logger
	clock     clock.Clock
	translate TranslateFunc
	kick      chan time.Time

	generation atomic.Uint64
	warnings   atomic.Pointer[[]translate.Warning]

	// Owned by the Run goroutine.
	logged   map[translate.Warning]struct{} // warnings of the previous build
	emitted  map[translate.Warning]struct{} // current warnings with an Event
	certLeaf []byte                         // DER leaf of the last default certificate handed over
	built    time.Time                      // when the last build ended
	prev     translate.Result               // the last build's, for translate.Update
	// burst is set when the last build's batch took more than one signal
	// (or was the initial build): a change soon after it waits HoldOff.
	burst bool
}

// New validates opts.
func New(opts Options) (*Loop, error) {
	if opts.Source == nil {
		return nil, errors.New("loop: Options.Source is nil")
	}
	if opts.Publisher == nil {
		return nil, errors.New("loop: Options.Publisher is nil")
	}
	if opts.HoldOff < 0 || opts.MaxDelay < 0 || opts.Settle < 0 {
		return nil, fmt.Errorf("loop: Options.HoldOff %v, MaxDelay %v and Settle %v must not be negative", opts.HoldOff, opts.MaxDelay, opts.Settle)
	}
	if opts.HoldOff == 0 {
		opts.HoldOff = DefaultHoldOff
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = DefaultMaxDelay
	}
	if opts.Settle == 0 {
		opts.Settle = min(DefaultSettle, opts.HoldOff)
	}
	if opts.Settle > opts.HoldOff {
		return nil, fmt.Errorf("loop: Options.Settle %v is longer than HoldOff %v", opts.Settle, opts.HoldOff)
	}
	if opts.MaxDelay < opts.HoldOff {
		return nil, fmt.Errorf("loop: Options.MaxDelay %v is shorter than HoldOff %v", opts.MaxDelay, opts.HoldOff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	l := &Loop{
		opts:      opts,
		log:       opts.Logger,
		clock:     opts.Clock,
		translate: opts.TranslateFunc,
		kick:      make(chan time.Time, 1),
		logged:    map[translate.Warning]struct{}{},
		emitted:   map[translate.Warning]struct{}{},
	}
	if l.translate == nil {
		l.translate = translate.Translate
	}
	empty := []translate.Warning{}
	l.warnings.Store(&empty)
	return l, nil
}

// Trigger requests a build (coalescing, non-blocking), e.g. when the status
// addresses change or leadership is gained. Safe from any goroutine.
func (l *Loop) Trigger() {
	select {
	case l.kick <- l.clock.Now():
	default:
	}
}

// Generation returns the generation of the last completed build (0 before
// the first): its table is published, its warnings reported and its status
// updates handed over.
func (l *Loop) Generation() uint64 { return l.generation.Load() }

// CurrentWarnings returns the warnings of the last build, sorted; the slice
// is shared and must not be modified.
func (l *Loop) CurrentWarnings() []translate.Warning { return *l.warnings.Load() }

// Warnings implements admin.WarningSource: the last build's warnings as a
// []translate.Warning (empty, not nil, before the first build).
func (l *Loop) Warnings() any { return l.CurrentWarnings() }

// Run builds until ctx ends; it returns nil then, or the Source's sync
// error.
func (l *Loop) Run(ctx context.Context) error {
	if err := l.opts.Source.WaitForSync(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("loop: %w", err)
	}
	// Signals from the initial list are included in the first build.
	select {
	case <-l.opts.Source.Changes():
	default:
	}
	l.build(time.Time{})
	if f := l.opts.AfterInitialBuild; f != nil {
		f()
	}
	l.burst = true // the initial list is a burst of every object
	changes := l.opts.Source.Changes()
	for {
		var first time.Time
		select {
		case <-ctx.Done():
			return nil
		case first = <-changes:
		case first = <-l.kick:
		}
		signals, ok := l.wait(ctx, first, changes)
		if !ok {
			return nil
		}
		l.build(first)
		l.burst = signals > 1
	}
}

// wait returns once no signal came for the quiet time (HoldOff in a burst,
// Settle otherwise: see the package documentation), or MaxDelay after
// first, with the number of signals the batch took (first included); false
// when ctx ended.
func (l *Loop) wait(ctx context.Context, first time.Time, changes <-chan time.Time) (int, bool) {
	deadline := first.Add(l.opts.MaxDelay)
	quiet := l.opts.Settle // a lone change is published at once
	if first.Sub(l.built) < l.opts.HoldOff && (l.burst || first.Before(l.built)) {
		quiet = l.opts.HoldOff // a burst: batch the rest behind the last build
	}
	signals := 1
	next := func() time.Duration {
		return min(quiet, deadline.Sub(l.clock.Now()))
	}
	timer := l.clock.NewTimer(next())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return signals, false
		case <-changes:
			signals++
			timer.Reset(next())
		case <-l.kick:
			signals++
			timer.Reset(next())
		case <-timer.C():
			return signals, true
		}
	}
}

// build translates, publishes and reports one generation. first is the
// time of the batch's first event (zero for the initial build).
func (l *Loop) build(first time.Time) {
	start := l.clock.Now()
	snap := l.opts.Source.Snapshot()
	topts := l.opts.Translate
	topts.Generation = l.generation.Load() + 1
	if l.opts.StatusAddresses != nil {
		topts.StatusAddresses = l.opts.StatusAddresses()
	}
	res, patched := l.translateOrPatch(snap, topts)
	took := l.clock.Since(start)

	if l.opts.Certificates != nil {
		l.setDefaultCertificate(res.DefaultCertificate)
	}
	l.opts.Publisher.Publish(res.Table)
	m := l.opts.Metrics
	m.ObserveBuild(took)
	if !first.IsZero() {
		m.ObserveEventToPublish(l.clock.Since(first))
	}
	m.SetGeneration(topts.Generation)
	m.SetWarnings(len(res.Warnings))

	ws := res.Warnings
	if ws == nil {
		ws = []translate.Warning{}
	}
	l.warnings.Store(&ws)
	l.report(snap, ws)
	// Before the status handover: any event the status writes cause comes
	// after the build, not during it.
	l.built = l.clock.Now()
	if l.opts.Status != nil {
		l.opts.Status.Update(res.StatusPlan)
	}
	l.generation.Store(topts.Generation)
	l.log.Debug("published routing table", slog.Uint64("generation", topts.Generation),
		slog.Duration("build", took), slog.Bool("patched", patched), slog.Int("ingresses", len(res.Owned)),
		slog.Int("warnings", len(ws)), slog.Int("statusUpdates", len(res.Statuses)))
}

// translateOrPatch translates snap: with translate.Update from the last
// build's Result when that can patch it (only a few isolated Ingresses
// changed), else in full. A TranslateFunc set in Options always translates
// in full.
func (l *Loop) translateOrPatch(snap *translate.Snapshot, opts translate.Options) (translate.Result, bool) {
	if l.opts.TranslateFunc == nil && l.prev.Table != nil {
		if res, ok := translate.Update(l.prev, snap, opts); ok {
			l.prev = res
			return res, true
		}
	}
	res := l.translate(snap, opts)
	if l.opts.TranslateFunc == nil {
		l.prev = res
	}
	return res, false
}

// setDefaultCertificate hands the build's default certificate over and logs
// when it changed.
func (l *Loop) setDefaultCertificate(cert *tls.Certificate) {
	l.opts.Certificates.SetDefaultCertificate(cert)
	var leaf []byte
	if cert != nil && len(cert.Certificate) > 0 {
		leaf = cert.Certificate[0]
	}
	if bytes.Equal(leaf, l.certLeaf) && (leaf == nil) == (l.certLeaf == nil) {
		return
	}
	l.certLeaf = leaf
	if cert == nil {
		l.log.Warn("no valid default certificate Secret; serving a generated self-signed certificate")
		return
	}
	d := routing.DumpCertificate(cert)
	l.log.Info("default certificate loaded", slog.String("subject", d.Subject),
		slog.String("serial", d.Serial), slog.String("notAfter", d.NotAfter))
}

// report logs the warnings that are new since the previous build and emits
// an Event for each warning that has none yet.
func (l *Loop) report(snap *translate.Snapshot, ws []translate.Warning) {
	logged := make(map[translate.Warning]struct{}, len(ws))
	for _, w := range ws {
		logged[w] = struct{}{}
		if _, ok := l.logged[w]; !ok {
			l.log.Warn("ingress configuration warning", slog.String("kind", w.Kind),
				slog.String("namespace", w.Object.Namespace), slog.String("name", w.Object.Name),
				slog.String("field", w.Field), slog.String("reason", w.Reason), slog.String("message", w.Message))
		}
	}
	for w := range l.logged {
		if _, ok := logged[w]; !ok {
			l.log.Info("ingress configuration warning resolved", slog.String("kind", w.Kind),
				slog.String("namespace", w.Object.Namespace), slog.String("name", w.Object.Name),
				slog.String("field", w.Field), slog.String("reason", w.Reason))
		}
	}
	l.logged = logged

	if l.opts.Recorder == nil {
		return
	}
	canEmit := l.opts.EmitEvents == nil || l.opts.EmitEvents()
	emitted := make(map[translate.Warning]struct{}, len(ws))
	var uids map[objectKey]types.UID
	for _, w := range ws {
		if _, ok := l.emitted[w]; ok {
			emitted[w] = struct{}{}
			continue
		}
		if !canEmit {
			continue
		}
		if uids == nil {
			uids = index(snap)
		}
		ref := objectReference(w, uids)
		if ref == nil {
			continue // not in the snapshot (e.g. a missing Secret or Service)
		}
		msg := w.Message
		if w.Field != "" {
			msg = w.Field + ": " + msg
		}
		l.opts.Recorder.Event(ref, corev1.EventTypeWarning, w.Reason, msg)
		emitted[w] = struct{}{}
	}
	l.emitted = emitted
}

// objectKey identifies an object by kind and namespace/name.
type objectKey struct {
	kind string
	ref  routing.ObjectRef
}

// kinds are the kinds warnings name: their apiVersion for Events and how to
// list a snapshot's objects of that kind.
var kinds = []struct {
	kind, apiVersion string
	objects          func(*translate.Snapshot) []metav1.Object
}{
	{"Ingress", "networking.k8s.io/v1", func(s *translate.Snapshot) []metav1.Object { return objects(s.Ingresses) }},
	{"EndpointSlice", "discovery.k8s.io/v1", func(s *translate.Snapshot) []metav1.Object { return objects(s.EndpointSlices) }},
	{"Service", "v1", func(s *translate.Snapshot) []metav1.Object { return objects(s.Services) }},
	{"Secret", "v1", func(s *translate.Snapshot) []metav1.Object { return objects(s.Secrets) }},
	{"ConfigMap", "v1", func(s *translate.Snapshot) []metav1.Object { return objects(s.ConfigMaps) }},
	{"IngressClass", "networking.k8s.io/v1", func(s *translate.Snapshot) []metav1.Object { return objects(s.IngressClasses) }},
}

// apiVersions of the kinds warnings name.
var apiVersions = func() map[string]string {
	m := make(map[string]string, len(kinds))
	for _, k := range kinds {
		m[k.kind] = k.apiVersion
	}
	return m
}()

// objects views a slice of API objects as metav1.Objects, skipping nils.
func objects[T any, P interface {
	*T
	metav1.Object
}](in []P) []metav1.Object {
	out := make([]metav1.Object, 0, len(in))
	for _, o := range in {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

// index maps the snapshot's objects to their UIDs (cluster-scoped objects
// have an empty namespace).
func index(snap *translate.Snapshot) map[objectKey]types.UID {
	m := make(map[objectKey]types.UID, len(snap.Ingresses)+len(snap.EndpointSlices))
	for _, k := range kinds {
		for _, o := range k.objects(snap) {
			m[objectKey{k.kind, routing.ObjectRef{Namespace: o.GetNamespace(), Name: o.GetName()}}] = o.GetUID()
		}
	}
	return m
}

// objectReference names the warning's object for an Event, or nil when the
// object is not in the snapshot.
func objectReference(w translate.Warning, uids map[objectKey]types.UID) *corev1.ObjectReference {
	uid, ok := uids[objectKey{w.Kind, w.Object}]
	if !ok || uid == "" {
		return nil
	}
	return &corev1.ObjectReference{
		Kind: w.Kind, APIVersion: apiVersions[w.Kind],
		Namespace: w.Object.Namespace, Name: w.Object.Name, UID: uid,
	}
}
