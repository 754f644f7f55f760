package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/reports"
)

// buildCommit is the git commit the running harness was built from,
// "+dirty" when its tree had changes ("" when the build has no VCS
// information, e.g. go run outside a checkout).
func buildCommit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev
}

// cpuFlags returns the first processor's flags from cpuinfo text.
func cpuFlags(cpuinfo string) []string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (strings.TrimSpace(k) == "flags" || strings.TrimSpace(k) == "Features") {
			return strings.Fields(v)
		}
	}
	return nil
}

// sha256File is the hex sha256 of a file.
func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// binaryDigests lists every binary the run uses with its sha256: the
// harness, the control plane, the controller's program and the program of
// every process in its tree (haproxy, nginx...), read from /proc/PID/exe.
func binaryDigests(ctx context.Context, ctrl *launch.Controller) []reports.BinaryDigest {
	var out []reports.BinaryDigest
	seen := map[string]bool{}
	add := func(role, path string) {
		if path == "" || seen[path] {
			return
		}
		seen[path] = true
		d := reports.BinaryDigest{Role: role, Path: path}
		if sum, err := sha256File(path); err != nil {
			d.Error = err.Error()
		} else {
			d.SHA256 = sum
		}
		out = append(out, d)
	}
	if exe, err := os.Executable(); err == nil {
		add("harness", exe)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if b, err := local.FindBinaries(fctx, local.Binaries{}); err == nil {
		add("kube-apiserver", b.APIServer)
		add("etcd", b.Etcd)
		add("kube-controller-manager", b.ControllerManager)
	}
	if ctrl == nil {
		return out
	}
	if prog, err := ctrl.Profile.FindBinary(); err == nil {
		add("controller program", prog)
	}
	if procs, err := allProcs(); err == nil {
		tree := controllerTree(procs, ctrl.PID())
		for _, p := range tree {
			if exe, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(p.PID), "exe")); err == nil {
				add("controller process tree", strings.TrimSuffix(exe, " (deleted)"))
			}
		}
	}
	slices.SortStableFunc(out, func(a, b reports.BinaryDigest) int { return strings.Compare(a.Role, b.Role) })
	return out
}

// describeBinaries is one progress line.
func describeBinaries(ds []reports.BinaryDigest) string {
	var parts []string
	for _, d := range ds {
		sum := d.SHA256
		if len(sum) > 12 {
			sum = sum[:12]
		}
		parts = append(parts, fmt.Sprintf("%s %s", filepath.Base(d.Path), sum))
	}
	return strings.Join(parts, ", ")
}
