package framework

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
	"github.com/onsi/gomega"
)

// Outcome is one accepted behaviour where the API leaves a choice, like
// Variant, but matched against the whole Response: it can accept a
// transport failure (refused connection, failed TLS handshake), which an
// Expect never does.
type Outcome struct {
	Name  string
	Match func(Response) error
}

// OutcomeOf turns an Expect into an Outcome (a transport error never
// matches it).
func OutcomeOf(name string, e Expect) Outcome { return Outcome{Name: name, Match: e.Match} }

// TransportFailure matches a request that got no HTTP answer at all; check,
// when set, looks at the error (e.g. to require a TLS handshake failure).
func TransportFailure(name string, check func(error) error) Outcome {
	return Outcome{Name: name, Match: func(r Response) error {
		if r.Err == nil {
			return fmt.Errorf("got an HTTP answer (%d), not a transport failure", r.StatusCode)
		}
		if check != nil {
			return check(r.Err)
		}
		return nil
	}}
}

// EventuallyOutcome is EventuallyOneOf for Outcomes: it converges when the
// same outcome matches Timeouts.ConsecutiveSuccesses times in a row within
// Timeouts.MaxTimeToConsistency (Gomega's Eventually with
// MustPassRepeatedly; see convergence for what "in a row" means), records
// its name as the variant and returns it with the time from the spec's last
// change to the first response of the converged streak. It fails the spec,
// with diagnostics, at the deadline.
func (s *Spec) EventuallyOutcome(req Request, outcomes ...Outcome) (string, time.Duration) {
	GinkgoHelper()
	t := s.Env.Timeouts
	end := s.beginCheck("eventually")
	passed := false
	defer func() { end(!passed) }()
	c := &convergence{
		do: func(ctx context.Context) Response {
			s.newAttempt()
			r := s.Controller.HTTP.Do(ctx, req)
			s.remember(r)
			s.observe(r)
			return r
		},
		outcomes: outcomes,
		timeouts: t,
		since:    s.lastChange,
	}
	describe := func() string {
		return fmt.Sprintf("%s did not converge within %s (%d consecutive correct responses needed)%s",
			req, t.MaxTimeToConsistency, t.ConsecutiveSuccesses, s.Diagnostics(req))
	}
	res, ok := c.run(s.ctx, s.gomega(), describe)
	if !ok {
		return "", 0 // not reached: the fail handler aborted the spec
	}
	passed = true
	AddReportEntry(EntryConvergence, res.Took.Seconds(), ReportEntryVisibilityNever)
	if res.Outcome != "" {
		RecordVariant(res.Outcome)
	}
	return res.Outcome, res.Took
}

// gomega returns a Gomega that fails the running spec.
func (s *Spec) gomega() gomega.Gomega { return gomega.NewGomega(Fail) }
