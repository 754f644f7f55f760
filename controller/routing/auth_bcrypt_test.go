package routing

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestBasicAuthBcrypt(t *testing.T) {
	// PHP's password_hash documentation examples ($2y$, as htpasswd -B
	// writes), and hashes made here with the $2a$ and $2b$ prefixes.
	gen, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), 5)
	if err != nil {
		t.Fatal(err)
	}
	b := "$2b$" + string(gen[4:])
	file := "php10:$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a\n" +
		"php07:$2y$07$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq\n" +
		"a:" + string(gen) + "\nb:" + b + "\nsha:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"
	a, err := NewBasicAuth("lab", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, pass string
		ok         bool
	}{
		{"php10", "rasmuslerdorf", true}, {"php10", "rasmuslerdorF", false},
		{"php07", "rasmuslerdorf", true}, {"php07", "", false},
		{"a", "s3cret pass", true}, {"a", "s3cret", false},
		{"b", "s3cret pass", true}, {"b", "s3cret pass ", false},
		{"sha", "secret", true}, {"nobody", "rasmuslerdorf", false},
	} {
		if got := a.Check(c.user, c.pass); got != c.ok {
			t.Errorf("Check(%q, %q) = %v, want %v", c.user, c.pass, got, c.ok)
		}
	}
	if a.decoy == "" {
		t.Error("no decoy hash for unknown users although bcrypt users are listed")
	}
	tooCostly := "$2y$13$" + strings.Repeat("a", 53)
	for _, bad := range []string{"u:$2y$05$short", "u:" + tooCostly, "u:$2x$05$" + strings.Repeat("a", 53)} {
		if _, err := NewBasicAuth("lab", []byte(bad)); err == nil {
			t.Errorf("NewBasicAuth(%q) accepted", bad)
		}
	}
	if _, err := NewBasicAuth("lab", []byte("u:"+tooCostly)); err == nil || !strings.Contains(err.Error(), "cost 13") {
		t.Errorf("cost 13: error %v, want one naming the cost", err)
	}
}
