//go:build unix

package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// TestStopSignalsTheProcessNotItsChildren: Stop sends SIGTERM to the
// process alone, as the kubelet does to a container's first process, so a
// proxy child (haproxy, nginx) is stopped by its controller, not by the
// harness behind its back; what is left of the group when the process has
// exited is killed.
func TestStopSignalsTheProcessNotItsChildren(t *testing.T) {
	dir := t.TempDir()
	mark, pidFile := filepath.Join(dir, "child-got-term"), filepath.Join(dir, "child.pid")
	// The child records a SIGTERM; the parent (the "controller") exits on
	// its own SIGTERM without passing it on.
	script := `(trap 'echo term > ` + mark + `; exit 0' TERM; echo $BASHPID > ` + pidFile + `; while :; do sleep 0.05; done) &
trap 'exit 0' TERM
while [ ! -s ` + pidFile + ` ]; do sleep 0.01; done
echo ready
while :; do sleep 0.05; done`
	p, err := StartProcess(ControllerSpec{Name: "group", Command: []string{"bash", "-c", script}, LogPath: filepath.Join(dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
			func(context.Context) (bool, error) { return cond(), nil })
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll("the script starts its child", func() bool { return strings.Contains(TailFile(p.LogPath, 5), "ready") })
	b, _ := os.ReadFile(pidFile)
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("the child got SIGTERM from the harness; only the process should")
	}
	// The child is gone (killed with the rest of the group).
	poll("the child is gone after Stop", func() bool { return syscall.Kill(child, 0) != nil })
}
