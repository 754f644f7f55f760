package netns

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ingresslab/ingresslab/internal/testtools"
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

// TestDelay adds, changes and removes a link delay: netem where the kernel
// has it, otherwise the NFQUEUE queue. Where neither works, SetDelay must
// say so with errors.ErrUnsupported and leave nothing behind (a failure
// under INGRESSLAB_REQUIRE_TOOLS=1).
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
	go func() { // echoes each connection's bytes
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	// roundTrip connects, then sends one line and reads it back.
	roundTrip := func() (connect, exchange time.Duration) {
		t.Helper()
		start := time.Now()
		c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		connect = time.Since(start)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		start = time.Now()
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
			t.Fatal(err)
		}
		return connect, time.Since(start)
	}
	const delay = 150 * time.Millisecond
	err = n.SetDelay(ctx, delay)
	if errors.Is(err, errors.ErrUnsupported) {
		if n.delayed {
			t.Fatal("a failed SetDelay left the network marked delayed")
		}
		if testtools.Required() {
			t.Fatalf("no delay possible (neither netem nor NFQUEUE): %v", err)
		}
		t.Skipf("skipping: no delay possible here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The SYN and the request are each held for the delay; the answers
	// leave the namespace undelayed, as with netem on the host end.
	for range 3 {
		connect, exchange := roundTrip()
		if connect < delay || exchange < delay {
			t.Fatalf("connect %v and exchange %v under a %v delay", connect, exchange, delay)
		}
	}
	// A longer delay applies to what is sent next.
	if err := n.SetDelay(ctx, 2*delay); err != nil {
		t.Fatal(err)
	}
	if _, exchange := roundTrip(); exchange < 2*delay {
		t.Fatalf("exchange %v under a %v delay", exchange, 2*delay)
	}
	// A connection open while the delay goes away keeps working.
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := n.SetDelay(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n.delayed || n.queue != nil {
		t.Fatal("SetDelay(0) left the network delayed")
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 6)); err != nil {
		t.Fatalf("a connection made under the delay broke when it was removed: %v", err)
	}
	// Nothing is held any more: far quicker than the delay.
	if connect, exchange := roundTrip(); connect >= delay || exchange >= delay {
		t.Fatalf("connect %v and exchange %v after the delay was removed", connect, exchange)
	}
	out, err := exec.Command("ip", "netns", "exec", n.Name, "iptables", "-w", "-t", "mangle", "-S", "PREROUTING").CombinedOutput()
	if err == nil && strings.Contains(string(out), "NFQUEUE") {
		t.Fatalf("the queue rule is left behind:\n%s", out)
	}
}
