package profile

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// KindSection says how the harness installs a controller into a real
// cluster (kind, or an existing one) and reaches it. It is the `kind:`
// section of a profile.
//
// On kind, the node's ports 80 and 443 are mapped to 127.0.0.1 host ports
// (see package kind); a controller is reachable there when its pods bind
// hostPort 80/443 on the node labelled ingress-ready=true (the usual "kind"
// flavour of controller manifests), or when its Service uses NodePort 80/443
// (the kind cluster allows node ports from 80).
type KindSection struct {
	// Manifests are applied in order with server-side apply: https URLs
	// pinned to a release, or files relative to the profile's folder.
	Manifests []string `json:"manifests,omitempty"`
	// Namespace the controller runs in (created when missing).
	Namespace string `json:"namespace"`
	// Wait lists the workloads in Namespace that must become available
	// before the run starts: "deployment/NAME" or "daemonset/NAME".
	// Default: none (the harness only waits for the HTTP port).
	Wait []string `json:"wait,omitempty"`
	// Patches are applied after Manifests, in order.
	Patches []KindPatch `json:"patches,omitempty"`
	// ManagesIngressClass is true when Manifests create the profile's
	// IngressClass themselves; the harness then leaves it alone.
	ManagesIngressClass bool `json:"managesIngressClass,omitempty"`
	// PodSelector is a label selector of the controller's pods in
	// Namespace, for collecting their logs.
	PodSelector string `json:"podSelector,omitempty"`
	// Timeout bounds the install and the wait ("5m"). Default 5m.
	Timeout string `json:"timeout,omitempty"`
}

// KindPatch is a patch of one object, applied after the manifests.
type KindPatch struct {
	// APIVersion and Kind of the object ("apps/v1", "Deployment").
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace of the object (default: the section's Namespace; ignored
	// for cluster-scoped kinds).
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Type is "merge" (RFC 7386, default), "strategic" or "json" (RFC 6902).
	Type string `json:"type,omitempty"`
	// Patch is the patch document, YAML or JSON.
	Patch string `json:"patch"`
}

// DefaultKindTimeout bounds a kind install when the section sets none.
const DefaultKindTimeout = 5 * time.Minute

// PatchTypes are the accepted KindPatch.Type values.
var PatchTypes = []string{"merge", "strategic", "json"}

// TimeoutDuration returns Timeout parsed, or DefaultKindTimeout.
func (k *KindSection) TimeoutDuration() (time.Duration, error) {
	if k.Timeout == "" {
		return DefaultKindTimeout, nil
	}
	d, err := time.ParseDuration(k.Timeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("kind.timeout %q is not a positive duration", k.Timeout)
	}
	return d, nil
}

// Validate checks the section: a namespace, manifests that are https URLs
// or relative files, wait entries of a known kind, well-formed patches.
func (k *KindSection) Validate() error {
	var errs []error
	if strings.TrimSpace(k.Namespace) == "" {
		errs = append(errs, errors.New("kind.namespace is required"))
	}
	for i, m := range k.Manifests {
		if err := checkManifestSource(m); err != nil {
			errs = append(errs, fmt.Errorf("kind.manifests[%d]: %w", i, err))
		}
	}
	for i, w := range k.Wait {
		if _, _, err := ParseWorkload(w); err != nil {
			errs = append(errs, fmt.Errorf("kind.wait[%d]: %w", i, err))
		}
	}
	for i, p := range k.Patches {
		if p.APIVersion == "" || p.Kind == "" || p.Name == "" {
			errs = append(errs, fmt.Errorf("kind.patches[%d]: apiVersion, kind and name are required", i))
		}
		if p.Type != "" && !slices.Contains(PatchTypes, p.Type) {
			errs = append(errs, fmt.Errorf("kind.patches[%d].type %q: want one of %s", i, p.Type, strings.Join(PatchTypes, ", ")))
		}
		if _, err := p.JSON(); err != nil {
			errs = append(errs, fmt.Errorf("kind.patches[%d].patch: %w", i, err))
		}
	}
	if _, err := k.TimeoutDuration(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// JSON returns the patch document as JSON.
func (p *KindPatch) JSON() ([]byte, error) {
	if strings.TrimSpace(p.Patch) == "" {
		return nil, errors.New("empty patch")
	}
	b, err := yaml.YAMLToJSON([]byte(p.Patch))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ResolveManifests returns Manifests with relative files made absolute
// against baseDir (the folder of the profile file); URLs are unchanged.
func (k *KindSection) ResolveManifests(baseDir string) []string {
	out := make([]string, 0, len(k.Manifests))
	for _, m := range k.Manifests {
		if isURL(m) || filepath.IsAbs(m) {
			out = append(out, m)
			continue
		}
		out = append(out, filepath.Join(baseDir, m))
	}
	return out
}

// ParseWorkload splits "deployment/NAME" or "daemonset/NAME".
func ParseWorkload(s string) (kind, name string, err error) {
	kind, name, ok := strings.Cut(s, "/")
	kind = strings.ToLower(kind)
	if !ok || name == "" || (kind != "deployment" && kind != "daemonset") {
		return "", "", fmt.Errorf("%q: want deployment/NAME or daemonset/NAME", s)
	}
	return kind, name, nil
}

func isURL(s string) bool { return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") }

// checkManifestSource accepts https URLs and relative file paths. URLs
// must not point at a moving branch: a run must be reproducible.
func checkManifestSource(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("empty")
	}
	if !isURL(s) {
		if filepath.IsAbs(s) {
			return fmt.Errorf("%q: use a path relative to the profile", s)
		}
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%q: only https URLs are allowed", s)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		switch seg {
		case "main", "master", "latest", "HEAD":
			return fmt.Errorf("%q: pin the URL to a release, not %q", s, seg)
		}
	}
	return nil
}
