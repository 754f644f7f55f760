package local

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/echoserver"
)

var _ cluster.FaultInjector = (*Provider)(nil)

// endpoint returns the running endpoint i of b.
func (p *Provider) endpoint(b *cluster.Backend, i int) (*runningEndpoint, error) {
	st, err := p.state(b)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if i < 0 || i >= len(st.endpoints) {
		return nil, fmt.Errorf("backend %s/%s has no endpoint %d (it has %d)", b.Spec.Namespace, b.Spec.Name, i, len(st.endpoints))
	}
	return st.endpoints[i], nil
}

// SetEndpointFault makes endpoint i of b misbehave: its echo servers get
// f.Mode, and packets to its address are dropped at f.LossPercent (nftables
// in the backend namespace; not available in loopback mode).
func (p *Provider) SetEndpointFault(ctx context.Context, b *cluster.Backend, i int, f cluster.Fault) error {
	if err := f.Check(); err != nil {
		return fmt.Errorf("backend %s/%s endpoint %d: %w", b.Spec.Namespace, b.Spec.Name, i, err)
	}
	ep, err := p.endpoint(b, i)
	if err != nil {
		return err
	}
	if len(ep.procs) > 0 && f.Mode != cluster.FaultNone {
		return fmt.Errorf("backend %s/%s endpoint %d is served by an echo process (Options.EchoBinary), whose answers cannot be faulted from here: %w",
			b.Spec.Namespace, b.Spec.Name, i, errors.ErrUnsupported)
	}
	if len(ep.servers) == 0 && f.Mode != cluster.FaultNone {
		return fmt.Errorf("backend %s/%s endpoint %d refuses connections: it has no server to fault", b.Spec.Namespace, b.Spec.Name, i)
	}
	if p.network == nil && f.LossPercent > 0 {
		return fmt.Errorf("backend %s/%s endpoint %d: packet loss needs the netns backend network (run as root with iproute2): %w",
			b.Spec.Namespace, b.Spec.Name, i, errors.ErrUnsupported)
	}
	if p.network != nil {
		if f.LossPercent > 0 {
			// Connections the proxy holds would otherwise stall until its
			// read timeout instead of meeting the loss on connect.
			for _, s := range ep.servers {
				s.CloseConnections()
			}
		}
		if err := p.network.SetLoss(ctx, ep.addr, f.LossPercent); err != nil {
			return fmt.Errorf("backend %s/%s endpoint %d: %w", b.Spec.Namespace, b.Spec.Name, i, err)
		}
	}
	for _, s := range ep.servers {
		s.SetFault(echoserver.Fault(f.Mode))
	}
	return nil
}

// FaultedRequests returns what endpoint i's servers swallowed.
func (p *Provider) FaultedRequests(b *cluster.Backend, i int) ([]string, error) {
	ep, err := p.endpoint(b, i)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range ep.servers {
		out = append(out, s.FaultedRequests()...)
	}
	return out, nil
}

// SetLinkDelay delays every packet into the backend namespace (tc netem, or
// an NFQUEUE hold where the kernel has no netem).
func (p *Provider) SetLinkDelay(ctx context.Context, d time.Duration) error {
	if p.network == nil {
		return fmt.Errorf("a link delay needs the netns backend network (run as root with iproute2): %w", errors.ErrUnsupported)
	}
	return p.network.SetDelay(ctx, d)
}
