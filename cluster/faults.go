package cluster

import (
	"context"
	"fmt"
	"time"
)

// FaultInjector is what a provider that owns its backends' network offers
// reliability specs: endpoints that misbehave and a lossy or slow path to
// them. The local provider implements it; specs skip when the provider does
// not (see AsFaultInjector).
type FaultInjector interface {
	// SetEndpointFault changes how endpoint i of b behaves; the zero Fault
	// restores it. Faults apply to the endpoint's plain HTTP port(s).
	SetEndpointFault(ctx context.Context, b *Backend, i int, f Fault) error
	// FaultedRequests returns the request targets endpoint i of b read and
	// did not answer because of its Mode (oldest first).
	FaultedRequests(b *Backend, i int) ([]string, error)
	// SetLinkDelay holds every packet sent to any backend of the provider
	// for d (tc netem on the backend veth, or an NFQUEUE hold where the
	// kernel has no netem); 0 removes the delay. With neither the error
	// wraps errors.ErrUnsupported.
	SetLinkDelay(ctx context.Context, d time.Duration) error
}

// FaultMode is how an endpoint's server misbehaves (the echo server's
// faults: echoserver.Fault).
type FaultMode string

// The fault modes.
const (
	// FaultNone serves normally.
	FaultNone FaultMode = ""
	// FaultHang reads each request and never answers.
	FaultHang FaultMode = "hang"
	// FaultStall reads each request's head and then nothing (not the body).
	FaultStall FaultMode = "stall"
	// FaultReset reads each request, then resets the connection.
	FaultReset FaultMode = "reset"
	// FaultMalformed reads each request and answers bytes that are not HTTP.
	FaultMalformed FaultMode = "malformed"
)

// Fault is one endpoint's misbehaviour. The zero value is a healthy
// endpoint.
type Fault struct {
	// Mode of the endpoint's server.
	Mode FaultMode
	// LossPercent drops this share (0..100) of the packets sent to the
	// endpoint, SYNs included: 100 is a black hole, where connecting times
	// out. The local provider uses nftables in the backend namespace.
	LossPercent int
}

// Check validates f.
func (f Fault) Check() error {
	switch f.Mode {
	case FaultNone, FaultHang, FaultStall, FaultReset, FaultMalformed:
	default:
		return fmt.Errorf("fault mode %q is not one of hang, stall, reset, malformed (or empty)", f.Mode)
	}
	if f.LossPercent < 0 || f.LossPercent > 100 {
		return fmt.Errorf("fault loss %d%% is not within 0..100", f.LossPercent)
	}
	return nil
}

// AsFaultInjector returns p's fault injector, or an error saying why specs
// that inject faults cannot run on it.
func AsFaultInjector(p BackendPublisher) (FaultInjector, error) {
	if fi, ok := p.(FaultInjector); ok {
		return fi, nil
	}
	return nil, fmt.Errorf("this cluster provider cannot inject faults into backends (%T): fault specs need the local provider, whose backends run in a network namespace the harness owns", p)
}
