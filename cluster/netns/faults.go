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
// drops SYNs and data alike; a delay holds every packet sent to the
// namespace (tc netem on the host end of the veth, or an NFQUEUE rule).

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
// for d; 0 removes the delay. It is tc netem on the host end of the veth
// or, on a kernel without sch_netem, an NFQUEUE rule inside the namespace
// whose packets this process accepts d after they arrived (delay_linux.go).
// With neither, the error wraps errors.ErrUnsupported.
func (n *Network) SetDelay(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("network %s: delay %v is negative", n.Name, d)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if d == 0 {
		return n.removeDelay(ctx)
	}
	if n.queue != nil {
		n.queue.setDelay(d)
		return nil
	}
	netemErr := n.setNetem(ctx, d)
	if netemErr == nil {
		n.delayed = true
		return nil
	}
	if !errors.Is(netemErr, errors.ErrUnsupported) {
		return fmt.Errorf("network %s: add delay %v: %w", n.Name, d, netemErr)
	}
	q, err := n.startDelayQueue(ctx, d)
	if err != nil {
		return fmt.Errorf("network %s: no delay can be added: %w", n.Name, errors.Join(netemErr, err))
	}
	n.queue, n.delayed = q, true
	return nil
}

// setNetem sets the netem qdisc; an error wraps errors.ErrUnsupported
// when tc or the kernel's netem is missing.
func (n *Network) setNetem(ctx context.Context, d time.Duration) error {
	if _, err := exec.LookPath("tc"); err != nil {
		return fmt.Errorf("tc netem needs iproute2's tc (apt-get install iproute2): %w", errors.Join(err, errors.ErrUnsupported))
	}
	us := fmt.Sprintf("%dus", d.Microseconds())
	err := tc(ctx, "qdisc", "replace", "dev", n.HostLink, "root", "netem", "delay", us)
	if err != nil && strings.Contains(err.Error(), "qdisc kind is unknown") {
		return fmt.Errorf("this kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM): %w", errors.Join(err, errors.ErrUnsupported))
	}
	return err
}

// removeDelay undoes SetDelay (n.mu held).
func (n *Network) removeDelay(ctx context.Context) error {
	if !n.delayed {
		return nil
	}
	if n.queue != nil {
		q := n.queue
		n.queue, n.delayed = nil, false
		if err := n.stopDelayQueue(ctx, q); err != nil {
			return fmt.Errorf("network %s: remove delay: %w", n.Name, err)
		}
		return nil
	}
	if err := tc(ctx, "qdisc", "del", "dev", n.HostLink, "root"); err != nil {
		return fmt.Errorf("network %s: remove delay: %w", n.Name, err)
	}
	n.delayed = false
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
