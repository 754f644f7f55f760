package translate

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/annotations"
	"github.com/ingresslab/ingresslab/controller/routing"
)

// translator holds the state of one Translate call.
type translator struct {
	opts     Options
	services map[routing.ObjectRef]*corev1.Service
	slices   map[routing.ObjectRef][]*discoveryv1.EndpointSlice // by Service
	secrets  map[routing.ObjectRef]*corev1.Secret
	// configMaps by namespace/name (custom-headers, IngressClass
	// parameters).
	configMaps map[routing.ObjectRef]*corev1.ConfigMap
	// dialects is the annotation dialect of each of our Ingresses whose
	// IngressClass parameters set one (classparams.go).
	dialects map[*networkingv1.Ingress]annotations.Dialect
	// extras are the resolved routing parts of each Ingress's annotations;
	// ruleHosts the first Ingress of every rule host (extras.go).
	extras map[routing.ObjectRef]*extras
	// clientAuths are the resolved auth-tls-* of each Ingress that sets
	// them (clientauth.go).
	clientAuths map[routing.ObjectRef]clientAuth
	// upstreams is the backend-protocol of each Ingress that sets one
	// (upstream.go).
	upstreams map[routing.ObjectRef]*routing.Upstream
	ruleHosts map[string]routing.ObjectRef

	b        *routing.Builder
	backends map[backendRef]*resolved
	certs    map[routing.ObjectRef]*parsedCert
	// certSource records which Secret (and Ingress) gave a host its certificate.
	certSource map[string]certOwner
	warnings   []Warning
}

// Translate builds the routing table, status updates and warnings for snap.
// It never panics on any input and never modifies it.
func Translate(snap *Snapshot, opts Options) Result {
	if snap == nil {
		snap = &Snapshot{}
	}
	tr := &translator{
		opts:       opts.withDefaults(),
		b:          routing.NewBuilder(),
		backends:   make(map[backendRef]*resolved),
		certs:      make(map[routing.ObjectRef]*parsedCert),
		certSource: make(map[string]certOwner),
	}
	tr.index(snap)
	ours := tr.selectOurs(snap)
	m := tr.newMemo(snap, ours) // for Update (incremental.go)
	tr.indexRuleHosts(ours)
	tr.b.Grow(len(tr.ruleHosts) + 1)
	var canaries []canaryIngress
	for _, ing := range ours {
		ref := refOf(&ing.ObjectMeta)
		from := len(tr.warnings)
		pol, rp := tr.policy(ing, ref)
		m.claim(tr, ing, ref, pol != nil && pol.Canary != nil)
		if pol != nil && pol.Canary != nil {
			canaries = append(canaries, canaryIngress{ing, ref, pol})
			continue
		}
		tr.ingress(ing, ref, rp)
		m.noteWarnings(ref, tr.warnings[from:])
	}
	for _, c := range canaries {
		tr.canary(c.ing, c.ref, c.pol)
	}
	tr.configuredDefaultBackend()
	res := Result{Table: tr.b.Build(tr.opts.Generation), DefaultCertificate: tr.defaultCertificate()}
	tr.opts.CertCache.retain(tr.certs) // keep what this build used (certcache.go)
	if len(ours) > 0 {
		res.Owned = slices.Clip(ours)
	}
	managed := tr.opts.ManageStatus || len(tr.opts.StatusAddresses) > 0
	res.Statuses = statusUpdates(snap.Ingresses, ours, snap.UniqueIngresses, tr.opts.StatusAddresses, managed)
	res.StatusPlan = newStatusPlan(managed, tr.opts.StatusAddresses, res.Owned, res.Statuses)
	res.Warnings = sortWarnings(tr.warnings)
	res.memo = m
	return res
}

// index builds the lookup maps. The first object of a namespace/name wins.
func (tr *translator) index(snap *Snapshot) {
	tr.services = make(map[routing.ObjectRef]*corev1.Service, len(snap.Services))
	for _, s := range snap.Services {
		if s != nil {
			if ref := refOf(&s.ObjectMeta); tr.services[ref] == nil {
				tr.services[ref] = s
			}
		}
	}
	tr.secrets = make(map[routing.ObjectRef]*corev1.Secret, len(snap.Secrets))
	for _, s := range snap.Secrets {
		if s != nil {
			if ref := refOf(&s.ObjectMeta); tr.secrets[ref] == nil {
				tr.secrets[ref] = s
			}
		}
	}
	tr.configMaps = make(map[routing.ObjectRef]*corev1.ConfigMap, len(snap.ConfigMaps))
	for _, c := range snap.ConfigMaps {
		if c != nil {
			if ref := refOf(&c.ObjectMeta); tr.configMaps[ref] == nil {
				tr.configMaps[ref] = c
			}
		}
	}
	tr.slices = make(map[routing.ObjectRef][]*discoveryv1.EndpointSlice, len(snap.EndpointSlices))
	for _, es := range snap.EndpointSlices {
		if es == nil || es.Labels[LabelServiceName] == "" {
			continue
		}
		ref := routing.ObjectRef{Namespace: es.Namespace, Name: es.Labels[LabelServiceName]}
		tr.slices[ref] = append(tr.slices[ref], es)
	}
	for _, list := range tr.slices {
		slices.SortStableFunc(list, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	}
}

// selectOurs returns our Ingresses, oldest first.
func (tr *translator) selectOurs(snap *Snapshot) []*networkingv1.Ingress {
	ourClasses := make(map[string]*networkingv1.IngressClass)
	haveDefault := false
	defaultClass := "" // the first of our default classes by name
	for _, c := range snap.IngressClasses {
		if c == nil || c.Spec.Controller != tr.opts.ControllerName || ourClasses[c.Name] != nil {
			continue
		}
		ourClasses[c.Name] = c
		if c.Annotations[AnnotationDefaultClass] == "true" {
			haveDefault = true
			if defaultClass == "" || c.Name < defaultClass {
				defaultClass = c.Name
			}
		}
	}
	classDialects := tr.classDialects(ourClasses)
	ours := make([]*networkingv1.Ingress, 0, len(snap.Ingresses))
	var seen map[routing.ObjectRef]bool // the first of duplicates wins
	if !snap.UniqueIngresses {
		seen = make(map[routing.ObjectRef]bool, len(snap.Ingresses))
	}
	for _, ing := range snap.Ingresses {
		if ing == nil {
			continue
		}
		var ref routing.ObjectRef
		if seen != nil {
			if ref = refOf(&ing.ObjectMeta); seen[ref] {
				continue
			}
		}
		var mine bool
		class := "" // the IngressClass whose parameters apply
		if name := ing.Spec.IngressClassName; name != nil && *name != "" {
			mine, class = ourClasses[*name] != nil, *name
		} else if ann, ok := ing.Annotations[AnnotationIngressClass]; ok {
			mine, class = ann == tr.opts.IngressClassName, ann
		} else {
			mine, class = haveDefault || tr.opts.WatchWithoutClass, defaultClass
		}
		if mine {
			if seen != nil {
				seen[ref] = true
			}
			ours = append(ours, ing)
			if d, ok := classDialects[class]; ok {
				if tr.dialects == nil {
					tr.dialects = make(map[*networkingv1.Ingress]annotations.Dialect)
				}
				tr.dialects[ing] = d
			}
		}
	}
	if !slices.IsSortedFunc(ours, CompareIngresses) { // the Source's snapshots are sorted
		slices.SortFunc(ours, CompareIngresses)
	}
	return ours
}

// CompareIngresses is the order in which Translate takes Ingresses, and so
// which of two conflicting ones wins: the older first, as old ones by
// namespace/name.
func CompareIngresses(a, b *networkingv1.Ingress) int {
	if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// ingress adds one Ingress's rules, default backend and TLS.
func (tr *translator) ingress(ing *networkingv1.Ingress, ref routing.ObjectRef, pol *routing.Policy) {
	warn := func(field, reason, format string, args ...any) {
		tr.warn("Ingress", ref, field, reason, fmt.Sprintf(format, args...))
	}
	var hosts []string // valid rule hosts, "" for rules without host
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		// Field paths are built only for a warning (every build translates
		// every Ingress).
		rf := func() string { return "spec.rules[" + strconv.Itoa(i) + "]" }
		host, err := routing.CanonicalHost(rule.Host)
		if err != nil {
			warn(rf()+".host", ReasonInvalidHost, "%v; rule skipped", err)
			continue
		}
		if tr.foreignHost(host, ref, func() string { return rf() + ".host" }, "rule skipped", warn) {
			continue
		}
		if !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
		if rule.HTTP == nil {
			continue
		}
		for j := range rule.HTTP.Paths {
			tr.path(ing, ref, pol, host, &rule.HTTP.Paths[j], func() string { return rf() + ".http.paths[" + strconv.Itoa(j) + "]" }, warn)
		}
	}
	for _, alias := range tr.aliasRoutes(ing, ref, pol, warn) {
		if !slices.Contains(hosts, alias) {
			hosts = append(hosts, alias)
		}
	}
	tr.wwwRoutes(ing, ref, hosts)
	tr.setClientAuth(ref, hosts, warn)
	if db := ing.Spec.DefaultBackend; db != nil {
		tr.defaultBackend(ing, ref, pol, hosts, db, warn)
	} else if len(ing.Spec.Rules) == 0 {
		warn("spec", ReasonEmptyIngress, "the Ingress has neither rules nor a defaultBackend")
	}
	for k := range ing.Spec.TLS {
		tr.tls(ing, ref, hosts, k, warn)
	}
}

// warnFunc reports a warning about the current Ingress.
type warnFunc func(field, reason, format string, args ...any)

// path adds one HTTP path of a rule.
func (tr *translator) path(ing *networkingv1.Ingress, ref routing.ObjectRef, pol *routing.Policy, host string, p *networkingv1.HTTPIngressPath, pf func() string, warn warnFunc) {
	pt, ok := pathType(p.PathType)
	if !ok {
		if p.PathType == nil {
			warn(pf()+".pathType", ReasonInvalidPathType, "pathType is required; path skipped")
		} else {
			warn(pf()+".pathType", ReasonInvalidPathType, "unsupported pathType %q; path skipped", *p.PathType)
		}
		return
	}
	path, err := validatePath(pt, p.Path)
	if err != nil {
		warn(pf()+".path", ReasonInvalidPath, "%v; path skipped", err)
		return
	}
	r := &routing.Route{Ingress: ref, Host: host, Path: path, PathType: pt, Policy: pol,
		Regex: tr.pathRegex(ref, pt, p.Path), Rewrite: tr.pathRewrite(ref, path)}
	if old := tr.b.Conflict(r); old != nil {
		warn(pf(), ReasonDuplicatePath, "host %q %s path %q conflicts with %s %q of %s; path skipped",
			host, pt, path, old.PathType, old.Path, ownerText(old.Ingress, ref))
		return
	}
	r.Backend = tr.backend(ing, ref, &p.Backend, func() string { return pf() + ".backend" }, warn)
	tr.routeExtras(r)
	tr.routeUpstream(r)
	if err := tr.b.AddRoute(r); err != nil {
		// Lookup above makes a duplicate impossible; anything else is a
		// validation gap between this package and routing.
		reason := ReasonInvalidPath
		if errors.Is(err, routing.ErrDuplicateRoute) {
			reason = ReasonDuplicatePath
		}
		warn(pf(), reason, "%v; path skipped", err)
	}
}

// precedence explains why an earlier Ingress keeps what it holds.
const precedence = "which takes precedence (older, or as old and first by namespace/name)"

// ownerText names the Ingress that holds something: "ingress ns/x, which
// takes precedence (...)", or "an earlier rule of this Ingress".
func ownerText(owner, self routing.ObjectRef) string {
	if owner == self {
		return "an earlier rule of this Ingress"
	}
	return "ingress " + owner.String() + ", " + precedence
}

// defaultBackend applies spec.defaultBackend to the table-wide default (if
// still free) and to the Ingress's hosts. The host-less virtual host's default
// and the table-wide default are one slot: both belong to the oldest Ingress
// with a defaultBackend, so a newer Ingress's host-less rules do not take
// over unmatched requests for every host.
func (tr *translator) defaultBackend(ing *networkingv1.Ingress, ref routing.ObjectRef, pol *routing.Policy, hosts []string, db *networkingv1.IngressBackend, warn warnFunc) {
	const field = "spec.defaultBackend"
	r := &routing.Route{Ingress: ref, PathType: routing.PathPrefix, Backend: tr.backend(ing, ref, db, func() string { return field }, warn), Policy: pol}
	tr.routeExtras(r)
	tr.routeUpstream(r)
	tookTable := tr.b.SetDefault(r)
	var named []string
	for _, h := range hosts {
		if h == "" {
			if tookTable {
				tr.b.SetHostDefault("", r)
			}
			continue
		}
		if tr.b.SetHostDefault(h, r) {
			named = append(named, h)
		} else {
			if old := tr.b.HostDefault(h); old != nil && old.Ingress != ref {
				warn(field, ReasonDuplicateDefaultBackend, "the default backend of host %q is already set by ingress %s, %s; not applied to it",
					h, old.Ingress, precedence)
			}
		}
	}
	if !tookTable {
		scope := "it has no effect"
		if len(named) > 0 {
			scope = "it applies only to host(s) " + strings.Join(named, ", ")
		}
		warn(field, ReasonDuplicateDefaultBackend, "the default backend for requests matching no rule is already set by ingress %s, %s; %s",
			tr.b.Default().Ingress, precedence, scope)
	}
}

// configuredDefaultBackend resolves Options.DefaultBackend and makes it the
// table-wide default unless an Ingress's spec.defaultBackend took it. Its
// problems are reported on the Service (Kind "Service"), whether or not it
// is used.
func (tr *translator) configuredDefaultBackend() {
	db := tr.opts.DefaultBackend
	if db == nil {
		return
	}
	svcRef := routing.ObjectRef{Namespace: db.Namespace, Name: db.Service}
	warn := func(reason, msg string) {
		tr.warn("Service", svcRef, "", reason, "default backend: "+msg)
	}
	var port string
	switch p := db.Port; {
	case db.Namespace == "" || db.Service == "":
		warn(ReasonInvalidBackend, fmt.Sprintf("namespace %q and service %q must not be empty; not used", db.Namespace, db.Service))
		return
	case p.Name != "" && p.Number != 0:
		warn(ReasonInvalidBackend, "port sets both name and number; not used")
		return
	case p.Name != "":
		port = p.Name
	case p.Number > 0 && p.Number <= 65535:
		port = strconv.Itoa(int(p.Number))
	default:
		warn(ReasonInvalidBackend, fmt.Sprintf("port number %d is out of range (and no name is set); not used", p.Number))
		return
	}
	br := backendRef{namespace: db.Namespace, service: db.Service, port: port}
	r := tr.backends[br]
	if r == nil {
		r = tr.resolveService(db.Namespace, db.Service, db.Port, port, br.key())
		tr.backends[br] = r
	}
	if r.reason != "" {
		warn(r.reason, r.message)
	}
	// The route has no Ingress: the zero ObjectRef.
	tr.b.SetDefault(&routing.Route{PathType: routing.PathPrefix, Backend: r.backend})
}

// pathType maps the API path type; ImplementationSpecific stays distinct in
// the table (for dumps) but matches as Prefix.
func pathType(p *networkingv1.PathType) (routing.PathType, bool) {
	if p == nil {
		return 0, false
	}
	switch *p {
	case networkingv1.PathTypeExact:
		return routing.PathExact, true
	case networkingv1.PathTypePrefix:
		return routing.PathPrefix, true
	case networkingv1.PathTypeImplementationSpecific:
		return routing.PathImplementationSpecific, true
	}
	return 0, false
}

var (
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

// validatePath applies the API server's path validation and returns the path
// to route: an empty ImplementationSpecific path is "/".
func validatePath(pt routing.PathType, path string) (string, error) {
	if pt == routing.PathImplementationSpecific {
		if path == "" {
			return "/", nil
		}
		if !strings.HasPrefix(path, "/") {
			return "", fmt.Errorf("path %q must be absolute (start with '/')", path)
		}
		return path, nil
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %q must be absolute (start with '/')", path)
	}
	for _, s := range invalidPathSequences {
		if strings.Contains(path, s) {
			return "", fmt.Errorf("path %q must not contain %q", path, s)
		}
	}
	for _, s := range invalidPathSuffixes {
		if strings.HasSuffix(path, s) {
			return "", fmt.Errorf("path %q must not end with %q", path, s)
		}
	}
	return path, nil
}

// warn records a warning.
func (tr *translator) warn(kind string, obj routing.ObjectRef, field, reason, msg string) {
	tr.warnings = append(tr.warnings, Warning{Kind: kind, Object: obj, Field: field, Reason: reason, Message: msg})
}

// sortWarnings sorts and deduplicates.
func sortWarnings(ws []Warning) []Warning {
	slices.SortFunc(ws, func(a, b Warning) int {
		return cmp.Or(compareRef(a.Object, b.Object), cmp.Compare(a.Kind, b.Kind), compareField(a.Field, b.Field),
			cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Message, b.Message))
	})
	return slices.Compact(ws)
}

// compareField orders field paths with numeric indexes compared as numbers
// ("paths[2]" before "paths[10]").
func compareField(a, b string) int {
	for a != "" && b != "" {
		ia, ib := strings.IndexByte(a, '['), strings.IndexByte(b, '[')
		if ia < 0 || ib < 0 || a[:ia] != b[:ib] {
			break
		}
		ja, jb := strings.IndexByte(a[ia:], ']'), strings.IndexByte(b[ib:], ']')
		if ja < 0 || jb < 0 {
			break
		}
		na, ea := strconv.Atoi(a[ia+1 : ia+ja])
		nb, eb := strconv.Atoi(b[ib+1 : ib+jb])
		if ea != nil || eb != nil {
			break
		}
		if na != nb {
			return cmp.Compare(na, nb)
		}
		a, b = a[ia+ja+1:], b[ib+jb+1:]
	}
	return cmp.Compare(a, b)
}

func compareRef(a, b routing.ObjectRef) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func refOf(m interface {
	GetNamespace() string
	GetName() string
}) routing.ObjectRef {
	return routing.ObjectRef{Namespace: m.GetNamespace(), Name: m.GetName()}
}
