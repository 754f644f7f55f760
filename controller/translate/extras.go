package translate

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// extras is what an Ingress's annotations change in its routes that needs
// resolving or differs per path: regex paths and rewrites, server aliases,
// the default-backend Service and custom response headers. Computed once
// per Ingress by resolveExtras (from policy), read by policy, ingress and
// path.
type extras struct {
	// regex maps each path as written to its expression (use-regex or
	// rewrite-target); nil when the Ingress is not in regex mode.
	regex map[string]*annotations.Regex
	// target is the compiled rewrite-target; nil without.
	target *routing.Template
	// aliases are the server-alias hosts that no other Ingress has as a
	// rule host, canonical.
	aliases []string
	// claimed are all the valid server-alias hosts, used or not (Update
	// must not patch a host an alias names).
	claimed []string
	// defaultBackend is the default-backend annotation's Service (first
	// TCP port), nil without or when it does not exist.
	defaultBackend *routing.Backend
	// headers are the custom-headers response headers.
	headers http.Header
	// www is from-to-www-redirect.
	www bool
}

// resolveExtras resolves the routing parts of pol for the Ingress and
// records them in tr.extras, then removes from pol what only the
// translation needs (server aliases, the default-backend name, regex mode
// without rewrite-target), so that an Ingress whose only annotations are
// those keeps the data plane's fast path.
func (tr *translator) resolveExtras(pol *annotations.Policy, ing *networkingv1.Ingress, ref routing.ObjectRef) {
	ex := &extras{}
	field := func(name string) string { return annotationField(pol.Dialect.Key(name)) }
	if rw := pol.Rewrite; rw != nil {
		ex.regex = rw.Paths
		ex.target = rewriteTarget(pol)
		if rw.Target == nil {
			pol.Rewrite = nil // matching only: the routes carry the expressions
		}
	}
	var own []string
	if len(pol.ServerAliases) > 0 {
		for i := range ing.Spec.Rules {
			if h, err := routing.CanonicalHost(ing.Spec.Rules[i].Host); err == nil {
				own = append(own, h)
			}
		}
	}
	for _, a := range pol.ServerAliases {
		h, err := routing.CanonicalHost(a)
		if err != nil || h == "" {
			tr.warn("Ingress", ref, field("server-alias"), annotations.ReasonInvalid, fmt.Sprintf("alias %q: %v; alias not used", a, err))
			continue
		}
		ex.claimed = append(ex.claimed, h)
		if slices.Contains(own, h) {
			continue // already one of the Ingress's hosts
		}
		if owner, ok := tr.ruleHosts[h]; ok {
			tr.warn("Ingress", ref, field("server-alias"), ReasonServerAliasConflict,
				fmt.Sprintf("alias %q is a rule host of ingress %s; the real host wins and the alias is not used", h, owner))
			continue
		}
		if !slices.Contains(ex.aliases, h) {
			ex.aliases = append(ex.aliases, h)
		}
	}
	if name := pol.DefaultBackend; name != "" {
		ex.defaultBackend = tr.annotationDefaultBackend(ing.Namespace, name, ref, field("default-backend"))
	}
	if cm := pol.CustomHeaders; cm != nil {
		ex.headers = tr.customHeaders(*cm, ref, field("custom-headers"))
		if ex.headers == nil {
			pol.CustomHeaders = nil
		}
	}
	ex.www = pol.FromToWWWRedirect
	// load-balance: round_robin is the data plane's balancing, and ewma is
	// served as round_robin (a documented difference).
	pol.ServerAliases, pol.DefaultBackend, pol.FromToWWWRedirect, pol.LoadBalance = nil, "", false, ""
	if tr.extras == nil {
		tr.extras = make(map[routing.ObjectRef]*extras)
	}
	tr.extras[ref] = ex
}

// annotationDefaultBackend resolves the default-backend annotation: a
// Service in the Ingress's namespace, its first TCP port (as ingress-nginx
// uses the Service's first port).
func (tr *translator) annotationDefaultBackend(ns, name string, ref routing.ObjectRef, field string) *routing.Backend {
	svcRef := routing.ObjectRef{Namespace: ns, Name: name}
	svc := tr.services[svcRef]
	var port *corev1.ServicePort
	if svc != nil {
		for i := range svc.Spec.Ports {
			if p := &svc.Spec.Ports[i]; p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				port = p
				break
			}
		}
	}
	if port == nil {
		msg := fmt.Sprintf("service %s not found", svcRef)
		if svc != nil {
			msg = fmt.Sprintf("service %s has no TCP port", svcRef)
		}
		tr.warn("Ingress", ref, field, ReasonDefaultBackendNotFound, msg+"; the default-backend annotation is not applied")
		return nil
	}
	p := strconv.Itoa(int(port.Port))
	br := backendRef{namespace: ns, service: name, port: p}
	r := tr.backends[br]
	if r == nil {
		r = tr.resolveService(ns, name, networkingv1.ServiceBackendPort{Number: port.Port}, p, br.key())
		tr.backends[br] = r
	}
	if r.reason != "" {
		tr.warn("Ingress", ref, field, r.reason, r.message+"; the default-backend annotation is not applied")
		return nil
	}
	return r.backend
}

// customHeaders reads and validates the custom-headers ConfigMap; nil (with
// a warning) when it is missing or any entry is invalid.
func (tr *translator) customHeaders(cm annotations.ObjectRef, ref routing.ObjectRef, field string) http.Header {
	obj := tr.configMaps[routing.ObjectRef{Namespace: cm.Namespace, Name: cm.Name}]
	if obj == nil {
		tr.warn("Ingress", ref, field, ReasonConfigMapNotFound, fmt.Sprintf("ConfigMap %s not found; no custom headers are added", cm))
		return nil
	}
	hs, err := annotations.ParseHeaders(cm, obj.Data)
	if err != nil {
		tr.warn("Ingress", ref, field, ReasonInvalidConfigMap, err.Error()+"; the ConfigMap is ignored as a whole")
		return nil
	}
	if len(hs) == 0 {
		return nil
	}
	out := make(http.Header, len(hs))
	for _, h := range hs {
		out[h.Name] = []string{h.Value}
	}
	return out
}

// pathRegex is the expression of a Prefix or ImplementationSpecific path
// (as written) of an Ingress in regex mode, else nil.
func (tr *translator) pathRegex(ref routing.ObjectRef, pt routing.PathType, rawPath string) *regexp.Regexp {
	ex := tr.extras[ref]
	if ex == nil || ex.regex == nil || pt == routing.PathExact {
		return nil
	}
	if re := ex.regex[rawPath]; re != nil {
		return re.Regexp()
	}
	return nil
}

// pathRewrite is the rewrite of a path of an Ingress with rewrite-target:
// the path's expression (an Exact path's too: only its matching stays
// exact) and the target; nil without.
func (tr *translator) pathRewrite(ref routing.ObjectRef, path string) *routing.Rewrite {
	ex := tr.extras[ref]
	if ex == nil || ex.target == nil {
		return nil
	}
	if re := ex.regex[path]; re != nil {
		return &routing.Rewrite{Regex: re.Regexp(), Target: ex.target}
	}
	return nil
}

// routeExtras completes a path or default route of the Ingress r.Ingress:
// the default-backend Service in place of a backend without endpoints.
// (The error backend and the response headers are in the Policy.)
func (tr *translator) routeExtras(r *routing.Route) {
	ex := tr.extras[r.Ingress]
	if ex == nil {
		return
	}
	if db := ex.defaultBackend; db != nil {
		if (r.Backend == nil || len(r.Backend.Endpoints) == 0) && len(db.Endpoints) > 0 {
			r.Backend = db
		}
	}
}

// indexRuleHosts records, for server-alias conflicts, the Ingress that
// first has each rule host (canary Ingresses, with canary "true" in their
// dialect, excluded: they add no hosts).
func (tr *translator) indexRuleHosts(ours []*networkingv1.Ingress) {
	tr.ruleHosts = make(map[string]routing.ObjectRef, len(ours))
	for _, ing := range ours {
		if ing.Annotations[tr.dialectOf(ing).Key("canary")] == "true" {
			continue
		}
		ref := refOf(&ing.ObjectMeta)
		for i := range ing.Spec.Rules {
			if h, err := routing.CanonicalHost(ing.Spec.Rules[i].Host); err == nil && h != "" {
				if _, ok := tr.ruleHosts[h]; !ok {
					tr.ruleHosts[h] = ref
				}
			}
		}
	}
}

// aliasRoutes adds the paths of the Ingress's rules with a host again under
// each server alias.
func (tr *translator) aliasRoutes(ing *networkingv1.Ingress, ref routing.ObjectRef, pol *routing.Policy, warn warnFunc) []string {
	ex := tr.extras[ref]
	if ex == nil || len(ex.aliases) == 0 {
		return nil
	}
	for _, alias := range ex.aliases {
		for i := range ing.Spec.Rules {
			rule := &ing.Spec.Rules[i]
			if rule.Host == "" || rule.HTTP == nil {
				continue
			}
			if _, err := routing.CanonicalHost(rule.Host); err != nil {
				continue
			}
			for j := range rule.HTTP.Paths {
				pf := func() string { return "spec.rules[" + strconv.Itoa(i) + "].http.paths[" + strconv.Itoa(j) + "]" }
				tr.path(ing, ref, pol, alias, &rule.HTTP.Paths[j], pf, warn)
			}
		}
	}
	return ex.aliases
}

// wwwRoutes adds, for from-to-www-redirect, the counterpart of each rule
// host ("www." added or removed) answering 308 to the rule host, unless an
// Ingress has it as a rule host or it is one of hosts (the Ingress's rule
// hosts and aliases). A wildcard host has no counterpart.
func (tr *translator) wwwRoutes(ing *networkingv1.Ingress, ref routing.ObjectRef, hosts []string) {
	ex := tr.extras[ref]
	if ex == nil || !ex.www {
		return
	}
	for _, h := range hosts {
		if h == "" || strings.HasPrefix(h, "*.") {
			continue
		}
		w, isWWW := strings.CutPrefix(h, "www.")
		if !isWWW {
			w = "www." + h
		}
		if _, taken := tr.ruleHosts[w]; taken || slices.Contains(hosts, w) || !slices.ContainsFunc(ing.Spec.Rules, func(r networkingv1.IngressRule) bool {
			c, err := routing.CanonicalHost(r.Host)
			return err == nil && c == h
		}) {
			continue
		}
		r := &routing.Route{Ingress: ref, Host: w, Path: "/", PathType: routing.PathPrefix,
			Policy: &routing.Policy{HostRedirect: h, HostRedirectServerPort: tr.dialectOf(ing) == annotations.DialectNginx}, Backend: &routing.Backend{Key: "redirect/" + w, Namespace: ref.Namespace, Unavailable: "from-to-www-redirect"}}
		if tr.b.Conflict(r) != nil {
			continue
		}
		_ = tr.b.AddRoute(r) // the host is a valid rule host's counterpart
	}
}
