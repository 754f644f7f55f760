package kind

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"sigs.k8s.io/kind/pkg/log"
)

// writerLogger adapts kind's logger to an io.Writer: warnings, errors and
// V(0) messages are written, one per line; debug levels are dropped.
type writerLogger struct {
	mu sync.Mutex
	w  io.Writer
}

var _ log.Logger = (*writerLogger)(nil)

func (l *writerLogger) line(prefix, s string) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s%s\n", prefix, strings.TrimRight(s, "\n"))
}

func (l *writerLogger) Warn(message string) { l.line("kind: warning: ", message) }
func (l *writerLogger) Warnf(format string, args ...interface{}) {
	l.Warn(fmt.Sprintf(format, args...))
}
func (l *writerLogger) Error(message string) { l.line("kind: error: ", message) }
func (l *writerLogger) Errorf(format string, args ...interface{}) {
	l.Error(fmt.Sprintf(format, args...))
}

func (l *writerLogger) V(level log.Level) log.InfoLogger {
	return infoLogger{l: l, enabled: level <= 0}
}

type infoLogger struct {
	l       *writerLogger
	enabled bool
}

func (i infoLogger) Info(message string) {
	if i.enabled {
		i.l.line("kind: ", message)
	}
}

func (i infoLogger) Infof(format string, args ...interface{}) {
	if i.enabled {
		i.Info(fmt.Sprintf(format, args...))
	}
}

func (i infoLogger) Enabled() bool { return i.enabled }
