package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ingresslab/ingresslab/cluster/existing"
	clusterkind "github.com/ingresslab/ingresslab/cluster/kind"
	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/kind/image"
	"github.com/ingresslab/ingresslab/version"
)

// kindUpFlags are the `cluster up --provider kind` flags (--name and
// --kubeconfig are cluster up's own).
type kindUpFlags struct {
	reuse, keep, installReference bool
	nodeImage                     string
	httpPort, httpsPort           int32
	images                        []string
	waitForReady                  time.Duration
}

// addKindUpFlags registers the kind flags of `cluster up`.
func addKindUpFlags(fl *pflag.FlagSet, f *kindUpFlags) {
	fl.BoolVar(&f.reuse, "reuse", false, "kind: use a running kind cluster of the same name instead of failing")
	fl.BoolVar(&f.keep, "keep", false, "kind: return once the cluster is up and leave it running (delete it with 'cluster down --provider kind')")
	fl.BoolVar(&f.installReference, "install-reference", false, "kind: install the reference controller from kind/manifests (load its image with --images)")
	fl.StringVar(&f.nodeImage, "node-image", "", "kind: node image (default: the pinned "+kind.DefaultNodeImage+")")
	fl.Int32Var(&f.httpPort, "http-port", kind.NodeHTTPPort, "kind: host port on 127.0.0.1 for the node's port 80")
	fl.Int32Var(&f.httpsPort, "https-port", kind.NodeHTTPSPort, "kind: host port on 127.0.0.1 for the node's port 443")
	fl.StringSliceVar(&f.images, "images", nil, "kind: image archives to load into the nodes (see 'ingresslab kind images')")
	fl.DurationVar(&f.waitForReady, "wait", 5*time.Minute, "kind: how long cluster creation may take")
}

// kindClusterUp creates (or reuses) the kind cluster, loads images and
// optionally installs the reference controller. With --keep it returns;
// otherwise it waits for Ctrl-C / 'cluster down' and deletes the cluster.
func kindClusterUp(cmd *cobra.Command, name, kubeconfig string, f kindUpFlags) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	began := time.Now()
	p, err := clusterkind.Start(ctx, clusterkind.Options{
		Name: name, NodeImage: f.nodeImage, HTTPPort: f.httpPort, HTTPSPort: f.httpsPort,
		Reuse: f.reuse, Keep: f.keep, Kubeconfig: kubeconfig, WaitForReady: f.waitForReady,
		ImageArchives: f.images, Log: out,
	})
	if err != nil {
		return err
	}
	if !f.keep {
		defer func() {
			fmt.Fprintln(out, "Deleting the kind cluster...")
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if err := p.Destroy(dctx); err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "error:", err)
			}
			_ = os.Remove(statePath(name))
		}()
	}
	if f.installReference {
		fmt.Fprintln(out, "Installing the reference controller...")
		if _, err := p.InstallReference(ctx, kind.ManifestOptions{}); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "kind cluster %q is up (%.1fs, Kubernetes %s).\n", name, time.Since(began).Seconds(), p.KubernetesVersion())
	fmt.Fprintf(out, "  kubeconfig:  %s (context kind-%s)\n", p.KubeconfigPath(), name)
	fmt.Fprintf(out, "  ingress:     http://%s  https://%s\n", p.HTTPAddress(), p.HTTPSAddress())
	fmt.Fprintf(out, "  try:         kubectl --kubeconfig %s get nodes\n", p.KubeconfigPath())
	if f.keep {
		fmt.Fprintf(out, "Delete it with 'ingresslab cluster down --provider kind --name %s'.\n", name)
		return nil
	}
	st := clusterState{Name: name, Provider: "kind", PID: os.Getpid(), Kubeconfig: p.KubeconfigPath()}
	if err := writeState(st); err != nil {
		return err
	}
	fmt.Fprintln(out, "Press Ctrl-C (or run 'ingresslab cluster down --provider kind') to delete it.")
	<-ctx.Done()
	return nil
}

// kindClusterDown stops a foreground 'cluster up --provider kind' (which
// deletes its cluster) or deletes the kind cluster directly.
func kindClusterDown(cmd *cobra.Command, name, kubeconfig string, timeout time.Duration) error {
	ctx := cmd.Context()
	if st, err := readState(name); err == nil && st.Provider == "kind" && processAlive(st.PID) {
		if err := terminate(st.PID); err == nil {
			// On timeout the cluster is deleted directly below.
			if err := waitExit(ctx, st.PID, 200*time.Millisecond, timeout); err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	_ = os.Remove(statePath(name))
	if err := clusterkind.Delete(ctx, clusterkind.Options{Name: name, Kubeconfig: kubeconfig, Log: cmd.OutOrStdout()}); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "kind cluster %q is gone.\n", name)
	return nil
}

// newKindCommand is `ingresslab kind`: images, load, reload and config.
func newKindCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kind",
		Short: "Build and load images, print the kind config (developer loop on kind)",
	}
	cmd.AddCommand(newKindImagesCommand(), newKindLoadCommand(), newKindReloadCommand(), newKindConfigCommand())
	return cmd
}

type kindImageFlags struct{ dir, out, goarch string }

func addKindImageFlags(fl *pflag.FlagSet, f *kindImageFlags) {
	fl.StringVar(&f.dir, "source", ".", "the ingresslab checkout to build from")
	fl.StringVar(&f.out, "out", filepath.Join("out", "images"), "folder for the image archives")
	fl.StringVar(&f.goarch, "goarch", "", "image architecture (default: this machine's)")
}

func buildImages(ctx context.Context, f kindImageFlags) ([]string, error) {
	return image.BuildArchives(ctx, image.ArchiveOptions{
		Dir: f.dir, OutDir: f.out, GOARCH: f.goarch, Version: version.Get().Version,
		LDFlags: "-X github.com/ingresslab/ingresslab/version.Version=" + version.Get().Version,
	}, image.Controller, image.Echo, image.BenchAgent)
}

func newKindImagesCommand() *cobra.Command {
	var f kindImageFlags
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build the controller, echo and bench-agent (ingresslab) images as OCI archives (no Docker needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			paths, err := buildImages(cmd.Context(), f)
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return nil
		},
	}
	addKindImageFlags(cmd.Flags(), &f)
	return cmd
}

func newKindLoadCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "load ARCHIVE...",
		Short: "Load image archives into the nodes of a kind cluster",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := clusterkind.CheckDocker(cmd.Context()); err != nil {
				return err
			}
			return clusterkind.LoadImageArchives(cmd.Context(), clusterkind.KindProvider(cmd.OutOrStdout()), name, cmd.OutOrStdout(), args...)
		},
	}
	cmd.Flags().StringVar(&name, "name", kind.DefaultClusterName, "kind cluster name")
	return cmd
}

func newKindReloadCommand() *cobra.Command {
	var f kindImageFlags
	var name, kubeconfig string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Rebuild the images, load them into the kind cluster and restart the reference controller",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if err := clusterkind.CheckDocker(ctx); err != nil {
				return err
			}
			paths, err := buildImages(ctx, f)
			if err != nil {
				return err
			}
			if err := clusterkind.LoadImageArchives(ctx, clusterkind.KindProvider(out), name, out, paths...); err != nil {
				return err
			}
			if kubeconfig == "" {
				kubeconfig = clusterkind.DefaultKubeconfig(name)
			}
			p, err := existing.New(ctx, existing.Options{Kubeconfig: kubeconfig, Context: "kind-" + name, Name: "kind"})
			if err != nil {
				return err
			}
			patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"ingresslab.dev/restartedAt":%q}}}}}`, time.Now().UTC().Format(time.RFC3339Nano))
			if _, err := p.Client().AppsV1().Deployments(kind.Namespace).Patch(ctx, kind.DeploymentName, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: existing.FieldManager}); err != nil {
				return fmt.Errorf("restart %s/%s (installed? 'cluster up --provider kind --install-reference'): %w", kind.Namespace, kind.DeploymentName, err)
			}
			wctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := existing.WaitWorkload(wctx, p.Client(), kind.Namespace, "deployment/"+kind.DeploymentName); err != nil {
				return fmt.Errorf("%w\n%s", err, existing.PodLogs(ctx, p.Client(), kind.Namespace, kind.PodSelector, 20))
			}
			fmt.Fprintf(out, "Reloaded %s/%s.\n", kind.Namespace, kind.DeploymentName)
			return nil
		},
	}
	addKindImageFlags(cmd.Flags(), &f)
	cmd.Flags().StringVar(&name, "name", kind.DefaultClusterName, "kind cluster name")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: the one 'cluster up --provider kind' wrote)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "how long the rollout may take")
	return cmd
}

func newKindConfigCommand() *cobra.Command {
	var o kind.ConfigOptions
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the kind cluster configuration (for 'kind create cluster --config -')",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := kind.RenderConfig(o)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", kind.DefaultClusterName, "cluster name")
	cmd.Flags().StringVar(&o.NodeImage, "node-image", "", "node image (default: pinned)")
	cmd.Flags().Int32Var(&o.HTTPPort, "http-port", kind.NodeHTTPPort, "host port for the node's port 80")
	cmd.Flags().Int32Var(&o.HTTPSPort, "https-port", kind.NodeHTTPSPort, "host port for the node's port 443")
	return cmd
}
