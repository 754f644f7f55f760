package translate

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// Annotation warning reasons added by the translation (the parser's own
// reasons, annotations.Reason*, are passed through).
const (
	// ReasonAnnotationNotApplied: the annotation is valid but the reference
	// controller's data plane does not apply its feature yet. Security
	// features (auth-url) are not silently dropped: the Ingress is denied (503).
	ReasonAnnotationNotApplied = "AnnotationNotApplied"
)

// policy parses the annotations of one of our Ingresses in the configured
// dialect, reports the parser's warnings (Field metadata.annotations[key])
// and returns the Policy to attach to every route of the Ingress, or nil
// when no applied feature is configured (the data plane's fast path).
func (tr *translator) policy(ing *networkingv1.Ingress, ref routing.ObjectRef) (*annotations.Policy, *routing.BasicAuth) {
	if len(ing.Annotations) == 0 {
		return nil, nil
	}
	d := tr.opts.AnnotationDialect
	pol, ws := annotations.ParseIngress(ing, annotations.Options{Dialect: d})
	for _, w := range ws {
		tr.warn("Ingress", ref, annotationField(w.Annotation), w.Reason, w.Message)
	}
	d = pol.Dialect
	notApplied := func(name, msg string) {
		tr.warn("Ingress", ref, annotationField(d.Key(name)), ReasonAnnotationNotApplied, msg)
	}
	// Features parsed but not applied by the data plane yet. External auth fails
	// closed; the others are reported and ignored.
	var auth *routing.BasicAuth
	if pol.BasicAuth != nil {
		auth = tr.basicAuth(&pol, ref)
	}
	if pol.ExternalAuth != nil {
		notApplied("auth-url", "external authentication is not implemented by the data plane yet; every path of the Ingress is denied (503) rather than served unprotected")
		pol.ExternalAuth = nil
		if pol.Denied == nil {
			pol.Denied = &annotations.Denial{Annotation: "auth-url", Reason: "external authentication not implemented"}
		}
	}
	if rw := pol.Rewrite; rw != nil {
		var regexPaths []string
		for p := range rw.Paths {
			if strings.ContainsAny(p, `*+?()[]{}|\^$`) {
				regexPaths = append(regexPaths, strconv.Quote(p))
			}
		}
		if len(regexPaths) > 0 {
			slices.Sort(regexPaths)
			name := "use-regex"
			if rw.Target != nil {
				name = "rewrite-target"
			}
			notApplied(name, "regular-expression matching of paths is not implemented yet: path(s) "+
				strings.Join(regexPaths, ", ")+" are matched literally, so their capture groups never match")
		}
	}
	ignored := []struct {
		set  bool
		name string
		what string
	}{
		{pol.Backend != nil, "backend-protocol", "backend protocols and upstream TLS"},
		{pol.CustomHeaders != nil, "custom-headers", "custom response headers"},
		{len(pol.ServerAliases) > 0, "server-alias", "server aliases"},
		{pol.DefaultBackend != "", "default-backend", "the default-backend annotation"},
		{pol.Timeouts.Send != 0, "proxy-send-timeout", "proxy-send-timeout"},
	}
	for _, f := range ignored {
		if f.set {
			notApplied(f.name, f.what+" is not implemented by the data plane yet; ignored")
		}
	}
	pol.Backend = nil
	pol.CustomHeaders, pol.ServerAliases, pol.DefaultBackend = nil, nil, ""
	pol.Timeouts.Send = 0
	if reflect.DeepEqual(pol, annotations.Policy{Dialect: pol.Dialect}) {
		return nil, nil
	}
	return &pol, auth
}

// basicAuth resolves the htpasswd Secret of pol.BasicAuth. A missing or
// unusable Secret denies the Ingress (503) with a warning on auth-secret.
func (tr *translator) basicAuth(pol *annotations.Policy, ref routing.ObjectRef) *routing.BasicAuth {
	ba := pol.BasicAuth
	field := annotationField(pol.Dialect.Key("auth-secret"))
	fail := func(reason, msg string) *routing.BasicAuth {
		tr.warn("Ingress", ref, field, reason, msg+"; every path of the Ingress is denied (503)")
		if pol.Denied == nil {
			pol.Denied = &annotations.Denial{Annotation: "auth-secret", Reason: msg}
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
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		rf := "spec.rules[" + strconv.Itoa(i) + "]"
		host, err := routing.CanonicalHost(rule.Host)
		if err != nil {
			warn(rf+".host", ReasonInvalidHost, "%v; rule skipped", err)
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
			be := tr.backend(ing, ref, &p.Backend, pf+".backend", warn)
			main.Canary = &routing.Canary{Ingress: ref, Backend: be, Rule: pol.Canary}
			if main.Policy == nil {
				// The data plane chooses canaries on its policy branch.
				main.Policy = &annotations.Policy{Dialect: pol.Dialect}
			}
		}
	}
}
