package routing

import (
	"cmp"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
)

// The lookup structures are laid out for cache misses, which dominate Match
// on a large table: a request touches one 64-byte hostSlot, the slot's blob
// (host name and path keys, adjacent) and, on a hit, one routes element.
// The maps of a vhost are used only for hosts with many paths.

// hostSlot is the hot, flat form of a virtual host. 64 bytes.
type hostSlot struct {
	// hash of the lookup key (host, or wildcard suffix); 0 marks an empty
	// slot, so stored hashes have the low bit set.
	hash uint64
	// blob is the lookup key followed by the encoded small path entries.
	blob string
	// routes holds the route of each small path entry, by entry index.
	routes []*Route
	// v holds everything else: maps of a large host, defaults, certificate.
	v *vhost
	// keyLen is the length of the lookup key at the start of blob.
	keyLen uint16
	// small is set when the paths are encoded in blob; otherwise v's maps
	// are used.
	small bool
	// redirect is the effective HTTPS redirect: this host, its wildcard
	// host or the host-less host was marked.
	redirect bool
	// auth is set when v has client certificate authentication, so that
	// Match reads v only then.
	auth bool
}

// Small path entries are encoded in hostSlot.blob after the key as
// [kind 1B][route index 1B][key length 2B little endian][key]: Exact entries
// first, then Prefix entries longest key first.
const (
	entryExact  = 1
	entryPrefix = 2
	entryHeader = 4
	// smallPaths is the most paths a host may have to use the encoding.
	smallPaths = 16
	// maxSmallKey is the longest path key the encoding holds.
	maxSmallKey = 1<<16 - 1
)

// hostIndex is an open-addressing hash table (linear probing, load <= 3/4)
// of host slots. At 64 bytes a slot, the load is what a large table's
// index costs: 10,000 hosts take 16,384 slots (1 MiB) rather than 32,768.
type hostIndex struct {
	seed  maphash.Seed
	slots []hostSlot
	mask  uint64
}

// newHostIndex builds an index of vs keyed by key(v). smallLimit is the
// most paths for the flat encoding.
func newHostIndex(vs []*vhost, key func(*vhost) string, smallLimit int) hostIndex {
	ix := hostIndex{seed: maphash.MakeSeed()}
	if len(vs) == 0 {
		return ix
	}
	size := uint64(1) << bits.Len(uint((4*len(vs)+2)/3-1)) // >= 4/3 of the hosts
	ix.slots, ix.mask = make([]hostSlot, size), size-1
	for _, v := range vs {
		k := key(v)
		h := maphash.String(ix.seed, k) | 1
		i := h & ix.mask
		for ix.slots[i].hash != 0 {
			i = (i + 1) & ix.mask
		}
		ix.slots[i] = newSlot(h, k, v, smallLimit)
		v.slot = &ix.slots[i]
	}
	return ix
}

// lookup returns the slot whose key equals name, or nil.
func (ix *hostIndex) lookup(name []byte) *hostSlot {
	if len(ix.slots) == 0 {
		return nil
	}
	h := maphash.Bytes(ix.seed, name) | 1
	for i := h & ix.mask; ; i = (i + 1) & ix.mask {
		s := &ix.slots[i]
		if s.hash == 0 {
			return nil
		}
		if s.hash == h && s.blob[:s.keyLen] == string(name) {
			return s
		}
	}
}

// newSlot encodes v's paths when it has at most smallLimit of them.
func newSlot(h uint64, key string, v *vhost, smallLimit int) hostSlot {
	s := hostSlot{hash: h, blob: key, keyLen: uint16(len(key)), v: v}
	s.auth = v.clientAuth() != nil
	if len(v.routes) > smallLimit || len(v.regexes()) > 0 {
		v.useMaps() // matched through the maps
		return s
	}
	// Built on every table for every host: no allocation but the blob and
	// the routes (entries stay on the stack for up to smallPaths routes).
	var buf [smallPaths]pathEntry
	entries := append(buf[:0], v.entries...)
	for k, r := range v.exact {
		entries = append(entries, pathEntry{entryExact, k, r})
	}
	for k, r := range v.prefix {
		entries = append(entries, pathEntry{entryPrefix, k, r})
	}
	size := len(key)
	for _, e := range entries {
		size += entryHeader + len(e.key)
	}
	if len(entries) > 1 {
		slices.SortFunc(entries, func(a, b pathEntry) int {
			return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(len(b.key), len(a.key)), cmp.Compare(a.key, b.key))
		})
	}
	for _, e := range entries {
		if len(e.key) > maxSmallKey {
			v.useMaps()
			return s
		}
	}
	var sb strings.Builder
	sb.Grow(size)
	sb.WriteString(key)
	s.routes = make([]*Route, 0, len(entries))
	for i, e := range entries {
		sb.WriteByte(e.kind)
		sb.WriteByte(byte(i))
		sb.WriteByte(byte(len(e.key)))
		sb.WriteByte(byte(len(e.key) >> 8))
		sb.WriteString(e.key)
		s.routes = append(s.routes, e.route)
	}
	s.blob, s.small = sb.String(), true
	// Match reads the encoding only: the maps or entries would be kept for
	// nothing (about 250 bytes for a host with one path in maps).
	v.exact, v.prefix, v.entries = nil, nil, nil
	return s
}

// match returns the slot's route for path, or nil.
func (s *hostSlot) match(path string) *Route {
	if !s.small {
		return s.v.match(path)
	}
	p := s.blob[s.keyLen:]
	for len(p) >= entryHeader {
		kind, idx, n := p[0], p[1], int(p[2])|int(p[3])<<8
		key := p[entryHeader : entryHeader+n]
		p = p[entryHeader+n:]
		if kind == entryExact {
			if key == path {
				return s.routes[idx]
			}
			continue
		}
		// Prefix: an element-wise prefix; "" (rule "/") matches anything.
		if n > len(path) || path[:n] != key {
			continue
		}
		if n == 0 || n == len(path) || path[n] == '/' {
			return s.routes[idx]
		}
	}
	return nil
}
