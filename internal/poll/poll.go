// Package poll is the one way the harness's own code waits for a condition
// (an API server that becomes ready, a process that exits, a resource that
// gets its status): a thin layer over
// k8s.io/apimachinery/pkg/util/wait.PollUntilContextTimeout and
// PollUntilContextCancel.
//
// It exists for one reason: wait's conditions return (done bool, err error)
// where an error aborts the wait, and on timeout wait returns only the
// context's error. The loops this package replaced all reported why the
// condition was still false when time ran out; Until keeps the condition's
// last error and wraps it into the timeout error.
//
// Tests and conformance specs wait with Gomega's Eventually instead (see
// suites/framework), which also fails the test; this package never fails
// anything on its own.
package poll

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Condition reports nil when the awaited state is reached, and otherwise
// why not yet. Returning Stop(err) ends the wait at once with err.
type Condition func(ctx context.Context) error

// Until calls cond at once, then every interval, until it returns nil, until
// timeout passes (0: no timeout of its own, only ctx), or until ctx ends.
//
// It returns nil on success; the unwrapped error of a Stop; otherwise an
// error that wraps both the context error (context.DeadlineExceeded on
// timeout, errors.Is works) and cond's last error.
func Until(ctx context.Context, interval, timeout time.Duration, cond Condition) error {
	var last error
	fn := func(ctx context.Context) (bool, error) {
		err := cond(ctx)
		var s *stopError
		if errors.As(err, &s) {
			return false, s.err
		}
		last = err
		return err == nil, nil
	}
	var err error
	if timeout > 0 {
		err = wait.PollUntilContextTimeout(ctx, interval, timeout, true, fn)
	} else {
		err = wait.PollUntilContextCancel(ctx, interval, true, fn)
	}
	if err == nil || !wait.Interrupted(err) {
		return err
	}
	if ctx.Err() == nil && timeout > 0 {
		// Our own timeout, not the caller's context.
		err = context.DeadlineExceeded
		if last == nil {
			return fmt.Errorf("not within %s: %w", timeout, err)
		}
		return fmt.Errorf("not within %s: %w (%w)", timeout, last, err)
	}
	if last == nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w (%w)", last, ctx.Err())
}

// Stop makes Until return err at once: the condition can no longer become
// true (e.g. the process it waits for exited).
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return &stopError{err: err}
}

type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }
func (s *stopError) Unwrap() error { return s.err }
