package scan

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// NewClient builds a client from a kubeconfig file (empty: $KUBECONFIG,
// else ~/.kube/config) and context (empty: the current one). source
// describes the cluster for Report.Source.
func NewClient(kubeconfig, context string) (c kubernetes.Interface, source string, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %q: %w", kubeconfig, err)
	}
	c, err = kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %q: client: %w", kubeconfig, err)
	}
	source = cfg.Host
	if raw, err := cc.RawConfig(); err == nil {
		name := context
		if name == "" {
			name = raw.CurrentContext
		}
		source = fmt.Sprintf("context %q (%s)", name, cfg.Host)
	}
	return c, source, nil
}
