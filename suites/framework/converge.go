package framework

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/onsi/gomega"
	"k8s.io/utils/clock"
)

// convergence is one convergence check, built on Gomega and free of Ginkgo
// so that it is tested on its own: it sends a request through do until one
// outcome matches Timeouts.ConsecutiveSuccesses times in a row, within
// Timeouts.MaxTimeToConsistency, polling every Timeouts.Poll.
//
// "In a row" means the same outcome: a response that matches a different
// accepted outcome than the one before it restarts the count (it is a
// failed poll for Gomega), so a controller that alternates between two
// accepted variants never converges and the check fails at the deadline.
type convergence struct {
	// do sends the request once.
	do func(ctx context.Context) Response
	// outcomes are the accepted outcomes, tried in order.
	outcomes []Outcome
	timeouts Timeouts
	// clock measures the convergence time (not the polling); nil is the
	// real clock.
	clock clock.PassiveClock
	// since is when the spec last changed something; zero is the start of
	// the check.
	since time.Time
}

// converged is the result of a convergence check.
type converged struct {
	// Outcome is the name of the outcome that matched.
	Outcome string
	// Took runs from the spec's last change to the first response of the
	// streak that converged: when the controller was first seen correct
	// for good, not counting the confirming polls.
	Took time.Duration
}

// run polls with g until convergence. It returns false when it called g's
// fail handler (with description() and the last miss in the message).
func (c *convergence) run(ctx context.Context, g gomega.Gomega, description func() string) (converged, bool) {
	clk := c.clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	since := c.since
	if since.IsZero() {
		since = clk.Now()
	}
	t := c.timeouts
	var (
		inStreak    bool
		streak      string
		streakStart time.Time
	)
	attempt := func() error {
		r := c.do(ctx)
		seen := clk.Now()
		name, err := c.match(r)
		switch {
		case err != nil:
			inStreak = false
			return err
		case !inStreak:
			inStreak, streak, streakStart = true, name, seen
		case name != streak:
			// Gomega restarts its count; this response still starts
			// the new outcome's streak in time.
			prev := streak
			streak, streakStart = name, seen
			return fmt.Errorf("answer switched from %s to %s (one outcome must match %d times in a row)",
				outcomeLabel(prev), outcomeLabel(name), t.ConsecutiveSuccesses)
		}
		return nil
	}
	ok := g.Eventually(ctx, attempt).
		WithTimeout(t.MaxTimeToConsistency).
		WithPolling(t.Poll).
		MustPassRepeatedly(max(t.ConsecutiveSuccesses, 1)).
		Should(gomega.Succeed(), description)
	if !ok {
		return converged{}, false
	}
	return converged{Outcome: streak, Took: streakStart.Sub(since)}, true
}

// match returns the name of the first outcome r matches, or why none does.
func (c *convergence) match(r Response) (string, error) {
	errs := make([]string, 0, len(c.outcomes))
	for _, o := range c.outcomes {
		err := o.Match(r)
		if err == nil {
			return o.Name, nil
		}
		errs = append(errs, describeMiss(o.Name, err))
	}
	return "", errors.New(strings.Join(errs, "; "))
}

func outcomeLabel(name string) string {
	if name == "" {
		return "the expected answer"
	}
	return fmt.Sprintf("%q", name)
}

func describeMiss(name string, err error) string {
	if name == "" {
		return err.Error()
	}
	return name + ": " + err.Error()
}
