package existing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/profile"
)

// WorkloadWaitFunc waits until a workload ("deployment/NAME" or
// "daemonset/NAME") in namespace is available.
type WorkloadWaitFunc func(ctx context.Context, c kubernetes.Interface, namespace, workload string) error

// InstallOptions configure Install. The zero value is usable.
type InstallOptions struct {
	// BaseDir resolves relative manifest files (the profile's folder).
	// Default: the current directory.
	BaseDir string
	// HTTPClient fetches manifest URLs. Default http.DefaultClient.
	HTTPClient *http.Client
	// Wait waits for each workload. Default WaitWorkload.
	Wait WorkloadWaitFunc
	// DryRun validates everything on the API server and stores nothing
	// (the namespace is still created, so namespaced objects can be
	// checked).
	DryRun bool
}

// Installation is a controller installed into a cluster.
type Installation struct {
	// Namespace the controller runs in; PodSelector selects its pods.
	Namespace, PodSelector string
	// Objects applied, in order.
	Objects []*unstructured.Unstructured
	applier *Applier
	client  kubernetes.Interface
}

// Install installs a controller from a profile's kind section: it reads
// and decodes every manifest first (nothing is applied when one is
// unreadable), creates the namespace, applies the manifests and patches,
// and waits for the listed workloads, all within the section's timeout.
func Install(ctx context.Context, cfg *rest.Config, sec profile.KindSection, opts InstallOptions) (*Installation, error) {
	if err := sec.Validate(); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	timeout, _ := sec.TimeoutDuration()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var objs []*unstructured.Unstructured
	for _, src := range sec.ResolveManifests(opts.BaseDir) {
		b, err := ReadManifest(ctx, opts.HTTPClient, src)
		if err != nil {
			return nil, fmt.Errorf("install: %w", err)
		}
		docs, err := kind.DecodeYAML(b)
		if err != nil {
			return nil, fmt.Errorf("install: manifest %s: %w", src, err)
		}
		objs = append(objs, docs...)
	}
	var patches []*unstructured.Unstructured
	var patchBodies [][]byte
	for i, p := range sec.Patches {
		body, err := p.JSON()
		if err != nil {
			return nil, fmt.Errorf("install: kind.patches[%d]: %w", i, err)
		}
		target := &unstructured.Unstructured{}
		target.SetAPIVersion(p.APIVersion)
		target.SetKind(p.Kind)
		target.SetName(p.Name)
		ns := p.Namespace
		if ns == "" {
			ns = sec.Namespace
		}
		target.SetNamespace(ns)
		patches = append(patches, target)
		patchBodies = append(patchBodies, body)
	}
	inst, err := InstallObjects(ctx, cfg, sec.Namespace, objs, nil, opts)
	if err != nil {
		return inst, err
	}
	inst.PodSelector = sec.PodSelector
	for i, target := range patches {
		if err := inst.applier.Patch(ctx, target, sec.Patches[i].Type, patchBodies[i]); err != nil {
			return inst, fmt.Errorf("install: kind.patches[%d]: %w", i, err)
		}
	}
	if opts.DryRun {
		return inst, nil
	}
	return inst, waitAll(ctx, inst.client, sec.Namespace, sec.Wait, opts.Wait)
}

// InstallObjects creates namespace when missing, applies objs in order
// (namespaced objects without a namespace go to namespace) and waits for
// the workloads (skipped with DryRun).
func InstallObjects(ctx context.Context, cfg *rest.Config, namespace string, objs []*unstructured.Unstructured, workloads []string, opts InstallOptions) (*Installation, error) {
	a, err := NewApplier(cfg)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	a.DryRun = opts.DryRun
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("install: client: %w", err)
	}
	inst := &Installation{Namespace: namespace, Objects: objs, applier: a, client: cs}
	if namespace != "" {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return inst, fmt.Errorf("install: namespace %s: %w", namespace, err)
		}
	}
	if err := a.Apply(ctx, namespace, objs...); err != nil {
		return inst, fmt.Errorf("install: %w", err)
	}
	if opts.DryRun {
		return inst, nil
	}
	return inst, waitAll(ctx, cs, namespace, workloads, opts.Wait)
}

func waitAll(ctx context.Context, cs kubernetes.Interface, namespace string, workloads []string, w WorkloadWaitFunc) error {
	if w == nil {
		w = WaitWorkload
	}
	for _, wl := range workloads {
		if err := w(ctx, cs, namespace, wl); err != nil {
			return fmt.Errorf("install: wait for %s/%s: %w", namespace, wl, err)
		}
	}
	return nil
}

// Uninstall deletes the installed objects in reverse order.
func (i *Installation) Uninstall(ctx context.Context) error {
	if i == nil || i.applier == nil {
		return nil
	}
	if err := i.applier.Delete(ctx, i.Namespace, i.Objects...); err != nil {
		return fmt.Errorf("uninstall: %w", err)
	}
	return nil
}

// Logs returns the last n lines of every container of the controller's
// pods ("" without a PodSelector), each block headed by the pod name.
func (i *Installation) Logs(ctx context.Context, n int) string {
	if i == nil || i.PodSelector == "" {
		return ""
	}
	return PodLogs(ctx, i.client, i.Namespace, i.PodSelector, n)
}

// PodLogs returns the last n lines of every container of the pods matching
// selector in namespace.
func PodLogs(ctx context.Context, c kubernetes.Interface, namespace, selector string, n int) string {
	pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Sprintf("(list pods %s in %s: %v)", selector, namespace, err)
	}
	var b strings.Builder
	tail := int64(n)
	for _, pod := range pods.Items {
		for _, ctr := range pod.Spec.Containers {
			fmt.Fprintf(&b, "==> %s/%s [%s] <==\n", namespace, pod.Name, ctr.Name)
			rc, err := c.CoreV1().Pods(namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: ctr.Name, TailLines: &tail}).Stream(ctx)
			if err != nil {
				fmt.Fprintf(&b, "(%v)\n", err)
				continue
			}
			data, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
			rc.Close()
			b.Write(data)
		}
	}
	return b.String()
}

// WaitWorkload polls until a Deployment has all replicas updated and
// available, or a DaemonSet has every scheduled pod updated and available.
func WaitWorkload(ctx context.Context, c kubernetes.Interface, namespace, workload string) error {
	kindName, name, err := profile.ParseWorkload(workload)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		switch kindName {
		case "deployment":
			d, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			s := d.Status
			last = fmt.Sprintf("%d/%d updated, %d available", s.UpdatedReplicas, want, s.AvailableReplicas)
			return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want, nil
		default:
			d, err := c.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			s := d.Status
			last = fmt.Sprintf("%d/%d updated, %d available", s.UpdatedNumberScheduled, s.DesiredNumberScheduled, s.NumberAvailable)
			return s.ObservedGeneration >= d.Generation && s.DesiredNumberScheduled > 0 &&
				s.UpdatedNumberScheduled == s.DesiredNumberScheduled && s.NumberAvailable == s.DesiredNumberScheduled, nil
		}
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s not available (%s): %w", workload, last, err)
		}
		return err
	}
	return nil
}
