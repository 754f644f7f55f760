package poll

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUntilSucceedsAfterRetries(t *testing.T) {
	calls := 0
	err := Until(context.Background(), time.Millisecond, time.Minute, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Until = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestUntilTimeoutKeepsLastError(t *testing.T) {
	notReady := errors.New("still starting")
	start := time.Now()
	err := Until(context.Background(), time.Millisecond, 50*time.Millisecond, func(context.Context) error { return notReady })
	if !errors.Is(err, notReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Until = %v, want it to wrap the last error and context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "not within 50ms: still starting") {
		t.Errorf("message %q", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("timeout of 50ms took %s", took)
	}
}

func TestUntilStop(t *testing.T) {
	exited := errors.New("process exited")
	calls := 0
	err := Until(context.Background(), time.Millisecond, 0, func(context.Context) error {
		calls++
		return Stop(exited)
	})
	if err != exited || calls != 1 {
		t.Fatalf("Until = %v after %d calls, want the Stop error itself after 1", err, calls)
	}
	if Stop(nil) != nil {
		t.Error("Stop(nil) != nil")
	}
}

func TestUntilCallerContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Until(ctx, time.Millisecond, 0, func(context.Context) error {
		if calls++; calls == 2 {
			cancel()
		}
		return errors.New("waiting")
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting") {
		t.Fatalf("Until = %v, want context.Canceled with the last error", err)
	}
}
