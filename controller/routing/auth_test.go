package routing

import "testing"

func TestBasicAuth(t *testing.T) {
	// Hashes made with openssl passwd -apr1 and htpasswd -s.
	file := "# users\nalice:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n\nbob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\ncarol:$apr1$xy$bOSEf32PyFOZGDaaxnjqG.\n"
	a, err := NewBasicAuth("lab", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, pass string
		ok         bool
	}{
		{"alice", "secret", true}, {"alice", "Secret", false}, {"bob", "secret", true}, {"bob", "", false},
		{"carol", "p@ss word", true}, {"carol", "p@ss", false}, {"dave", "secret", false},
	} {
		if got := a.Check(c.user, c.pass); got != c.ok {
			t.Errorf("Check(%q, %q) = %v, want %v", c.user, c.pass, got, c.ok)
		}
	}
	for _, bad := range []string{"", "nocolon", "u:$2y$05$abcdefghijklmnopqrstuv", "u:plain", "u:{SHA}short", "u:$apr1$toolongsalt$x"} {
		if _, err := NewBasicAuth("lab", []byte(bad)); err == nil {
			t.Errorf("NewBasicAuth(%q) accepted", bad)
		}
	}
	m, err := NewBasicAuthMap("lab", map[string]string{"bob": "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="})
	if err != nil || !m.Check("bob", "secret") || m.Check("bob", "x") {
		t.Errorf("auth-map: %v", err)
	}
}
