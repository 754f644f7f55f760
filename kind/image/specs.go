package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ingresslab/ingresslab/kind"
)

// Spec is one of ingresslab's images.
type Spec struct {
	// Name of the binary and of the archive (<Name>.tar).
	Name string
	// Package is the Go package of the command.
	Package string
	// Ref is the image reference the archive carries.
	Ref          string
	ExposedPorts []string
}

// The images the kind provider loads.
var (
	Controller = Spec{Name: "ingresslab-controller", Package: "./cmd/ingresslab-controller", Ref: kind.ControllerImage, ExposedPorts: []string{"8080/tcp", "8443/tcp", "10254/tcp"}}
	Echo       = Spec{Name: "ingresslab-echo", Package: "./cmd/ingresslab-echo", Ref: kind.EchoImage, ExposedPorts: []string{"3000/tcp"}}
	// BenchAgent is the ingresslab CLI itself; its generator Pods run
	// `ingresslab bench-agent` (bench --generators N).
	BenchAgent = Spec{Name: "ingresslab", Package: "./cmd/ingresslab", Ref: kind.BenchAgentImage}
)

// ArchiveOptions say where and how BuildArchives works.
type ArchiveOptions struct {
	// Dir is the module root (the checkout). Default: the current folder.
	Dir string
	// OutDir receives <name>.tar (and the binaries under bin/).
	OutDir string
	// GOARCH of the images. Default runtime.GOARCH.
	GOARCH string
	// Version is the image version label; LDFlags go to the Go linker.
	Version, LDFlags string
}

// BuildArchives compiles each spec's command statically and writes its OCI
// archive to OutDir/<name>.tar; it returns the archive paths.
func BuildArchives(ctx context.Context, o ArchiveOptions, specs ...Spec) ([]string, error) {
	if o.OutDir == "" {
		return nil, fmt.Errorf("image archives: OutDir is required")
	}
	binDir := filepath.Join(o.OutDir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, fmt.Errorf("image archives: %w", err)
	}
	var paths []string
	for _, s := range specs {
		bin := filepath.Join(binDir, s.Name)
		if err := BuildBinary(ctx, BuildOptions{Package: s.Package, Dir: o.Dir, Output: bin, GOARCH: o.GOARCH, LDFlags: o.LDFlags}); err != nil {
			return paths, err
		}
		img, err := Build(Options{Binary: bin, Version: o.Version, ExposedPorts: s.ExposedPorts, GOARCH: o.GOARCH})
		if err != nil {
			return paths, err
		}
		out := filepath.Join(o.OutDir, s.Name+".tar")
		if err := WriteArchive(out, s.Ref, img); err != nil {
			return paths, err
		}
		paths = append(paths, out)
	}
	return paths, nil
}
