package routing

import (
	"bytes"
	"crypto/md5"  //nolint:gosec // apr1 (htpasswd -m) is MD5-based by definition
	"crypto/sha1" //nolint:gosec // {SHA} (htpasswd -s) is SHA-1-based by definition
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// BasicAuth is a resolved basic-authentication policy (auth-type basic):
// the realm and the users of an htpasswd Secret. It is immutable.
//
// Supported hash formats: "{SHA}" (htpasswd -s), "$apr1$" (htpasswd -m,
// the Apache MD5 crypt) and bcrypt "$2y$", "$2a$", "$2b$" (htpasswd -B)
// with a cost of at most MaxBcryptCost. Lines with another format are
// rejected by NewBasicAuth.
//
// Check compares in constant time and caches nothing: every request pays
// the hash (for bcrypt, its cost). A user name that is not listed costs
// the same as a wrong password when the file has bcrypt users (a listed
// bcrypt hash is checked and the result dropped), so response times do
// not reveal which users exist.
type BasicAuth struct {
	Realm string
	// RemoveCredentials drops the Authorization header from a request
	// that passed, before it goes upstream (ingress-nginx's
	// proxy_set_header Authorization "" after auth_basic).
	RemoveCredentials bool
	users             map[string]string // user -> hash as written
	// decoy is a listed bcrypt hash checked for unknown users ("" without
	// bcrypt users).
	decoy string
}

// MaxBcryptCost bounds the cost of bcrypt hashes: each failed or
// successful check costs 2^cost rounds of the request's CPU time (cost 12
// is about a quarter of a second), so a higher cost would let any client
// exhaust the proxy's CPU with wrong passwords. htpasswd -B uses 5 by
// default.
const MaxBcryptCost = 12

// MaxBasicAuthUsers bounds the users of one Secret.
const MaxBasicAuthUsers = 10000

// NewBasicAuth parses an htpasswd file ("user:hash" lines; blank lines
// and "#" comments are skipped). The error names the first bad line.
func NewBasicAuth(realm string, htpasswd []byte) (*BasicAuth, error) {
	a := &BasicAuth{Realm: realm, users: map[string]string{}}
	for i, line := range bytes.Split(htpasswd, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if l == "" || l[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(l, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("line %d: want user:hash", i+1)
		}
		if err := a.add(user, hash); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("no users")
	}
	return a, nil
}

// NewBasicAuthMap builds a BasicAuth from user -> hash pairs (the
// auth-map Secret type).
func NewBasicAuthMap(realm string, users map[string]string) (*BasicAuth, error) {
	a := &BasicAuth{Realm: realm, users: map[string]string{}}
	keys := make([]string, 0, len(users))
	for u := range users {
		keys = append(keys, u)
	}
	slices.Sort(keys)
	for _, u := range keys {
		if err := a.add(u, strings.TrimSpace(users[u])); err != nil {
			return nil, fmt.Errorf("user %q: %w", u, err)
		}
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("no users")
	}
	return a, nil
}

func (a *BasicAuth) add(user, hash string) error {
	if strings.ContainsAny(user, ":") {
		return fmt.Errorf("user name contains ':'")
	}
	if len(a.users) >= MaxBasicAuthUsers {
		return fmt.Errorf("more than %d users", MaxBasicAuthUsers)
	}
	switch {
	case strings.HasPrefix(hash, "{SHA}"):
		if b, err := base64.StdEncoding.DecodeString(hash[5:]); err != nil || len(b) != sha1.Size {
			return fmt.Errorf("user %q: malformed {SHA} hash", user)
		}
	case strings.HasPrefix(hash, "$apr1$"):
		salt, _, ok := strings.Cut(hash[6:], "$")
		if !ok || len(salt) == 0 || len(salt) > 8 {
			return fmt.Errorf("user %q: malformed $apr1$ hash", user)
		}
	case isBcrypt(hash):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return fmt.Errorf("user %q: malformed bcrypt hash: %w", user, err)
		}
		if cost > MaxBcryptCost {
			return fmt.Errorf("user %q: bcrypt cost %d is above the maximum %d", user, cost, MaxBcryptCost)
		}
		if a.decoy == "" {
			a.decoy = hash
		}
	default:
		return fmt.Errorf("user %q: unsupported hash format (want {SHA}, $apr1$ or bcrypt $2y$/$2a$/$2b$)", user)
	}
	a.users[user] = hash
	return nil
}

// isBcrypt reports whether hash has a bcrypt prefix htpasswd writes.
func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2y$") || strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$")
}

// Check reports whether the password matches the user's hash.
func (a *BasicAuth) Check(user, password string) bool {
	if a == nil {
		return false
	}
	hash, ok := a.users[user]
	if !ok {
		if a.decoy != "" {
			_ = bcrypt.CompareHashAndPassword([]byte(a.decoy), []byte(password))
		}
		return false
	}
	var got string
	switch {
	case isBcrypt(hash):
		// Constant-time comparison of the derived hash (subtle) inside.
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	case strings.HasPrefix(hash, "{SHA}"):
		sum := sha1.Sum([]byte(password)) //nolint:gosec // htpasswd -s format
		got = "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
	case strings.HasPrefix(hash, "$apr1$"):
		salt, _, _ := strings.Cut(hash[6:], "$")
		got = apr1(password, salt)
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}

// Users returns the user names, sorted.
func (a *BasicAuth) Users() []string {
	out := make([]string, 0, len(a.users))
	for u := range a.users {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// MarshalJSON renders the realm and user names (never the hashes).
func (a *BasicAuth) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Realm             string   `json:"realm"`
		Users             []string `json:"users"`
		RemoveCredentials bool     `json:"removeCredentials,omitempty"`
	}{a.Realm, a.Users(), a.RemoveCredentials})
}

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// apr1 is the Apache MD5 crypt of password with salt: "$apr1$salt$hash".
func apr1(password, salt string) string {
	const magic = "$apr1$"
	pw := []byte(password)
	h := md5.New() //nolint:gosec // apr1
	h.Write(pw)
	h.Write([]byte(magic))
	h.Write([]byte(salt))
	alt := md5.New() //nolint:gosec // apr1
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	final := alt.Sum(nil)
	for n := len(pw); n > 0; n -= 16 {
		h.Write(final[:min(n, 16)])
	}
	for i := len(pw); i != 0; i >>= 1 {
		if i&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	final = h.Sum(nil)
	for i := range 1000 {
		r := md5.New() //nolint:gosec // apr1
		if i&1 != 0 {
			r.Write(pw)
		} else {
			r.Write(final)
		}
		if i%3 != 0 {
			r.Write([]byte(salt))
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 != 0 {
			r.Write(final)
		} else {
			r.Write(pw)
		}
		final = r.Sum(nil)
	}
	var b strings.Builder
	b.WriteString(magic)
	b.WriteString(salt)
	b.WriteByte('$')
	to64 := func(v uint32, n int) {
		for ; n > 0; n-- {
			b.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		to64(uint32(final[g[0]])<<16|uint32(final[g[1]])<<8|uint32(final[g[2]]), 4)
	}
	to64(uint32(final[11]), 2)
	return b.String()
}
