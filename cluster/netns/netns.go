// Package netns gives the local cluster provider its own test hosts: a Linux
// network namespace joined to the root namespace by a veth pair, with one
// address per backend endpoint inside it.
//
// The Kubernetes API server rejects EndpointSlice addresses in 127.0.0.0/8, so
// backends of the embedded local cluster listen on addresses from the
// benchmarking range 198.18.0.0/15 inside a namespace this package creates.
// Each Network takes its own /22 of that range, so several runs on one machine
// do not collide. Traffic to these addresses never leaves the machine: Verify
// checks that the namespace exists and that the kernel routes an address
// through our veth before anything is sent.
//
// Namespaces are named "ingresslab-<pid>-<random>"; CleanupStale removes those
// whose owning process is gone (after a crash). Everything needs Linux, root
// and iproute2's `ip`; elsewhere the package builds (the CLI imports it) but
// Supported and Create report ErrNotSupported.
package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prefix starts the name of every namespace this package creates.
const Prefix = "ingresslab-"

// netnsDir is where `ip netns add` bind-mounts named namespaces.
const netnsDir = "/var/run/netns"

// Range is the address range test hosts are allocated from (RFC 2544).
var Range = netip.MustParsePrefix("198.18.0.0/15")

// subnetBits is the size of one Network's share of Range.
const subnetBits = 22

// ErrNotSupported is returned when network namespaces cannot be used here
// (not root, not Linux, or no `ip` command).
var ErrNotSupported = errors.New("network namespaces need root and iproute2")

// Supported reports whether this process can create network namespaces, and
// if not, why.
func Supported() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: not Linux (%s)", ErrNotSupported, runtime.GOOS)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not running as root", ErrNotSupported)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: `ip` not found (apt-get install iproute2)", ErrNotSupported)
	}
	return nil
}

// Network is one namespace with its veth link and its address pool.
type Network struct {
	// Name of the network namespace (under /var/run/netns).
	Name string
	// HostLink and PeerLink are the veth ends in the root and inner namespace.
	HostLink, PeerLink string
	// Subnet is this network's share of Range; HostAddr is the root side,
	// PeerAddr the inner side of the veth.
	Subnet             netip.Prefix
	HostAddr, PeerAddr netip.Addr

	mu     sync.Mutex
	next   netip.Addr
	free   []netip.Addr
	inUse  map[netip.Addr]bool
	closed bool
	// loss and delayed are the network faults set (faults.go); queue
	// holds the packets of a delay made without netem (delay_linux.go).
	loss    map[netip.Addr]int
	delayed bool
	queue   *delayQueue
}

// allocMu serialises subnet allocation between Networks of one process; a
// file lock does the same between processes.
var allocMu sync.Mutex

// Create makes a new namespace with a veth pair and a free /22 of Range.
func Create(ctx context.Context) (*Network, error) {
	if err := Supported(); err != nil {
		return nil, err
	}
	allocMu.Lock()
	defer allocMu.Unlock()
	unlock, err := lockFile()
	if err != nil {
		return nil, err
	}
	defer unlock()

	if err := CleanupStale(ctx); err != nil {
		return nil, err
	}
	subnet, err := freeSubnet(ctx)
	if err != nil {
		return nil, err
	}
	suffix := randomHex(3)
	n := &Network{
		Name:     fmt.Sprintf("%s%d-%s", Prefix, os.Getpid(), suffix),
		HostLink: "ilab" + suffix + "h",
		PeerLink: "ilab" + suffix + "n",
		Subnet:   subnet,
		inUse:    map[netip.Addr]bool{},
	}
	n.HostAddr = subnet.Addr().Next()
	n.PeerAddr = n.HostAddr.Next()
	n.next = n.PeerAddr.Next()
	bits := strconv.Itoa(subnet.Bits())
	steps := [][]string{
		{"netns", "add", n.Name},
		{"link", "add", n.HostLink, "type", "veth", "peer", "name", n.PeerLink},
		{"link", "set", n.PeerLink, "netns", n.Name},
		{"addr", "add", n.HostAddr.String() + "/" + bits, "dev", n.HostLink},
		{"link", "set", n.HostLink, "up"},
		{"-n", n.Name, "link", "set", "lo", "up"},
		{"-n", n.Name, "addr", "add", n.PeerAddr.String() + "/" + bits, "dev", n.PeerLink},
		{"-n", n.Name, "link", "set", n.PeerLink, "up"},
	}
	for _, args := range steps {
		if err := ip(ctx, args...); err != nil {
			_ = n.destroy(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("create network namespace %s: %w", n.Name, err)
		}
	}
	return n, nil
}

// Allocate returns a new address inside the namespace, assigned to its veth
// end, for one endpoint.
func (n *Network) Allocate(ctx context.Context) (netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return netip.Addr{}, fmt.Errorf("network %s is closed", n.Name)
	}
	var a netip.Addr
	if len(n.free) > 0 {
		a, n.free = n.free[len(n.free)-1], n.free[:len(n.free)-1]
	} else {
		a = n.next
		last := lastAddr(n.Subnet)
		if !n.Subnet.Contains(a) || a == last {
			return netip.Addr{}, fmt.Errorf("network %s: no free address left in %s", n.Name, n.Subnet)
		}
		n.next = a.Next()
		if err := ip(ctx, "-n", n.Name, "addr", "add", a.String()+"/"+strconv.Itoa(n.Subnet.Bits()), "dev", n.PeerLink); err != nil {
			return netip.Addr{}, fmt.Errorf("network %s: add address %s: %w", n.Name, a, err)
		}
	}
	n.inUse[a] = true
	return a, nil
}

// Release returns an address to the pool (it stays assigned to the link).
// Packet loss set for it (SetLoss) is removed, so the next endpoint on the
// address starts healthy.
func (n *Network) Release(a netip.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.inUse[a] {
		delete(n.inUse, a)
		n.free = append(n.free, a)
	}
	if _, lossy := n.loss[a]; lossy && !n.closed {
		delete(n.loss, a)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.applyLoss(ctx); err != nil {
			// Keep the address out of the pool rather than hand out a lossy one.
			n.free = slices.DeleteFunc(n.free, func(f netip.Addr) bool { return f == a })
		}
	}
}

// Listen opens a TCP listener on addr (inside the namespace). The socket is
// created on an OS thread switched into the namespace, so it belongs to it;
// the listener can then be served from any goroutine.
func (n *Network) Listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s in network namespace %s: %w", addr, n.Name, err)
	}
	return l, nil
}

// Do runs fn on an OS thread that has joined the namespace. Sockets created
// by fn belong to the namespace. The thread is returned to the root namespace
// afterwards; if that fails, the thread is discarded.
func (n *Network) Do(fn func() error) error {
	target, err := os.Open(filepath.Join(netnsDir, n.Name))
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", n.Name, err)
	}
	defer target.Close()
	return runInNamespace(target, fn)
}

// Verify checks that the namespace still exists and that the kernel sends
// traffic for addr through this network's veth. Call it before sending any
// traffic to an address of the network.
func (n *Network) Verify(ctx context.Context, addr netip.Addr) error {
	if !n.Subnet.Contains(addr) {
		return fmt.Errorf("address %s is not in network %s (%s)", addr, n.Name, n.Subnet)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, n.Name)); err != nil {
		return fmt.Errorf("network namespace %s is gone: %w", n.Name, err)
	}
	out, err := ipOutput(ctx, "route", "get", addr.String())
	if err != nil {
		return fmt.Errorf("route to %s: %w", addr, err)
	}
	if !strings.Contains(" "+out+" ", " dev "+n.HostLink+" ") {
		return fmt.Errorf("traffic to %s would not go through %s: %s", addr, n.HostLink, strings.TrimSpace(out))
	}
	return nil
}

// Close deletes the namespace; its veth pair goes with it.
func (n *Network) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	q := n.queue
	n.queue, n.delayed = nil, false
	n.mu.Unlock()
	if q != nil {
		// The namespace and its rule go next; only the socket needs closing.
		q.close()
	}
	return n.destroy(ctx)
}

func (n *Network) destroy(ctx context.Context) error {
	var errs []error
	if _, err := os.Stat(filepath.Join(netnsDir, n.Name)); err == nil {
		if err := ip(ctx, "netns", "delete", n.Name); err != nil {
			errs = append(errs, err)
		}
	}
	// The host end disappears with its peer; delete it explicitly in case the
	// peer never reached the namespace.
	if _, err := net.InterfaceByName(n.HostLink); err == nil {
		if err := ip(ctx, "link", "delete", n.HostLink); err != nil {
			// The kernel may have removed it with the namespace meanwhile.
			if _, still := net.InterfaceByName(n.HostLink); still == nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete network namespace %s: %w", n.Name, err)
	}
	return nil
}

// List returns the names of this package's namespaces on the machine.
func List() ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list network namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), Prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// CleanupStale deletes namespaces left by processes that no longer run.
func CleanupStale(ctx context.Context) error {
	names, err := List()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		pid, ok := ownerPID(name)
		if ok && pid != os.Getpid() && processAlive(pid) {
			continue
		}
		if ok && pid == os.Getpid() {
			continue
		}
		if err := ip(ctx, "netns", "delete", name); err != nil {
			errs = append(errs, err)
		}
	}
	// Host-side veth ends whose peer namespace is gone are removed by the
	// kernel together with the namespace.
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up stale network namespaces: %w", err)
	}
	return nil
}

func ownerPID(name string) (int, bool) {
	rest := strings.TrimPrefix(name, Prefix)
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}

// freeSubnet picks the first /22 of Range that no interface on the host uses.
func freeSubnet(ctx context.Context) (netip.Prefix, error) {
	out, err := ipOutput(ctx, "-o", "-4", "addr", "show")
	if err != nil {
		return netip.Prefix{}, err
	}
	used := map[netip.Prefix]bool{}
	for _, f := range strings.Fields(out) {
		p, err := netip.ParsePrefix(f)
		if err != nil || !Range.Contains(p.Addr()) {
			continue
		}
		sub, _ := p.Addr().Prefix(subnetBits)
		used[sub] = true
	}
	for a := Range.Addr(); Range.Contains(a); {
		p := netip.PrefixFrom(a, subnetBits)
		if !used[p] {
			return p, nil
		}
		a = lastAddr(p).Next()
	}
	return netip.Prefix{}, fmt.Errorf("no free /%d left in %s", subnetBits, Range)
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func ip(ctx context.Context, args ...string) error {
	_, err := ipOutput(ctx, args...)
	return err
}

func ipOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
