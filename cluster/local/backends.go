package local

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/echoserver"
)

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
// slices this provider publishes.
const ManagedBy = "local-provider.ingresslab.dev"

// backendState holds the running echo servers of one backend.
type backendState struct {
	mu        sync.Mutex
	endpoints []*runningEndpoint
}

type runningEndpoint struct {
	addr    netip.Addr
	servers []*echoserver.Server
	// procs serve plain ports as processes of their own (Options.EchoBinary).
	procs []*cluster.Process
}

// stop closes the endpoint's echo servers and stops its processes.
func (ep *runningEndpoint) stop(ctx context.Context) {
	for _, s := range ep.servers {
		_ = s.Close()
	}
	for _, pr := range ep.procs {
		sctx, cancel := context.WithTimeout(ctx, echoStopTimeout)
		_ = pr.Stop(sctx)
		cancel()
	}
}

// echoStopTimeout is how long an echo process may take to exit on SIGTERM
// before its group is killed; the shutdown it starts waits for in-flight
// requests, which a stopped endpoint should not keep.
const echoStopTimeout = 2 * time.Second

func (st *backendState) stopAll(ctx context.Context) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, ep := range st.endpoints {
		ep.stop(ctx)
	}
	st.endpoints = nil
}

// BackendPIDs are the process IDs of the echo processes serving backend
// endpoints (Options.EchoBinary); none when echo servers run in-process.
func (p *Provider) BackendPIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, st := range p.backends {
		st.mu.Lock()
		for _, ep := range st.endpoints {
			for _, pr := range ep.procs {
				if exited, _ := pr.Exited(); !exited {
					pids = append(pids, pr.PID())
				}
			}
		}
		st.mu.Unlock()
	}
	sort.Ints(pids)
	return pids
}

// loopbackPool hands out 127.0.0.x addresses for the loopback fallback.
type loopbackPool struct {
	mu   sync.Mutex
	next int
	free []netip.Addr
}

func newLoopbackPool() *loopbackPool { return &loopbackPool{next: 10} }

func (l *loopbackPool) allocate() (netip.Addr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		a := l.free[n-1]
		l.free = l.free[:n-1]
		return a, nil
	}
	if l.next > 250*250 {
		return netip.Addr{}, fmt.Errorf("no loopback address left")
	}
	i := l.next
	l.next++
	return netip.AddrFrom4([4]byte{127, byte(1 + i/250), byte(i % 250), 1}), nil
}

func (l *loopbackPool) release(a netip.Addr) {
	l.mu.Lock()
	l.free = append(l.free, a)
	l.mu.Unlock()
}

// PublishBackend starts spec.Replicas echo endpoints and publishes them.
func (p *Provider) PublishBackend(ctx context.Context, spec cluster.BackendSpec) (*cluster.Backend, error) {
	spec, err := spec.WithDefaults()
	if err != nil {
		return nil, err
	}
	if err := p.ensureNamespace(ctx, spec.Namespace); err != nil {
		return nil, err
	}
	b := &cluster.Backend{Spec: spec}
	st := &backendState{}
	p.mu.Lock()
	p.backends[b] = st
	p.mu.Unlock()
	if err := p.createService(ctx, spec); err != nil {
		return nil, err
	}
	if err := p.ScaleBackend(ctx, b, spec.Replicas); err != nil {
		return nil, err
	}
	return b, nil
}

func (p *Provider) state(b *cluster.Backend) (*backendState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.backends[b]
	if !ok {
		return nil, fmt.Errorf("backend %s/%s is not published by this provider", b.Spec.Namespace, b.Spec.Name)
	}
	return st, nil
}

// ScaleBackend starts or stops endpoints (highest index first) and
// republishes the EndpointSlice and Endpoints.
func (p *Provider) ScaleBackend(ctx context.Context, b *cluster.Backend, replicas int) error {
	if replicas < 0 {
		return fmt.Errorf("backend %s/%s: replicas %d is negative", b.Spec.Namespace, b.Spec.Name, replicas)
	}
	st, err := p.state(b)
	if err != nil {
		return err
	}
	st.mu.Lock()
	for len(st.endpoints) > replicas {
		last := st.endpoints[len(st.endpoints)-1]
		st.endpoints = st.endpoints[:len(st.endpoints)-1]
		b.Endpoints = b.Endpoints[:len(b.Endpoints)-1]
		last.stop(ctx)
		p.releaseAddr(last.addr)
	}
	for len(st.endpoints) < replicas {
		i := len(st.endpoints)
		ep, err := p.startEndpoint(ctx, b.Spec, i)
		if err != nil {
			st.mu.Unlock()
			return err
		}
		st.endpoints = append(st.endpoints, ep)
		b.Endpoints = append(b.Endpoints, cluster.Endpoint{
			Pod: podName(b.Spec, i), Address: ep.addr, Conditions: cluster.Ready,
		})
	}
	st.mu.Unlock()
	return p.publishEndpoints(ctx, b)
}

// SetEndpointConditions changes the conditions of endpoint i and republishes.
// The echo server keeps running: only what the API says changes.
func (p *Provider) SetEndpointConditions(ctx context.Context, b *cluster.Backend, i int, c cluster.EndpointConditions) error {
	if i < 0 || i >= len(b.Endpoints) {
		return fmt.Errorf("backend %s/%s has no endpoint %d (it has %d)", b.Spec.Namespace, b.Spec.Name, i, len(b.Endpoints))
	}
	b.Endpoints[i].Conditions = c
	return p.publishEndpoints(ctx, b)
}

// DeleteBackend stops the endpoints and deletes the Service, EndpointSlice
// and Endpoints.
func (p *Provider) DeleteBackend(ctx context.Context, b *cluster.Backend) error {
	st, err := p.state(b)
	if err != nil {
		return err
	}
	st.mu.Lock()
	for _, ep := range st.endpoints {
		p.releaseAddr(ep.addr)
	}
	st.mu.Unlock()
	st.stopAll(ctx)
	p.mu.Lock()
	delete(p.backends, b)
	p.mu.Unlock()
	b.Endpoints = nil
	ns, name := b.Spec.Namespace, b.Spec.Name
	for _, del := range []func() error{
		func() error {
			return p.client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, sliceName(name), metav1.DeleteOptions{})
		},
		func() error { return p.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
		func() error { return p.client.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}) },
	} {
		if err := del(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete backend %s/%s: %w", ns, name, err)
		}
	}
	return nil
}

func (p *Provider) startEndpoint(ctx context.Context, spec cluster.BackendSpec, i int) (*runningEndpoint, error) {
	var addr netip.Addr
	var err error
	if p.network != nil {
		addr, err = p.network.Allocate(ctx)
	} else {
		addr, err = p.loopback.allocate()
	}
	if err != nil {
		return nil, fmt.Errorf("backend %s/%s endpoint %d: %w", spec.Namespace, spec.Name, i, err)
	}
	ep := &runningEndpoint{addr: addr}
	if spec.Refusing > 0 && i >= spec.Replicas-spec.Refusing && i < spec.Replicas {
		return ep, nil // published, but nothing listens: connections are refused
	}
	seen := map[int32]bool{}
	for _, port := range spec.Ports {
		if seen[port.TargetPort] {
			continue
		}
		seen[port.TargetPort] = true
		hostPort := net.JoinHostPort(addr.String(), strconv.Itoa(int(port.TargetPort)))
		var l net.Listener
		if p.network != nil {
			l, err = p.network.Listen(hostPort)
		} else {
			l, err = net.Listen("tcp", hostPort)
		}
		if err != nil {
			p.stopEndpoint(ctx, ep)
			return nil, fmt.Errorf("backend %s/%s endpoint %d: %w", spec.Namespace, spec.Name, i, err)
		}
		id := echoserver.Identity{
			Namespace:   spec.Namespace,
			Service:     spec.Name,
			Pod:         podName(spec, i),
			ServicePort: strconv.Itoa(int(port.Port)),
		}
		if !port.TLS && p.opts.EchoBinary != "" {
			pr, err := p.startEchoProcess(l, id, port.TargetPort)
			if err != nil {
				p.stopEndpoint(ctx, ep)
				return nil, fmt.Errorf("backend %s/%s endpoint %d: %w", spec.Namespace, spec.Name, i, err)
			}
			ep.procs = append(ep.procs, pr)
			continue
		}
		opts := echoserver.Options{Listener: l}
		if port.TLS {
			// HTTPS on the target port; the plain listener the echo server
			// always has goes to a free port nobody is told about.
			plainAddr := net.JoinHostPort(addr.String(), "0")
			var plain net.Listener
			if p.network != nil {
				plain, err = p.network.Listen(plainAddr)
			} else {
				plain, err = net.Listen("tcp", plainAddr)
			}
			if err != nil {
				l.Close()
				p.stopEndpoint(ctx, ep)
				return nil, fmt.Errorf("backend %s/%s endpoint %d: %w", spec.Namespace, spec.Name, i, err)
			}
			opts = echoserver.Options{Listener: plain, TLSListener: l}
		}
		opts.Identity = id
		if port.TLS {
			// Controllers that verify backends by default dial the endpoint
			// address: the certificate names it too.
			opts.TLSHosts = append(echoserver.TLSHostsFor(opts.Identity), addr.String())
		}
		srv, err := echoserver.New(opts)
		if err == nil {
			err = srv.Start()
		}
		if err != nil {
			l.Close()
			p.stopEndpoint(ctx, ep)
			return nil, fmt.Errorf("backend %s/%s endpoint %d: echo server: %w", spec.Namespace, spec.Name, i, err)
		}
		ep.servers = append(ep.servers, srv)
	}
	return ep, nil
}

func (p *Provider) stopEndpoint(ctx context.Context, ep *runningEndpoint) {
	ep.stop(ctx)
	p.releaseAddr(ep.addr)
}

// startEchoProcess serves l with a process of Options.EchoBinary, which
// gets the socket as file descriptor 3; l is closed here either way (the
// process holds its own copy, and connections wait in the socket's backlog
// until it accepts them, so there is nothing to wait for).
func (p *Provider) startEchoProcess(l net.Listener, id echoserver.Identity, targetPort int32) (*cluster.Process, error) {
	defer l.Close()
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("echo process: listener %T is not TCP", l)
	}
	f, err := tl.File()
	if err != nil {
		return nil, fmt.Errorf("echo process: %w", err)
	}
	defer f.Close()
	name := fmt.Sprintf("echo-%s-%s-%d", id.Namespace, id.Pod, targetPort)
	pr, err := cluster.StartProcess(cluster.ControllerSpec{
		Name: name,
		Command: []string{p.opts.EchoBinary, "--listen-fd=3", "--namespace=" + id.Namespace, "--service=" + id.Service,
			"--pod=" + id.Pod, "--service-port=" + id.ServicePort, "--shutdown-timeout=" + echoStopTimeout.String()},
		LogPath:    filepath.Join(p.dataDir, "logs", name+".log"),
		ExtraFiles: []*os.File{f},
	})
	if err != nil {
		return nil, fmt.Errorf("echo process: %w", err)
	}
	return pr, nil
}

func (p *Provider) releaseAddr(a netip.Addr) {
	if p.network != nil {
		p.network.Release(a)
	} else if p.loopback != nil {
		p.loopback.release(a)
	}
}

func podName(spec cluster.BackendSpec, i int) string { return fmt.Sprintf("%s-%d", spec.Name, i) }

func sliceName(service string) string { return service + "-ingresslab" }

func (p *Provider) ensureNamespace(ctx context.Context, name string) error {
	_, err := p.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

func (p *Provider) createService(ctx context.Context, spec cluster.BackendSpec) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: spec.Labels},
		Spec: corev1.ServiceSpec{
			Type:      corev1.ServiceTypeClusterIP,
			ClusterIP: corev1.ClusterIPNone,
		},
	}
	for _, port := range spec.Ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: port.Name, Port: port.Port, TargetPort: intstr.FromInt32(port.TargetPort), Protocol: corev1.ProtocolTCP,
		})
	}
	if _, err := p.client.CoreV1().Services(spec.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	return nil
}

// publishEndpoints writes the backend's EndpointSlice and (for IP
// endpoints) core/v1 Endpoints from b.Endpoints.
func (p *Provider) publishEndpoints(ctx context.Context, b *cluster.Backend) error {
	spec := b.Spec
	labels := map[string]string{
		discoveryv1.LabelServiceName: spec.Name,
		discoveryv1.LabelManagedBy:   ManagedBy,
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	addrType := discoveryv1.AddressTypeIPv4
	if p.network == nil {
		addrType = discoveryv1.AddressTypeFQDN
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: sliceName(spec.Name), Namespace: spec.Namespace, Labels: labels},
		AddressType: addrType,
	}
	for _, port := range spec.Ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{
			Name: ptr.To(port.Name), Port: ptr.To(port.TargetPort), Protocol: ptr.To(corev1.ProtocolTCP),
		})
	}
	subset := corev1.EndpointSubset{} //nolint:staticcheck // controllers still read core/v1 Endpoints: publish both, as a cluster does
	for _, ep := range b.Endpoints {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{ep.Address.String()},
			Conditions: discoveryv1.EndpointConditions{
				Ready: ptr.To(ep.Conditions.Ready), Serving: ptr.To(ep.Conditions.Serving), Terminating: ptr.To(ep.Conditions.Terminating),
			},
			Hostname: ptr.To(ep.Pod),
		})
		addr := corev1.EndpointAddress{IP: ep.Address.String(), Hostname: ep.Pod}
		if ep.Conditions.Ready {
			subset.Addresses = append(subset.Addresses, addr)
		} else {
			subset.NotReadyAddresses = append(subset.NotReadyAddresses, addr)
		}
	}
	for _, port := range spec.Ports {
		subset.Ports = append(subset.Ports, corev1.EndpointPort{Name: port.Name, Port: port.TargetPort, Protocol: corev1.ProtocolTCP})
	}
	slices := p.client.DiscoveryV1().EndpointSlices(spec.Namespace)
	if cur, err := slices.Get(ctx, slice.Name, metav1.GetOptions{}); err == nil {
		slice.ResourceVersion = cur.ResourceVersion
		if _, err := slices.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update EndpointSlice %s/%s: %w", spec.Namespace, slice.Name, err)
		}
	} else if apierrors.IsNotFound(err) {
		if _, err := slices.Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create EndpointSlice %s/%s: %w", spec.Namespace, slice.Name, err)
		}
	} else {
		return fmt.Errorf("get EndpointSlice %s/%s: %w", spec.Namespace, slice.Name, err)
	}
	if p.network == nil {
		return nil // core/v1 Endpoints cannot hold loopback addresses
	}
	eps := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: spec.Namespace, Labels: spec.Labels}} //nolint:staticcheck // see above
	if len(subset.Addresses)+len(subset.NotReadyAddresses) > 0 {
		sort.Slice(subset.Addresses, func(i, j int) bool { return subset.Addresses[i].IP < subset.Addresses[j].IP })
		eps.Subsets = []corev1.EndpointSubset{subset} //nolint:staticcheck // see above
	}
	api := p.client.CoreV1().Endpoints(spec.Namespace)
	if cur, err := api.Get(ctx, spec.Name, metav1.GetOptions{}); err == nil {
		eps.ResourceVersion = cur.ResourceVersion
		if _, err := api.Update(ctx, eps, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update Endpoints %s/%s: %w", spec.Namespace, spec.Name, err)
		}
	} else if apierrors.IsNotFound(err) {
		if _, err := api.Create(ctx, eps, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create Endpoints %s/%s: %w", spec.Namespace, spec.Name, err)
		}
	} else {
		return fmt.Errorf("get Endpoints %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	return nil
}

// StartController runs the controller under test as a local process with
// its output in DataDir/logs/<name>.log.
func (p *Provider) StartController(ctx context.Context, spec cluster.ControllerSpec) (*cluster.Process, error) {
	if spec.LogPath == "" {
		spec.LogPath = fmt.Sprintf("%s/logs/%s.log", p.dataDir, spec.Name)
	}
	return cluster.StartProcess(spec)
}
