package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Process is a child process in its own process group with its output in a
// log file. Stop ends the whole group (SIGTERM to the process, then SIGKILL
// to the group).
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	logFile *os.File
}

// StartProcess starts spec's command with output captured to spec.LogPath.
func StartProcess(spec ControllerSpec) (*Process, error) {
	if len(spec.Command) == 0 {
		return nil, fmt.Errorf("start %s: empty command", spec.Name)
	}
	if spec.LogPath == "" {
		return nil, fmt.Errorf("start %s: no log path", spec.Name)
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	f, err := os.Create(spec.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: log file: %w", spec.Name, err)
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Dir = spec.Dir
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group, so Stop reaches children; on Linux also killed
	// if we die.
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Command[0], err)
	}
	p := &Process{Name: spec.Name, LogPath: spec.LogPath, cmd: cmd, done: make(chan struct{}), logFile: f}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID of the process.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended, and its error.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop stops the process as the kubelet stops a container: SIGTERM to the
// process alone (a controller's proxy children, such as haproxy or nginx,
// are for the controller to stop gracefully, not signalled behind its
// back), then, once it has exited or ctx is done, SIGKILL to whatever is
// left of its process group. It returns once the process has exited.
func (p *Process) Stop(ctx context.Context) error {
	if exited, _ := p.Exited(); exited {
		_ = killGroup(p.cmd.Process) // leftovers of the group, if any
		return nil
	}
	_ = terminate(p.cmd.Process)
	select {
	case <-p.done:
		_ = killGroup(p.cmd.Process) // as a container's other processes die with it
		return nil
	case <-ctx.Done():
	}
	_ = killGroup(p.cmd.Process)
	select {
	case <-p.done:
		return fmt.Errorf("%s (pid %d) did not stop on SIGTERM; killed", p.Name, p.PID())
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.Name, p.PID())
	}
}

// LogTail returns the last n lines of the process's log.
func (p *Process) LogTail(n int) string { return TailFile(p.LogPath, n) }

// TailFile returns the last n lines of a file ("" if unreadable).
func TailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ErrNotRunning is returned for a process that has already exited.
var ErrNotRunning = errors.New("process is not running")

// exitSummary describes how a process ended, for error messages.
func exitSummary(err error) string {
	var b bytes.Buffer
	if err == nil {
		b.WriteString("exited with status 0")
	} else {
		b.WriteString(err.Error())
	}
	return b.String()
}

// ExitError returns an error describing that the process ended, with the
// tail of its log.
func (p *Process) ExitError() error {
	exited, err := p.Exited()
	if !exited {
		return nil
	}
	return fmt.Errorf("%s (pid %d) %s: %w; last log lines:\n%s", p.Name, p.PID(), exitSummary(err), ErrNotRunning, p.LogTail(20))
}
