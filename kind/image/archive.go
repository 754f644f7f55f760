package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const (
	// AnnotationImageName is containerd's annotation naming an image in an
	// archive index (full reference); `ctr images import` tags with it.
	AnnotationImageName = "io.containerd.image.name"
	// AnnotationRefName is the OCI ref name annotation (the tag).
	AnnotationRefName = "org.opencontainers.image.ref.name"
)

// WriteArchive writes img as an OCI image-layout tar archive at path
// (oci-layout, index.json, blobs/sha256/...), tagged ref. The file is
// written next to path and renamed into place.
func WriteArchive(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return fmt.Errorf("archive %s: reference %q: %w", path, ref, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ingresslab-image-*")
	if err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, tag, img); err != nil {
		tmp.Close()
		return fmt.Errorf("archive %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("archive %s: %w", path, err)
	}
	return nil
}

// Write streams img as an OCI image-layout tar to w.
func Write(w io.Writer, tag name.Tag, img v1.Image) error {
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return fmt.Errorf("media type: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	configName, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     "application/vnd.oci.image.index.v1+json",
		Manifests: []v1.Descriptor{{
			MediaType: mt,
			Size:      int64(len(manifest)),
			Digest:    digest,
			Platform:  &v1.Platform{OS: cf.OS, Architecture: cf.Architecture},
			Annotations: map[string]string{
				AnnotationImageName: tag.Name(),
				AnnotationRefName:   tag.TagStr(),
			},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	tw := tar.NewWriter(w)
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("%s: wrote %d bytes, want %d", name, n, size)
		}
		return nil
	}
	putBytes := func(name string, b []byte) error { return put(name, int64(len(b)), strings.NewReader(string(b))) }
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := putBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := putBytes("index.json", indexJSON); err != nil {
		return err
	}
	if err := putBytes(blobPath(digest), manifest); err != nil {
		return err
	}
	if err := putBytes(blobPath(configName), rawConfig); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("layers: %w", err)
	}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		size, err := l.Size()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		err = put(blobPath(d), size, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return tw.Close()
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
