package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ingresslab/ingresslab/internal/poll"
	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/reports"
)

// leaderElectOff is the argument failover replaces to turn leader election
// on; a profile without it cannot be run as two electing replicas.
const leaderElectOff = "--leader-elect=false"

// failoverHost is the Ingress created after the kill: its status must be
// written by the new leader.
const failoverHost = "failover.rel.bench.test"

// failoverNote states what the times depend on.
const failoverNote = "The reference controller's lease: 15 s duration, 10 s renew deadline, 2 s retry period (its defaults): a killed leader's lease must expire before the follower takes it, so status resumes after about 15 s; traffic does not depend on the lease (every replica serves)."

func runFailover(ctx context.Context, e *Env) (*reports.BenchScenario, error) {
	if e.Opts.Quick {
		return nil, &skipError{"not in --quick: the new leader waits for the killed leader's lease to expire (15 s with the reference's defaults)"}
	}
	cmd := e.Profile.Local.Command
	if !slices.Contains(cmd, leaderElectOff) {
		return nil, &skipError{fmt.Sprintf("profile %s has no %s argument: the bench cannot turn its leader election on", e.Profile.Name, leaderElectOff)}
	}
	rate, basis := e.reliabilityRate()
	timeout := 2 * time.Minute

	// Two electing replicas replace the bench's controller meanwhile.
	if err := e.Ctrl.Stop(ctx); err != nil {
		return nil, fmt.Errorf("failover: stop the bench's controller: %w", err)
	}
	defer func() {
		if e.Ctrl.Process() == nil {
			_ = e.Ctrl.Start(context.WithoutCancel(ctx))
		}
	}()
	prof := *e.Profile
	prof.Local.Command = append(slices.Clone(cmd), "--leader-election-namespace={{.Namespace}}")
	prof.Local.Command[slices.Index(cmd, leaderElectOff)] = "--leader-elect=true"
	replica := func(name string) (*launch.Controller, error) {
		dir := filepath.Join(e.Opts.ReportDir, "logs", "failover-"+name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return launch.Launch(ctx, e.launcher, &prof, launch.Options{BinDir: e.Opts.BinDir, LogDir: dir, ReadyTimeout: 2 * time.Minute})
	}
	a, err := replica("a")
	if err != nil {
		return nil, fmt.Errorf("failover: replica a: %w", err)
	}
	defer a.Close()
	ns := a.Vars.Namespace
	leaderBefore, err := e.leaseHolder(ctx, ns, "", timeout)
	if err != nil {
		return nil, fmt.Errorf("failover: replica a never became leader: %w", err)
	}
	b, err := replica("b")
	if err != nil {
		return nil, fmt.Errorf("failover: replica b: %w", err)
	}
	defer b.Close()
	t, err := e.stableTraffic(ctx, b.HTTPAddr, "/failover")
	if err != nil {
		return nil, err
	}
	_ = e.Kube.NetworkingV1().Ingresses(Namespace).Delete(ctx, "rel-failover", metav1.DeleteOptions{})

	tl := newTally()
	done := make(chan struct{})
	loadErr := make(chan error, 1)
	go func() { loadErr <- e.loadUntil(ctx, t, rate, tl, "failover", done) }()
	stop := func() error {
		close(done)
		return <-loadErr
	}
	res := &reports.FailoverResult{Replicas: 2, LeaderBefore: leaderBefore, TimeoutSeconds: timeout.Seconds(), Note: failoverNote}
	// Let the load run a window before the kill.
	if err := poll.Until(ctx, 100*time.Millisecond, time.Minute, func(context.Context) error {
		if tl.result(rate, basis).Requests < int64(rate) {
			return errNotYet
		}
		return nil
	}); err != nil {
		_ = stop()
		return nil, fmt.Errorf("failover: load did not start: %w", err)
	}
	proc := a.Process()
	osProc, err := os.FindProcess(proc.PID())
	if err == nil {
		err = osProc.Kill()
	}
	if err != nil {
		_ = stop()
		return nil, fmt.Errorf("failover: kill the leader: %w", err)
	}
	killed := time.Now()
	<-proc.Done()
	e.Progressf("failover: leader %s (pid %d) killed", leaderBefore, proc.PID())
	if err := e.apply(ctx, e.ingress("rel-failover", []rule{{Host: failoverHost, Paths: []pathBackend{{"/", stableService}}}}, "")); err != nil {
		_ = stop()
		return nil, err
	}
	werr := poll.Until(ctx, 20*time.Millisecond, timeout, func(ctx context.Context) error {
		ing, err := e.Kube.NetworkingV1().Ingresses(Namespace).Get(ctx, "rel-failover", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(ing.Status.LoadBalancer.Ingress) == 0 {
			return errNotYet
		}
		return nil
	})
	res.StatusWritten = werr == nil
	res.StatusMillis = float64(time.Since(killed)) / 1e6
	res.LeaderAfter, _ = e.leaseHolder(ctx, ns, leaderBefore, 5*time.Second)
	if err := stop(); err != nil {
		return nil, fmt.Errorf("failover load: %w", err)
	}
	res.Traffic = tl.result(rate, basis)
	e.Progressf("failover: status written %t after %.0f ms; new leader %s; survivor traffic: %d requests, %d failed",
		res.StatusWritten, res.StatusMillis, res.LeaderAfter, res.Traffic.Requests, res.Traffic.Failed())
	_ = e.Kube.NetworkingV1().Ingresses(Namespace).Delete(ctx, "rel-failover", metav1.DeleteOptions{})
	if werr != nil {
		e.Progressf("failover: no status within %s of the kill: %v", timeout, werr)
	}
	// Failed requests and a missing status are the controller's result,
	// judged by the goals.
	return &reports.BenchScenario{Reliability: &reports.ReliabilityResult{Failover: res}}, nil
}

// leaseHolder waits until a Lease in ns is held by someone other than not
// and returns the holder.
func (e *Env) leaseHolder(ctx context.Context, ns, not string, timeout time.Duration) (string, error) {
	var holder string
	err := poll.Until(ctx, 50*time.Millisecond, timeout, func(ctx context.Context) error {
		leases, err := e.Kube.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, l := range leases.Items {
			if h := l.Spec.HolderIdentity; h != nil && *h != "" && *h != not {
				holder = *h
				return nil
			}
		}
		return errors.New("no lease held")
	})
	return holder, err
}
