package translate

import "github.com/ingresslab/ingresslab/controller/routing"

// foreignHost reports whether, under HostOwnershipFirstNamespace, host
// belongs to another namespace than the Ingress ref's; then it warns on
// field() ("...; <skipped>"). The owner is the namespace of the first
// Ingress in precedence order (oldest creationTimestamp, then
// namespace/name) that has host as a rule host (tr.ruleHosts; canaries
// claim no host). The host-less rule ("") and hosts no rule claims belong
// to nobody.
func (tr *translator) foreignHost(host string, ref routing.ObjectRef, field func() string, skipped string, warn warnFunc) bool {
	if tr.opts.HostOwnership != HostOwnershipFirstNamespace || host == "" {
		return false
	}
	owner, ok := tr.ruleHosts[host]
	if !ok || owner.Namespace == ref.Namespace {
		return false
	}
	warn(field(), ReasonHostOwnedByNamespace,
		"host %q belongs to namespace %q: ingress %s claimed it first (older, or as old and first by namespace/name) and --host-ownership is %s; %s",
		host, owner.Namespace, owner, HostOwnershipFirstNamespace, skipped)
	return true
}
