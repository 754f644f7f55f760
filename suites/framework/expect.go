package framework

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
)

// Report entry names the harness reads back into the report.
const (
	EntryVariant     = "variant"
	EntryConvergence = "convergenceSeconds"
)

// AnyStatus in Expect.Status accepts every status code.
const AnyStatus = -1

// Expect describes a correct response.
type Expect struct {
	// Status is the expected status code; default 200; AnyStatus skips.
	Status int
	// Backend is the Service that must answer (echo "service"); "" skips.
	Backend string
	// Path is the path the backend must have received; "" skips.
	Path string
	// Check, when set, is an extra check.
	Check func(Response) error
}

// Match returns nil when r is correct.
func (e Expect) Match(r Response) error {
	if r.Err != nil {
		return r.Err
	}
	want := e.Status
	if want == 0 {
		want = 200
	}
	if want != AnyStatus && r.StatusCode != want {
		return fmt.Errorf("status %d, want %d", r.StatusCode, want)
	}
	if e.Backend != "" {
		if r.Echo == nil {
			return fmt.Errorf("response is not from an echo backend (want %s)", e.Backend)
		}
		if r.Echo.Service != e.Backend {
			return fmt.Errorf("answered by %q, want %q", r.Echo.Service, e.Backend)
		}
	}
	if e.Path != "" && (r.Echo == nil || r.Echo.Path != e.Path) {
		got := "<none>"
		if r.Echo != nil {
			got = r.Echo.Path
		}
		return fmt.Errorf("backend saw path %q, want %q", got, e.Path)
	}
	if e.Check != nil {
		return e.Check(r)
	}
	return nil
}

// String describes the expectation.
func (e Expect) String() string {
	s := "any status"
	switch e.Status {
	case 0:
		s = "status 200"
	case AnyStatus:
	default:
		s = fmt.Sprintf("status %d", e.Status)
	}
	if e.Backend != "" {
		s += " from " + e.Backend
	}
	if e.Path != "" {
		s += " seeing path " + e.Path
	}
	return s
}

// Variant is one accepted behaviour where the API leaves a choice.
type Variant struct {
	Name   string
	Expect Expect
}

// Eventually sends req until Timeouts.ConsecutiveSuccesses responses in a row
// match exp, within Timeouts.MaxTimeToConsistency; no wait after a success,
// Timeouts.Poll after a failure. It returns how long convergence took since
// the spec's last change, and records it.
func (s *Spec) Eventually(req Request, exp Expect) time.Duration {
	GinkgoHelper()
	_, took := s.EventuallyOneOf(req, Variant{Name: "", Expect: exp})
	return took
}

// EventuallyOneOf is Eventually for a set of accepted variants: it converges
// when the same variant matches the required number of times in a row, and
// returns that variant's name (recorded in the report when not empty).
func (s *Spec) EventuallyOneOf(req Request, variants ...Variant) (string, time.Duration) {
	GinkgoHelper()
	outcomes := make([]Outcome, len(variants))
	for i, v := range variants {
		outcomes[i] = Outcome{Name: v.Name, Match: v.Expect.Match}
	}
	return s.EventuallyOutcome(req, outcomes...)
}

// Consistently sends req for Timeouts.NoTrafficWindow and fails at the
// first response that does not match exp (e.g. "no route here").
func (s *Spec) Consistently(req Request, exp Expect) {
	GinkgoHelper()
	end := time.Now().Add(s.Env.Timeouts.NoTrafficWindow)
	for time.Now().Before(end) {
		r := s.Controller.HTTP.Do(s.ctx, req)
		s.remember(r)
		if err := exp.Match(r); err != nil {
			Fail(fmt.Sprintf("%s: %v (expected %s throughout %s)%s", req, err, exp, s.Env.Timeouts.NoTrafficWindow, s.Diagnostics(req)))
		}
		wait(s.Env.Timeouts.Poll)
	}
}

// Do sends one request (for specs that count or inspect responses).
func (s *Spec) Do(req Request) Response {
	r := s.Controller.HTTP.Do(s.ctx, req)
	s.remember(r)
	return r
}

// RecordVariant records which accepted behaviour the controller showed.
func RecordVariant(name string) {
	AddReportEntry(EntryVariant, name, ReportEntryVisibilityNever)
}

// Poll runs cond every Timeouts.Poll until it returns nil or timeout passes;
// then it fails with the last error and diagnostics for req.
func (s *Spec) Poll(what string, timeout time.Duration, cond func() error) {
	GinkgoHelper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			Fail(fmt.Sprintf("%s: not within %s: %v%s", what, timeout, err, s.Diagnostics(Request{Host: s.Host("")})))
		}
		wait(s.Env.Timeouts.Poll)
	}
}

// wait pauses between polls of a condition (never used as a wait for the
// condition itself).
func wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	<-t.C
}
