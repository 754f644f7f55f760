package netns

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func requireSupported(t *testing.T) {
	t.Helper()
	if err := Supported(); err != nil {
		t.Skipf("skipping: %v", err)
	}
}

func TestNetworkLifecycle(t *testing.T) {
	requireSupported(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	if !Range.Contains(n.HostAddr) || !n.Subnet.Contains(n.PeerAddr) {
		t.Fatalf("addresses %s/%s outside %s", n.HostAddr, n.PeerAddr, n.Subnet)
	}

	a, err := n.Allocate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Verify(ctx, a); err != nil {
		t.Fatalf("verify %s: %v", a, err)
	}
	l, err := n.Listen(netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("hello from " + c.LocalAddr().String()))
		c.Close()
	}()

	// The listener lives in the namespace: dialled from the root namespace
	// through the veth it answers.
	c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s from root namespace: %v", l.Addr(), err)
	}
	got, _ := io.ReadAll(c)
	c.Close()
	if want := "hello from " + l.Addr().String(); string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The address is not bound in the root namespace itself.
	if rl, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String()); err == nil {
		rl.Close()
		t.Fatalf("address %s is bindable in the root namespace; the listener is not isolated", a)
	}

	// Released addresses are reused before new ones are taken.
	n.Release(a)
	b, err := n.Allocate(ctx)
	if err != nil || b != a {
		t.Fatalf("allocate after release = %s, %v; want %s", b, err, a)
	}
	if err := n.Verify(ctx, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Fatal("verify accepted an address outside the network")
	}

	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, n.Name)); !os.IsNotExist(err) {
		t.Fatalf("namespace %s still exists after Close (stat err %v)", n.Name, err)
	}
	if _, err := net.InterfaceByName(n.HostLink); err == nil {
		t.Fatalf("veth %s still exists after Close", n.HostLink)
	}
	if err := n.Verify(ctx, a); err == nil {
		t.Fatal("verify passed after Close")
	}
}

func TestTwoNetworksGetDistinctSubnets(t *testing.T) {
	requireSupported(t)
	ctx := context.Background()
	a, err := Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if a.Subnet.Overlaps(b.Subnet) {
		t.Fatalf("subnets overlap: %s and %s", a.Subnet, b.Subnet)
	}
}

func TestCleanupStaleRemovesDeadOwners(t *testing.T) {
	requireSupported(t)
	ctx := context.Background()
	// A namespace named after a PID that cannot exist.
	name := Prefix + "999999999-dead00"
	if err := ip(ctx, "netns", "add", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ip(context.Background(), "netns", "delete", name) })
	if err := CleanupStale(ctx); err != nil {
		t.Fatal(err)
	}
	names, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == name {
			t.Fatalf("stale namespace %s survived CleanupStale", name)
		}
	}
}

func TestOwnerPID(t *testing.T) {
	for name, want := range map[string]int{Prefix + "42-abc": 42, Prefix + "x-abc": 0, "other": 0} {
		got, _ := ownerPID(name)
		if got != want {
			t.Errorf("ownerPID(%q) = %d, want %d", name, got, want)
		}
	}
	if got := lastAddr(netip.MustParsePrefix("198.18.4.0/22")); got != netip.MustParseAddr("198.18.7.255") {
		t.Errorf("lastAddr = %s", got)
	}
}
