package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Network faults for reliability tests. Packet loss towards one address is
// an nftables rule in the namespace's input hook (numgen random), so it
// drops SYNs and data alike; a delay is tc netem on the host end of the veth
// and holds every packet sent to the namespace.

// faultTable is the nftables table (family ip) holding the loss rules.
const faultTable = "ingresslab_faults"

// SetLoss drops percent (0..100) of the packets sent to addr inside the
// namespace; 0 removes the rule. It needs nftables' `nft`.
func (n *Network) SetLoss(ctx context.Context, addr netip.Addr, percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("network %s: loss %d%% for %s is not within 0..100", n.Name, percent, addr)
	}
	if !n.Subnet.Contains(addr) {
		return fmt.Errorf("network %s: address %s is not in %s", n.Name, addr, n.Subnet)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.loss == nil {
		n.loss = map[netip.Addr]int{}
	}
	old, had := n.loss[addr]
	if percent == 0 {
		delete(n.loss, addr)
	} else {
		n.loss[addr] = percent
	}
	if err := n.applyLoss(ctx); err != nil {
		if had {
			n.loss[addr] = old
		} else {
			delete(n.loss, addr)
		}
		return err
	}
	return nil
}

// applyLoss replaces the namespace's fault table with one rule per lossy
// address (n.mu held).
func (n *Network) applyLoss(ctx context.Context) error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("network %s: packet loss needs nftables' nft (apt-get install nftables): %w", n.Name, errors.Join(err, errors.ErrUnsupported))
	}
	var script strings.Builder
	// Declaring the table first makes the delete valid when it is absent.
	fmt.Fprintf(&script, "table ip %[1]s\ndelete table ip %[1]s\n", faultTable)
	if len(n.loss) > 0 {
		fmt.Fprintf(&script, "table ip %s {\n  chain input {\n    type filter hook input priority 0; policy accept;\n", faultTable)
		addrs := make([]netip.Addr, 0, len(n.loss))
		for a := range n.loss {
			addrs = append(addrs, a)
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		for _, a := range addrs {
			if p := n.loss[a]; p >= 100 {
				fmt.Fprintf(&script, "    ip daddr %s drop\n", a)
			} else {
				fmt.Fprintf(&script, "    ip daddr %s numgen random mod 100 < %d drop\n", a, p)
			}
		}
		script.WriteString("  }\n}\n")
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("network %s: nft loss rules: %w: %s", n.Name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// SetDelay holds every packet the root namespace sends into the namespace
// for d (tc netem on the host end of the veth); 0 removes it. A kernel
// without sch_netem gives an error wrapping errors.ErrUnsupported.
func (n *Network) SetDelay(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("network %s: delay %v is negative", n.Name, d)
	}
	if _, err := exec.LookPath("tc"); err != nil {
		return fmt.Errorf("network %s: a delay needs iproute2's tc (apt-get install iproute2): %w", n.Name, errors.Join(err, errors.ErrUnsupported))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if d == 0 {
		if !n.delayed {
			return nil
		}
		if err := tc(ctx, "qdisc", "del", "dev", n.HostLink, "root"); err != nil {
			return fmt.Errorf("network %s: remove delay: %w", n.Name, err)
		}
		n.delayed = false
		return nil
	}
	us := fmt.Sprintf("%dus", d.Microseconds())
	err := tc(ctx, "qdisc", "replace", "dev", n.HostLink, "root", "netem", "delay", us)
	if err != nil {
		if strings.Contains(err.Error(), "qdisc kind is unknown") {
			return fmt.Errorf("network %s: this kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM), so no delay can be added: %w", n.Name, errors.Join(err, errors.ErrUnsupported))
		}
		return fmt.Errorf("network %s: add delay %v: %w", n.Name, d, err)
	}
	n.delayed = true
	return nil
}

func tc(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "tc", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("tc %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
