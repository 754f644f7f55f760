package suites

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/cluster/existing"
	clusterkind "github.com/ingresslab/ingresslab/cluster/kind"
	"github.com/ingresslab/ingresslab/cluster/local"
	"github.com/ingresslab/ingresslab/kind"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// Providers are the cluster providers Run knows.
var Providers = []string{"local", "kind", "existing"}

// harness is what a provider gives a run: the cluster, its backends, and
// how to bring a controller under test up.
type harness struct {
	cluster  cluster.Cluster
	backends cluster.BackendPublisher
	// network describes where backends live, for the report.
	network string
	// second is true when a second controller can run for multi-class
	// specs.
	second bool
	start  func(ctx context.Context, e *framework.Env, p *profile.Profile, o Options, logDir string) (*framework.Controller, func(), error)
}

func newHarness(ctx context.Context, o Options, runID string) (*harness, error) {
	switch o.Provider {
	case "local":
		if !o.Profile.HasLocal() {
			return nil, fmt.Errorf("profile %s has no local section: it cannot run on the local provider (try --provider kind or existing)", o.Profile.Source)
		}
		p, err := local.Start(ctx, local.Options{KubeconfigPath: o.Kubeconfig})
		if err != nil {
			return nil, err
		}
		h := &harness{cluster: p, backends: p, network: string(p.NetworkMode()), second: true}
		h.start = func(ctx context.Context, e *framework.Env, prof *profile.Profile, o Options, logDir string) (*framework.Controller, func(), error) {
			o.Kubeconfig = p.KubeconfigPath()
			rc, err := startController(ctx, p, e, prof, o, logDir)
			if err != nil {
				return nil, nil, err
			}
			return rc.view, func() {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				_ = rc.stop(sctx)
			}, nil
		}
		return h, nil
	case "kind":
		kp, err := clusterkind.Start(ctx, clusterkind.Options{
			Reuse: o.Reuse, Keep: o.Keep, Kubeconfig: o.Kubeconfig, ImageArchives: o.Images, Log: o.Out,
			Backends: existing.Options{RunID: runID},
		})
		if err != nil {
			return nil, err
		}
		h := &harness{cluster: kp, backends: kp, network: "cluster"}
		h.start = func(ctx context.Context, e *framework.Env, prof *profile.Profile, o Options, _ string) (*framework.Controller, func(), error) {
			var inst *existing.Installation
			var err error
			switch {
			case prof.Kind != nil:
				if !prof.Kind.ManagesIngressClass {
					if err := ensureIngressClass(ctx, e, prof.IngressClass, prof.Controller); err != nil {
						return nil, nil, err
					}
				}
				inst, err = kp.InstallProfile(ctx, *prof.Kind, filepath.Dir(prof.Source))
			case prof.Name == "reference":
				inst, err = kp.InstallReference(ctx, kind.ManifestOptions{})
			default:
				return nil, nil, fmt.Errorf("profile %s has no kind section: it cannot be installed into a kind cluster", prof.Source)
			}
			if err != nil {
				return nil, nil, err
			}
			view := remoteController(e, prof, o, kp.HTTPAddress(), kp.HTTPSAddress())
			view.Log = func(n int) string { return inst.Logs(context.Background(), n) }
			return view, func() {
				if o.Keep {
					return
				}
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
				defer cancel()
				_ = inst.Uninstall(uctx)
			}, nil
		}
		return h, nil
	case "existing":
		ep, err := existing.New(ctx, existing.Options{Kubeconfig: o.Kubeconfig, RunID: runID})
		if err != nil {
			return nil, err
		}
		h := &harness{cluster: ep, backends: ep, network: "cluster"}
		h.start = func(ctx context.Context, e *framework.Env, prof *profile.Profile, o Options, _ string) (*framework.Controller, func(), error) {
			if err := ensureIngressClass(ctx, e, prof.IngressClass, prof.Controller); err != nil {
				return nil, nil, err
			}
			httpAddr, httpsAddr := o.Address, o.HTTPSAddress
			if httpAddr == "" && prof.StatusAddress != "" {
				httpAddr = net.JoinHostPort(prof.StatusAddress, "80")
			}
			if httpsAddr == "" && prof.StatusAddress != "" {
				httpsAddr = net.JoinHostPort(prof.StatusAddress, "443")
			}
			if httpAddr == "" {
				return nil, nil, fmt.Errorf("existing cluster: tell the harness where controller %s listens with --address (and --https-address), or set statusAddress in its profile", prof.Name)
			}
			return remoteController(e, prof, Options{Address: httpAddr, HTTPSAddress: httpsAddr}, httpAddr, httpsAddr), func() {}, nil
		}
		return h, nil
	}
	return nil, fmt.Errorf("unknown provider %q (available: local, kind, existing)", o.Provider)
}

// remoteController is the specs' view of a controller the harness did not
// start as a process.
func remoteController(e *framework.Env, p *profile.Profile, o Options, httpAddr, httpsAddr string) *framework.Controller {
	if o.Address != "" {
		httpAddr = o.Address
	}
	if o.HTTPSAddress != "" {
		httpsAddr = o.HTTPSAddress
	}
	return &framework.Controller{
		Profile:      p,
		IngressClass: p.IngressClass,
		HTTP:         &framework.Client{HTTPAddr: httpAddr, HTTPSAddr: httpsAddr, Timeout: e.Timeouts.Request, Guard: e.Guard()},
	}
}
