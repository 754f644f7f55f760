package translate

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// statusUpdates returns the status writes: ours to desired, others carrying
// exactly desired (and not empty) cleared. Nothing when not managed. With
// unique (no two Ingresses of all share a namespace/name), an Ingress is
// ours when it is one of ours, by pointer; otherwise by namespace/name, and
// the first of duplicates is judged alone.
func statusUpdates(all, ours []*networkingv1.Ingress, unique bool, desired []corev1.LoadBalancerIngress, managed bool) []StatusUpdate {
	if !managed {
		return nil
	}
	desiredStatus := IngressStatus(desired)
	want := StatusKey(desiredStatus)
	var isMine func(*networkingv1.Ingress, routing.ObjectRef) bool
	var done map[routing.ObjectRef]bool
	if unique {
		mine := make(map[*networkingv1.Ingress]struct{}, len(ours))
		for _, ing := range ours {
			mine[ing] = struct{}{}
		}
		isMine = func(ing *networkingv1.Ingress, _ routing.ObjectRef) bool { _, ok := mine[ing]; return ok }
	} else {
		mine := make(map[routing.ObjectRef]bool, len(ours))
		for _, ing := range ours {
			mine[refOf(&ing.ObjectMeta)] = true
		}
		isMine = func(_ *networkingv1.Ingress, ref routing.ObjectRef) bool { return mine[ref] }
		done = make(map[routing.ObjectRef]bool, len(all))
	}
	var out []StatusUpdate
	// Every update of ours sets the same addresses: one read-only copy,
	// shared (clipped, so an append cannot write into it).
	var lb []corev1.LoadBalancerIngress
	for _, ing := range all {
		if ing == nil {
			continue
		}
		ref := refOf(&ing.ObjectMeta)
		if done != nil {
			if done[ref] {
				continue
			}
			done[ref] = true
		}
		current := ing.Status.LoadBalancer.Ingress
		same := sameStatus(current, desiredStatus, want)
		mine := isMine(ing, ref)
		switch {
		case mine && !same:
			if lb == nil {
				lb = slices.Clip(append([]corev1.LoadBalancerIngress{}, desired...))
			}
			out = append(out, StatusUpdate{Ingress: ref, LoadBalancer: lb})
		case !mine && len(current) > 0 && same:
			out = append(out, StatusUpdate{Ingress: ref, LoadBalancer: []corev1.LoadBalancerIngress{}})
		}
	}
	slices.SortFunc(out, func(a, b StatusUpdate) int { return compareRef(a.Ingress, b.Ingress) })
	return out
}

// sameStatus reports whether current equals desired as a set (StatusKey of
// both equal; want is StatusKey(desired)). The common case, current written
// by us and so in desired's order, is decided without building a key.
func sameStatus(current, desired []networkingv1.IngressLoadBalancerIngress, want string) bool {
	if slices.EqualFunc(current, desired, func(a, b networkingv1.IngressLoadBalancerIngress) bool {
		return a.IP == b.IP && a.Hostname == b.Hostname && slices.EqualFunc(a.Ports, b.Ports, func(p, q networkingv1.IngressPortStatus) bool {
			return p.Port == q.Port && p.Protocol == q.Protocol && (p.Error == nil) == (q.Error == nil) && (p.Error == nil || *p.Error == *q.Error)
		})
	}) {
		return true
	}
	return StatusKey(current) == want
}

// StatusKey is an order-independent text form of an Ingress status, for
// comparing two statuses as sets (nil and empty are equal). It is the one
// definition used by the translation (statusUpdates) and the status writer.
func StatusKey(lbs []networkingv1.IngressLoadBalancerIngress) string {
	keys := make([]string, 0, len(lbs))
	for _, lb := range lbs {
		ports := make([]string, 0, len(lb.Ports))
		for _, p := range lb.Ports {
			e := ""
			if p.Error != nil {
				e = *p.Error
			}
			ports = append(ports, strconv.Itoa(int(p.Port))+"/"+string(p.Protocol)+"/"+strconv.Quote(e))
		}
		slices.Sort(ports)
		keys = append(keys, strconv.Quote(lb.IP)+"|"+strconv.Quote(lb.Hostname)+"|"+strings.Join(ports, ","))
	}
	slices.Sort(keys)
	return strings.Join(keys, ";")
}

// StatusPlan is one translation's intent for Ingress statuses: when
// managed, our Ingresses (Owned) get Addresses and any other Ingress
// carrying exactly Addresses (not empty) is cleared. Updates are the writes
// that intent needed against the translation's snapshot (Result.Statuses);
// Update judges any Ingress, e.g. one whose status changed since, against
// the same intent. A plan is immutable once returned (but for a lazily
// sorted copy of Owned); Update is safe for concurrent use.
type StatusPlan struct {
	Managed   bool
	Addresses []corev1.LoadBalancerIngress
	// Owned is Result.Owned, in translation order; read-only.
	Owned   []*networkingv1.Ingress
	Updates []StatusUpdate

	desired    []networkingv1.IngressLoadBalancerIngress
	desiredKey string
	// sorted is a copy of Owned sorted by namespace/name, made by the first
	// Update (called by the status writer when it judges an Ingress, not by
	// the build).
	sortOnce sync.Once
	sorted   []*networkingv1.Ingress
}

// owns reports whether ref is one of Owned.
func (p *StatusPlan) owns(ref routing.ObjectRef) bool {
	p.sortOnce.Do(func() {
		p.sorted = slices.Clone(p.Owned)
		slices.SortFunc(p.sorted, func(a, b *networkingv1.Ingress) int {
			return compareRef(refOf(&a.ObjectMeta), refOf(&b.ObjectMeta))
		})
	})
	_, ok := slices.BinarySearchFunc(p.sorted, ref, func(ing *networkingv1.Ingress, ref routing.ObjectRef) int {
		return compareRef(refOf(&ing.ObjectMeta), ref)
	})
	return ok
}

func newStatusPlan(managed bool, addrs []corev1.LoadBalancerIngress, owned []*networkingv1.Ingress, updates []StatusUpdate) *StatusPlan {
	p := &StatusPlan{Managed: managed, Addresses: addrs, Owned: owned, Updates: updates}
	if managed {
		p.desired = IngressStatus(addrs)
		p.desiredKey = StatusKey(p.desired)
	}
	return p
}

// Update returns the status write ing needs under the plan, judged on ing's
// current status; false when it needs none (or the plan is nil).
func (p *StatusPlan) Update(ing *networkingv1.Ingress) (StatusUpdate, bool) {
	if p == nil || !p.Managed || ing == nil {
		return StatusUpdate{}, false
	}
	ref := refOf(&ing.ObjectMeta)
	mine := p.owns(ref)
	current := ing.Status.LoadBalancer.Ingress
	same := sameStatus(current, p.desired, p.desiredKey)
	switch {
	case mine && !same:
		lb := slices.Clip(p.Addresses) // the plan's, read-only and shared
		if lb == nil {
			lb = []corev1.LoadBalancerIngress{}
		}
		return StatusUpdate{Ingress: ref, LoadBalancer: lb}, true
	case !mine && len(current) > 0 && same:
		return StatusUpdate{Ingress: ref, LoadBalancer: []corev1.LoadBalancerIngress{}}, true
	}
	return StatusUpdate{}, false
}
