package launch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/ingresslab/ingresslab/profile"
)

// identity is the ServiceAccount the harness creates for one controller:
// its namespace, a token from the TokenRequest API and a kubeconfig with
// those credentials (never the admin ones).
type identity struct {
	Namespace, ServiceAccount string
	APIServer, CAFile         string
	Token, TokenFile          string
	Kubeconfig                string
}

// tokenLifetime is how long a controller's token is valid; a run is far
// shorter.
const tokenLifetime = 24 * time.Hour

// baseRules are what every Ingress controller may do.
func baseRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "ingressclasses"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses/status"}, Verbs: []string{"get", "update", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
		{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
	}
}

// clusterRules are the ClusterRole rules for p: the base rules, read
// access to what p.Access.Read lists (grouped per API group, in a stable
// order) and p.Access.Rules.
func clusterRules(p *profile.Profile) []rbacv1.PolicyRule {
	rules := baseRules()
	byGroup := map[string][]string{}
	for _, r := range p.Access.Read {
		g := profile.ReadableResources[r]
		if g == "networking.k8s.io" || slices.Contains(byGroup[g], r) {
			continue // ingresses and ingressclasses are in the base rules
		}
		byGroup[g] = append(byGroup[g], r)
	}
	for _, g := range []string{"", "discovery.k8s.io"} {
		if rs := byGroup[g]; len(rs) > 0 {
			slices.Sort(rs)
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: rs, Verbs: []string{"get", "list", "watch"}})
		}
	}
	return append(rules, p.Access.Rules...)
}

// namespaceRules are the Role rules in the controller's own namespace:
// leases (leader election) and p.Access.NamespaceRules.
func namespaceRules(p *profile.Profile) []rbacv1.PolicyRule {
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch"}},
	}
	return append(rules, p.Access.NamespaceRules...)
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName turns a profile name into a DNS label part.
func dnsName(s string) string {
	s = strings.Trim(notDNS.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		s = "controller"
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// provisionIdentity creates p's namespace, ServiceAccount, ClusterRole,
// Role and bindings, requests a token and writes a kubeconfig (and the CA
// and token files) into workdir.
func provisionIdentity(ctx context.Context, c Cluster, p *profile.Profile, workdir string) (*identity, error) {
	name := dnsName(p.Name)
	id := &identity{Namespace: "ingresslab-" + name, ServiceAccount: name, APIServer: strings.TrimSuffix(c.Config.Host, "/")}
	labels := c.labels()
	cs := c.Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: id.Namespace, Labels: labels}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("controller %s: create namespace %s: %w", p.Name, id.Namespace, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: id.ServiceAccount, Namespace: id.Namespace, Labels: labels}}
	if _, err := cs.CoreV1().ServiceAccounts(id.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("controller %s: create ServiceAccount %s/%s: %w", p.Name, id.Namespace, id.ServiceAccount, err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: id.ServiceAccount, Namespace: id.Namespace}}
	roleName := "ingresslab:controller:" + name
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: roleName, Labels: labels}, Rules: clusterRules(p)}
	if err := upsert(ctx, "ClusterRole "+roleName, func() error {
		_, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{})
		return err
	}, func() error {
		_, err := cs.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   subject,
	}
	if err := upsert(ctx, "ClusterRoleBinding "+roleName, func() error {
		_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
		return err
	}, func() error {
		_, err := cs.RbacV1().ClusterRoleBindings().Update(ctx, crb, metav1.UpdateOptions{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: roleName, Namespace: id.Namespace, Labels: labels}, Rules: namespaceRules(p)}
	if err := upsert(ctx, "Role "+id.Namespace+"/"+roleName, func() error {
		_, err := cs.RbacV1().Roles(id.Namespace).Create(ctx, role, metav1.CreateOptions{})
		return err
	}, func() error {
		_, err := cs.RbacV1().Roles(id.Namespace).Update(ctx, role, metav1.UpdateOptions{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName, Namespace: id.Namespace, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: roleName},
		Subjects:   subject,
	}
	if err := upsert(ctx, "RoleBinding "+id.Namespace+"/"+roleName, func() error {
		_, err := cs.RbacV1().RoleBindings(id.Namespace).Create(ctx, rb, metav1.CreateOptions{})
		return err
	}, func() error {
		_, err := cs.RbacV1().RoleBindings(id.Namespace).Update(ctx, rb, metav1.UpdateOptions{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(id.Namespace).CreateToken(ctx, id.ServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(tokenLifetime / time.Second))},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("controller %s: TokenRequest for ServiceAccount %s/%s: %w", p.Name, id.Namespace, id.ServiceAccount, err)
	}
	id.Token = tr.Status.Token
	if err := id.write(c.Config, workdir); err != nil {
		return nil, fmt.Errorf("controller %s: %w", p.Name, err)
	}
	return id, nil
}

// upsert runs create, and update when the object already exists.
func upsert(_ context.Context, what string, create, update func() error) error {
	err := create()
	if apierrors.IsAlreadyExists(err) {
		err = update()
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	return nil
}

// write stores the CA, the token and a kubeconfig with them in dir.
func (id *identity) write(cfg *rest.Config, dir string) error {
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return fmt.Errorf("API server CA %s: %w", cfg.CAFile, err)
		}
		ca = b
	}
	if len(ca) == 0 {
		return errors.New("API server CA: the admin REST config has none")
	}
	id.CAFile = filepath.Join(dir, "sa-ca.crt")
	id.TokenFile = filepath.Join(dir, "sa-token")
	id.Kubeconfig = filepath.Join(dir, "sa-kubeconfig")
	if err := os.WriteFile(id.CAFile, ca, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", id.CAFile, err)
	}
	if err := os.WriteFile(id.TokenFile, []byte(id.Token), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", id.TokenFile, err)
	}
	user := "system:serviceaccount:" + id.Namespace + ":" + id.ServiceAccount
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: id.APIServer, CertificateAuthorityData: ca}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: id.Token}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user, Namespace: id.Namespace}
	kc.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*kc, id.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", id.Kubeconfig, err)
	}
	return nil
}

// createObjects creates the profile's rendered objects; objects without a
// namespace go to ns (cluster-scoped ones stay cluster-scoped).
func createObjects(ctx context.Context, c Cluster, p *profile.Profile, manifests []string, ns string) error {
	for i, m := range manifests {
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(m), &obj.Object); err != nil {
			return fmt.Errorf("profile %s: objects[%d]: %w", p.Name, i, err)
		}
		gvk := obj.GroupVersionKind()
		if gvk.Kind == "" || obj.GetName() == "" {
			return fmt.Errorf("profile %s: objects[%d]: kind and metadata.name are required", p.Name, i)
		}
		mapping, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("profile %s: objects[%d] (%s %s): %w", p.Name, i, gvk.Kind, obj.GetName(), err)
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, c.Labels)
		obj.SetLabels(labels)
		var ri interface {
			Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
		}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(ns)
			}
			ri = c.Dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		} else {
			ri = c.Dynamic.Resource(mapping.Resource)
		}
		if _, err := ri.Create(ctx, &obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("profile %s: objects[%d]: create %s %s: %w", p.Name, i, gvk.Kind, obj.GetName(), err)
		}
	}
	return nil
}
