package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/ingresslab/ingresslab/kind"
)

// buildEcho compiles the echo server once per test binary run.
func buildEcho(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(t.TempDir(), "ingresslab-echo")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := BuildBinary(ctx, BuildOptions{Package: "./cmd/ingresslab-echo", Dir: root, Output: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuildArchive(t *testing.T) {
	bin := buildEcho(t)
	if err := CheckStatic(bin); err != nil {
		t.Fatal(err)
	}
	img, err := Build(Options{
		Binary: bin, Version: "v0.0.0-test", Labels: map[string]string{"extra": "yes"},
		ExposedPorts: []string{"3000/tcp"}, Args: []string{"--addr=:3000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/ingresslab-echo" || len(c.Cmd) != 1 {
		t.Fatalf("user %q entrypoint %v cmd %v", c.User, c.Entrypoint, c.Cmd)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Fatalf("platform %s/%s", cf.OS, cf.Architecture)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.title": "ingresslab-echo", "org.opencontainers.image.version": "v0.0.0-test",
		SourceLabel: Source, "extra": "yes",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if _, ok := c.ExposedPorts["3000/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
	if !cf.Created.Time.Equal(time.Unix(0, 0)) && os.Getenv("SOURCE_DATE_EPOCH") == "" {
		t.Errorf("created %v, want the epoch (reproducible)", cf.Created)
	}

	// The layer holds the binary, executable, byte for byte.
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, err %v", len(layers), err)
	}
	want, _ := os.ReadFile(bin)
	files := layerFiles(t, layers[0].Uncompressed)
	h, ok := files["usr/local/bin/ingresslab-echo"]
	if !ok {
		t.Fatalf("binary missing from layer; files %v", keys(files))
	}
	if h.hdr.Mode&0o111 != 0o111 || h.hdr.Typeflag != tar.TypeReg || !bytes.Equal(h.data, want) {
		t.Fatalf("binary in layer: mode %o type %c, %d bytes (want %d)", h.hdr.Mode, h.hdr.Typeflag, len(h.data), len(want))
	}
	if p := files["etc/passwd"]; !bytes.Contains(p.data, []byte("nonroot:x:65532:65532")) {
		t.Fatalf("/etc/passwd = %q", p.data)
	}
	if tmp := files["tmp/"]; tmp.hdr == nil || tmp.hdr.Mode != 0o1777 {
		t.Fatalf("/tmp missing or wrong mode")
	}

	// Same input, same image: reproducible.
	img2, err := Build(Options{Binary: bin, Version: "v0.0.0-test", Labels: map[string]string{"extra": "yes"}, ExposedPorts: []string{"3000/tcp"}, Args: []string{"--addr=:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Fatalf("two builds differ: %s vs %s", d1, d2)
	}

	// The archive is a valid OCI image layout naming the image.
	archive := filepath.Join(t.TempDir(), "echo.tar")
	if err := WriteArchive(archive, kind.EchoImage, img); err != nil {
		t.Fatal(err)
	}
	dir := extract(t, archive)
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
			Platform    map[string]string `json:"platform"`
		} `json:"manifests"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json %s: %v", b, err)
	}
	m := index.Manifests[0]
	if m.Annotations[AnnotationImageName] != kind.EchoImage || m.Annotations[AnnotationRefName] != "dev" || m.Digest != d1.String() || m.Platform["os"] != "linux" {
		t.Fatalf("index entry %+v (image digest %s)", m, d1)
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := lp.Image(d1)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatalf("archived image does not validate: %v", err)
	}
}

func TestCheckStaticRejectsDynamicBinaries(t *testing.T) {
	var dynamic string
	for _, p := range []string{"/bin/ls", "/usr/bin/env", "/bin/sh"} {
		if err := CheckStatic(p); err != nil {
			dynamic = p
			break
		}
	}
	if dynamic == "" {
		t.Skip("no dynamically linked system binary found")
	}
	if err := CheckStatic(dynamic); err == nil {
		t.Fatalf("%s passed", dynamic)
	}
	if _, err := Build(Options{Binary: dynamic}); err == nil {
		t.Fatalf("Build accepted dynamic %s", dynamic)
	}
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckStatic(notELF); err == nil {
		t.Fatal("a shell script passed as a static binary")
	}
}

type entry struct {
	hdr  *tar.Header
	data []byte
}

func layerFiles(t *testing.T, open func() (io.ReadCloser, error)) map[string]entry {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]entry{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[h.Name] = entry{hdr: h, data: data}
	}
}

func keys(m map[string]entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func extract(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
