package translate

import (
	"fmt"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// ReasonClientAuthConflict: a host already has client certificate
// authentication from an earlier Ingress; this Ingress's auth-tls-* do not
// apply to it.
const ReasonClientAuthConflict = "ClientAuthConflict"

// clientAuth is an Ingress's resolved client certificate authentication,
// set on its hosts by setClientAuth.
type clientAuth struct {
	ca    *routing.ClientAuth
	field string // the auth-tls-secret annotation's warning field
}

// resolveClientAuth resolves the CA Secret of pol.ClientAuth and keeps the
// result for the Ingress's hosts (auth-tls is host scope: it leaves the
// route policy). A missing or unusable Secret denies the Ingress (503).
func (tr *translator) resolveClientAuth(pol *annotations.Policy, ref routing.ObjectRef) {
	c := pol.ClientAuth
	pol.ClientAuth = nil
	field := annotationField(pol.Dialect.Key("auth-tls-secret"))
	fail := func(reason, msg string) {
		tr.warn("Ingress", ref, field, reason, msg+"; every path of the Ingress is denied (503)")
		if pol.Denied == nil {
			pol.Denied = &routing.Denial{Annotation: "auth-tls-secret", Reason: msg}
		}
	}
	sref := routing.ObjectRef{Namespace: c.Secret.Namespace, Name: c.Secret.Name}
	sec := tr.secrets[sref]
	if sec == nil {
		fail(ReasonSecretNotFound, fmt.Sprintf("secret %s not found (the controller must watch it: see the package documentation)", sref))
		return
	}
	pem, ok := sec.Data["ca.crt"]
	if !ok {
		fail(ReasonInvalidSecret, fmt.Sprintf("secret %s has no key \"ca.crt\"", sref))
		return
	}
	ca, err := routing.NewClientAuth(routing.ClientAuthOptions{
		Secret: sref, CA: pem, Verify: c.Verify, Depth: c.Depth,
		PassCertificate: c.PassCertificate, ErrorPage: c.ErrorPage, MatchCN: c.MatchCN,
	})
	if err != nil {
		fail(ReasonInvalidSecret, fmt.Sprintf("secret %s: %v", sref, err))
		return
	}
	if tr.clientAuths == nil {
		tr.clientAuths = make(map[routing.ObjectRef]clientAuth)
	}
	tr.clientAuths[ref] = clientAuth{ca: ca, field: field}
}

// setClientAuth gives the Ingress's hosts its client certificate
// authentication; a host that has one from an earlier Ingress keeps it.
func (tr *translator) setClientAuth(ref routing.ObjectRef, hosts []string, warn warnFunc) {
	c, ok := tr.clientAuths[ref]
	if !ok {
		return
	}
	for _, h := range hosts {
		if !tr.b.SetClientAuth(h, c.ca) {
			warn(c.field, ReasonClientAuthConflict, "host %q already has client certificate authentication from an earlier Ingress; this Ingress's is not applied to it", h)
		}
	}
}
