package source

import (
	"slices"
	"sync"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ingresslab/ingresslab/controller/translate"
)

// orderedIngresses mirrors the Ingress informer's cache in translation
// order (translate.CompareIngresses: oldest first, then namespace/name),
// kept up to date by the informer's event handlers, so that a Snapshot's
// Ingresses are already sorted and a build with 10,000 Ingresses does not
// sort them again. The initial list is appended and sorted once, by the
// first snapshot; after that each change is one binary search.
type orderedIngresses struct {
	mu     sync.Mutex
	list   []*networkingv1.Ingress
	sorted bool // list is in translation order
}

func newOrderedIngresses() *orderedIngresses { return &orderedIngresses{sorted: true} }

// add records a new Ingress (or replaces the one of the same namespace/name).
func (o *orderedIngresses) add(ing *networkingv1.Ingress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.sorted {
		o.list = append(o.list, ing) // the initial list; sorted once by snapshot
		return
	}
	i, found := o.find(ing)
	if found {
		o.list[i] = ing
		return
	}
	if j := o.indexByName(ing); j >= 0 {
		// Same namespace/name, another creation time: a missed delete.
		o.list = slices.Delete(o.list, j, j+1)
		i, _ = o.find(ing)
	}
	o.list = slices.Insert(o.list, i, ing)
}

// update replaces old with ing (same namespace/name and creation time).
func (o *orderedIngresses) update(old, ing *networkingv1.Ingress) {
	if old == nil || old.CreationTimestamp != ing.CreationTimestamp {
		o.remove(old)
	}
	o.add(ing)
}

// remove drops the Ingress of ing's namespace/name.
func (o *orderedIngresses) remove(ing *networkingv1.Ingress) {
	if ing == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sorted {
		if i, found := o.find(ing); found {
			o.list = slices.Delete(o.list, i, i+1)
			return
		}
	}
	if j := o.indexByName(ing); j >= 0 {
		o.list = slices.Delete(o.list, j, j+1)
	}
}

// snapshot returns a copy of the list in translation order.
func (o *orderedIngresses) snapshot() []*networkingv1.Ingress {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.sorted {
		// The last one added of a namespace/name wins (the informer adds an
		// object again only after its delete, but be safe).
		last := make(map[[2]string]int, len(o.list))
		for i, ing := range o.list {
			last[[2]string{ing.Namespace, ing.Name}] = i
		}
		if len(last) < len(o.list) {
			kept := o.list[:0]
			for i, ing := range o.list {
				if last[[2]string{ing.Namespace, ing.Name}] == i {
					kept = append(kept, ing)
				}
			}
			clear(o.list[len(kept):])
			o.list = kept
		}
		slices.SortFunc(o.list, translate.CompareIngresses)
		o.sorted = true
	}
	return slices.Clone(o.list)
}

// find is the binary search of ing's position in the sorted list.
func (o *orderedIngresses) find(ing *networkingv1.Ingress) (int, bool) {
	return slices.BinarySearchFunc(o.list, ing, translate.CompareIngresses)
}

// indexByName is the position of the Ingress with ing's namespace/name, or
// -1 (a linear scan, for the rare cases binary search cannot serve).
func (o *orderedIngresses) indexByName(ing *networkingv1.Ingress) int {
	return slices.IndexFunc(o.list, func(x *networkingv1.Ingress) bool {
		return x.Namespace == ing.Namespace && x.Name == ing.Name
	})
}

// handler keeps o in step with the informer, then calls the Source's own
// handling of each event: signal for adds and deletes, onUpdate for
// updates.
func (o *orderedIngresses) handler(signal func(), onUpdate func(old, ing any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ing, ok := obj.(*networkingv1.Ingress); ok {
				o.add(ing)
			}
			signal()
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, _ := oldObj.(*networkingv1.Ingress)
			if ing, ok := newObj.(*networkingv1.Ingress); ok {
				o.update(old, ing)
			}
			onUpdate(oldObj, newObj)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if ing, ok := obj.(*networkingv1.Ingress); ok {
				o.remove(ing)
			}
			signal()
		},
	}
}
