package netns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestLossBlackHoleAndBack checks that 100 % loss to an address makes
// connecting to it time out (no RST: the SYN is dropped), that other
// addresses are not affected, and that removing the rule restores it.
func TestLossBlackHoleAndBack(t *testing.T) {
	requireSupported(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	listen := func() net.Listener {
		a, err := n.Allocate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l, err := n.Listen(netip.AddrPortFrom(a, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return l
	}
	lossy, healthy := listen(), listen()
	lossyAddr := netip.MustParseAddrPort(lossy.Addr().String()).Addr()

	if err := n.SetLoss(ctx, lossyAddr, 100); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", lossy.Addr().String(), 500*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("connected through 100 % loss")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("dial through 100 %% loss: %v, want a timeout", err)
	}
	if c, err := net.DialTimeout("tcp", healthy.Addr().String(), 5*time.Second); err != nil {
		t.Fatalf("an address without loss is affected: %v", err)
	} else {
		c.Close()
	}
	if err := n.SetLoss(ctx, lossyAddr, 0); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", lossy.Addr().String(), 5*time.Second); err != nil {
		t.Fatalf("dial after the loss was removed: %v", err)
	} else {
		c.Close()
	}
	if err := n.SetLoss(ctx, netip.MustParseAddr("192.0.2.1"), 10); err == nil {
		t.Fatal("SetLoss accepted an address outside the network")
	}
	if err := n.SetLoss(ctx, lossyAddr, 101); err == nil {
		t.Fatal("SetLoss accepted 101 %")
	}
}

// TestDelay adds and removes a link delay where the kernel has netem; where
// it has not, SetDelay must say so with errors.ErrUnsupported (and nothing
// is left behind).
func TestDelay(t *testing.T) {
	requireSupported(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	a, err := n.Allocate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := n.Listen(netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	const delay = 150 * time.Millisecond
	err = n.SetDelay(ctx, delay)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Logf("no netem here: %v", err)
		if n.delayed {
			t.Fatal("a failed SetDelay left the network marked delayed")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if rtt := time.Since(start); rtt < delay {
		t.Fatalf("connecting took %v under a %v delay", rtt, delay)
	}
	if err := n.SetDelay(ctx, 0); err != nil {
		t.Fatal(err)
	}
}
