package suites

import (
	"context"
	"fmt"

	"github.com/ingresslab/ingresslab/cluster"
	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/profile"
	"github.com/ingresslab/ingresslab/suites/framework"
)

// runningController is a controller process started from a profile, with
// the specs' view of it.
type runningController struct {
	ctl  *launch.Controller
	view *framework.Controller
}

// launchCluster is the launch view of the run's cluster: the specs' admin
// clients, the runner, and the run label on everything created.
func launchCluster(env *framework.Env, runner cluster.ControllerRunner) launch.Cluster {
	return launch.Cluster{
		Config: env.Config, Client: env.Client, Dynamic: env.Dynamic, Mapper: env.Mapper, Runner: runner,
		Labels: map[string]string{framework.RunLabel: env.RunID},
	}
}

// ensureIngressClass creates (or checks) the IngressClass the profile
// serves.
func ensureIngressClass(ctx context.Context, env *framework.Env, name, controller string) error {
	return launch.EnsureIngressClass(ctx, env.Client, name, controller, map[string]string{framework.RunLabel: env.RunID})
}

// startController launches the profile's controller (identity, objects,
// command, readiness) and builds the specs' view of it.
func startController(ctx context.Context, runner cluster.ControllerRunner, env *framework.Env, p *profile.Profile, o Options, logDir string) (*runningController, error) {
	ctl, err := launch.Launch(ctx, launchCluster(env, runner), p, launch.Options{BinDir: o.BinDir, LogDir: logDir, ReadyTimeout: env.Timeouts.ControllerStart})
	if err != nil {
		return nil, err
	}
	httpAddr, httpsAddr := ctl.HTTPAddr, ctl.HTTPSAddr
	if o.Address != "" {
		httpAddr = o.Address
	}
	if o.HTTPSAddress != "" {
		httpsAddr = o.HTTPSAddress
	}
	view := &framework.Controller{
		Profile:      p,
		IngressClass: p.IngressClass,
		HTTP:         &framework.Client{HTTPAddr: httpAddr, HTTPSAddr: httpsAddr, Timeout: env.Timeouts.Request, Guard: env.Guard()},
		Log:          ctl.LogTail,
	}
	if d := p.Diagnostics; d != nil && d.WarningsURL != "" {
		if view.WarningsURL, err = p.RenderField("diagnostics.warningsURL", d.WarningsURL, ctl.Vars); err != nil {
			_ = ctl.Stop(ctx)
			ctl.Close()
			return nil, err
		}
	}
	return &runningController{ctl: ctl, view: view}, nil
}

func (rc *runningController) stop(ctx context.Context) error {
	err := rc.ctl.Stop(ctx)
	rc.ctl.Close()
	if err != nil {
		return fmt.Errorf("stop controller %s: %w", rc.ctl.Profile.Name, err)
	}
	return nil
}
