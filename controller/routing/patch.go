package routing

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
)

// Patch returns a table that serves as t, except that the exact hosts named
// in remove are gone and the hosts of add are added, stamped generation.
// Neither t nor add is usable afterwards as a builder input, but t keeps
// serving unchanged: the new table shares t's other virtual hosts, its
// wildcard hosts, its rules without host and its default, and copies only
// the exact-host index (one slot per host, no re-encoding), so a change of
// one Ingress among thousands costs a copy of the index rather than a build.
//
// add must hold exact hosts only (no wildcard host, no rules without host,
// no default) that t does not have once remove is taken out, and remove
// must name exact hosts; otherwise Patch returns false and the caller builds
// the table in full. A name in remove that t does not have is ignored.
func (t *Table) Patch(remove []string, add *Table, generation uint64) (*Table, bool) {
	if t == nil || add == nil || add.def != nil || add.anyHost != nil || len(add.wildcard.slots) > 0 {
		return nil, false
	}
	for _, h := range remove {
		if h == "" || strings.HasPrefix(h, "*.") {
			return nil, false
		}
	}
	removed := func(name string) bool { return slices.Contains(remove, name) }
	for _, v := range add.vhosts {
		if v.name == "" || strings.HasPrefix(v.name, "*.") {
			return nil, false
		}
		if t.exact.lookup([]byte(v.name)) != nil && !removed(v.name) {
			return nil, false
		}
	}
	nt := &Table{Generation: generation, wildcard: t.wildcard, anyHost: t.anyHost, def: t.def,
		vhosts: make([]*vhost, 0, len(t.vhosts)+len(add.vhosts)), routes: t.routes + add.routes}
	exact := 0
	for _, v := range t.vhosts {
		if removed(v.name) {
			nt.routes -= len(v.routes)
			continue
		}
		nt.vhosts = append(nt.vhosts, v)
		if v.name != "" && !strings.HasPrefix(v.name, "*.") {
			exact++
		}
	}
	nt.exact = t.exact.patched(exact+len(add.vhosts), removed)
	anyRedirect := t.anyHost != nil && t.anyHost.redirect
	for _, v := range add.vhosts {
		s := *add.exact.lookup([]byte(v.name)) // the encoding Build made; only the hash is per index
		s.hash = maphash.String(nt.exact.seed, v.name) | 1
		if i, ok := wildcardSuffix([]byte(v.name)); ok {
			v.wildcard = nt.wildcard.lookup([]byte(v.name[i:]))
		} else {
			v.wildcard = nil
		}
		s.redirect = v.redirect || v.wildcard != nil && v.wildcard.v.redirect || anyRedirect
		nt.exact.insert(s)
		nt.vhosts = append(nt.vhosts, v)
	}
	return nt, true
}

// patched returns a copy of ix, with the same seed, sized for n hosts,
// without the slots whose key drop reports. The slots of the other hosts
// are copied as they are.
func (ix *hostIndex) patched(n int, drop func(string) bool) hostIndex {
	nx := hostIndex{seed: ix.seed}
	if n == 0 {
		return nx
	}
	size := uint64(1) << bits.Len(uint((4*n+2)/3-1))
	if size == uint64(len(ix.slots)) {
		nx.slots, nx.mask = slices.Clone(ix.slots), ix.mask
		for i := 0; i < len(nx.slots); {
			s := &nx.slots[i]
			if s.hash != 0 && drop(s.blob[:s.keyLen]) {
				nx.remove(uint64(i))
				continue // the slot now holds a shifted entry: look again
			}
			i++
		}
		return nx
	}
	nx.slots, nx.mask = make([]hostSlot, size), size-1
	for i := range ix.slots {
		if s := &ix.slots[i]; s.hash != 0 && !drop(s.blob[:s.keyLen]) {
			nx.insert(*s)
		}
	}
	return nx
}

// insert puts s (its hash set for ix's seed) into the first free slot of
// its probe sequence. ix must have a free slot.
func (ix *hostIndex) insert(s hostSlot) {
	i := s.hash & ix.mask
	for ix.slots[i].hash != 0 {
		i = (i + 1) & ix.mask
	}
	ix.slots[i] = s
}

// remove empties slot i by backward-shift deletion: each later slot of the
// probe run that may move into the hole does, so lookups never meet a gap
// before their key.
func (ix *hostIndex) remove(i uint64) {
	j := i
	for {
		j = (j + 1) & ix.mask
		s := ix.slots[j]
		if s.hash == 0 {
			break
		}
		home := s.hash & ix.mask
		// s may move to i unless its home lies cyclically in (i, j].
		if i <= j {
			if i < home && home <= j {
				continue
			}
		} else if i < home || home <= j {
			continue
		}
		ix.slots[i] = s
		i = j
	}
	ix.slots[i] = hostSlot{}
}
