package translate

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// backendRef is a Service port as a backend names it (tr.backends); a
// resource backend has no service and its whole key as port.
type backendRef struct{ namespace, service, port string }

// key is the Backend.Key of a Service port: "namespace/service:port".
func (b backendRef) key() string { return b.namespace + "/" + b.service + ":" + b.port }

// resolved is a backend shared by every reference to its key, with the
// problem each reference reports.
type resolved struct {
	backend *routing.Backend
	// reason, subfield (appended to the reference's field) and message of
	// the warning; empty reason for none.
	reason, subfield, message string
}

// backend resolves an Ingress backend, reporting its problem (if any) at
// field. It never returns nil.
func (tr *translator) backend(ing *networkingv1.Ingress, ref routing.ObjectRef, ib *networkingv1.IngressBackend, field func() string, warn warnFunc) *routing.Backend {
	ns := ing.Namespace
	invalid := func(subfield, msg string) *routing.Backend {
		warn(field()+subfield, ReasonInvalidBackend, "%s", msg)
		// One backend per reference: the key names the referring field.
		return &routing.Backend{Key: "invalid:" + ref.String() + "@" + field(), Namespace: ns, Unavailable: "invalid backend: " + msg}
	}
	switch {
	case ib.Service != nil && ib.Resource != nil:
		return invalid("", "backend sets both service and resource")
	case ib.Resource != nil:
		res := ib.Resource
		group := ""
		if res.APIGroup != nil {
			group = *res.APIGroup
		}
		key := ns + "/resource:" + group + "/" + res.Kind + "/" + res.Name
		r := tr.backends[backendRef{namespace: ns, port: key}]
		if r == nil {
			msg := fmt.Sprintf("resource backend %s %s/%s is not supported", kindText(group, res.Kind), ns, res.Name)
			r = &resolved{backend: &routing.Backend{Key: key, Namespace: ns, Unavailable: msg},
				reason: ReasonUnsupportedBackend, subfield: ".resource", message: msg}
			tr.backends[backendRef{namespace: ns, port: key}] = r
		}
		warn(field()+r.subfield, r.reason, "%s", r.message)
		return r.backend
	case ib.Service == nil:
		return invalid("", "backend has neither service nor resource")
	}
	sb := ib.Service
	if sb.Name == "" {
		return invalid(".service.name", "service name is empty")
	}
	var port string
	switch {
	case sb.Port.Name != "" && sb.Port.Number != 0:
		return invalid(".service.port", "service port sets both name and number")
	case sb.Port.Name != "":
		port = sb.Port.Name
	case sb.Port.Number > 0 && sb.Port.Number <= 65535:
		port = strconv.Itoa(int(sb.Port.Number))
	default:
		return invalid(".service.port", fmt.Sprintf("service port number %d is out of range (and no name is set)", sb.Port.Number))
	}
	br := backendRef{namespace: ns, service: sb.Name, port: port}
	r := tr.backends[br]
	if r == nil {
		r = tr.resolveService(ns, sb.Name, sb.Port, port, br.key())
		tr.backends[br] = r
	}
	if r.reason != "" {
		warn(field()+r.subfield, r.reason, "%s", r.message)
	}
	return r.backend
}

func kindText(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// resolveService resolves a Service port to endpoints.
func (tr *translator) resolveService(ns, name string, bp networkingv1.ServiceBackendPort, port, key string) *resolved {
	be := &routing.Backend{Key: key, Namespace: ns, Service: name, Port: port}
	r := &resolved{backend: be}
	fail := func(reason, subfield, msg string) *resolved {
		be.Unavailable, r.reason, r.subfield, r.message = msg, reason, subfield, msg
		return r
	}
	svcRef := routing.ObjectRef{Namespace: ns, Name: name}
	svc := tr.services[svcRef]
	if svc == nil {
		return fail(ReasonServiceNotFound, ".service.name", fmt.Sprintf("service %s not found", svcRef))
	}
	sp := servicePort(svc, bp)
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		if !tr.opts.AllowExternalName {
			return fail(ReasonExternalNameNotAllowed, ".service.name",
				fmt.Sprintf("service %s is of type ExternalName, which is not allowed (AllowExternalName is off)", svcRef))
		}
		ext := strings.TrimSuffix(svc.Spec.ExternalName, ".")
		if ext == "" || strings.ContainsAny(ext, " /:[]@") {
			return fail(ReasonInvalidService, ".service.name",
				fmt.Sprintf("service %s has an invalid externalName %q", svcRef, svc.Spec.ExternalName))
		}
		n := bp.Number
		if bp.Name != "" {
			if sp == nil {
				return fail(ReasonServicePortNotFound, ".service.port", fmt.Sprintf("service %s has no port %s", svcRef, port))
			}
			n = sp.Port
		}
		if sp != nil {
			be.Protocol = protocolOf(sp.AppProtocol)
		}
		be.Endpoints = []routing.Endpoint{{Address: net.JoinHostPort(ext, strconv.Itoa(int(n)))}}
		return r
	}
	if sp == nil {
		return fail(ReasonServicePortNotFound, ".service.port", fmt.Sprintf("service %s has no TCP port %s", svcRef, port))
	}
	be.Protocol = protocolOf(sp.AppProtocol)
	if sp.AppProtocol == nil {
		be.Protocol = tr.sliceProtocol(svcRef, sp.Name)
	}
	ready, serving := tr.endpoints(svcRef, sp.Name)
	switch {
	case len(ready) > 0:
		be.Endpoints = ready
	case len(serving) > 0:
		be.Endpoints = serving
	default:
		be.Unavailable = fmt.Sprintf("no ready endpoints for %s:%s", svcRef, port)
	}
	return r
}

// protocolOf maps a port's appProtocol to the upstream protocol:
// "kubernetes.io/h2c", and the unprefixed "h2c" and "grpc", mean HTTP/2
// cleartext with prior knowledge; anything else (nil, "http",
// "kubernetes.io/ws", ...) HTTP/1.1. Values naming TLS to the upstream
// ("https", "kubernetes.io/wss") are not supported and also mean HTTP/1.1.
func protocolOf(appProtocol *string) routing.Protocol {
	if appProtocol == nil {
		return routing.ProtocolHTTP1
	}
	switch strings.ToLower(*appProtocol) {
	case "kubernetes.io/h2c", "h2c", "grpc":
		return routing.ProtocolH2C
	}
	return routing.ProtocolHTTP1
}

// sliceProtocol is the protocol of the first EndpointSlice port named
// portName that sets appProtocol (slices copy it from the Service port,
// and a custom slice may set it alone), by slice name.
func (tr *translator) sliceProtocol(svcRef routing.ObjectRef, portName string) routing.Protocol {
	for _, es := range tr.slices[svcRef] {
		for _, p := range es.Ports {
			if p.AppProtocol != nil && (p.Name == nil && portName == "" || p.Name != nil && *p.Name == portName) {
				return protocolOf(p.AppProtocol)
			}
		}
	}
	return routing.ProtocolHTTP1
}

// servicePort finds the TCP Service port by number or name.
func servicePort(svc *corev1.Service, bp networkingv1.ServiceBackendPort) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		if bp.Name != "" && sp.Name == bp.Name || bp.Name == "" && sp.Port == bp.Number {
			return sp
		}
	}
	return nil
}

// endpoints collects the ready and the serving-but-terminating endpoints of
// a Service port (identified by the Service port's name) from its slices,
// each sorted and deduplicated.
func (tr *translator) endpoints(svcRef routing.ObjectRef, portName string) (ready, serving []routing.Endpoint) {
	for _, es := range tr.slices[svcRef] {
		port := slicePort(es, portName)
		if port == 0 {
			continue
		}
		ps := strconv.Itoa(int(port))
		for i := range es.Endpoints {
			ep := &es.Endpoints[i]
			if len(ep.Addresses) == 0 {
				continue
			}
			host, ok := dialHost(es.AddressType, ep.Addresses[0])
			if !ok {
				tr.warn("EndpointSlice", refOf(&es.ObjectMeta), "endpoints["+strconv.Itoa(i)+"].addresses[0]", ReasonInvalidAddress,
					fmt.Sprintf("address %q is not a valid %s address; endpoint skipped", ep.Addresses[0], es.AddressType))
				continue
			}
			c := ep.Conditions
			isReady := c.Ready == nil || *c.Ready
			isTerminating := c.Terminating != nil && *c.Terminating
			isServing := isReady
			if c.Serving != nil {
				isServing = *c.Serving
			}
			addr := net.JoinHostPort(host, ps)
			switch {
			case isReady && !isTerminating:
				ready = append(ready, routing.Endpoint{Address: addr})
			case isTerminating && isServing:
				serving = append(serving, routing.Endpoint{Address: addr, Terminating: true})
			}
		}
	}
	return sortEndpoints(ready), sortEndpoints(serving)
}

func sortEndpoints(eps []routing.Endpoint) []routing.Endpoint {
	slices.SortFunc(eps, func(a, b routing.Endpoint) int { return cmp.Compare(a.Address, b.Address) })
	return slices.CompactFunc(eps, func(a, b routing.Endpoint) bool { return a.Address == b.Address })
}

// slicePort returns the number of the slice's TCP port named name ("" for
// the unnamed port), or 0.
func slicePort(es *discoveryv1.EndpointSlice, name string) int32 {
	for _, p := range es.Ports {
		pn := ""
		if p.Name != nil {
			pn = *p.Name
		}
		if pn != name || p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP || p.Port == nil {
			continue
		}
		if n := *p.Port; n > 0 && n <= 65535 {
			return n
		}
	}
	return 0
}

// dialHost validates an endpoint address of the slice's type and returns
// the host part to dial (canonical IP text, or an FQDN as is).
func dialHost(t discoveryv1.AddressType, addr string) (string, bool) {
	ip, err := netip.ParseAddr(addr)
	isIP := err == nil && ip.Zone() == ""
	switch t {
	case discoveryv1.AddressTypeIPv4:
		return ip.String(), isIP && ip.Is4()
	case discoveryv1.AddressTypeIPv6:
		return ip.String(), isIP && ip.Is6()
	case discoveryv1.AddressTypeFQDN:
		if isIP {
			return ip.String(), true
		}
		return addr, validFQDN(addr)
	}
	return "", false
}

// validFQDN accepts a dialable host name: letters, digits, '-', '.', '_'.
func validFQDN(s string) bool {
	if s == "" || len(s) > 254 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}
