// Package kind is the "kind" cluster provider: it creates (or, with Reuse,
// reuses) a kind cluster through sigs.k8s.io/kind's Go library from the
// configuration in package kind (pinned node image, node ports 80/443 mapped
// to 127.0.0.1, node label ingress-ready=true), exports its kubeconfig,
// loads image archives into the nodes, installs controllers, and deletes
// the cluster on Destroy unless Keep is set.
//
// Kind needs a Docker engine; Start checks for it first and fails with an
// error wrapping ErrDockerUnavailable that says what to do.
//
// Backends and cleanup are the existing provider's (cluster/existing): echo
// Deployments behind Services, in namespaces labelled with the run ID. On
// kind the echo image defaults to ingresslab's own (kind.EchoImage), which
// must have been loaded (LoadImageArchives).
package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/cluster/existing"
	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/profile"
)

// Options configure the kind provider. The zero value is usable.
type Options struct {
	// Name of the kind cluster. Default kind.DefaultClusterName.
	Name string
	// NodeImage overrides the pinned node image.
	NodeImage string
	// HTTPPort and HTTPSPort are the 127.0.0.1 host ports of the node's
	// ports 80 and 443. Default 80 and 443.
	HTTPPort, HTTPSPort int32
	// Reuse uses a running cluster of the same name instead of failing.
	// Its port mappings must match HTTPPort and HTTPSPort.
	Reuse bool
	// Keep leaves the cluster running on Destroy (only the run's labelled
	// namespaces are deleted).
	Keep bool
	// Kubeconfig is where the cluster's kubeconfig is written. Default:
	// $TMPDIR/ingresslab/kind-<name>.kubeconfig (the user's
	// ~/.kube/config is left alone).
	Kubeconfig string
	// WaitForReady bounds cluster creation. Default 5m.
	WaitForReady time.Duration
	// ImageArchives are loaded into every node after start.
	ImageArchives []string
	// Log receives progress lines. Default: discarded.
	Log io.Writer
	// Backends configures the backend publisher; its Config, Kubeconfig,
	// Context and Name are set by the provider. EchoImage defaults to
	// kind.EchoImage.
	Backends existing.Options
	// CheckDocker replaces the Docker check (tests). Default CheckDocker.
	CheckDocker func(context.Context) error
}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = kind.DefaultClusterName
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = kind.NodeHTTPPort
	}
	if o.HTTPSPort == 0 {
		o.HTTPSPort = kind.NodeHTTPSPort
	}
	if o.Kubeconfig == "" {
		o.Kubeconfig = DefaultKubeconfig(o.Name)
	}
	if o.WaitForReady == 0 {
		o.WaitForReady = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.CheckDocker == nil {
		o.CheckDocker = CheckDocker
	}
	if o.Backends.EchoImage == "" {
		o.Backends.EchoImage = kind.EchoImage
	}
}

// DefaultKubeconfig is where the provider writes the kubeconfig of the
// cluster name.
func DefaultKubeconfig(name string) string {
	return filepath.Join(os.TempDir(), "ingresslab", "kind-"+name+".kubeconfig")
}

// Provider is a kind cluster. Create one with Start.
type Provider struct {
	*existing.Provider
	opts    Options
	kind    *kindcluster.Provider
	created bool
}

var (
	_ cluster.Cluster          = (*Provider)(nil)
	_ cluster.BackendPublisher = (*Provider)(nil)
)

func newKindProvider(o Options) *kindcluster.Provider {
	return kindcluster.NewProvider(kindcluster.ProviderWithLogger(&writerLogger{w: o.Log}), kindcluster.ProviderWithDocker())
}

// Start checks for Docker, creates the cluster (or reuses it with Reuse),
// writes its kubeconfig, connects, and loads ImageArchives. When it fails
// after creating the cluster, the cluster is deleted again (unless Keep).
func Start(ctx context.Context, opts Options) (p *Provider, err error) {
	opts.defaults()
	if err := opts.CheckDocker(ctx); err != nil {
		return nil, err
	}
	cfg, err := kind.Config(kind.ConfigOptions{Name: opts.Name, NodeImage: opts.NodeImage, HTTPPort: opts.HTTPPort, HTTPSPort: opts.HTTPSPort})
	if err != nil {
		return nil, err
	}
	p = &Provider{opts: opts, kind: newKindProvider(opts)}
	names, err := p.kind.List()
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: list clusters: %w", opts.Name, err)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Kubeconfig), 0o755); err != nil {
		return nil, fmt.Errorf("kind cluster %s: kubeconfig folder: %w", opts.Name, err)
	}
	if slices.Contains(names, opts.Name) {
		if !opts.Reuse {
			return nil, fmt.Errorf("kind cluster %q already exists: reuse it with --reuse, delete it with 'ingresslab cluster down --provider kind --name %s', or choose another --name", opts.Name, opts.Name)
		}
		fmt.Fprintf(opts.Log, "Reusing kind cluster %q.\n", opts.Name)
		if err := p.kind.ExportKubeConfig(opts.Name, opts.Kubeconfig, false); err != nil {
			return nil, fmt.Errorf("kind cluster %s: export kubeconfig: %w", opts.Name, err)
		}
	} else {
		for _, port := range []int32{opts.HTTPPort, opts.HTTPSPort} {
			if err := checkHostPortFree(port); err != nil {
				return nil, fmt.Errorf("kind cluster %s: %w", opts.Name, err)
			}
		}
		fmt.Fprintf(opts.Log, "Creating kind cluster %q (node image %s, ports 127.0.0.1:%d/%d)...\n", opts.Name, nodeImage(cfg.Nodes), opts.HTTPPort, opts.HTTPSPort)
		err := p.kind.Create(opts.Name,
			kindcluster.CreateWithV1Alpha4Config(cfg),
			kindcluster.CreateWithWaitForReady(opts.WaitForReady),
			kindcluster.CreateWithKubeconfigPath(opts.Kubeconfig),
			kindcluster.CreateWithDisplayUsage(false),
			kindcluster.CreateWithDisplaySalutation(false),
		)
		if err != nil {
			return nil, fmt.Errorf("kind cluster %s: create: %w", opts.Name, err)
		}
		p.created = true
	}
	defer func() {
		if err != nil && p.created && !opts.Keep {
			_ = p.kind.Delete(opts.Name, opts.Kubeconfig)
		}
	}()
	bo := opts.Backends
	bo.Config, bo.Kubeconfig, bo.Context, bo.Name = nil, opts.Kubeconfig, "kind-"+opts.Name, "kind"
	if p.Provider, err = existing.New(ctx, bo); err != nil {
		return p, err
	}
	if len(opts.ImageArchives) > 0 {
		if err := p.LoadImageArchives(ctx, opts.ImageArchives...); err != nil {
			return p, err
		}
	}
	return p, nil
}

func nodeImage(nodes []v1alpha4.Node) string {
	if len(nodes) == 0 {
		return kind.DefaultNodeImage
	}
	return nodes[0].Image
}

func checkHostPortFree(port int32) error {
	l, err := net.Listen("tcp", net.JoinHostPort(kind.ListenAddress, strconv.Itoa(int(port))))
	if err != nil {
		return fmt.Errorf("host port %s:%d is not free (%w): stop what uses it or choose other ports (--http-port/--https-port)", kind.ListenAddress, port, err)
	}
	return l.Close()
}

// ClusterName is the kind cluster's name.
func (p *Provider) ClusterName() string { return p.opts.Name }

// Created reports whether Start created the cluster (false when reused).
func (p *Provider) Created() bool { return p.created }

// HTTPAddress and HTTPSAddress are where the node's ports 80 and 443 are
// reachable on this machine.
func (p *Provider) HTTPAddress() string {
	return net.JoinHostPort(kind.ListenAddress, strconv.Itoa(int(p.opts.HTTPPort)))
}

// HTTPSAddress: see HTTPAddress.
func (p *Provider) HTTPSAddress() string {
	return net.JoinHostPort(kind.ListenAddress, strconv.Itoa(int(p.opts.HTTPSPort)))
}

// LoadImageArchives loads image archives (OCI or docker-save tar) into
// every node of the cluster.
func (p *Provider) LoadImageArchives(ctx context.Context, paths ...string) error {
	return LoadImageArchives(ctx, p.kind, p.opts.Name, p.opts.Log, paths...)
}

// LoadImageArchives loads archives into every node of the named cluster.
func LoadImageArchives(ctx context.Context, kp *kindcluster.Provider, name string, log io.Writer, paths ...string) error {
	nodes, err := kp.ListInternalNodes(name)
	if err != nil {
		return fmt.Errorf("kind cluster %s: list nodes: %w", name, err)
	}
	if len(nodes) == 0 {
		return fmt.Errorf("kind cluster %s has no nodes (is it running?)", name)
	}
	for _, path := range paths {
		for _, n := range nodes {
			if err := ctx.Err(); err != nil {
				return err
			}
			if log != nil {
				fmt.Fprintf(log, "Loading %s into node %s...\n", filepath.Base(path), n.String())
			}
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("kind cluster %s: image archive: %w", name, err)
			}
			err = nodeutils.LoadImageArchive(n, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("kind cluster %s: load %s into node %s: %w", name, path, n.String(), err)
			}
		}
	}
	return nil
}

// InstallReference installs the reference controller from the shipped
// manifests, its Service on node ports 80/443 (mapped to the host) and its
// status address 127.0.0.1 unless opts say otherwise, and waits until its
// Deployment is available.
func (p *Provider) InstallReference(ctx context.Context, opts kind.ManifestOptions) (*existing.Installation, error) {
	if opts.HTTPNodePort == 0 {
		opts.HTTPNodePort = kind.NodeHTTPPort
	}
	if opts.HTTPSNodePort == 0 {
		opts.HTTPSNodePort = kind.NodeHTTPSPort
	}
	if opts.StatusAddress == "" {
		opts.StatusAddress = kind.ListenAddress
	}
	objs, err := kind.Manifests(opts)
	if err != nil {
		return nil, err
	}
	inst, err := existing.InstallObjects(ctx, p.RESTConfig(), kind.Namespace, objs, []string{"deployment/" + kind.DeploymentName}, existing.InstallOptions{})
	if inst != nil {
		inst.PodSelector = kind.PodSelector
	}
	if err != nil {
		if inst != nil {
			err = fmt.Errorf("%w\ncontroller logs:\n%s", err, inst.Logs(ctx, 20))
		}
		return inst, err
	}
	return inst, nil
}

// InstallProfile installs a third-party controller from a profile's kind
// section (manifests relative to baseDir) and waits for it.
func (p *Provider) InstallProfile(ctx context.Context, sec profile.KindSection, baseDir string) (*existing.Installation, error) {
	return existing.Install(ctx, p.RESTConfig(), sec, existing.InstallOptions{BaseDir: baseDir})
}

// Destroy deletes the cluster, or with Keep only the run's labelled
// namespaces. Safe to call more than once.
func (p *Provider) Destroy(ctx context.Context) error {
	if p.opts.Keep {
		if p.Provider == nil {
			return nil
		}
		return p.Provider.Destroy(ctx)
	}
	return Delete(ctx, Options{Name: p.opts.Name, Kubeconfig: p.opts.Kubeconfig, Log: p.opts.Log, CheckDocker: p.opts.CheckDocker})
}

// Delete deletes the kind cluster opts.Name (nothing to do when it does not
// exist) and removes its kubeconfig entry from opts.Kubeconfig.
func Delete(ctx context.Context, opts Options) error {
	opts.defaults()
	if err := opts.CheckDocker(ctx); err != nil {
		return err
	}
	kp := newKindProvider(opts)
	names, err := kp.List()
	if err != nil {
		return fmt.Errorf("kind cluster %s: list clusters: %w", opts.Name, err)
	}
	if !slices.Contains(names, opts.Name) {
		return nil
	}
	fmt.Fprintf(opts.Log, "Deleting kind cluster %q...\n", opts.Name)
	if err := kp.Delete(opts.Name, opts.Kubeconfig); err != nil {
		return fmt.Errorf("kind cluster %s: delete: %w", opts.Name, err)
	}
	if opts.Kubeconfig == DefaultKubeconfig(opts.Name) {
		if err := os.Remove(opts.Kubeconfig); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("kind cluster %s: remove kubeconfig: %w", opts.Name, err)
		}
	}
	return nil
}

// Exists reports whether a kind cluster named name exists.
func Exists(ctx context.Context, name string) (bool, error) {
	if err := CheckDocker(ctx); err != nil {
		return false, err
	}
	names, err := newKindProvider(Options{}).List()
	if err != nil {
		return false, fmt.Errorf("kind: list clusters: %w", err)
	}
	return slices.Contains(names, name), nil
}

// KindProvider is the underlying kind library provider (for image loading
// and log collection by the CLI).
func KindProvider(log io.Writer) *kindcluster.Provider { return newKindProvider(Options{Log: log}) }
