package framework

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/ingresslab/ingresslab/echoserver"
)

// script is a fake controller: it answers from a list of backend names
// ("" is a refused connection), repeating the last forever (or cycling),
// and advances a fake clock by one second per request so that convergence
// times are exact.
type script struct {
	answers []string
	cycle   bool
	clock   *clocktesting.FakePassiveClock
	sent    int
}

func (s *script) do(context.Context) Response {
	s.clock.SetTime(s.clock.Now().Add(time.Second))
	i := s.sent
	s.sent++
	if i >= len(s.answers) {
		i = len(s.answers) - 1
		if s.cycle {
			i = (s.sent - 1) % len(s.answers)
		}
	}
	if s.answers[i] == "" {
		return Response{Err: errors.New("connection refused")}
	}
	return Response{StatusCode: 200, Echo: &echoserver.Response{Service: s.answers[i]}}
}

// failures is a Gomega fail handler that records instead of panicking.
type failures struct {
	mu   sync.Mutex
	msgs []string
}

func (f *failures) handler(msg string, _ ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, msg)
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func variants(names ...string) []Outcome {
	out := make([]Outcome, len(names))
	for i, n := range names {
		out[i] = OutcomeOf(n, Expect{Backend: n})
	}
	return out
}

// quick are timeouts for unit tests: 1ms polls, 3 in a row.
func quick(limit time.Duration) Timeouts {
	t := DefaultTimeouts()
	t.Poll, t.MaxTimeToConsistency = time.Millisecond, limit
	return t
}

// runWithin runs c and fails the test if it does not return within a
// minute (the bug this guards against was a check that never returned).
func runWithin(t *testing.T, c *convergence, f *failures) (converged, bool) {
	t.Helper()
	type result struct {
		res converged
		ok  bool
	}
	done := make(chan result, 1)
	go func() {
		res, ok := c.run(context.Background(), gomega.NewGomega(f.handler), func() string { return "GET http://x.test/ did not converge" })
		done <- result{res, ok}
	}()
	select {
	case r := <-done:
		return r.res, r.ok
	case <-time.After(time.Minute):
		t.Fatal("convergence check did not return within a minute of a 200ms deadline")
		return converged{}, false
	}
}

func TestConvergenceAlternatingVariantsTimesOut(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	s := &script{answers: []string{"a", "b"}, cycle: true, clock: clk}
	f := &failures{}
	start := time.Now()
	c := &convergence{do: s.do, outcomes: variants("a", "b"), timeouts: quick(200 * time.Millisecond), clock: clk}
	if res, ok := runWithin(t, c, f); ok {
		t.Fatalf("converged on %+v although the answers alternate", res)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("gave up after %s, before the 200ms deadline", took)
	}
	if len(f.msgs) != 1 || !strings.Contains(f.msgs[0], "did not converge") || !strings.Contains(f.msgs[0], `answer switched from "`) {
		t.Fatalf("failure messages = %q, want one with the description and the switch", f.msgs)
	}
	if s.sent < 3 {
		t.Errorf("only %d requests sent", s.sent)
	}
}

func TestConvergenceDeadlineHoldsDuringSuccesses(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	s := &script{answers: []string{"a"}, clock: clk}
	f := &failures{}
	tm := quick(100 * time.Millisecond)
	tm.ConsecutiveSuccesses = 1 << 30 // more than fit in the deadline
	c := &convergence{do: s.do, outcomes: variants("a"), timeouts: tm, clock: clk}
	if _, ok := runWithin(t, c, f); ok {
		t.Fatal("converged with an unreachable number of successes")
	}
	if len(f.msgs) != 1 {
		t.Fatalf("failure messages = %q", f.msgs)
	}
}

func TestConvergenceTime(t *testing.T) {
	for name, tc := range map[string]struct {
		answers []string
		want    string
		// took is in requests (= fake seconds) from the last change,
		// which is 10s before the check starts.
		took time.Duration
	}{
		"at once":                 {answers: []string{"a"}, want: "a", took: 11},
		"after misses":            {answers: []string{"", "wrong", "a"}, want: "a", took: 13},
		"miss breaks the streak":  {answers: []string{"a", "a", "", "a"}, want: "a", took: 14},
		"switch starts a streak":  {answers: []string{"a", "a", "b"}, want: "b", took: 13},
		"switch back and forth":   {answers: []string{"a", "b", "a", "b", "b"}, want: "b", took: 14},
		"first accepted variant":  {answers: []string{"", "b", "b", "b"}, want: "b", took: 12},
		"streak not yet complete": {answers: []string{"a", "a", "b", "b", "a"}, want: "a", took: 15},
	} {
		t.Run(name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(t0)
			s := &script{answers: tc.answers, clock: clk}
			f := &failures{}
			c := &convergence{do: s.do, outcomes: variants("a", "b"), timeouts: quick(time.Minute), clock: clk, since: t0.Add(-10 * time.Second)}
			res, ok := runWithin(t, c, f)
			if !ok {
				t.Fatalf("did not converge: %q", f.msgs)
			}
			if res.Outcome != tc.want || res.Took != tc.took*time.Second {
				t.Fatalf("converged on %q after %s, want %q after %s", res.Outcome, res.Took, tc.want, tc.took*time.Second)
			}
		})
	}
}
