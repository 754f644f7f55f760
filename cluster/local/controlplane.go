//go:build !windows

package local

import (
	"strconv"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// startControlPlane starts etcd and kube-apiserver through envtest. The
// control plane it returns is not nil even with an error: stop it.
func startControlPlane(s controlPlaneSpec) (controlPlane, *rest.Config, []byte, error) {
	api := &envtest.APIServer{Path: s.bins.APIServer, CertDir: s.certDir, Out: s.apiLog, Err: s.apiLog}
	if s.opts.APIServerPort != 0 {
		api.SecureServing.ListenAddr = envtest.ListenAddr{Address: "127.0.0.1", Port: strconv.Itoa(s.opts.APIServerPort)}
	}
	env := &envtest.Environment{
		ControlPlane: envtest.ControlPlane{
			APIServer: api,
			Etcd:      &envtest.Etcd{Path: s.bins.Etcd, DataDir: s.etcdDir, Out: s.etcdLog, Err: s.etcdLog},
		},
		ControlPlaneStartTimeout: s.opts.StartTimeout,
		ControlPlaneStopTimeout:  s.opts.StopTimeout,
	}
	cfg, err := env.Start()
	return env, cfg, env.KubeConfig, err
}

// Environment exposes the envtest environment (e.g. to add users); nil
// before the control plane started. Not on Windows.
func (p *Provider) Environment() *envtest.Environment {
	env, _ := p.env.(*envtest.Environment)
	return env
}
