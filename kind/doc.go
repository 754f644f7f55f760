// Package kind holds what ingresslab needs to run on a kind cluster, as data
// and pure functions (no Docker, no API server):
//
//   - the cluster configuration (cluster.yaml, embedded): a pinned node
//     image, the node's ports 80/443 mapped to 127.0.0.1 host ports, the
//     node label ingress-ready=true, node ports allowed from 80;
//   - the reference controller's deploy manifests (manifests/*.yaml,
//     embedded): Namespace, ServiceAccount, least-privilege RBAC, a
//     2-replica Deployment with leader election, probes and a restrictive
//     securityContext, Service, IngressClass "ingresslab" and a
//     PodDisruptionBudget; Manifests renders them with an image and ports;
//   - the image names the harness builds and loads (sub-package kind/image
//     builds the OCI archives in pure Go).
//
// The provider that creates clusters with sigs.k8s.io/kind's library is
// cluster/kind; kind.mk holds the developer-loop Makefile targets.
package kind
