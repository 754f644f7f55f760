package translate

import (
	"fmt"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// resolveUpstream turns pol.Backend (backend-protocol and proxy-ssl-*) into
// the routing.Upstream of the Ingress's routes, recorded in tr.upstreams
// for routeUpstream. proxy-ssl-secret is read from the snapshot's Secrets;
// when it is missing or unusable the Ingress is denied (503, as
// ingress-nginx denies the location) with a warning on proxy-ssl-secret,
// and no Upstream is recorded.
func (tr *translator) resolveUpstream(pol *annotations.Policy, ref routing.ObjectRef) {
	b := pol.Backend
	if b == nil {
		return
	}
	up := &routing.Upstream{}
	switch b.Protocol {
	case annotations.ProtocolGRPC, annotations.ProtocolH2C:
		up.Protocol = routing.UpstreamH2C
	case annotations.ProtocolHTTPS:
		up.Protocol = routing.UpstreamHTTPS
	case annotations.ProtocolGRPCS:
		up.Protocol = routing.UpstreamH2
	default:
		up.Protocol = routing.UpstreamHTTP1
	}
	if up.Protocol == routing.UpstreamHTTPS || up.Protocol == routing.UpstreamH2 {
		t, ok := tr.upstreamTLS(pol, ref)
		if !ok {
			return
		}
		up.TLS = t
	}
	if tr.upstreams == nil {
		tr.upstreams = make(map[routing.ObjectRef]*routing.Upstream)
	}
	tr.upstreams[ref] = up
}

// upstreamTLS resolves the proxy-ssl-* options of pol.Backend.TLS (nil:
// every option at its default). ok is false when the Ingress was denied.
func (tr *translator) upstreamTLS(pol *annotations.Policy, ref routing.ObjectRef) (*routing.UpstreamTLS, bool) {
	o := routing.UpstreamTLSOptions{VerifyDepth: annotations.DefaultVerifyDepth}
	t := pol.Backend.TLS
	fail := func(reason, msg string) (*routing.UpstreamTLS, bool) {
		tr.warn("Ingress", ref, annotationField(pol.Dialect.Key("proxy-ssl-secret")), reason,
			msg+"; every path of the Ingress is denied (503)")
		if pol.Denied == nil {
			pol.Denied = &routing.Denial{Annotation: "proxy-ssl-secret", Reason: msg}
		}
		return nil, false
	}
	if t != nil {
		o.Verify, o.ServerName, o.SNI, o.VerifyDepth = t.Verify, t.ServerName, t.SNI, t.VerifyDepth
		if t.Secret != nil {
			sref := routing.ObjectRef{Namespace: t.Secret.Namespace, Name: t.Secret.Name}
			sec := tr.secrets[sref]
			if sec == nil {
				return fail(ReasonSecretNotFound, fmt.Sprintf("secret %s not found (the controller must watch it: see the package documentation)", sref))
			}
			o.CA, o.Cert, o.Key = sec.Data["ca.crt"], sec.Data["tls.crt"], sec.Data["tls.key"]
			if len(o.CA) == 0 && len(o.Cert) == 0 {
				return fail(ReasonInvalidSecret, fmt.Sprintf("secret %s has neither ca.crt nor tls.crt", sref))
			}
			u, err := routing.NewUpstreamTLS(o)
			if err != nil {
				return fail(ReasonInvalidSecret, fmt.Sprintf("secret %s: %v", sref, err))
			}
			return u, true
		}
	}
	u, err := routing.NewUpstreamTLS(o)
	if err != nil {
		// Not reachable: the parser denies verification without a Secret.
		tr.warn("Ingress", ref, annotationField(pol.Dialect.Key("proxy-ssl-verify")), annotations.ReasonInvalid,
			err.Error()+"; every path of the Ingress is denied (503)")
		if pol.Denied == nil {
			pol.Denied = &routing.Denial{Annotation: "proxy-ssl-verify", Reason: err.Error()}
		}
		return nil, false
	}
	return u, true
}

// routeUpstream sets r.Upstream for a route of r.Ingress.
func (tr *translator) routeUpstream(r *routing.Route) {
	r.Upstream = tr.upstreams[r.Ingress]
}
