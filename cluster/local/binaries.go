package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Binaries are the control-plane programs the local provider runs.
type Binaries struct {
	APIServer, Etcd string
	// ControllerManager is optional: without it, deleted namespaces stay
	// Terminating (their objects are still deleted explicitly).
	ControllerManager string
}

// FindBinaries locates the control-plane binaries. Explicit paths in b win;
// then $KUBEBUILDER_ASSETS; then the bin/ folder next to the running program
// and in the enclosing repository (where `make tools` puts them); then PATH.
// Each found binary is checked by running it with --version.
func FindBinaries(ctx context.Context, b Binaries) (Binaries, error) {
	dirs := searchDirs()
	var errs []error
	find := func(explicit, name string, required bool) string {
		if explicit != "" {
			if err := checkBinary(ctx, explicit); err != nil {
				errs = append(errs, err)
				return ""
			}
			return explicit
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				if err := checkBinary(ctx, p); err != nil {
					errs = append(errs, err)
					return ""
				}
				return p
			}
		}
		if p, err := exec.LookPath(name); err == nil {
			if err := checkBinary(ctx, p); err != nil {
				errs = append(errs, err)
				return ""
			}
			return p
		}
		if required {
			errs = append(errs, fmt.Errorf("%s not found (looked in %s and PATH); run `make tools`, or set KUBEBUILDER_ASSETS to a folder that has it", name, strings.Join(dirs, ", ")))
		}
		return ""
	}
	out := Binaries{
		APIServer:         find(b.APIServer, "kube-apiserver", true),
		Etcd:              find(b.Etcd, "etcd", true),
		ControllerManager: find(b.ControllerManager, "kube-controller-manager", false),
	}
	if err := errors.Join(errs...); err != nil {
		return Binaries{}, err
	}
	return out, nil
}

func searchDirs() []string {
	var dirs []string
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	if root := repoRoot(); root != "" {
		dirs = append(dirs, filepath.Join(root, "bin"))
	}
	return dirs
}

// repoRoot walks up from the working directory to the ingresslab module root.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/ingresslab/ingresslab\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// checkBinary runs path --version, so a truncated or foreign file is reported
// before anything depends on it.
func checkBinary(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return fmt.Errorf("%s is not a working binary (%v %s); rebuild it with `make tools`", path, err, msg)
	}
	return nil
}
