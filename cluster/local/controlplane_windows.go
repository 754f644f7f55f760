package local

import "k8s.io/client-go/rest"

// startControlPlane fails on Windows: controller-runtime's envtest does not
// build there, and Start refuses to run outside Linux before it gets here
// (checkOS).
func startControlPlane(controlPlaneSpec) (controlPlane, *rest.Config, []byte, error) {
	return nil, nil, nil, ErrNeedsLinux
}
