package framework

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	"github.com/onsi/gomega"
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

// Consistently sends req every Timeouts.Poll for Timeouts.NoTrafficWindow
// and fails at the first response that does not match exp (e.g. "no route
// here").
func (s *Spec) Consistently(req Request, exp Expect) {
	GinkgoHelper()
	t := s.Env.Timeouts
	end := s.beginCheck("consistently")
	passed := false
	defer func() { end(!passed) }()
	s.gomega().Consistently(s.ctx, func() error {
		s.newAttempt()
		return exp.Match(s.Do(req))
	}).WithTimeout(t.NoTrafficWindow).WithPolling(t.Poll).Should(gomega.Succeed(), func() string {
		return fmt.Sprintf("%s: expected %s throughout %s%s", req, exp, t.NoTrafficWindow, s.Diagnostics(req))
	})
	passed = true
}

// Do sends one request (for specs that count or inspect responses). Its
// answer is part of the running check (Poll, Hold, Within) or, outside
// one, of the requests sent with Do until the next check.
func (s *Spec) Do(req Request) Response {
	r := s.Controller.HTTP.Do(s.ctx, req)
	s.remember(r)
	s.observe(r)
	return r
}

// RecordVariant records which accepted behaviour the controller showed.
func RecordVariant(name string) {
	AddReportEntry(EntryVariant, name, ReportEntryVisibilityNever)
}

// Poll runs cond every Timeouts.Poll until it returns nil or timeout passes;
// then it fails with the last error and diagnostics for the spec's host.
func (s *Spec) Poll(what string, timeout time.Duration, cond func() error) {
	GinkgoHelper()
	end := s.beginCheck("poll")
	passed := false
	defer func() { end(!passed) }()
	attempt := func() error {
		s.newAttempt()
		return cond()
	}
	s.gomega().Eventually(s.ctx, attempt).WithTimeout(timeout).WithPolling(s.Env.Timeouts.Poll).Should(gomega.Succeed(), func() string {
		return fmt.Sprintf("%s: not within %s%s", what, timeout, s.Diagnostics(Request{Host: s.Host("")}))
	})
	passed = true
}
