//go:build !linux

package netns

import (
	"fmt"
	"os"
	"runtime"
)

// Network namespaces are Linux's: elsewhere Supported and Create fail
// before any of these is reached; they fail too, for safety.

func runInNamespace(*os.File, func() error) error { return notLinux() }

func processAlive(int) bool { return false }

func lockFile() (func(), error) { return nil, notLinux() }

func notLinux() error {
	return fmt.Errorf("%w: not Linux (%s)", ErrNotSupported, runtime.GOOS)
}
