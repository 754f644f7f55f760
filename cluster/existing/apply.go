package existing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/ingresslab/ingresslab/internal/poll"
)

// FieldManager is the server-side apply field manager of the harness.
const FieldManager = "ingresslab"

// Applier applies objects with server-side apply through the dynamic
// client, finding resources through discovery (reset when a kind is not
// found, so CRDs applied earlier in the same stream are picked up).
type Applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	// DryRun sends every request with dryRun=All: the API server validates
	// and admits the objects but stores nothing.
	DryRun bool
	// CRDWait bounds how long a kind may stay unknown after its CRD was
	// applied. Default 30s.
	CRDWait time.Duration
}

// NewApplier returns an Applier for cfg.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

// Resource returns the dynamic client of obj's resource (namespaced when
// the kind is, in obj's namespace or defaultNamespace).
func (a *Applier) Resource(ctx context.Context, obj *unstructured.Unstructured, defaultNamespace string) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	wait := a.CRDWait
	if wait == 0 {
		wait = 30 * time.Second
	}
	// A kind whose CRD was just installed is unknown until discovery
	// catches up: reset the mapper and retry.
	var m *meta.RESTMapping
	err := poll.Until(ctx, time.Second, wait, func(context.Context) error {
		var err error
		if m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			if !meta.IsNoMatchError(err) {
				return poll.Stop(err)
			}
			a.mapper.Reset()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", gvk, obj.GetName(), err)
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource), nil
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = defaultNamespace
	}
	if ns == "" {
		return nil, fmt.Errorf("%s %s: namespaced kind without a namespace", gvk.Kind, obj.GetName())
	}
	return a.dyn.Resource(m.Resource).Namespace(ns), nil
}

// Apply applies objs in order (server-side apply, forcing conflicts: the
// harness owns what it installs). Namespaced objects without a namespace
// go to defaultNamespace.
func (a *Applier) Apply(ctx context.Context, defaultNamespace string, objs ...*unstructured.Unstructured) error {
	for _, obj := range objs {
		ri, err := a.Resource(ctx, obj, defaultNamespace)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		body, err := obj.MarshalJSON()
		if err != nil {
			return fmt.Errorf("apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		opts := metav1.PatchOptions{FieldManager: FieldManager, Force: ptrTo(true)}
		if a.DryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, opts); err != nil {
			return fmt.Errorf("apply %s %s: %w", obj.GetKind(), objectName(obj, defaultNamespace), err)
		}
	}
	return nil
}

// Patch applies a merge, strategic or JSON patch to one object.
func (a *Applier) Patch(ctx context.Context, obj *unstructured.Unstructured, patchType string, patch []byte) error {
	ri, err := a.Resource(ctx, obj, "")
	if err != nil {
		return fmt.Errorf("patch: %w", err)
	}
	pt := map[string]types.PatchType{"": types.MergePatchType, "merge": types.MergePatchType, "strategic": types.StrategicMergePatchType, "json": types.JSONPatchType}[patchType]
	if pt == "" {
		return fmt.Errorf("patch %s %s: unknown type %q", obj.GetKind(), obj.GetName(), patchType)
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if a.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Patch(ctx, obj.GetName(), pt, patch, opts); err != nil {
		return fmt.Errorf("patch %s %s: %w", obj.GetKind(), objectName(obj, ""), err)
	}
	return nil
}

// Delete deletes objs in reverse order; objects already gone are fine.
func (a *Applier) Delete(ctx context.Context, defaultNamespace string, objs ...*unstructured.Unstructured) error {
	var errs []error
	for i := len(objs) - 1; i >= 0; i-- {
		obj := objs[i]
		ri, err := a.Resource(ctx, obj, defaultNamespace)
		if err != nil {
			if meta.IsNoMatchError(errors.Unwrap(err)) {
				continue // its CRD went first
			}
			errs = append(errs, err)
			continue
		}
		policy := metav1.DeletePropagationBackground
		if err := ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", obj.GetKind(), objectName(obj, defaultNamespace), err))
		}
	}
	return errors.Join(errs...)
}

func objectName(obj *unstructured.Unstructured, defaultNamespace string) string {
	ns := obj.GetNamespace()
	if ns == "" {
		ns = defaultNamespace
	}
	if ns == "" {
		return obj.GetName()
	}
	return ns + "/" + obj.GetName()
}

func ptrTo[T any](v T) *T { return &v }

// ReadManifest returns the bytes of a manifest: an https URL (fetched with
// client, default http.DefaultClient, within ctx) or a file path.
func ReadManifest(ctx context.Context, client *http.Client, source string) ([]byte, error) {
	if !strings.HasPrefix(source, "https://") && !strings.HasPrefix(source, "http://") {
		b, err := os.ReadFile(source)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		return b, nil
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", source, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", source, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("manifest %s: HTTP %s", source, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", source, err)
	}
	return b, nil
}
