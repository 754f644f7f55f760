package translate

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ingresslab/ingresslab/controller/routing"
)

// CertCache keeps the TLS Secrets parsed by one translation for the next
// (Options.CertCache), so that a build re-parses (tls.X509KeyPair) only the
// Secrets that changed: an entry is keyed by the Secret's namespace/name,
// UID and resourceVersion, and a Secret without UID or resourceVersion is
// never cached. After each translation only the entries it used are kept,
// so the cache holds at most the Secrets of the latest table.
//
// Translate stays a pure function of its inputs: a cached result is the
// one a parse of the same Secret version gives. A CertCache is not safe
// for concurrent use: one owner (the controller loop's goroutine) passes it
// to one Translate at a time. The zero value is not usable; nil is no cache.
type CertCache struct {
	entries map[certKey]*parsedCert
}

type certKey struct {
	ref             routing.ObjectRef
	uid             types.UID
	resourceVersion string
}

// NewCertCache returns an empty cache.
func NewCertCache() *CertCache {
	return &CertCache{entries: make(map[certKey]*parsedCert)}
}

// Len returns the number of cached Secrets.
func (c *CertCache) Len() int {
	if c == nil {
		return 0
	}
	return len(c.entries)
}

// key returns the cache key of s, false when s cannot be cached.
func (c *CertCache) key(ref routing.ObjectRef, s *corev1.Secret) (certKey, bool) {
	if c == nil || s == nil || s.UID == "" || s.ResourceVersion == "" {
		return certKey{}, false
	}
	return certKey{ref, s.UID, s.ResourceVersion}, true
}

// parse returns the parsed Secret from the cache, else parses and caches it.
func (c *CertCache) parse(ref routing.ObjectRef, s *corev1.Secret) *parsedCert {
	k, ok := c.key(ref, s)
	if !ok {
		return parseSecret(ref, s)
	}
	if pc := c.entries[k]; pc != nil {
		return pc
	}
	pc := parseSecret(ref, s)
	c.entries[k] = pc
	return pc
}

// retain drops the entries a translation did not use; used are its parsed
// Secrets by reference (translator.certs).
func (c *CertCache) retain(used map[routing.ObjectRef]*parsedCert) {
	if c == nil {
		return
	}
	for k, pc := range c.entries {
		if used[k.ref] != pc {
			delete(c.entries, k)
		}
	}
}
