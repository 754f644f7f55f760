//go:build !linux

package netns

import (
	"context"
	"errors"
	"time"
)

// delayQueue is Linux's NFQUEUE link delay (delay_linux.go).
type delayQueue struct{}

func (n *Network) startDelayQueue(context.Context, time.Duration) (*delayQueue, error) {
	return nil, errors.Join(notLinux(), errors.ErrUnsupported)
}

func (n *Network) stopDelayQueue(context.Context, *delayQueue) error { return nil }

func (q *delayQueue) setDelay(time.Duration) {}
func (q *delayQueue) close()                 {}
