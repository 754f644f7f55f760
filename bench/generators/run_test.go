package generators

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ingresslab/ingresslab/cluster/existing"
	"github.com/ingresslab/ingresslab/cluster/local"
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
