package translate

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// MaxPatchChanges is the most changed Ingresses Update patches; more go to
// a full Translate.
const MaxPatchChanges = 16

// Update returns what Translate(snap, opts) returns, computed from prev (a
// Result of Translate or Update) without translating the Ingresses that did
// not change: the routing table is prev's with the virtual hosts of the
// changed Ingresses replaced (routing.Table.Patch), the other routes and
// their runtime state are shared. It is pure, like Translate: prev is not
// modified, and the same inputs give the same Result.
//
// It returns false, and the caller translates in full, unless all of this
// holds:
//   - only Ingresses differ from prev's snapshot (the same IngressClasses,
//     Services, EndpointSlices, Secrets and ConfigMaps: the same objects,
//     in any order) and opts equals prev's options but for Generation and
//     StatusAddresses; both snapshots are UniqueIngresses and sorted
//     (CompareIngresses), as the Source gives them;
//   - at most MaxPatchChanges Ingresses were added, changed or removed;
//   - each changed Ingress, before and after, is isolated: its hosts are
//     exact host names that no other Ingress names (as a rule host, a TLS
//     host, a server alias or the counterpart of a from-to-www-redirect),
//     and it has no spec.tls, no spec.defaultBackend, no canary, no server
//     alias, no from-to-www-redirect and no client certificate
//     authentication, and its warnings are about itself only.
//
// Then nothing another Ingress contributes can depend on it, nor it on
// them, so its translation alone is its part of the full translation.
// TestUpdateMatchesTranslate checks that against Translate for nine kinds
// of change to every Ingress of every golden fixture, and FuzzUpdate for
// arbitrary hosts, paths, path types, TLS hosts and default backends.
//
// prev's snapshot must not have been modified since (snapshots are
// read-only): the diff compares it with snap object by object.
func Update(prev Result, snap *Snapshot, opts Options) (Result, bool) {
	m := prev.memo
	if m == nil || snap == nil || prev.Table == nil || !m.compatible(snap, opts) {
		return Result{}, false
	}
	changes, ok := m.diff(snap.Ingresses)
	if !ok {
		return Result{}, false
	}
	opts = opts.withDefaults()

	// The old versions: isolated when the full translation found them so.
	var remove []string
	for _, c := range changes {
		if c.old == nil || !m.ours(c.old) {
			continue
		}
		if m.foreign[c.ref] {
			return Result{}, false
		}
		for _, h := range ruleHosts(c.old) {
			if u := m.hosts[h]; u.n != 1 || !u.is(c.ref) {
				return Result{}, false
			}
			remove = append(remove, h)
		}
	}

	// The new versions, translated alone against prev's objects.
	tr := m.translator(opts)
	var news []*networkingv1.Ingress
	for _, c := range changes {
		if c.new != nil {
			news = append(news, c.new)
		}
	}
	ours := tr.selectOurs(&Snapshot{Ingresses: news, IngressClasses: m.snap.IngressClasses, UniqueIngresses: true})
	tr.indexRuleHosts(ours)
	tr.warnings = nil // IngressClass warnings: prev has them
	taken := map[string]routing.ObjectRef{}
	added := map[string]*networkingv1.Ingress{}
	for _, ing := range ours {
		ref := refOf(&ing.ObjectMeta)
		if len(ing.Spec.TLS) > 0 || ing.Spec.DefaultBackend != nil {
			return Result{}, false
		}
		for _, h := range ruleHosts(ing) {
			if h == "" || strings.HasPrefix(h, "*.") {
				return Result{}, false
			}
			if u, ok := m.hosts[h]; ok && (u.n != 1 || !u.is(ref)) {
				return Result{}, false
			}
			if owner, ok := taken[h]; ok && owner != ref {
				return Result{}, false
			}
			taken[h] = ref
		}
		from := len(tr.warnings)
		pol, rp := tr.policy(ing, ref)
		if pol != nil && pol.Canary != nil {
			return Result{}, false
		}
		if ex := tr.extras[ref]; ex != nil && (len(ex.claimed) > 0 || ex.www) {
			return Result{}, false
		}
		if _, ok := tr.clientAuths[ref]; ok {
			return Result{}, false
		}
		tr.ingress(ing, ref, rp)
		for _, w := range tr.warnings[from:] {
			if w.Kind != "Ingress" || w.Object != ref {
				return Result{}, false
			}
		}
		for _, h := range ruleHosts(ing) {
			added[h] = ing
		}
	}
	table, ok := prev.Table.Patch(remove, tr.b.Build(opts.Generation), opts.Generation)
	if !ok {
		return Result{}, false
	}

	res := Result{Table: table, DefaultCertificate: prev.DefaultCertificate}
	changed := make(map[routing.ObjectRef]bool, len(changes))
	for _, c := range changes {
		changed[c.ref] = true
	}
	var ws []Warning // nil when there are none, as Translate's
	for _, w := range prev.Warnings {
		if w.Kind != "Ingress" || !changed[w.Object] {
			ws = append(ws, w)
		}
	}
	res.Warnings = sortWarnings(append(ws, tr.warnings...))

	// Statuses and Owned walk every Ingress, as Translate does: a class
	// test and a comparison each, no translation.
	all := m.translator(opts).selectOurs(snap)
	if len(all) > 0 {
		res.Owned = slices.Clip(all)
	}
	managed := opts.ManageStatus || len(opts.StatusAddresses) > 0
	res.Statuses = statusUpdates(snap.Ingresses, all, true, opts.StatusAddresses, managed)
	res.StatusPlan = newStatusPlan(managed, opts.StatusAddresses, res.Owned, res.Statuses)

	next := *m
	next.snap = &Snapshot{Ingresses: snap.Ingresses, IngressClasses: m.snap.IngressClasses, Services: m.snap.Services,
		EndpointSlices: m.snap.EndpointSlices, Secrets: m.snap.Secrets, ConfigMaps: m.snap.ConfigMaps, UniqueIngresses: true}
	next.hosts = maps.Clone(m.hosts)
	for _, h := range remove {
		delete(next.hosts, h)
	}
	for h, ing := range added {
		next.hosts[h] = hostUse{first: ing, n: 1}
	}
	res.memo = &next
	return res, true
}

// memo is what Update needs of the translation that made a Result.
type memo struct {
	// snap is the translated snapshot: its Ingresses for the diff, the
	// other objects (kept alive, so that no new object can take one's
	// address while world identifies them) for the translator.
	snap *Snapshot
	// world identifies the set of snap's objects other than Ingresses.
	world uint64
	// opts are the translation's options without Generation and
	// StatusAddresses.
	opts Options
	// The translator's indexes of snap's objects, read-only.
	services   map[routing.ObjectRef]*corev1.Service
	slices     map[routing.ObjectRef][]*discoveryv1.EndpointSlice
	secrets    map[routing.ObjectRef]*corev1.Secret
	configMaps map[routing.ObjectRef]*corev1.ConfigMap
	// hosts maps every host our Ingresses name (rule hosts, TLS hosts,
	// server aliases, from-to-www-redirect counterparts; canaries
	// included) to who names it.
	hosts map[string]hostUse
	// foreign lists our Ingresses Update must not patch: canaries, those
	// with spec.tls, spec.defaultBackend, server aliases, from-to-www-
	// redirect, client certificate authentication, rules without host or
	// with a wildcard host, or a warning about another object.
	foreign map[routing.ObjectRef]bool
}

// hostUse is who names a host: n Ingresses, the first of them first (16
// bytes: the map holds one per host).
type hostUse struct {
	first *networkingv1.Ingress
	n     int
}

// is reports whether ref is the first Ingress that names the host.
func (u hostUse) is(ref routing.ObjectRef) bool {
	return u.first != nil && u.first.Namespace == ref.Namespace && u.first.Name == ref.Name
}

// newMemo starts the memo of a translation of snap, after selectOurs; nil
// when snap cannot be patched later (not UniqueIngresses, or not sorted).
func (tr *translator) newMemo(snap *Snapshot, ours []*networkingv1.Ingress) *memo {
	if !snap.UniqueIngresses || !slices.IsSortedFunc(snap.Ingresses, compareNonNil) {
		return nil
	}
	o := tr.opts
	o.Generation, o.StatusAddresses = 0, nil
	return &memo{snap: snap, world: world(snap), opts: o,
		services: tr.services, slices: tr.slices, secrets: tr.secrets, configMaps: tr.configMaps,
		hosts: make(map[string]hostUse, len(ours)), foreign: map[routing.ObjectRef]bool{}}
}

// compareNonNil is CompareIngresses with nil entries first.
func compareNonNil(a, b *networkingv1.Ingress) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return CompareIngresses(a, b)
}

// claim records the hosts one of our Ingresses names, after its policy is
// resolved, and whether Update may patch it.
func (m *memo) claim(tr *translator, ing *networkingv1.Ingress, ref routing.ObjectRef, canary bool) {
	if m == nil {
		return
	}
	foreign := len(ing.Spec.TLS) > 0 || ing.Spec.DefaultBackend != nil
	hosts := ruleHosts(ing)
	for _, h := range hosts {
		m.use(h, ing)
		foreign = foreign || h == "" || strings.HasPrefix(h, "*.")
	}
	for _, t := range ing.Spec.TLS {
		for _, th := range t.Hosts {
			if h, err := routing.CanonicalHost(th); err == nil {
				m.use(h, ing)
			}
		}
	}
	if ex := tr.extras[ref]; ex != nil {
		for _, a := range ex.claimed {
			m.use(a, ing)
		}
		if ex.www {
			for _, h := range hosts {
				if w, ok := strings.CutPrefix(h, "www."); ok {
					m.use(w, ing)
				} else if h != "" {
					m.use("www."+h, ing)
				}
			}
		}
		foreign = foreign || len(ex.claimed) > 0 || ex.www
	}
	if _, ok := tr.clientAuths[ref]; ok {
		foreign = true
	}
	if foreign || canary {
		m.foreign[ref] = true
	}
}

// use records that ing names host h.
func (m *memo) use(h string, ing *networkingv1.Ingress) {
	u, ok := m.hosts[h]
	switch {
	case !ok:
		m.hosts[h] = hostUse{first: ing, n: 1}
	case u.first != ing || u.n > 1:
		m.hosts[h] = hostUse{first: u.first, n: u.n + 1}
	}
}

// noteWarnings marks ref foreign when its translation warned about another
// object.
func (m *memo) noteWarnings(ref routing.ObjectRef, ws []Warning) {
	if m == nil {
		return
	}
	for _, w := range ws {
		if w.Kind != "Ingress" || w.Object != ref {
			m.foreign[ref] = true
			return
		}
	}
}

// ruleHosts returns the canonical rule hosts of ing ("" for a rule without
// host), without the invalid ones, each once.
func ruleHosts(ing *networkingv1.Ingress) []string {
	var out []string
	for i := range ing.Spec.Rules {
		if h, err := routing.CanonicalHost(ing.Spec.Rules[i].Host); err == nil && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// compatible reports whether snap differs from the memo's snapshot in
// Ingresses only and opts in Generation and StatusAddresses only.
func (m *memo) compatible(snap *Snapshot, opts Options) bool {
	if !snap.UniqueIngresses || !slices.IsSortedFunc(snap.Ingresses, compareNonNil) || world(snap) != m.world {
		return false
	}
	o := opts.withDefaults()
	o.Generation, o.StatusAddresses = 0, nil
	return reflect.DeepEqual(o, m.opts)
}

// translator returns a translator over the memo's objects, with an empty
// table.
func (m *memo) translator(opts Options) *translator {
	return &translator{opts: opts, services: m.services, slices: m.slices, secrets: m.secrets, configMaps: m.configMaps,
		b: routing.NewBuilder(), backends: make(map[backendRef]*resolved), certs: make(map[routing.ObjectRef]*parsedCert),
		certSource: make(map[string]certOwner)}
}

// ours reports whether ing is one of our Ingresses.
func (m *memo) ours(ing *networkingv1.Ingress) bool {
	tr := m.translator(m.opts)
	return len(tr.selectOurs(&Snapshot{Ingresses: []*networkingv1.Ingress{ing}, IngressClasses: m.snap.IngressClasses, UniqueIngresses: true})) == 1
}

// change is one Ingress added (old nil), removed (new nil) or changed.
type change struct {
	ref      routing.ObjectRef
	old, new *networkingv1.Ingress
}

// diff walks the memo's and the new sorted Ingresses side by side; false
// when more than MaxPatchChanges differ.
func (m *memo) diff(now []*networkingv1.Ingress) ([]change, bool) {
	was := m.snap.Ingresses
	var out []change
	at := map[routing.ObjectRef]int{} // a recreated Ingress moves: one change
	add := func(ref routing.ObjectRef, old, new *networkingv1.Ingress) bool {
		if i, ok := at[ref]; ok {
			if old != nil {
				out[i].old = old
			}
			if new != nil {
				out[i].new = new
			}
			return true
		}
		if len(out) == MaxPatchChanges {
			return false
		}
		at[ref] = len(out)
		out = append(out, change{ref: ref, old: old, new: new})
		return true
	}
	i, j := 0, 0
	for i < len(was) || j < len(now) {
		var c int
		switch {
		case i == len(was):
			c = 1
		case j == len(now):
			c = -1
		case was[i] == now[j]:
			i, j = i+1, j+1
			continue
		default:
			c = compareNonNil(was[i], now[j])
		}
		ok := true
		switch {
		case c < 0:
			if was[i] != nil {
				ok = add(refOf(&was[i].ObjectMeta), was[i], nil)
			}
			i++
		case c > 0:
			if now[j] != nil {
				ok = add(refOf(&now[j].ObjectMeta), nil, now[j])
			}
			j++
		default:
			ok = add(refOf(&now[j].ObjectMeta), was[i], now[j])
			i, j = i+1, j+1
		}
		if !ok {
			return nil, false
		}
	}
	return out, true
}

// world identifies the set of snap's objects other than Ingresses: a sum
// of mixed object addresses per kind, so the order of the lists does not
// matter. An informer replaces an object it updates, never changes it, so
// a changed object has a new address, and the memo keeps the old objects
// alive so that no new one can take an old one's address.
func world(snap *Snapshot) uint64 {
	var h uint64
	add := func(kind uint64, p unsafe.Pointer) { h += mix(uint64(uintptr(p)) ^ kind*0x9e3779b97f4a7c15) }
	for _, o := range snap.IngressClasses {
		add(1, unsafe.Pointer(o))
	}
	for _, o := range snap.Services {
		add(2, unsafe.Pointer(o))
	}
	for _, o := range snap.EndpointSlices {
		add(3, unsafe.Pointer(o))
	}
	for _, o := range snap.Secrets {
		add(4, unsafe.Pointer(o))
	}
	for _, o := range snap.ConfigMaps {
		add(5, unsafe.Pointer(o))
	}
	return mix(h + uint64(len(snap.IngressClasses))<<48 + uint64(len(snap.Services))<<36 +
		uint64(len(snap.EndpointSlices))<<24 + uint64(len(snap.Secrets))<<12 + uint64(len(snap.ConfigMaps)))
}

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
