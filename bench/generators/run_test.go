package generators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/ingresslab/ingresslab/bench/agent"
	"github.com/ingresslab/ingresslab/cluster/existing"
	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/echoserver"
	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/internal/testtools"
	"github.com/ingresslab/ingresslab/reports"
)

// startCluster starts the embedded local cluster with kube-controller-
// manager running the Job controller (no kubelet and no scheduler: the
// Job's Pods are created and stay Pending), and the run's labelled
// namespace through the existing provider, as `bench --provider existing`
// makes it.
func startCluster(t *testing.T) (kubernetes.Interface, *existing.Provider) {
	t.Helper()
	bins, err := local.FindBinaries(context.Background(), local.Binaries{})
	testtools.Require(t, err)
	if bins.ControllerManager == "" {
		testtools.Require(t, errors.New("kube-controller-manager not found (make tools)"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lp, err := local.Start(ctx, local.Options{Network: local.NetworkLoopback, ExtraControllers: []string{"job"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lp.Destroy(context.Background()) })
	ep, err := existing.New(ctx, existing.Options{Config: lp.RESTConfig(), Wait: existing.NoWait, DeleteTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.EnsureNamespace(ctx, "ingresslab-bench"); err != nil {
		t.Fatal(err)
	}
	return ep.Client(), ep
}

func TestGeneratorJobOnLocalCluster(t *testing.T) {
	kube, ep := startCluster(t)
	g := NewWithT(t)
	r := &Runner{Kube: kube, Gates: reports.Gates{MinAchievedRatio: 0.99, MaxLagP99Micros: 20000}, Poll: 200 * time.Millisecond}
	list := func(ctx context.Context, name string) (jobs, pods int) {
		sel := metav1.ListOptions{LabelSelector: GeneratorLabel + "=" + name}
		j, err := kube.BatchV1().Jobs("ingresslab-bench").List(ctx, sel)
		g.Expect(err).NotTo(HaveOccurred())
		p, err := kube.CoreV1().Pods("ingresslab-bench").List(ctx, sel)
		g.Expect(err).NotTo(HaveOccurred())
		return len(j.Items), len(p.Items)
	}

	t.Run("not started by the agreed instant", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		o := testOptions(time.Now().Add(15 * time.Second))
		o.Name, o.Config.Generators, o.Labels = "gen-pending", 2, ep.RunLabels()
		type result struct {
			out *Outcome
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, err := r.Run(ctx, o)
			done <- result{out, err}
		}()
		// The Job controller creates one Pod per index, with the Job's spec.
		var pods []corev1.Pod
		g.Eventually(func() []corev1.Pod {
			l, err := kube.CoreV1().Pods("ingresslab-bench").List(ctx, metav1.ListOptions{LabelSelector: GeneratorLabel + "=gen-pending"})
			g.Expect(err).NotTo(HaveOccurred())
			pods = l.Items
			return pods
		}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(HaveLen(2))
		indexes := map[string]bool{}
		for _, p := range pods {
			indexes[p.Annotations[completionIndexAnnotation]] = true
			g.Expect(p.Spec.ServiceAccountName).To(Equal(ServiceAccount))
			g.Expect(p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(HaveLen(1))
			g.Expect(p.Spec.Containers[0].Resources.Limits.Cpu().String()).To(Equal("1"))
			g.Expect(p.Labels).To(HaveKeyWithValue(existing.RunLabel, ep.RunID()))
		}
		g.Expect(indexes).To(Equal(map[string]bool{"0": true, "1": true}))
		job, err := kube.BatchV1().Jobs("ingresslab-bench").Get(ctx, "gen-pending", metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*job.Spec.Parallelism).To(Equal(int32(2)))
		g.Expect(*job.Spec.ActiveDeadlineSeconds).To(BeNumerically(">", 60))
		sa, err := kube.CoreV1().ServiceAccounts("ingresslab-bench").Get(ctx, ServiceAccount, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(*sa.AutomountServiceAccountToken).To(BeFalse())
		rbs, err := kube.RbacV1().RoleBindings("ingresslab-bench").List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(rbs.Items).To(BeEmpty(), "the generators' ServiceAccount needs no Role")

		var res result
		g.Eventually(done).WithTimeout(time.Minute).Should(Receive(&res))
		g.Expect(res.out).To(BeNil())
		g.Expect(errors.Is(res.err, ErrNotStarted)).To(BeTrue(), "error: %v", res.err)
		msg := res.err.Error()
		t.Logf("reported: %s", msg)
		for _, want := range []string{"generator Job ingresslab-bench/gen-pending", "did not start by the agreed start instant", "0 of 2 generator Pods running", "Pending", "not scheduled to a node"} {
			g.Expect(msg).To(ContainSubstring(want))
		}
		jobs, left := list(ctx, "gen-pending")
		g.Expect(jobs).To(BeZero(), "Job left after the run")
		g.Expect(left).To(BeZero(), "Pods left after the run")
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		runCtx, interrupt := context.WithCancel(ctx)
		o := testOptions(time.Now().Add(5 * time.Minute))
		o.Name, o.Config.Generators, o.Labels = "gen-cancel", 2, ep.RunLabels()
		done := make(chan error, 1)
		go func() {
			_, err := r.Run(runCtx, o)
			done <- err
		}()
		g.Eventually(func() int { _, p := list(ctx, "gen-cancel"); return p }).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(2))
		interrupt() // Ctrl-C
		var err error
		g.Eventually(done).WithTimeout(30 * time.Second).Should(Receive(&err))
		g.Expect(errors.Is(err, context.Canceled)).To(BeTrue(), "error: %v", err)
		jobs, pods := list(ctx, "gen-cancel")
		g.Expect(jobs+pods).To(BeZero(), "Job and Pods must be deleted on cancel")
	})

	t.Run("finished Job read and merged", func(t *testing.T) {
		testFinishedJob(t, kube, ep)
	})

	t.Run("refused before any Job exists", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		o := testOptions(time.Now().Add(time.Minute))
		o.Name, o.Config.Dial = "gen-foreign", "203.0.113.7:80"
		_, err := r.Run(ctx, o)
		g.Expect(err).To(MatchError(ContainSubstring(`dial "203.0.113.7:80" is neither the controller address nor a backend of this run`)))
		jobs, _ := list(ctx, "gen-foreign")
		g.Expect(jobs).To(BeZero())
		g.Expect(strings.Contains(err.Error(), "gen-foreign")).To(BeTrue())
	})
}

// kubeletStandIn plays the kubelet this cluster lacks, for the Pods of the
// Job name: it binds each Pod to its own node name, reports it Running,
// runs the real agent code in-process with the Pod's config and completion
// index, keeps its output as the Pod's log, and reports it Succeeded.
// Everything else is real: the Job controller creates the Pods, the
// harness waits on their phases, reads the logs, merges and cleans up.
type kubeletStandIn struct {
	kube kubernetes.Interface
	mu   sync.Mutex
	logs map[string]*bytes.Buffer
}

func (k *kubeletStandIn) log(_ context.Context, _, pod string, _ int64) (io.ReadCloser, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.logs[pod]
	if !ok {
		return nil, fmt.Errorf("no log for pod %s", pod)
	}
	return io.NopCloser(bytes.NewReader(b.Bytes())), nil
}

func (k *kubeletStandIn) setPhase(ctx context.Context, ns, name string, phase corev1.PodPhase) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := k.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Status.Phase = phase
		now := metav1.Now()
		st := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
		if phase == corev1.PodSucceeded {
			st = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: now}}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: Container, State: st, Image: p.Spec.Containers[0].Image, Ready: phase == corev1.PodRunning}}
		_, err = k.kube.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
		return err
	})
}

// run serves every Pod of the Job once; it returns when all n ran.
func (k *kubeletStandIn) run(ctx context.Context, ns, job string, n int) error {
	started := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// The agents outlive the poll (whose context ends when it returns).
	err := poll.Until(ctx, 100*time.Millisecond, time.Minute, func(pctx context.Context) error {
		l, err := k.kube.CoreV1().Pods(ns).List(pctx, metav1.ListOptions{LabelSelector: GeneratorLabel + "=" + job})
		if err != nil {
			return err
		}
		for _, p := range l.Items {
			if started[p.Name] {
				continue
			}
			started[p.Name] = true
			idx, err := strconv.Atoi(p.Annotations[completionIndexAnnotation])
			if err != nil {
				return poll.Stop(fmt.Errorf("pod %s has no completion index", p.Name))
			}
			node := fmt.Sprintf("node-%d", idx)
			if err := k.kube.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{}); err != nil {
				return poll.Stop(err)
			}
			if err := k.setPhase(ctx, ns, p.Name, corev1.PodRunning); err != nil {
				return poll.Stop(err)
			}
			var cfg agent.Config
			for _, e := range p.Spec.Containers[0].Env {
				if e.Name == ConfigEnv {
					if cfg, err = agent.ParseConfig([]byte(e.Value)); err != nil {
						return poll.Stop(err)
					}
				}
			}
			out := &bytes.Buffer{}
			k.mu.Lock()
			k.logs[p.Name] = out
			k.mu.Unlock()
			wg.Go(func() {
				var log bytes.Buffer
				err := agent.Run(ctx, cfg, agent.Options{Index: idx, Pod: p.Name, Node: node, Out: &log})
				k.mu.Lock()
				out.Write(log.Bytes())
				k.mu.Unlock()
				if err == nil {
					err = k.setPhase(ctx, ns, p.Name, corev1.PodSucceeded)
				}
				errs <- err
			})
		}
		if len(started) < n {
			return fmt.Errorf("%d of %d pods seen", len(started), n)
		}
		return nil
	})
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	return err
}

func testFinishedJob(t *testing.T, kube kubernetes.Interface, ep *existing.Provider) {
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	srv, err := echoserver.New(echoserver.Options{Listener: l, Identity: echoserver.Identity{Namespace: "ingresslab-bench", Service: "echo", Pod: "echo-0"}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(srv.Start()).To(Succeed())
	defer srv.Close()

	k := &kubeletStandIn{kube: kube, logs: map[string]*bytes.Buffer{}}
	r := &Runner{Kube: kube, Gates: reports.Gates{MinAchievedRatio: 0.9, MaxLagP99Micros: 1e6}, Poll: 200 * time.Millisecond, Logs: k.log}
	o := testOptions(time.Now().Add(10 * time.Second))
	o.Name, o.Config.Generators, o.Labels = "gen-done", 2, ep.RunLabels()
	o.Config.Dial = l.Addr().String()
	o.Allowed = []string{l.Addr().String()}
	o.Config.Windows = []agent.Window{{Phase: "warm-up", RateRPS: 200, DurationMillis: 300}, {Phase: "fraction", RateRPS: 200, DurationMillis: 1000}}
	o.Config.TimeoutMillis = 1000
	kdone := make(chan error, 1)
	go func() { kdone <- k.run(ctx, "ingresslab-bench", "gen-done", 2) }()
	o.Slack = 15 * time.Second
	out, err := r.Run(ctx, o)
	g.Expect(<-kdone).To(Succeed(), "kubelet stand-in")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out.Windows).To(HaveLen(2))
	g.Expect(out.Nodes).To(Equal([]string{"node-0", "node-1"}))
	st := out.Windows[1].Step
	t.Logf("merged window: %d requests, achieved %.1f rps, p50 %.0f µs, p99 %.0f µs, generators %+v", st.Requests, st.AchievedRPS, st.Latency.P50, st.Latency.P99, st.Generators)
	g.Expect(st.Requests).To(BeNumerically("~", 200, 5))
	g.Expect(st.OfferedRPS).To(Equal(200.0))
	g.Expect(st.SuccessRatio).To(Equal(1.0))
	g.Expect(st.Generators).To(HaveLen(2))
	for i, gw := range st.Generators {
		g.Expect(gw.Index).To(Equal(i))
		g.Expect(gw.OfferedRPS).To(Equal(100.0))
		g.Expect(gw.Node).To(Equal(fmt.Sprintf("node-%d", i)))
		g.Expect(gw.Requests).To(BeNumerically("~", 100, 3))
	}
	sel := metav1.ListOptions{LabelSelector: GeneratorLabel + "=gen-done"}
	jl, err := kube.BatchV1().Jobs("ingresslab-bench").List(ctx, sel)
	g.Expect(err).NotTo(HaveOccurred())
	pl, err := kube.CoreV1().Pods("ingresslab-bench").List(ctx, sel)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(len(jl.Items)+len(pl.Items)).To(BeZero(), "Job and Pods must be deleted at the end")
}
