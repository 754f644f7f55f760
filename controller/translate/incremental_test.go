package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// mutation makes the next snapshot's Ingresses from the current ones: it
// returns nil when it does not apply to Ingress i.
type mutation struct {
	name string
	do   func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress
}

// freshHost is a host no fixture uses.
func freshHost(i int) string { return fmt.Sprintf("fresh-%d.update.test", i) }

// replaceAt returns ings with entry i replaced by ing (nil: removed).
func replaceAt(ings []*networkingv1.Ingress, i int, ing *networkingv1.Ingress) []*networkingv1.Ingress {
	out := slices.Clone(ings)
	if ing == nil {
		return slices.Delete(out, i, i+1)
	}
	out[i] = ing
	return out
}

var mutations = []mutation{
	{"delete", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress { return replaceAt(ings, i, nil) }},
	{"new resourceVersion only", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		c.ResourceVersion += "1"
		return replaceAt(ings, i, c)
	}},
	{"first path moved", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		for _, r := range c.Spec.Rules {
			if r.HTTP != nil && len(r.HTTP.Paths) > 0 {
				r.HTTP.Paths[0].Path += "/moved"
				return replaceAt(ings, i, c)
			}
		}
		return nil
	}},
	{"first backend swapped with the last", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		var bs []*networkingv1.IngressBackend
		for _, r := range c.Spec.Rules {
			if r.HTTP != nil {
				for j := range r.HTTP.Paths {
					bs = append(bs, &r.HTTP.Paths[j].Backend)
				}
			}
		}
		if len(bs) < 2 {
			return nil
		}
		*bs[0], *bs[len(bs)-1] = *bs[len(bs)-1], *bs[0]
		return replaceAt(ings, i, c)
	}},
	{"hosts renamed to a fresh host", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		if len(c.Spec.Rules) == 0 {
			return nil
		}
		for j := range c.Spec.Rules {
			c.Spec.Rules[j].Host = freshHost(i)
		}
		return replaceAt(ings, i, c)
	}},
	{"first host shared with the next Ingress", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		if len(c.Spec.Rules) == 0 || i+1 >= len(ings) || len(ings[i+1].Spec.Rules) == 0 {
			return nil
		}
		c.Spec.Rules[0].Host = ings[i+1].Spec.Rules[0].Host
		return replaceAt(ings, i, c)
	}},
	{"class removed", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		c.Spec.IngressClassName = ptr.To("someone-else")
		delete(c.Annotations, AnnotationIngressClass)
		return replaceAt(ings, i, c)
	}},
	{"a copy on a fresh host added", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		c.Name += "-copy"
		c.UID = ""
		c.CreationTimestamp = metav1.NewTime(c.CreationTimestamp.Add(time.Millisecond))
		for j := range c.Spec.Rules {
			c.Spec.Rules[j].Host = freshHost(1000 + i)
		}
		return append(slices.Clone(ings), c)
	}},
	{"a copy on the same hosts added", func(ings []*networkingv1.Ingress, i int) []*networkingv1.Ingress {
		c := ings[i].DeepCopy()
		c.Name += "-twin"
		c.CreationTimestamp = metav1.NewTime(c.CreationTimestamp.Add(time.Millisecond))
		return append(slices.Clone(ings), c)
	}},
}

// sortedSnapshot is snap with ings, sorted as the Source sorts them.
func sortedSnapshot(snap *Snapshot, ings []*networkingv1.Ingress) *Snapshot {
	s := *snap
	s.Ingresses = slices.Clone(ings)
	slices.SortFunc(s.Ingresses, CompareIngresses)
	s.UniqueIngresses = true
	return &s
}

// TestUpdateMatchesTranslate applies every mutation to every Ingress of
// every golden fixture (TLS, canaries, aliases, conflicts, defaults, class
// parameters, host ownership...) and checks that whenever Update patches,
// its Result renders as Translate's of the same snapshot, and that the
// patched Result can be patched again (back to the original). Update must
// patch some of them, and must refuse where hosts are shared.
func TestUpdateMatchesTranslate(t *testing.T) {
	ins, err := filepath.Glob(filepath.Join(fixtureDir, "*.in.yaml"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	patched, refused := map[string]int{}, map[string]int{}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		f := loadFixture(t, data)
		if !uniqueRefs(f.snap.Ingresses) || slices.Contains(f.snap.Ingresses, nil) {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		base := sortedSnapshot(f.snap, f.snap.Ingresses)
		for i := range base.Ingresses {
			f.requests = append(f.requests, [2]string{freshHost(i), "/"}, [2]string{freshHost(1000 + i), "/"})
		}
		opts := f.opts
		prev := Translate(base, opts)
		if prev.memo == nil {
			t.Fatalf("%s: a sorted, unique snapshot gave no memo", name)
		}
		for i := range base.Ingresses {
			for _, mu := range mutations {
				ings := mu.do(base.Ingresses, i)
				if ings == nil {
					continue
				}
				next := sortedSnapshot(base, ings)
				o := opts
				o.Generation = opts.Generation + 1
				got, ok := Update(prev, next, o)
				if !ok {
					refused[mu.name]++
					continue
				}
				patched[mu.name]++
				want := Translate(next, o)
				if g, w := render(t, f, got), render(t, f, want); !bytes.Equal(g, w) {
					t.Fatalf("%s: Ingress %s, %s: Update differs from Translate:\n%s", name, refOf(&base.Ingresses[i].ObjectMeta), mu.name, diff(string(w), string(g)))
				}
				// And back, from the patched Result.
				o.Generation++
				back, ok := Update(got, base, o)
				if !ok {
					t.Fatalf("%s: Ingress %s, %s: the way back was refused", name, refOf(&base.Ingresses[i].ObjectMeta), mu.name)
				}
				if g, w := render(t, f, back), render(t, f, Translate(base, o)); !bytes.Equal(g, w) {
					t.Fatalf("%s: Ingress %s, %s, back: Update differs from Translate:\n%s", name, refOf(&base.Ingresses[i].ObjectMeta), mu.name, diff(string(w), string(g)))
				}
			}
		}
	}
	t.Logf("patched %v; refused %v", patched, refused)
	for _, mu := range []string{"delete", "first path moved", "hosts renamed to a fresh host", "a copy on a fresh host added"} {
		if patched[mu] < 10 {
			t.Errorf("%s: patched %d times, want Update to take the common case", mu, patched[mu])
		}
	}
	// A twin patches only where the original adds nothing (not ours, no
	// rules): refused wherever the hosts are really shared.
	if refused["a copy on the same hosts added"] < 50 {
		t.Errorf("a second Ingress on the same hosts was refused only %d times", refused["a copy on the same hosts added"])
	}
}

// TestUpdateRefusesOtherChanges checks that Update leaves to Translate a
// snapshot whose other objects or options changed, or too many Ingresses.
func TestUpdateRefusesOtherChanges(t *testing.T) {
	snap := sortedSnapshot(snapshot(40), snapshot(40).Ingresses)
	prev := Translate(snap, testOptions())
	one := sortedSnapshot(snap, replaceAt(snap.Ingresses, 3, nil))
	if _, ok := Update(prev, one, testOptions()); !ok {
		t.Fatal("one deleted Ingress was not patched")
	}
	svc := *snap
	svc.Services = slices.Clone(snap.Services)
	svc.Services[0] = svc.Services[0].DeepCopy()
	other := testOptions()
	other.AllowExternalName = true
	many := sortedSnapshot(snap, snap.Ingresses[:len(snap.Ingresses)-MaxPatchChanges-1])
	unsorted := *snap
	unsorted.Ingresses = slices.Clone(snap.Ingresses)
	unsorted.Ingresses[0], unsorted.Ingresses[1] = unsorted.Ingresses[1], unsorted.Ingresses[0]
	for name, c := range map[string]struct {
		snap *Snapshot
		opts Options
	}{
		"a Service replaced":  {&svc, testOptions()},
		"options changed":     {snap, other},
		"too many Ingresses":  {many, testOptions()},
		"an unsorted list":    {&unsorted, testOptions()},
		"no UniqueIngresses":  {&Snapshot{Ingresses: snap.Ingresses, IngressClasses: snap.IngressClasses, Services: snap.Services, EndpointSlices: snap.EndpointSlices}, testOptions()},
		"a nil snapshot":      {nil, testOptions()},
		"no previous results": {snap, testOptions()},
	} {
		p := prev
		if name == "no previous results" {
			p = Result{}
		}
		if _, ok := Update(p, c.snap, c.opts); ok {
			t.Errorf("%s: Update patched", name)
		}
	}
	// The same objects in another order are the same world.
	reordered := *one
	reordered.Services = slices.Clone(snap.Services)
	slices.Reverse(reordered.Services)
	if _, ok := Update(prev, &reordered, testOptions()); !ok {
		t.Error("Services listed in another order: not patched")
	}
}

// FuzzUpdate adds, changes and removes one Ingress with arbitrary hosts,
// paths, path types and TLS hosts next to plain Ingresses (one of them on
// a host the fuzzed one may take): whenever Update patches, its Result
// must equal Translate's of the same snapshot.
func FuzzUpdate(f *testing.F) {
	f.Add("new.test", "/", "Prefix", "", false)
	f.Add("a0.test", "/x", "Exact", "", false)
	f.Add("*.test", "/", "Prefix", "", false)
	f.Add("", "/", "Prefix", "", true)
	f.Add("FOO.test:80", "/a/../b", "ImplementationSpecific", "foo.test", false)
	f.Add("b.test", "relative", "Bogus", "*", false)
	f.Fuzz(func(t *testing.T, host, path, pathType, tlsHost string, defaultBackend bool) {
		base := snapshot(4)
		for i, ing := range base.Ingresses {
			ing.Spec.Rules[0].Host = fmt.Sprintf("a%d.test", i)
		}
		base = sortedSnapshot(base, base.Ingresses)
		pt := networkingv1.PathType(pathType)
		be := base.Ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend
		fuzzed := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "fuzzed", CreationTimestamp: metav1.NewTime(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))},
			Spec: networkingv1.IngressSpec{IngressClassName: ptr.To("lab"), Rules: []networkingv1.IngressRule{{Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &pt, Backend: be}}}}}}},
		}
		if tlsHost != "" {
			fuzzed.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{tlsHost}}}
		}
		if defaultBackend {
			fuzzed.Spec.DefaultBackend = &be
		}
		changed := fuzzed.DeepCopy()
		changed.ResourceVersion = "2"
		changed.Spec.Rules[0].HTTP.Paths[0].Path += "/v2"
		steps := [][]*networkingv1.Ingress{
			append(slices.Clone(base.Ingresses), fuzzed),
			append(slices.Clone(base.Ingresses), changed),
			base.Ingresses,
		}
		o := testOptions()
		prev := Translate(base, o)
		for k, ings := range steps {
			next := sortedSnapshot(base, ings)
			o.Generation++
			want := Translate(next, o)
			if got, ok := Update(prev, next, o); ok {
				gd, _ := json.Marshal(got.Table.Dump())
				wd, _ := json.Marshal(want.Table.Dump())
				if !bytes.Equal(gd, wd) || !reflect.DeepEqual(got.Warnings, want.Warnings) || !reflect.DeepEqual(got.Statuses, want.Statuses) || !slices.Equal(got.Owned, want.Owned) {
					t.Fatalf("step %d: Update differs from Translate:\n got %s\n%v\nwant %s\n%v", k, gd, got.Warnings, wd, want.Warnings)
				}
				prev = got
				continue
			}
			prev = want
		}
	})
}
