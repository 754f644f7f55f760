package suites

import (
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported

	"github.com/ingresslab/ingresslab/reports"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Behaviour checks.
//
// A behaviour check is one observable of the traffic that an annotation
// spec asserts, and that must hold for the spec to pass:
//   - the status code of an answer (one check, also when a documented set
//     of codes is accepted and the one seen is recorded as the variant);
//   - which backend (Service) answered;
//   - the path, the Host, or one header the backend received;
//   - one response header's value or absence, the Location of a redirect,
//     a cookie attribute, a property of the body;
//   - a timing bound (a 504 after proxy-read-timeout, not before, not much
//     later) or a count over a series of requests (N of M refused).
//
// Each assertion counts once however many requests confirm it (a
// convergence check sends at least Timeouts.ConsecutiveSuccesses).
// Checks are counted as the spec builds them: the helpers below (see,
// seeStatusIn, header, echoHeader, ...) each add theirs, and specs that
// assert by hand call countChecks. The count of each spec is a report
// entry (reports.EntryBehaviourChecks), summed by the report over the
// annotation specs that passed.

// specChecks counts the checks of the running spec. Specs of one process
// run one at a time (Ginkgo runs in-process serially; --parallel uses
// processes), so a plain counter is enough.
var specChecks int

// countChecks adds n behaviour checks to the running spec.
func countChecks(n int) { specChecks += n }

// Record the checks of every annotation spec; reset for the next spec.
var _ = AfterEach(func() {
	n := specChecks
	specChecks = 0
	if n == 0 || !slices.ContainsFunc(CurrentSpecReport().Labels(), func(l string) bool { _, ok := annotationFeature(l); return ok }) {
		return
	}
	AddReportEntry(reports.EntryBehaviourChecks, n, ReportEntryVisibilityNever)
})

// expectChecks is the number of observables an Expect asserts besides its
// Check (whose helpers count themselves).
func expectChecks(e framework.Expect) int {
	n := 0
	if e.Status != framework.AnyStatus {
		n++
	}
	if e.Backend != "" {
		n++
	}
	if e.Path != "" {
		n++
	}
	return n
}

// see waits until req is answered as exp (s.Eventually) and counts exp's
// observables.
func see(s *framework.Spec, req framework.Request, exp framework.Expect) {
	GinkgoHelper()
	countChecks(expectChecks(exp))
	s.Eventually(req, exp)
}

// seeStatusIn waits until req is answered with one of codes (the same one
// every time) and records which: one check.
func seeStatusIn(s *framework.Spec, req framework.Request, codes ...int) string {
	GinkgoHelper()
	countChecks(1)
	v, _ := s.EventuallyOneOf(req, statusVariants(codes...)...)
	return v
}

// timed sends req once and returns the response with how long it took.
func timed(s *framework.Spec, req framework.Request) (framework.Response, time.Duration) {
	began := time.Now()
	r := s.Do(req)
	return r, time.Since(began)
}

// within checks d lies in [lo, hi].
func within(what string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%s after %v, want between %v and %v", what, d.Round(time.Millisecond), lo, hi)
	}
	return nil
}
