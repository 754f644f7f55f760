package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/internal/poll"
)

// clusterState is written by `cluster up` so that `cluster down` can find it.
type clusterState struct {
	Name       string `json:"name"`
	Provider   string `json:"provider"`
	PID        int    `json:"pid"`
	Kubeconfig string `json:"kubeconfig"`
	APIServer  string `json:"apiServer"`
}

func stateDir() string {
	if d := os.Getenv("INGRESSLAB_STATE_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "ingresslab", "clusters")
}

func statePath(name string) string { return filepath.Join(stateDir(), name+".json") }

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Bring a test cluster up or down",
	}
	cmd.AddCommand(newClusterUpCommand(), newClusterDownCommand())
	return cmd
}

type clusterUpFlags struct {
	provider, name, kubeconfig, dataDir, network string
	apiPort                                      int
	startTimeout                                 time.Duration
	kf                                           kindUpFlags
}

func newClusterUpCommand() *cobra.Command {
	var f clusterUpFlags
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a cluster and keep it running until interrupted",
		Long: `Start a cluster in the foreground. With --provider local (the default) a real etcd and
kube-apiserver run as local processes; backends published by the harness live in a network
namespace (as root) or on 127.0.0.x. Ctrl-C, SIGTERM or 'ingresslab cluster down' stop it and
remove everything it created.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return clusterUp(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "local", "cluster provider: local or kind")
	fl.StringVar(&f.name, "name", "ingresslab", "name of the cluster (for 'cluster down')")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "write the admin kubeconfig here (default: inside the data dir)")
	fl.StringVar(&f.dataDir, "data-dir", "", "folder for etcd data, certificates and logs (default: a temporary folder, removed on exit)")
	fl.StringVar(&f.network, "backend-network", string(local.NetworkAuto), "where backends listen: auto, netns (root) or loopback")
	fl.IntVar(&f.apiPort, "api-port", 0, "API server port on 127.0.0.1 (default: a random free port)")
	fl.DurationVar(&f.startTimeout, "start-timeout", 60*time.Second, "how long the control plane may take to start")
	addKindUpFlags(fl, &f.kf)
	return cmd
}

func clusterUp(cmd *cobra.Command, f clusterUpFlags) error {
	if f.provider == "kind" {
		return kindClusterUp(cmd, f.name, f.kubeconfig, f.kf)
	}
	if f.provider != "local" {
		return fmt.Errorf("unknown --provider %q (available: local, kind)", f.provider)
	}
	if _, err := os.Stat(statePath(f.name)); err == nil {
		if st, err := readState(f.name); err == nil && processAlive(st.PID) {
			return fmt.Errorf("a cluster named %q is already running (pid %d, kubeconfig %s); stop it with 'ingresslab cluster down --name %s' or choose another --name", f.name, st.PID, st.Kubeconfig, f.name)
		}
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Starting local cluster %q (etcd, kube-apiserver, kube-controller-manager)...\n", f.name)
	began := time.Now()
	ctx := cmd.Context()
	p, err := local.Start(ctx, local.Options{
		DataDir:        f.dataDir,
		KubeconfigPath: f.kubeconfig,
		APIServerPort:  f.apiPort,
		StartTimeout:   f.startTimeout,
		Network:        local.BackendNetwork(f.network),
	})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "Stopping the cluster...")
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := p.Destroy(dctx); err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "error:", err)
		}
		_ = os.Remove(statePath(f.name))
		fmt.Fprintln(out, "Stopped.")
	}()
	st := clusterState{Name: f.name, Provider: "local", PID: os.Getpid(), Kubeconfig: p.KubeconfigPath(), APIServer: p.APIServerURL()}
	if err := writeState(st); err != nil {
		return err
	}
	fmt.Fprintf(out, "Cluster %q is up (%.1fs).\n", f.name, time.Since(began).Seconds())
	fmt.Fprintf(out, "  API server:  %s\n", p.APIServerURL())
	fmt.Fprintf(out, "  kubeconfig:  %s\n", p.KubeconfigPath())
	fmt.Fprintf(out, "  logs:        %s\n", filepath.Join(p.DataDir(), "logs"))
	if n := p.Network(); n != nil {
		fmt.Fprintf(out, "  backends:    network namespace %s (%s)\n", n.Name, n.Subnet)
	} else {
		fmt.Fprintln(out, "  backends:    127.0.0.x as FQDN EndpointSlices (not root: no network namespace)")
	}
	kubectl := "kubectl"
	if exe, err := os.Executable(); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(exe), "kubectl")); err == nil {
			kubectl = filepath.Join(filepath.Dir(exe), "kubectl")
		}
	}
	fmt.Fprintf(out, "  try:         %s --kubeconfig %s get namespaces\n", kubectl, p.KubeconfigPath())
	fmt.Fprintln(out, "Press Ctrl-C (or run 'ingresslab cluster down') to stop.")
	<-ctx.Done()
	return nil
}

func newClusterDownCommand() *cobra.Command {
	var name, provider string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop a cluster started with 'cluster up'",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch provider {
			case "kind":
				return kindClusterDown(cmd, name, "", timeout)
			case "local":
			default:
				return fmt.Errorf("unknown --provider %q (available: local, kind)", provider)
			}
			st, err := readState(name)
			if err != nil {
				return err
			}
			if err := terminate(st.PID); err != nil {
				_ = os.Remove(statePath(name))
				return fmt.Errorf("cluster %q (pid %d) is not running any more; removed its stale state file", name, st.PID)
			}
			if err := waitExit(cmd.Context(), st.PID, 100*time.Millisecond, timeout); err != nil {
				return fmt.Errorf("cluster %q (pid %d) did not stop: %w", name, st.PID, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cluster %q stopped.\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "ingresslab", "name of the cluster")
	cmd.Flags().StringVar(&provider, "provider", "local", "cluster provider: local or kind")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for it to stop")
	return cmd
}

func writeState(st clusterState) error {
	if err := os.MkdirAll(stateDir(), 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(statePath(st.Name), b, 0o644)
}

func readState(name string) (clusterState, error) {
	var st clusterState
	b, err := os.ReadFile(statePath(name))
	if errors.Is(err, os.ErrNotExist) {
		return st, fmt.Errorf("no running cluster named %q (no %s); start one with 'ingresslab cluster up'", name, statePath(name))
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("state file %s is corrupt: %w", statePath(name), err)
	}
	return st, nil
}

// waitExit waits until process pid has ended, checking every interval, for
// at most timeout.
func waitExit(ctx context.Context, pid int, interval, timeout time.Duration) error {
	return poll.Until(ctx, interval, timeout, func(context.Context) error {
		if processAlive(pid) {
			return errors.New("still running")
		}
		return nil
	})
}
