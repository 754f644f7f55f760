package translate

import (
	"fmt"
	"reflect"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// Annotation warning reasons added by the translation (the parser's own
// reasons, annotations.Reason*, are passed through).
const (
	// ReasonAnnotationNotApplied: the annotation is valid but the reference
	// controller's data plane does not apply its feature. Every parsed
	// feature is applied at present; the reason is kept for the next one
	// (a security feature must deny the Ingress instead of being dropped).
	ReasonAnnotationNotApplied = "AnnotationNotApplied"
)

// policy parses the annotations of one of our Ingresses in the configured
// dialect, reports the parser's warnings (Field metadata.annotations[key]),
// resolves what they reference and returns the parsed Policy (which the
// canary handling reads) and the routing.Policy to attach to every route of
// the Ingress; both are nil when no applied feature is configured (the data
// plane's fast path).
func (tr *translator) policy(ing *networkingv1.Ingress, ref routing.ObjectRef) (*annotations.Policy, *routing.Policy) {
	if len(ing.Annotations) == 0 {
		return nil, nil
	}
	d := tr.dialectOf(ing)
	pol, ws := annotations.ParseIngress(ing, annotations.Options{Dialect: d})
	for _, w := range ws {
		tr.warn("Ingress", ref, annotationField(w.Annotation), w.Reason, w.Message)
	}
	var auth *routing.BasicAuth
	if pol.BasicAuth != nil {
		auth = tr.basicAuth(&pol, ref)
		if auth != nil && d == annotations.DialectNginx {
			// As ingress-nginx: the backend does not see the credentials.
			auth.RemoveCredentials = true
		}
	}
	// External auth (auth-url) needs nothing resolved.
	if pol.ClientAuth != nil {
		tr.resolveClientAuth(&pol, ref) // auth-tls-* (clientauth.go)
	}
	tr.resolveUpstream(&pol, ref)    // backend-protocol and upstream TLS (upstream.go)
	tr.resolveExtras(&pol, ing, ref) // regex paths, server-alias, default-backend, custom-headers
	if reflect.DeepEqual(pol, annotations.Policy{Dialect: pol.Dialect}) {
		return nil, nil
	}
	rp := RoutePolicy(&pol)
	rp.BasicAuth = auth
	if pol.BasicAuth != nil && auth == nil && rp.Denied == nil {
		// Not reachable (basicAuth denies when it cannot resolve), but
		// without users the route would be open: fail closed regardless.
		rp.Denied = &routing.Denial{Annotation: "auth-secret", Reason: "basic auth users not resolved"}
	}
	if ex := tr.extras[ref]; ex != nil {
		rp.ResponseHeaders = ex.headers
		if rp.ErrorPages != nil {
			rp.ErrorPages.Backend = ex.defaultBackend
		}
	}
	return &pol, rp
}

// basicAuth resolves the htpasswd Secret of pol.BasicAuth. A missing or
// unusable Secret denies the Ingress (503) with a warning on auth-secret.
func (tr *translator) basicAuth(pol *annotations.Policy, ref routing.ObjectRef) *routing.BasicAuth {
	ba := pol.BasicAuth
	field := annotationField(pol.Dialect.Key("auth-secret"))
	fail := func(reason, msg string) *routing.BasicAuth {
		tr.warn("Ingress", ref, field, reason, msg+"; every path of the Ingress is denied (503)")
		if pol.Denied == nil {
			pol.Denied = &routing.Denial{Annotation: "auth-secret", Reason: msg}
		}
		return nil
	}
	sref := routing.ObjectRef{Namespace: ba.Secret.Namespace, Name: ba.Secret.Name}
	sec := tr.secrets[sref]
	if sec == nil {
		return fail(ReasonSecretNotFound, fmt.Sprintf("secret %s not found (the controller must watch it: see the package documentation)", sref))
	}
	var auth *routing.BasicAuth
	var err error
	if ba.SecretType == "auth-map" {
		users := make(map[string]string, len(sec.Data))
		for k, v := range sec.Data {
			users[k] = string(v)
		}
		auth, err = routing.NewBasicAuthMap(ba.Realm, users)
	} else {
		data, ok := sec.Data["auth"]
		if !ok {
			return fail(ReasonInvalidSecret, fmt.Sprintf("secret %s has no key \"auth\"", sref))
		}
		auth, err = routing.NewBasicAuth(ba.Realm, data)
	}
	if err != nil {
		return fail(ReasonInvalidSecret, fmt.Sprintf("secret %s: %v", sref, err))
	}
	return auth
}

// annotationField is the warning Field of an annotation key.
func annotationField(key string) string { return "metadata.annotations[" + key + "]" }

// canaryIngress is a canary Ingress waiting for the main Ingresses.
type canaryIngress struct {
	ing *networkingv1.Ingress
	ref routing.ObjectRef
	pol *annotations.Policy
}

// ReasonNoMainIngress: a canary Ingress's path has no route of a
// non-canary Ingress to attach to (or that route already has a canary).
const ReasonNoMainIngress = "NoMainIngress"

// canary attaches a canary Ingress's paths, as alternative backends, to the
// routes of the non-canary Ingresses with the same host, path type and path
// (added before: every canary is processed after every main Ingress). Its
// other parts (default backend, TLS) are not used.
func (tr *translator) canary(ing *networkingv1.Ingress, ref routing.ObjectRef, pol *annotations.Policy) {
	warn := func(field, reason, format string, args ...any) {
		tr.warn("Ingress", ref, field, reason, fmt.Sprintf(format, args...))
	}
	cr := CanaryRule(pol.Canary) // shared by the Ingress's canaries
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		rf := "spec.rules[" + strconv.Itoa(i) + "]"
		host, err := routing.CanonicalHost(rule.Host)
		if err != nil {
			warn(rf+".host", ReasonInvalidHost, "%v; rule skipped", err)
			continue
		}
		if tr.foreignHost(host, ref, func() string { return rf + ".host" }, "canary rule skipped", warn) {
			continue
		}
		if rule.HTTP == nil {
			continue
		}
		for j := range rule.HTTP.Paths {
			p := &rule.HTTP.Paths[j]
			pf := rf + ".http.paths[" + strconv.Itoa(j) + "]"
			pt, ok := pathType(p.PathType)
			if !ok {
				warn(pf+".pathType", ReasonInvalidPathType, "missing or unsupported pathType; path skipped")
				continue
			}
			path, err := validatePath(pt, p.Path)
			if err != nil {
				warn(pf+".path", ReasonInvalidPath, "%v; path skipped", err)
				continue
			}
			main := tr.b.Lookup(host, pt, path)
			switch {
			case main == nil:
				warn(pf, ReasonNoMainIngress, "canary path: no non-canary Ingress routes host %q %s path %q; path skipped", host, pt, path)
				continue
			case main.Canary != nil:
				warn(pf, ReasonNoMainIngress, "canary path: host %q %s path %q already has the canary ingress %s; path skipped", host, pt, path, main.Canary.Ingress)
				continue
			}
			be := tr.backend(ing, ref, &p.Backend, func() string { return pf + ".backend" }, warn)
			main.Canary = &routing.Canary{Ingress: ref, Backend: be, Rule: cr}
			if main.Policy == nil {
				// The data plane chooses canaries on its policy branch.
				main.Policy = &routing.Policy{}
			}
		}
	}
}
