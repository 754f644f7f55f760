package loop

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ingresslab/ingresslab/controller/metrics"
	"github.com/ingresslab/ingresslab/controller/routing"
	"github.com/ingresslab/ingresslab/controller/translate"
)

// testSource is a Source whose objects the test sets.
type testSource struct {
	changes chan time.Time
	synced  chan struct{}
	// waiting is closed when WaitForSync is first called.
	waiting     chan struct{}
	waitingOnce sync.Once

	mu   sync.Mutex
	snap *translate.Snapshot
}

func newTestSource() *testSource {
	return &testSource{changes: make(chan time.Time, 1), synced: make(chan struct{}), waiting: make(chan struct{}), snap: &translate.Snapshot{}}
}

func (s *testSource) Changes() <-chan time.Time { return s.changes }

func (s *testSource) WaitForSync(ctx context.Context) error {
	s.waitingOnce.Do(func() { close(s.waiting) })
	select {
	case <-s.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *testSource) Snapshot() *translate.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

// set replaces the objects and signals a change, as an informer event does.
func (s *testSource) set(snap *translate.Snapshot) {
	s.mu.Lock()
	s.snap = snap
	s.mu.Unlock()
	s.signal()
}

func (s *testSource) signal() {
	select {
	case s.changes <- time.Now():
	default:
	}
}

// tables records published tables.
type tables struct {
	mu  sync.Mutex
	got []*routing.Table
}

func (p *tables) Publish(t *routing.Table) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, t)
}

func (p *tables) all() []*routing.Table {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*routing.Table(nil), p.got...)
}

// discard drops tables.
type discard struct{}

func (discard) Publish(*routing.Table) {}

// statuses records status updates.
type statuses struct {
	mu   sync.Mutex
	last []translate.StatusUpdate
	n    int
}

func (s *statuses) Update(p *translate.StatusPlan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last, s.n = p.Updates, s.n+1
}

// waitFor polls cond every millisecond until it holds; it fails the test
// after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	gomega.NewWithT(t).Eventually(cond).WithTimeout(10*time.Second).WithPolling(time.Millisecond).
		Should(gomega.BeTrue(), "waiting for %s", what)
}

// start runs a Loop until the test ends.
func start(t *testing.T, opts Options) *Loop {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return l
}

// ingress is one of our Ingresses (legacy annotation) routing host / to a
// Service.
func ingress(name, host, svc string) *networkingv1.Ingress {
	pt := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
			Annotations: map[string]string{translate.AnnotationIngressClass: translate.DefaultIngressClassName},
		},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
}

func service(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
	}
}

func TestFirstBuildWaitsForSync(t *testing.T) {
	src := newTestSource()
	src.set(&translate.Snapshot{Ingresses: []*networkingv1.Ingress{ingress("a", "a.example", "svc")}})
	pub := &tables{}
	var after atomic.Int32
	var publishedBefore int
	l := start(t, Options{Source: src, Publisher: pub, AfterInitialBuild: func() {
		publishedBefore = len(pub.all())
		after.Add(1)
	}})
	// The loop is inside WaitForSync: a build before it would be done
	// by now.
	<-src.waiting
	if l.Generation() != 0 || len(pub.all()) != 0 {
		t.Fatalf("built before sync: generation %d", l.Generation())
	}
	close(src.synced)
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	got := pub.all()
	if len(got) != 1 || got[0].Generation != 1 {
		t.Fatalf("published %d tables, want 1 with generation 1", len(got))
	}
	if m := got[0].Match("a.example", "/"); m.Route == nil || m.Route.Backend.Service != "svc" {
		t.Fatalf("first table does not route a.example: %+v", m)
	}
	waitFor(t, "AfterInitialBuild", func() bool { return after.Load() == 1 })
	if publishedBefore != 1 {
		t.Errorf("AfterInitialBuild ran with %d tables published, want 1", publishedBefore)
	}
}

// timerEvent is what the loop did with its batch timer.
type timerEvent string

const (
	timerNew   timerEvent = "new"   // a batch started
	timerReset timerEvent = "reset" // a signal extended the batch
)

// reportingClock is a fake clock that reports each NewTimer and Reset of
// the loop's batch timer, so a test knows the loop handled a signal before
// it moves the clock.
type reportingClock struct {
	*clocktesting.FakeClock
	events chan timerEvent
}

func newReportingClock() *reportingClock {
	return &reportingClock{FakeClock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), events: make(chan timerEvent, 16)}
}

func (c *reportingClock) NewTimer(d time.Duration) clock.Timer {
	t := &reportingTimer{Timer: c.FakeClock.NewTimer(d), events: c.events}
	c.events <- timerNew
	return t
}

type reportingTimer struct {
	clock.Timer
	events chan timerEvent
}

func (t *reportingTimer) Reset(d time.Duration) bool {
	active := t.Timer.Reset(d)
	t.events <- timerReset
	return active
}

// signal sends a change signal stamped with the fake time and returns what
// the loop did with it.
func (c *reportingClock) signal(t *testing.T, src *testSource) timerEvent {
	t.Helper()
	src.changes <- c.Now()
	select {
	case e := <-c.events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not handle a change signal within 10s")
		return ""
	}
}

func TestBurstIsOneBuild(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	pub := &tables{}
	clk := newReportingClock()
	const holdOff = time.Second
	l := start(t, Options{Source: src, Publisher: pub, HoldOff: holdOff, MaxDelay: time.Minute, Clock: clk})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	var ings []*networkingv1.Ingress
	for i := range 20 {
		ings = append(ings, ingress(fmt.Sprint("i", i), fmt.Sprintf("h%d.example", i), "svc"))
		src.mu.Lock()
		src.snap = &translate.Snapshot{Ingresses: append([]*networkingv1.Ingress(nil), ings...)}
		src.mu.Unlock()
		want := timerReset
		if i == 0 {
			want = timerNew
		}
		if got := clk.signal(t, src); got != want {
			t.Fatalf("signal %d: the loop did %q with its timer, want %q", i, got, want)
		}
		// Events closer together than the hold-off: no build yet.
		clk.Step(holdOff / 2)
		if !clk.HasWaiters() || l.Generation() != 1 {
			t.Fatalf("built during the burst (signal %d, generation %d)", i, l.Generation())
		}
	}
	clk.Step(holdOff/2 - time.Millisecond)
	if !clk.HasWaiters() {
		t.Fatal("built before the hold-off after the last event passed")
	}
	clk.Step(time.Millisecond)
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
	// One more change proves no other build happened in between.
	l.Trigger()
	if e := <-clk.events; e != timerNew {
		t.Fatalf("Trigger: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(holdOff)
	waitFor(t, "generation 3", func() bool { return l.Generation() == 3 })
	got := pub.all()
	if len(got) != 3 {
		t.Fatalf("published %d tables, want 3", len(got))
	}
	for i, tb := range got {
		if tb.Generation != uint64(i+1) {
			t.Errorf("table %d has generation %d", i, tb.Generation)
		}
	}
	if m := got[1].Match("h19.example", "/"); m.Route == nil {
		t.Error("the batched build misses the burst's last change")
	}
}

// TestIdleChangeSettles: a change that finds the loop idle is built after
// Settle, not HoldOff, and so is a change right after the build of a single
// change; a change right after the build of a burst (two changes in one
// batch) waits HoldOff.
func TestIdleChangeSettles(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	pub := &tables{}
	clk := newReportingClock()
	const holdOff, settle = time.Second, 10 * time.Millisecond
	l := start(t, Options{Source: src, Publisher: pub, HoldOff: holdOff, Settle: settle, MaxDelay: time.Minute, Clock: clk})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	clk.Step(holdOff) // idle now
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("signal: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(settle - time.Millisecond)
	if !clk.HasWaiters() || l.Generation() != 1 {
		t.Fatalf("built before Settle passed (generation %d)", l.Generation())
	}
	clk.Step(time.Millisecond)
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
	// That build took one change: the next one, right after it (such as
	// the echo of the controller's own status write), settles too.
	clk.Step(time.Millisecond)
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("second signal: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(settle)
	waitFor(t, "generation 3", func() bool { return l.Generation() == 3 })
	// Two changes in one batch make a burst: a change right after its
	// build is batched behind it (HoldOff).
	clk.Step(time.Millisecond)
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("third signal: the loop did %q with its timer, want a new batch", e)
	}
	if e := clk.signal(t, src); e != timerReset {
		t.Fatalf("fourth signal: the loop did %q with its timer, want a reset", e)
	}
	clk.Step(settle)
	waitFor(t, "generation 4", func() bool { return l.Generation() == 4 })
	clk.Step(time.Millisecond)
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("fifth signal: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(settle)
	if !clk.HasWaiters() || l.Generation() != 4 {
		t.Fatalf("a change right after a burst's build was built after Settle (generation %d), want HoldOff", l.Generation())
	}
	clk.Step(holdOff - settle)
	waitFor(t, "generation 5", func() bool { return l.Generation() == 5 })
	// HoldOff after that build, the loop is idle again.
	clk.Step(holdOff)
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("sixth signal: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(settle)
	waitFor(t, "generation 6", func() bool { return l.Generation() == 6 })
}

// TestChangeDuringBuildIsBurst: a change that came while the loop was
// building (its event time is before the build ended) is batched (HoldOff),
// even when that build took a single change.
func TestChangeDuringBuildIsBurst(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	pub := &tables{}
	clk := newReportingClock()
	const holdOff, settle = time.Second, 10 * time.Millisecond
	l := start(t, Options{Source: src, Publisher: pub, HoldOff: holdOff, Settle: settle, MaxDelay: time.Minute, Clock: clk})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	clk.Step(holdOff)
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("signal: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(settle)
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
	src.changes <- clk.Now().Add(-time.Millisecond) // during the build
	if e := <-clk.events; e != timerNew {
		t.Fatalf("signal during the build: the loop did %q with its timer, want a new batch", e)
	}
	clk.Step(settle)
	if !clk.HasWaiters() || l.Generation() != 2 {
		t.Fatalf("a change made during a build was built after Settle (generation %d), want HoldOff", l.Generation())
	}
	clk.Step(holdOff - settle)
	waitFor(t, "generation 3", func() bool { return l.Generation() == 3 })
}

func TestMaxDelayBoundsBatch(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	pub := &tables{}
	clk := newReportingClock()
	const holdOff, maxDelay, every = 200 * time.Millisecond, 400 * time.Millisecond, 150 * time.Millisecond
	l := start(t, Options{Source: src, Publisher: pub, HoldOff: holdOff, MaxDelay: maxDelay, Clock: clk})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	// Events keep coming faster than the hold-off: without the cap there
	// would be no build until they stop.
	if e := clk.signal(t, src); e != timerNew {
		t.Fatalf("first signal: the loop did %q with its timer, want a new batch", e)
	}
	for elapsed := every; elapsed < maxDelay; elapsed += every {
		clk.Step(every)
		if e := clk.signal(t, src); e != timerReset {
			t.Fatalf("%s after the batch's first event: the loop did %q with its timer, want a reset", elapsed, e)
		}
	}
	clk.Step(every) // now past MaxDelay, though the last event was 150ms ago
	if clk.HasWaiters() {
		t.Fatalf("no build %s after the batch's first event (MaxDelay %s)", 3*every, maxDelay)
	}
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
}

func TestWarningsEventsOnlyWhenNew(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	rec := &recorder{}
	m := metrics.New()
	broken := &translate.Snapshot{Ingresses: []*networkingv1.Ingress{ingress("a", "a.example", "missing")}}
	src.set(broken)
	l := start(t, Options{Source: src, Publisher: &tables{}, Recorder: rec, Metrics: m})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })

	ws := l.CurrentWarnings()
	if len(ws) != 1 || ws[0].Reason != translate.ReasonServiceNotFound || ws[0].Object.Name != "a" {
		t.Fatalf("warnings = %v", ws)
	}
	b, err := json.Marshal(l.Warnings())
	if err != nil || !strings.Contains(string(b), `"reason":"ServiceNotFound"`) {
		t.Fatalf("Warnings() JSON = %s, %v", b, err)
	}
	expectEvents(t, rec, "Warning ServiceNotFound Ingress/ns/a/uid-a: spec.rules[0].http.paths[0].backend.service.name: service ns/missing not found")

	// The same warning in later builds: no new Event; a new one: its Event.
	l.Trigger()
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
	expectEvents(t, rec)
	src.set(&translate.Snapshot{Ingresses: append(broken.Ingresses, ingress("b", "b.example", "missing"))})
	waitFor(t, "generation 3", func() bool { return l.Generation() == 3 })
	expectEvents(t, rec, "Warning ServiceNotFound Ingress/ns/b/uid-b: ")
	if n := len(l.CurrentWarnings()); n != 2 {
		t.Fatalf("%d warnings, want 2", n)
	}

	// Fixed, then broken again: a new Event.
	src.set(&translate.Snapshot{Ingresses: broken.Ingresses, Services: []*corev1.Service{service("missing")}})
	waitFor(t, "generation 4", func() bool { return l.Generation() == 4 })
	if n := len(l.CurrentWarnings()); n != 0 {
		t.Fatalf("%d warnings after the fix, want 0", n)
	}
	expectEvents(t, rec)
	src.set(broken)
	waitFor(t, "generation 5", func() bool { return l.Generation() == 5 })
	expectEvents(t, rec, "Warning ServiceNotFound Ingress/ns/a/uid-a: ")
}

// recorder records Events as "type reason kind/namespace/name/uid: message".
type recorder struct {
	mu  sync.Mutex
	got []string
}

var _ record.EventRecorder = (*recorder)(nil)

func (r *recorder) Event(obj runtime.Object, eventtype, reason, message string) {
	ref, ok := obj.(*corev1.ObjectReference)
	if !ok {
		panic(fmt.Sprintf("event object %T is not an ObjectReference", obj))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s %s %s/%s/%s/%s: %s", eventtype, reason, ref.Kind, ref.Namespace, ref.Name, ref.UID, message))
}

func (r *recorder) Eventf(obj runtime.Object, eventtype, reason, format string, args ...any) {
	r.Event(obj, eventtype, reason, fmt.Sprintf(format, args...))
}

func (r *recorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventtype, reason, format string, args ...any) {
	r.Eventf(obj, eventtype, reason, format, args...)
}

// take returns and forgets the recorded Events.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// expectEvents checks the Events emitted since the last call: exactly the
// given ones (by prefix), in order.
func expectEvents(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	got := rec.take()
	if len(got) != len(want) {
		t.Fatalf("events = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("event %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestEventsWaitForEmitEvents(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	rec := &recorder{}
	src.set(&translate.Snapshot{Ingresses: []*networkingv1.Ingress{ingress("a", "a.example", "missing")}})
	var mu sync.Mutex
	leader := false
	l := start(t, Options{Source: src, Publisher: &tables{}, Recorder: rec, EmitEvents: func() bool {
		mu.Lock()
		defer mu.Unlock()
		return leader
	}})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	expectEvents(t, rec)
	mu.Lock()
	leader = true
	mu.Unlock()
	l.Trigger()
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
	expectEvents(t, rec, "Warning ServiceNotFound Ingress/ns/a/uid-a: ")
}

func TestStatusUpdatesUseCurrentAddresses(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	src.set(&translate.Snapshot{Ingresses: []*networkingv1.Ingress{ingress("a", "a.example", "svc")}})
	sink := &statuses{}
	var mu sync.Mutex
	addr := "192.0.2.1"
	l := start(t, Options{Source: src, Publisher: &tables{}, Status: sink, StatusAddresses: func() []corev1.LoadBalancerIngress {
		mu.Lock()
		defer mu.Unlock()
		return []corev1.LoadBalancerIngress{{IP: addr}}
	}})
	check := func(gen uint64, ip string) {
		t.Helper()
		waitFor(t, fmt.Sprint("generation ", gen), func() bool { return l.Generation() == gen })
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if sink.n != int(gen) || len(sink.last) != 1 || sink.last[0].Ingress.Name != "a" || sink.last[0].LoadBalancer[0].IP != ip {
			t.Fatalf("after %d builds: %d updates handed over, last %+v; want %s", gen, sink.n, sink.last, ip)
		}
	}
	check(1, "192.0.2.1")
	mu.Lock()
	addr = "192.0.2.2"
	mu.Unlock()
	l.Trigger()
	check(2, "192.0.2.2")
}

func TestTranslateFuncIsUsed(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	var seen translate.Options
	var mu sync.Mutex
	l := start(t, Options{Source: src, Publisher: &tables{},
		Translate: translate.Options{IngressClassName: "custom"},
		TranslateFunc: func(s *translate.Snapshot, o translate.Options) translate.Result {
			mu.Lock()
			seen = o
			mu.Unlock()
			return translate.Translate(s, o)
		}})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	mu.Lock()
	defer mu.Unlock()
	if seen.IngressClassName != "custom" || seen.Generation != 1 {
		t.Fatalf("translate options = %+v", seen)
	}
}

func TestNewValidates(t *testing.T) {
	src, pub := newTestSource(), &tables{}
	for name, o := range map[string]Options{
		"no source":          {Publisher: pub},
		"no publisher":       {Source: src},
		"negative hold-off":  {Source: src, Publisher: pub, HoldOff: -time.Second},
		"max below hold-off": {Source: src, Publisher: pub, HoldOff: time.Second, MaxDelay: time.Millisecond},
		"negative settle":    {Source: src, Publisher: pub, Settle: -time.Millisecond},
		"settle > hold-off":  {Source: src, Publisher: pub, HoldOff: time.Millisecond, Settle: time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	l, err := New(Options{Source: src, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	if l.opts.HoldOff != DefaultHoldOff || l.opts.MaxDelay != DefaultMaxDelay || l.opts.Settle != DefaultSettle {
		t.Errorf("defaults = %v, %v, %v", l.opts.HoldOff, l.opts.MaxDelay, l.opts.Settle)
	}
	if ws := l.CurrentWarnings(); ws == nil || len(ws) != 0 {
		t.Errorf("warnings before the first build = %#v, want empty", ws)
	}
}

func TestRunReturnsWhenCancelledBeforeSync(t *testing.T) {
	l, err := New(Options{Source: newTestSource(), Publisher: &tables{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

// BenchmarkBuild measures one build (snapshot, translate, publish, report)
// of 1000 Ingresses.
func BenchmarkBuild(b *testing.B) {
	src := newTestSource()
	snap := &translate.Snapshot{}
	for i := range 1000 {
		snap.Ingresses = append(snap.Ingresses, ingress(fmt.Sprint("i", i), fmt.Sprintf("h%d.example", i), fmt.Sprint("s", i)))
		snap.Services = append(snap.Services, service(fmt.Sprint("s", i)))
	}
	src.snap = snap
	l, err := New(Options{Source: src, Publisher: discard{}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.build(time.Now())
	}
}

// certSink records default certificates; the publisher checks the order.
type certSink struct {
	mu  sync.Mutex
	got []*tls.Certificate
}

func (c *certSink) SetDefaultCertificate(cert *tls.Certificate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, cert)
}

func (c *certSink) all() []*tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tls.Certificate(nil), c.got...)
}

// orderedPublisher fails the test when a table is published before its
// build's certificate was handed over.
type orderedPublisher struct {
	t     *testing.T
	certs *certSink
	tables
}

func (p *orderedPublisher) Publish(t *routing.Table) {
	if n := len(p.certs.all()); n != int(t.Generation) {
		p.t.Errorf("table %d published after %d certificates, want the build's certificate first", t.Generation, n)
	}
	p.tables.Publish(t)
}

func TestDefaultCertificateHandedOverBeforePublish(t *testing.T) {
	src := newTestSource()
	close(src.synced)
	certA, certB := &tls.Certificate{Certificate: [][]byte{[]byte("a")}}, &tls.Certificate{Certificate: [][]byte{[]byte("b")}}
	var mu sync.Mutex
	next := certA
	sink := &certSink{}
	ref := &routing.ObjectRef{Namespace: "ingress", Name: "default-cert"}
	l := start(t, Options{
		Source: src, Publisher: &orderedPublisher{t: t, certs: sink}, Certificates: sink,
		Translate: translate.Options{DefaultCertificate: ref},
		TranslateFunc: func(s *translate.Snapshot, o translate.Options) translate.Result {
			if o.DefaultCertificate != ref {
				t.Errorf("Translate got DefaultCertificate %v, want %v", o.DefaultCertificate, ref)
			}
			res := translate.Translate(s, o)
			mu.Lock()
			res.DefaultCertificate = next
			mu.Unlock()
			return res
		},
	})
	waitFor(t, "generation 1", func() bool { return l.Generation() == 1 })
	mu.Lock()
	next = certB // the Secret rotated
	mu.Unlock()
	l.Trigger()
	waitFor(t, "generation 2", func() bool { return l.Generation() == 2 })
	mu.Lock()
	next = nil // the Secret became invalid: the data plane's own certificate
	mu.Unlock()
	l.Trigger()
	waitFor(t, "generation 3", func() bool { return l.Generation() == 3 })
	if got := sink.all(); len(got) != 3 || got[0] != certA || got[1] != certB || got[2] != nil {
		t.Errorf("certificates handed over = %v, want [a b nil]", got)
	}
}

func TestObjectReferenceEveryKind(t *testing.T) {
	meta := func(ns, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(name + "-uid")}
	}
	snap := &translate.Snapshot{
		Ingresses:      []*networkingv1.Ingress{nil, {ObjectMeta: meta("ns", "ing")}},
		IngressClasses: []*networkingv1.IngressClass{{ObjectMeta: meta("", "class")}},
		Services:       []*corev1.Service{{ObjectMeta: meta("ns", "svc")}},
		EndpointSlices: []*discoveryv1.EndpointSlice{{ObjectMeta: meta("ns", "slice")}},
		Secrets:        []*corev1.Secret{{ObjectMeta: meta("ns", "secret")}},
		ConfigMaps:     []*corev1.ConfigMap{{ObjectMeta: meta("ns", "cm")}},
	}
	uids := index(snap)
	for _, tc := range []struct{ kind, ns, name, apiVersion string }{
		{"Ingress", "ns", "ing", "networking.k8s.io/v1"},
		{"IngressClass", "", "class", "networking.k8s.io/v1"},
		{"Service", "ns", "svc", "v1"},
		{"EndpointSlice", "ns", "slice", "discovery.k8s.io/v1"},
		{"Secret", "ns", "secret", "v1"},
		{"ConfigMap", "ns", "cm", "v1"},
	} {
		ref := objectReference(translate.Warning{Kind: tc.kind, Object: routing.ObjectRef{Namespace: tc.ns, Name: tc.name}}, uids)
		if ref == nil || ref.APIVersion != tc.apiVersion || ref.UID != types.UID(tc.name+"-uid") || ref.Kind != tc.kind {
			t.Errorf("%s %s/%s: reference %+v", tc.kind, tc.ns, tc.name, ref)
		}
	}
	if ref := objectReference(translate.Warning{Kind: "Service", Object: routing.ObjectRef{Namespace: "ns", Name: "missing"}}, uids); ref != nil {
		t.Errorf("reference to an object not in the snapshot: %+v", ref)
	}
	if len(uids) != 6 {
		t.Errorf("index has %d entries, want 6", len(uids))
	}
}
