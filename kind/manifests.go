package kind

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Image references of the images the harness builds (kind/image) and loads
// into kind nodes. The tag "dev" never exists in a registry, so nodes use
// the loaded image (pull policy IfNotPresent).
const (
	ControllerImage = "ghcr.io/ingresslab/ingresslab-controller:dev"
	EchoImage       = "ghcr.io/ingresslab/ingresslab-echo:dev"
	// BenchAgentImage runs `ingresslab bench-agent`, the load generator of
	// `bench --generators N` (the ingresslab binary itself).
	BenchAgentImage = "ghcr.io/ingresslab/ingresslab:dev"
	// EchoBasicImage is the Gateway API conformance echo server, which
	// answers in the same JSON shape; usable where our image is not loaded.
	EchoBasicImage = "gcr.io/k8s-staging-gateway-api/echo-basic:v20240412-v1.0.0-394-g40c666fd"
)

// Names of the reference controller's objects in the shipped manifests.
const (
	Namespace      = "ingresslab-system"
	DeploymentName = "ingresslab-controller"
	ServiceName    = "ingresslab-controller"
	ContainerName  = "controller"
	// PodSelector selects the controller's pods in Namespace.
	PodSelector = "app.kubernetes.io/name=ingresslab-controller"
)

// manifestFS holds the shipped deploy manifests, applied in file order.
//
//go:embed manifests/*.yaml
var manifestFS embed.FS

// ManifestFiles returns the shipped manifest file names in apply order and
// a function reading one.
func ManifestFiles() ([]string, func(name string) ([]byte, error)) {
	entries, _ := fs.ReadDir(manifestFS, "manifests")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names, func(name string) ([]byte, error) { return manifestFS.ReadFile("manifests/" + name) }
}

// ManifestOptions change the shipped manifests. The zero value keeps them
// as shipped.
type ManifestOptions struct {
	// Image of the controller container. Default ControllerImage.
	Image string
	// PullPolicy of the controller container. Default IfNotPresent.
	PullPolicy corev1.PullPolicy
	// Replicas of the Deployment. Default 2.
	Replicas int32
	// HTTPNodePort and HTTPSNodePort pin the Service's node ports (on kind:
	// 80 and 443, which the node maps to the host). Default: allocated.
	HTTPNodePort, HTTPSNodePort int32
	// StatusAddress, when set, is published in Ingress status instead of
	// the Service's addresses (--publish-status-address).
	StatusAddress string
	// ExtraArgs are appended to the controller's arguments.
	ExtraArgs []string
}

// Manifests returns the shipped objects with opts applied, in apply order.
func Manifests(opts ManifestOptions) ([]*unstructured.Unstructured, error) {
	names, read := ManifestFiles()
	var objs []*unstructured.Unstructured
	for _, name := range names {
		b, err := read(name)
		if err != nil {
			return nil, err
		}
		docs, err := DecodeYAML(b)
		if err != nil {
			return nil, fmt.Errorf("manifests/%s: %w", name, err)
		}
		objs = append(objs, docs...)
	}
	for i, o := range objs {
		switch {
		case o.GetKind() == "Deployment" && o.GetName() == DeploymentName:
			d, err := customizeDeployment(o, opts)
			if err != nil {
				return nil, err
			}
			objs[i] = d
		case o.GetKind() == "Service" && o.GetName() == ServiceName:
			s, err := customizeService(o, opts)
			if err != nil {
				return nil, err
			}
			objs[i] = s
		}
	}
	return objs, nil
}

func customizeDeployment(o *unstructured.Unstructured, opts ManifestOptions) (*unstructured.Unstructured, error) {
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
		return nil, fmt.Errorf("deployment %s: %w", o.GetName(), err)
	}
	if opts.Replicas < 0 {
		return nil, fmt.Errorf("deployment %s: replicas %d is negative", d.Name, opts.Replicas)
	}
	if opts.Replicas > 0 {
		d.Spec.Replicas = &opts.Replicas
	}
	i := slices.IndexFunc(d.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == ContainerName })
	if i < 0 {
		return nil, fmt.Errorf("deployment %s: no container %q", d.Name, ContainerName)
	}
	c := &d.Spec.Template.Spec.Containers[i]
	if opts.Image != "" {
		c.Image = opts.Image
	}
	if opts.PullPolicy != "" {
		c.ImagePullPolicy = opts.PullPolicy
	}
	if opts.StatusAddress != "" {
		c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--publish-service=") })
		c.Args = append(c.Args, "--publish-status-address="+opts.StatusAddress)
	}
	c.Args = append(c.Args, opts.ExtraArgs...)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&d)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: %w", d.Name, err)
	}
	out := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(out.Object, "status")
	unstructured.RemoveNestedField(out.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(out.Object, "spec", "template", "metadata", "creationTimestamp")
	return out, nil
}

func customizeService(o *unstructured.Unstructured, opts ManifestOptions) (*unstructured.Unstructured, error) {
	if opts.HTTPNodePort == 0 && opts.HTTPSNodePort == 0 {
		return o, nil
	}
	ports, _, err := unstructured.NestedSlice(o.Object, "spec", "ports")
	if err != nil {
		return nil, fmt.Errorf("service %s: spec.ports: %w", o.GetName(), err)
	}
	want := map[string]int32{"http": opts.HTTPNodePort, "https": opts.HTTPSNodePort}
	for i, p := range ports {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("service %s: spec.ports[%d] is not an object", o.GetName(), i)
		}
		if np := want[fmt.Sprint(pm["name"])]; np != 0 {
			pm["nodePort"] = int64(np)
		}
	}
	out := o.DeepCopy()
	if err := unstructured.SetNestedSlice(out.Object, ports, "spec", "ports"); err != nil {
		return nil, fmt.Errorf("service %s: %w", o.GetName(), err)
	}
	return out, nil
}

// DecodeYAML splits a multi-document YAML (or JSON) stream into objects,
// skipping empty documents. Every object needs apiVersion and kind; a List
// is expanded into its items.
func DecodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		b, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(stripComments(b))) == 0 {
			continue
		}
		var m map[string]any
		if err := utilyaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("document %d: apiVersion and kind are required", doc)
		}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", doc, err)
			}
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) == 0 || t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}
