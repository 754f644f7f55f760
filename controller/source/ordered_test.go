package source

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// TestOrderedIngressesFollowsTheCache drives the handlers with random
// adds, updates (spec and status-only), deletes (some as tombstones) and
// re-adds, before and after the first snapshot, and checks every snapshot
// against a plain map of the cache: the same objects, in translation order.
func TestOrderedIngressesFollowsTheCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newIngress := func(ns, name string) *networkingv1.Ingress {
		// Many share a creation second, as Ingresses created in bulk do.
		return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			CreationTimestamp: metav1.NewTime(base.Add(time.Duration(rng.IntN(5)) * time.Second))}}
	}
	for round := range 20 {
		o := newOrderedIngresses()
		signals, updates := 0, 0
		h := o.handler(func() { signals++ }, func(_, _ any) { updates++ })
		cache := map[string]*networkingv1.Ingress{}
		check := func(step int) {
			t.Helper()
			want := make([]*networkingv1.Ingress, 0, len(cache))
			for _, ing := range cache {
				want = append(want, ing)
			}
			slices.SortFunc(want, translate.CompareIngresses)
			if got := o.snapshot(); !slices.Equal(got, want) {
				t.Fatalf("round %d step %d: snapshot has %d Ingresses, the cache %d, or another order", round, step, len(got), len(want))
			}
		}
		firstSnapshot := 50 + rng.IntN(100)
		for step := range 400 {
			ns := "ns" + strconv.Itoa(rng.IntN(3))
			name := "ing-" + strconv.Itoa(rng.IntN(60))
			key := ns + "/" + name
			old := cache[key]
			switch op := rng.IntN(10); {
			case old == nil:
				ing := newIngress(ns, name)
				cache[key] = ing
				h.OnAdd(ing, false)
			case op < 5: // update: same object, new version
				ing := old.DeepCopy()
				ing.ResourceVersion = strconv.Itoa(step)
				cache[key] = ing
				h.OnUpdate(old, ing)
			case op < 7:
				delete(cache, key)
				h.OnDelete(old)
			default: // a delete the informer missed: a tombstone
				delete(cache, key)
				h.OnDelete(tombstone(key, old))
			}
			if step >= firstSnapshot && step%7 == 0 {
				check(step)
			}
		}
		check(400)
		if signals == 0 || updates == 0 {
			t.Fatalf("round %d: %d signals, %d updates passed on", round, signals, updates)
		}
	}
}

func tombstone(key string, obj any) cache.DeletedFinalStateUnknown {
	return cache.DeletedFinalStateUnknown{Key: key, Obj: obj}
}
