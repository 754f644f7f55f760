package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAutogroupNote: a target whose tree left the harness's session (a
// data plane that called setsid) is named with its autogroup; one that
// shares the harness's, or a kernel without autogroups, gives no note.
func TestAutogroupNote(t *testing.T) {
	self := os.Getpid()
	fakeProc(t, map[int]string{
		self: statLine(self, 1, "ingresslab", 100, 100, 0, 0, 10),
		100:  statLine(100, self, "controller", 100, 100, 0, 0, 1000),
		101:  statLine(101, 100, "haproxy", 300, 100, 0, 0, 2000),
		200:  statLine(200, self, "reference", 100, 100, 0, 0, 1000),
	}, "cpu  100 0 100 800 0 0 0 0 0 0\n")
	write := func(rel, content string) {
		p := filepath.Join(procRoot, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/kernel/sched_autogroup_enabled", "1\n")
	write(filepath.Join(strconv.Itoa(self), "autogroup"), "/autogroup-6 nice 0\n")
	write("100/autogroup", "/autogroup-6 nice 0\n")
	write("101/autogroup", "/autogroup-41 nice 0\n") // daemonized
	write("200/autogroup", "/autogroup-6 nice 0\n")

	n := autogroupNote("haproxy-tech", 100)
	if !strings.HasPrefix(n, "haproxy-tech: 1 of the 2 processes of its tree ran in a scheduler autogroup other than the harness's (/autogroup-41; the harness: /autogroup-6)") ||
		!strings.Contains(n, "not comparable") {
		t.Errorf("note %q", n)
	}
	if n := autogroupNote("reference", 200); n != "" {
		t.Errorf("same autogroup: %q", n)
	}
	// Once per target, into the report's notes.
	e := &Env{out: &strings.Builder{}}
	e.checkAutogroup(&Traffic{Name: "haproxy-tech", PID: 100})
	e.checkAutogroup(&Traffic{Name: "haproxy-tech", PID: 100})
	e.checkAutogroup(&Traffic{Name: "reference", PID: 200})
	if len(e.notes) != 1 || !strings.HasPrefix(e.notes[0], "haproxy-tech:") {
		t.Errorf("notes %q", e.notes)
	}
	write("sys/kernel/sched_autogroup_enabled", "0\n")
	if n := autogroupNote("haproxy-tech", 100); n != "" {
		t.Errorf("autogroups off: %q", n)
	}
}
