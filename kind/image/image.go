// Package image builds ingresslab's container images without Docker: a Go
// command is compiled into a static Linux binary (CGO_ENABLED=0), put in a
// single layer with a minimal /etc/passwd, and wrapped in an OCI image whose
// config runs it as the non-root user 65532 (github.com/google/go-
// containerregistry). WriteArchive writes the image as an OCI image-layout
// tar archive that `ctr images import` (kind's image loading), `docker load`
// (Docker 25+) and `podman load` accept.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// User is the image's user and group: the conventional "nonroot".
	User = "65532:65532"
	// BinDir is where the binary goes in the image.
	BinDir = "/usr/local/bin"
	// SourceLabel is the OCI label naming the source repository.
	SourceLabel = "org.opencontainers.image.source"
	// Source is this project's repository.
	Source = "https://github.com/ingresslab/ingresslab"
)

// BuildOptions say how to compile a command.
type BuildOptions struct {
	// Package is the Go package to build ("./cmd/ingresslab-controller").
	Package string
	// Dir is the module folder the build runs in. Default: the current one.
	Dir string
	// Output is the binary path.
	Output string
	// GOARCH of the binary. Default runtime.GOARCH.
	GOARCH string
	// LDFlags are added after "-s -w" (e.g. -X version stamps).
	LDFlags string
	// Go is the go command. Default "go".
	Go string
}

// BuildBinary compiles a static Linux binary: CGO_ENABLED=0, -trimpath,
// stripped. The result is checked with CheckStatic.
func BuildBinary(ctx context.Context, o BuildOptions) error {
	if o.Package == "" || o.Output == "" {
		return fmt.Errorf("build binary: Package and Output are required (got %q, %q)", o.Package, o.Output)
	}
	if o.GOARCH == "" {
		o.GOARCH = runtime.GOARCH
	}
	if o.Go == "" {
		o.Go = "go"
	}
	ldflags := strings.TrimSpace("-s -w " + o.LDFlags)
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-ldflags", ldflags, "-o", o.Output, o.Package)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.GOARCH)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s (GOOS=linux GOARCH=%s CGO_ENABLED=0): %w\n%s", o.Package, o.GOARCH, err, strings.TrimSpace(out.String()))
	}
	return CheckStatic(o.Output)
}

// CheckStatic returns an error unless path is a Linux ELF executable with
// no program interpreter and no shared-library dependencies.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("binary %s: ELF type %s is not an executable", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s is dynamically linked (has a program interpreter); build it with CGO_ENABLED=0", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("binary %s needs shared libraries %s; build it with CGO_ENABLED=0", path, strings.Join(libs, ", "))
	}
	return nil
}

// Options describe an image.
type Options struct {
	// Binary is a static Linux executable (see BuildBinary); it is stored
	// as BinDir/<base name> and is the entrypoint.
	Binary string
	// Args are the default arguments (Cmd).
	Args []string
	// Title is the org.opencontainers.image.title label. Default: the
	// binary's base name.
	Title string
	// Version is the org.opencontainers.image.version label.
	Version string
	// Labels are added to the config's labels.
	Labels map[string]string
	// Env entries (KEY=VALUE) of the config.
	Env []string
	// ExposedPorts like "8080/tcp".
	ExposedPorts []string
	// GOARCH is the image architecture. Default: the binary's (from its ELF
	// header).
	GOARCH string
	// Created is the creation time and the files' modification time.
	// Default: $SOURCE_DATE_EPOCH, else the Unix epoch (reproducible).
	Created time.Time
}

// Build returns the image: one gzip layer with the binary (mode 0755),
// /etc/passwd and /etc/group naming the nonroot user, and /tmp; a config
// with User 65532:65532, the entrypoint and labels.
func Build(o Options) (v1.Image, error) {
	if o.Binary == "" {
		return nil, fmt.Errorf("image: Binary is required")
	}
	if err := CheckStatic(o.Binary); err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	arch := o.GOARCH
	if arch == "" {
		if arch, err = elfArch(o.Binary); err != nil {
			return nil, fmt.Errorf("image: %w", err)
		}
	}
	created := o.Created
	if created.IsZero() {
		created = sourceDateEpoch()
	}
	name := filepath.Base(o.Binary)
	entry := path.Join(BinDir, name)
	layerTar, err := layerTarball(entry, bin, created)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("image %s: layer: %w", name, err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "ingresslab kind/image: " + name, Comment: "static binary"},
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", name, err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: created}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{entry}
	cf.Config.Cmd = o.Args
	cf.Config.WorkingDir = "/"
	cf.Config.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, o.Env...)
	if len(o.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range o.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	title := o.Title
	if title == "" {
		title = name
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    title,
		SourceLabel:                         Source,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	if o.Version != "" {
		cf.Config.Labels["org.opencontainers.image.version"] = o.Version
	}
	for k, v := range o.Labels {
		cf.Config.Labels[k] = v
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", name, err)
	}
	return img, nil
}

func sourceDateEpoch() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}

func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_386:
		return "386", nil
	case elf.EM_ARM:
		return "arm", nil
	case elf.EM_PPC64:
		return "ppc64le", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	}
	return "", fmt.Errorf("binary %s: unknown ELF machine %s; set GOARCH", path, f.Machine)
}

// layerTarball is the layer's content: directories, the nonroot user, and
// the binary at entry.
func layerTarball(entry string, bin []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc", 0o755) },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
		},
		func() error { return file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")) },
		func() error { return dir("home", 0o755) },
		func() error {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700, Uid: 65532, Gid: 65532, ModTime: mtime, Format: tar.FormatPAX})
		},
		func() error { return dir("tmp", 0o1777) },
		func() error { return dir("usr", 0o755) },
		func() error { return dir("usr/local", 0o755) },
		func() error { return dir("usr/local/bin", 0o755) },
		func() error { return file(strings.TrimPrefix(entry, "/"), 0o755, bin) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
