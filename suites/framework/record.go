package framework

import (
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"sync"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/reports"
)

// Recorder collects what every spec of a run observed, for recordings
// (--record) and comparisons with one (--compare-to). Set Env.Recorder to
// record; nil records nothing.
//
// Every request a spec sends through the framework (Do, the Eventually
// family, Consistently, Hold, Poll, Within) is normalised (see observe.go)
// and belongs to a check: one call of those helpers. A check that retries
// keeps only its last attempt (for Eventually the answer that converged,
// for Poll and Hold the requests of the last condition run), so the number
// of retries never shows. Requests sent with Do outside a check form a
// check of their own, ended by the next check or the end of the spec. The
// answers of one request in one check are aggregated (aggregate), and
// each check adds one observation per distinct request, keyed by the
// normalised request and " #n" for its n-th check in the spec.
type Recorder struct {
	mu    sync.Mutex
	specs map[string]*specLog
	certs map[[32]byte]string
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{specs: map[string]*specLog{}, certs: map[[32]byte]string{}}
}

type specLog struct {
	observations []reports.Observation
	seen         map[string]int
	annotations  map[string]bool
	check        *checkLog
	loose        []observed
}

type checkLog struct {
	kind    string
	attempt []observed
	// depth counts checks started inside this one (their requests belong
	// to it).
	depth int
}

// log returns spec's log; r.mu must be held.
func (r *Recorder) log(spec string) *specLog {
	l := r.specs[spec]
	if l == nil {
		l = &specLog{seen: map[string]int{}, annotations: map[string]bool{}}
		r.specs[spec] = l
	}
	return l
}

func (r *Recorder) begin(spec, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log(spec)
	if l.check != nil {
		l.check.depth++
		return
	}
	l.commit(l.loose, "do", false)
	l.loose = nil
	l.check = &checkLog{kind: kind}
}

// attempt starts a new attempt of the running check: what the last one
// saw is forgotten.
func (r *Recorder) attempt(spec string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.log(spec); l.check != nil && l.check.depth == 0 {
		l.check.attempt = nil
	}
}

func (r *Recorder) add(spec string, o observed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log(spec)
	if l.check != nil {
		l.check.attempt = append(l.check.attempt, o)
		return
	}
	l.loose = append(l.loose, o)
}

func (r *Recorder) end(spec string, failed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log(spec)
	switch {
	case l.check == nil:
	case l.check.depth > 0:
		l.check.depth--
	default:
		l.commit(l.check.attempt, l.check.kind, failed)
		l.check = nil
	}
}

// commit adds one observation per distinct request of items.
func (l *specLog) commit(items []observed, kind string, failed bool) {
	var order []string
	groups := map[string][]observed{}
	for _, it := range items {
		if _, ok := groups[it.signature]; !ok {
			order = append(order, it.signature)
		}
		groups[it.signature] = append(groups[it.signature], it)
	}
	for _, sig := range order {
		l.seen[sig]++
		key := sig
		if n := l.seen[sig]; n > 1 {
			key = fmt.Sprintf("%s #%d", sig, n)
		}
		l.observations = append(l.observations, reports.Observation{Key: key, Check: kind, Failed: failed, Fields: aggregate(groups[sig])})
	}
}

func (r *Recorder) annotate(spec string, entries []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log(spec)
	for _, e := range entries {
		l.annotations[e] = true
	}
}

func (r *Recorder) certificate(der []byte, secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.certs[sha256.Sum256(der)] = secret
}

func (r *Recorder) certNames() map[[32]byte]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.certs)
}

// Take returns and forgets what spec observed: its observations in the
// order made (requests sent outside a check at the end included) and the
// annotations its Ingresses carried, sorted.
func (r *Recorder) Take(spec string) ([]reports.Observation, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.specs[spec]
	if l == nil {
		return nil, nil
	}
	delete(r.specs, spec)
	if l.check != nil {
		// A check still open (the spec was interrupted): keep what it saw.
		l.commit(l.check.attempt, l.check.kind, true)
	}
	l.commit(l.loose, "do", false)
	return l.observations, slices.Sorted(maps.Keys(l.annotations))
}

// The Spec side: every helper that sends requests reports to the recorder.

func (s *Spec) recorder() *Recorder {
	if s.Env == nil {
		return nil
	}
	return s.Env.Recorder
}

// currentSpec names the running spec (the name the reports use).
func currentSpec() string { return CurrentSpecReport().FullText() }

// beginCheck starts a check of kind and returns the function that ends it
// (with whether it failed).
func (s *Spec) beginCheck(kind string) func(failed bool) {
	rec := s.recorder()
	if rec == nil {
		return func(bool) {}
	}
	spec := currentSpec()
	rec.begin(spec, kind)
	return func(failed bool) { rec.end(spec, failed) }
}

// newAttempt forgets the running check's earlier attempt.
func (s *Spec) newAttempt() {
	if rec := s.recorder(); rec != nil {
		rec.attempt(currentSpec())
	}
}

// observe records one response.
func (s *Spec) observe(r Response) {
	rec := s.recorder()
	if rec == nil {
		return
	}
	c := s.Controller.HTTP
	n := newNormaliser(s.Namespace, c.HTTPAddr, c.HTTPSAddr, rec.certNames())
	rec.add(currentSpec(), n.observe(r))
}

// noteAnnotations records the annotations of an Ingress the spec applied.
func (s *Spec) noteAnnotations(a map[string]string) {
	rec := s.recorder()
	if rec == nil || len(a) == 0 {
		return
	}
	n := newNormaliser(s.Namespace, "", "", nil)
	entries := make([]string, 0, len(a))
	for k, v := range a {
		entries = append(entries, k+"="+n.text(v))
	}
	rec.annotate(currentSpec(), entries)
}
