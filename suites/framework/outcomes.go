package framework

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best dot-imported
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
// Timeouts.MaxTimeToConsistency, records its name as the variant and
// returns it with the time since the spec's last change.
func (s *Spec) EventuallyOutcome(req Request, outcomes ...Outcome) (string, time.Duration) {
	GinkgoHelper()
	t := s.Env.Timeouts
	start := time.Now()
	since := s.lastChange
	if since.IsZero() {
		since = start
	}
	deadline := start.Add(t.MaxTimeToConsistency)
	count, current := 0, ""
	for {
		r := s.Controller.HTTP.Do(s.ctx, req)
		s.remember(r)
		matched, ok, errs := "", false, []string{}
		for _, o := range outcomes {
			err := o.Match(r)
			if err == nil {
				matched, ok = o.Name, true
				break
			}
			errs = append(errs, describeMiss(o.Name, err))
		}
		if ok {
			if count == 0 || matched == current {
				count++
			} else {
				count = 1
			}
			current = matched
			if count >= t.ConsecutiveSuccesses {
				took := time.Since(since)
				AddReportEntry(EntryConvergence, took.Seconds(), ReportEntryVisibilityNever)
				if current != "" {
					RecordVariant(current)
				}
				return current, took
			}
			continue
		}
		count = 0
		if time.Now().After(deadline) {
			Fail(fmt.Sprintf("%s did not converge within %s (%d consecutive correct responses needed): %s%s",
				req, t.MaxTimeToConsistency, t.ConsecutiveSuccesses, strings.Join(errs, "; "), s.Diagnostics(req)))
		}
		wait(t.Poll)
	}
}

func describeMiss(name string, err error) string {
	if name == "" {
		return err.Error()
	}
	return name + ": " + err.Error()
}
