package generators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/reports"
)

// ErrNotStarted is wrapped by Run's error when the generator Pods were not
// all running by the agreed start instant (the windows could not line up).
var ErrNotStarted = errors.New("generators did not start by the agreed start instant")

// Runner runs distributed windows in a cluster.
type Runner struct {
	// Kube is the client (the harness's credentials).
	Kube kubernetes.Interface
	// Gates judge each generator and the merged window.
	Gates reports.Gates
	// Progress receives one line per step (nil: none).
	Progress func(format string, args ...any)
	// Poll is the interval of every wait. Default 500ms.
	Poll time.Duration
	// CleanupTimeout bounds the deletion of the Job and its Pods. Default 1m.
	CleanupTimeout time.Duration
	// Logs opens a finished generator Pod's log (at most limit bytes).
	// Default: the API server's pods/log subresource through client-go.
	Logs func(ctx context.Context, namespace, pod string, limit int64) (io.ReadCloser, error)
}

// Outcome is a finished distributed measurement: one merged result per
// window of the Config, in order.
type Outcome struct {
	Windows []*agent.Merged
	// Nodes are the distinct nodes the generators ran on.
	Nodes []string
}

func (r *Runner) progressf(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(format, args...)
	}
}

// Run creates the ServiceAccount (once) and the Job, waits until every
// generator runs (by Config.Start) and finishes, reads and merges their
// results, and deletes the Job and its Pods on every path, cancellation
// included.
func (r *Runner) Run(ctx context.Context, o JobOptions) (out *Outcome, err error) {
	if r.Poll <= 0 {
		r.Poll = 500 * time.Millisecond
	}
	if r.CleanupTimeout <= 0 {
		r.CleanupTimeout = time.Minute
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	job, err := NewJob(o, time.Now())
	if err != nil {
		return nil, err
	}
	ns, name, n := job.Namespace, job.Name, int(*job.Spec.Parallelism)
	sa := NewServiceAccount(ns, o.Labels)
	if _, err := r.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("generator ServiceAccount %s/%s: %w", ns, sa.Name, err)
	}
	created := time.Now()
	if _, err := r.Kube.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create generator Job %s/%s: %w", ns, name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.CleanupTimeout)
		defer cancel()
		if cerr := r.Delete(cctx, ns, name); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	start := o.Config.Start
	r.progressf("generator Job %s/%s: %d Pods, start at %s (in %s), deadline %ds", ns, name, n, start.Format("15:04:05.000"),
		time.Until(start).Round(100*time.Millisecond), *job.Spec.ActiveDeadlineSeconds)

	// Every Pod must run by the agreed instant, or the windows cannot line up.
	started := func(ctx context.Context) error {
		pods, err := r.pods(ctx, ns, name)
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods {
			if p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodSucceeded {
				running++
			}
		}
		if running < n {
			return fmt.Errorf("%d of %d generator Pods running%s", running, n, describePods(pods))
		}
		return nil
	}
	if err := poll.Until(ctx, r.Poll, atLeast(time.Until(start)), started); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("generator Job %s/%s: %w (%s, %s after the Job was created): %w", ns, name, ErrNotStarted,
			start.Format("15:04:05.000"), o.Config.Start.Sub(created).Round(100*time.Millisecond), err)
	}
	r.progressf("generator Job %s/%s: all %d Pods running", ns, name, n)

	// Then wait for the Pods to finish: the windows, their last answers,
	// and the slack.
	var pods []corev1.Pod
	finished := func(ctx context.Context) error {
		ps, err := r.pods(ctx, ns, name)
		if err != nil {
			return err
		}
		done := 0
		for _, p := range ps {
			switch p.Status.Phase {
			case corev1.PodSucceeded:
				done++
			case corev1.PodFailed:
				return poll.Stop(fmt.Errorf("generator Pod %s failed: %s %s%s", p.Name, p.Status.Reason, p.Status.Message, r.logTail(ctx, ns, p.Name)))
			}
		}
		if done < n {
			return fmt.Errorf("%d of %d generator Pods finished%s", done, n, describePods(ps))
		}
		pods = ps
		return nil
	}
	if err := poll.Until(ctx, r.Poll, atLeast(time.Until(o.Config.End())+o.Slack), finished); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("generator Job %s/%s: %w", ns, name, err)
	}
	var results []agent.Result
	nodes := map[string]bool{}
	for _, p := range pods {
		rs, err := r.results(ctx, ns, p)
		if err != nil {
			return nil, err
		}
		results = append(results, rs...)
		if p.Spec.NodeName != "" {
			nodes[p.Spec.NodeName] = true
		}
	}
	out = &Outcome{}
	for k := range nodes {
		out.Nodes = append(out.Nodes, k)
	}
	slices.Sort(out.Nodes)
	byWindow := agent.ByWindow(results)
	for i := range o.Config.Windows {
		m, err := agent.Merge(byWindow[i], n, r.Gates)
		if err != nil {
			return nil, fmt.Errorf("generator Job %s/%s: %w", ns, name, err)
		}
		out.Windows = append(out.Windows, m)
	}
	return out, nil
}

// pods lists the Job's Pods.
func (r *Runner) pods(ctx context.Context, ns, name string) ([]corev1.Pod, error) {
	l, err := r.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: GeneratorLabel + "=" + name})
	if err != nil {
		return nil, fmt.Errorf("list generator Pods of %s/%s: %w", ns, name, err)
	}
	return l.Items, nil
}

// maxLogBytes bounds one generator's log the harness reads.
const maxLogBytes = 8 << 20

// results reads a finished generator Pod's log and parses its results;
// each must carry the Pod's completion index.
func (r *Runner) results(ctx context.Context, ns string, p corev1.Pod) ([]agent.Result, error) {
	logs := r.Logs
	if logs == nil {
		logs = r.podLog
	}
	stream, err := logs(ctx, ns, p.Name, maxLogBytes)
	if err != nil {
		return nil, fmt.Errorf("log of generator Pod %s/%s: %w", ns, p.Name, err)
	}
	defer stream.Close()
	rs, err := agent.Parse(io.LimitReader(stream, maxLogBytes))
	if err != nil {
		return nil, fmt.Errorf("generator Pod %s/%s: %w", ns, p.Name, err)
	}
	idx, err := strconv.Atoi(p.Annotations[completionIndexAnnotation])
	if err != nil {
		return nil, fmt.Errorf("generator Pod %s/%s: no completion index annotation", ns, p.Name)
	}
	for _, res := range rs {
		if res.Generator != idx {
			return nil, fmt.Errorf("generator Pod %s/%s (index %d) reported results as generator %d", ns, p.Name, idx, res.Generator)
		}
	}
	return rs, nil
}

// podLog streams the agent container's log through the API server.
func (r *Runner) podLog(ctx context.Context, ns, pod string, limit int64) (io.ReadCloser, error) {
	return r.Kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: Container, LimitBytes: &limit}).Stream(ctx)
}

// logTail is the end of a Pod's log for an error message.
func (r *Runner) logTail(ctx context.Context, ns, pod string) string {
	lines := int64(10)
	b, err := r.Kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: Container, TailLines: &lines}).DoRaw(ctx)
	if err != nil || len(b) == 0 {
		return ""
	}
	return "\n  log: " + strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n  log: ")
}

// Delete deletes the Job and its Pods (also when the cluster runs no
// garbage collector) and waits until the Pods are gone.
func (r *Runner) Delete(ctx context.Context, ns, name string) error {
	bg := metav1.DeletePropagationBackground
	if err := r.Kube.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete generator Job %s/%s: %w", ns, name, err)
	}
	sel := metav1.ListOptions{LabelSelector: GeneratorLabel + "=" + name}
	if err := r.Kube.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}, sel); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete generator Pods of %s/%s: %w", ns, name, err)
	}
	err := poll.Until(ctx, r.Poll, 0, func(ctx context.Context) error {
		pods, err := r.pods(ctx, ns, name)
		if err != nil {
			return err
		}
		if len(pods) > 0 {
			r.releaseTracking(ctx, pods)
			return fmt.Errorf("%d generator Pods left", len(pods))
		}
		_, err = r.Kube.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("generator Job still present (%v)", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clean up generator Job %s/%s: %w", ns, name, err)
	}
	return nil
}

// jobTrackingFinalizer is the Job controller's finalizer on the Pods of a
// Job; it removes it itself, also once the Job is gone.
const jobTrackingFinalizer = "batch.kubernetes.io/job-tracking"

// releaseTracking removes the Job-tracking finalizer from deleted Pods of
// the (already deleted) Job, so they go even when the cluster's Job
// controller is slow or not running.
func (r *Runner) releaseTracking(ctx context.Context, pods []corev1.Pod) {
	for _, p := range pods {
		if p.DeletionTimestamp == nil || !slices.Contains(p.Finalizers, jobTrackingFinalizer) {
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(p.Finalizers), func(f string) bool { return f == jobTrackingFinalizer })
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": rest, "resourceVersion": p.ResourceVersion}})
		if err != nil {
			continue
		}
		_, _ = r.Kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
}

// describePods says why Pods are not running (for errors).
func describePods(pods []corev1.Pod) string {
	var out []string
	for _, p := range pods {
		s := fmt.Sprintf("%s: %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Status == corev1.ConditionFalse && c.Message != "" {
				s += fmt.Sprintf(" (%s: %s)", c.Type, c.Message)
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				s += fmt.Sprintf(" (%s %s)", w.Reason, w.Message)
			}
		}
		if p.Spec.NodeName == "" && p.Status.Phase == corev1.PodPending {
			s += " (not scheduled to a node)"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return ": no Pods created yet"
	}
	slices.Sort(out)
	return ": " + strings.Join(out, "; ")
}

// atLeast keeps a wait's timeout positive (poll.Until treats 0 as none).
func atLeast(d time.Duration) time.Duration { return max(d, time.Millisecond) }
