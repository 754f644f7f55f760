// Package profile describes an Ingress controller under test: its name and
// version, the IngressClass it serves, how the harness runs it on the local
// provider (a command template), how to reach it, and which features it
// supports. Profiles are YAML files; the shipped ones are embedded from
// fixtures/profiles.
package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"text/template"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ingresslab/ingresslab/fixtures"
)

// Profile is one controller's description.
type Profile struct {
	// Name identifies the controller ("reference", "traefik").
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Controller is the IngressClass spec.controller it serves.
	Controller string `json:"controller"`
	// IngressClass is the IngressClass name the harness creates for it.
	IngressClass string `json:"ingressClass"`
	// Local says how to run it on the local provider.
	Local Local `json:"local,omitempty"`
	// Kind says how to install it into a real cluster (kind or existing);
	// nil for controllers that only run locally.
	Kind *KindSection `json:"kind,omitempty"`
	// StatusAddress is the address it publishes in Ingress status; each
	// controller running at the same time needs its own.
	StatusAddress string `json:"statusAddress,omitempty"`
	// Features it supports; tests of other features are skipped.
	Features []string `json:"features,omitempty"`
	// Variants documents known choices where the API leaves behaviour open
	// (informational: the suites record what they see).
	Variants map[string]string `json:"variants,omitempty"`
	// Access is what the controller may do in the API (the harness turns
	// it into a ServiceAccount with least-privilege RBAC).
	Access Access `json:"access,omitempty"`
	// Objects are manifests (YAML, templated over Vars) the harness creates
	// before starting the controller on the local provider: ConfigMaps,
	// placeholder Pods, ExternalName Services. Objects without a namespace
	// go to the controller's namespace ({{.Namespace}}).
	Objects []string `json:"objects,omitempty"`
	// Diagnostics says how the controller reports what is wrong with an
	// object; the api-data reliability specs check what it declares (nil:
	// nothing is checked, the specs record that).
	Diagnostics *Diagnostics `json:"diagnostics,omitempty"`
	// Timeouts are the bounds the reliability specs hold this controller
	// to where its configuration sets them (nil: the suites' defaults).
	Timeouts *Timeouts `json:"timeouts,omitempty"`
	// Annotations maps annotation features to this controller's
	// annotations (the extended annotation suites); nil: none supported.
	Annotations *Annotations `json:"annotations,omitempty"`
	// Source is where the profile was loaded from.
	Source string `json:"-"`
}

// Diagnostics are the ways a controller says what is wrong with an object.
type Diagnostics struct {
	// Events: a Warning Event on the object whose message names the field
	// ("spec.tls[0].secretName: ...").
	Events bool `json:"events,omitempty"`
	// WarningsURL (a template over Vars, like local.readyURL) answers a
	// JSON list of warnings, each {kind, object: {namespace, name}, field,
	// reason, message}; local provider only.
	WarningsURL string `json:"warningsURL,omitempty"`
}

// Timeouts are per-controller bounds for the reliability specs (see
// framework.Timeouts); a zero field keeps the suites' default. Values are
// Go durations ("15s").
type Timeouts struct {
	// SlowHeaders: how long a connection sending its request head too
	// slowly may stay open (the controller's header read timeout and a
	// margin).
	SlowHeaders metav1.Duration `json:"slowHeaders,omitempty"`
	// SlowBody: how long a connection whose request body stalls may stay
	// open (the controller's body read timeout and a margin).
	SlowBody metav1.Duration `json:"slowBody,omitempty"`
}

// Local is how the harness runs the controller as a local process.
type Local struct {
	// Command is the program and arguments, each a text/template over Vars.
	Command []string `json:"command"`
	// Env entries (KEY=VALUE), templated like Command.
	Env []string `json:"env,omitempty"`
	// ReadyURL is polled until it answers 2xx; when empty, the harness waits
	// for the HTTP port to accept connections.
	ReadyURL string `json:"readyURL,omitempty"`
	// Binary names a third-party program the harness finds for
	// {{.Program}}; nil for controllers whose command names its program.
	Binary *Binary `json:"binary,omitempty"`
	// Ports are names of extra loopback ports the controller needs (stats,
	// healthz, ...); each gets a free port, {{.Ports.name}} in templates.
	Ports []string `json:"ports,omitempty"`
}

// Binary says how the harness finds a controller program it does not build.
// The first that is set wins: Path (set by the --controller-binary flag),
// the environment variable Env, then Name on PATH.
type Binary struct {
	// Path is an explicit program path.
	Path string `json:"path,omitempty"`
	// Name of the program on PATH ("traefik").
	Name string `json:"name"`
	// Env is an environment variable holding its path
	// ("INGRESSLAB_TRAEFIK_BIN").
	Env string `json:"env,omitempty"`
	// Hint tells a user without the binary how to get it.
	Hint string `json:"hint,omitempty"`
}

// ErrBinaryNotFound is returned (wrapped) by FindBinary when a profile's
// third-party program is absent; tests skip on it.
var ErrBinaryNotFound = errors.New("controller binary not found")

// FindBinary resolves the profile's program: Binary.Path, then
// $Binary.Env, then Binary.Name on PATH. It returns "" without error for a
// profile that has no Binary section, and an error wrapping
// ErrBinaryNotFound when the program is absent.
func (p *Profile) FindBinary() (string, error) {
	b := p.Local.Binary
	if b == nil {
		return "", nil
	}
	check := func(path, from string) (string, error) {
		st, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("profile %s: %s %s: %w", p.Name, from, path, errors.Join(ErrBinaryNotFound, err))
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("profile %s: %s %s is not an executable file: %w", p.Name, from, path, ErrBinaryNotFound)
		}
		return path, nil
	}
	if b.Path != "" {
		return check(b.Path, "local.binary.path")
	}
	if b.Env != "" {
		if v := os.Getenv(b.Env); v != "" {
			return check(v, "$"+b.Env+" =")
		}
	}
	if path, err := exec.LookPath(b.Name); err == nil {
		return path, nil
	}
	hint := b.Hint
	if hint != "" {
		hint = " (" + hint + ")"
	}
	via := "on PATH"
	if b.Env != "" {
		via = "in $" + b.Env + " or on PATH"
	}
	return "", fmt.Errorf("profile %s: %w: no %s %s%s", p.Name, ErrBinaryNotFound, b.Name, via, hint)
}

// Access declares the API access a controller needs. Every controller may
// get, list and watch ingresses and ingressclasses, update ingresses/status,
// create events, and manage leases in its own namespace; the rest it must
// ask for.
type Access struct {
	// Read lists more resources it gets, lists and watches, by plural name:
	// services, endpoints, endpointslices, secrets, configmaps, pods,
	// namespaces, nodes.
	Read []string `json:"read,omitempty"`
	// Rules are further cluster-wide rules.
	Rules []rbacv1.PolicyRule `json:"rules,omitempty"`
	// NamespaceRules apply in the controller's own namespace only (its
	// ConfigMaps, its placeholder Pod).
	NamespaceRules []rbacv1.PolicyRule `json:"namespaceRules,omitempty"`
}

// ReadableResources maps the resources Access.Read accepts to their API
// group.
var ReadableResources = map[string]string{
	"services": "", "endpoints": "", "secrets": "", "configmaps": "", "pods": "", "namespaces": "", "nodes": "",
	"endpointslices": "discovery.k8s.io", "ingresses": "networking.k8s.io", "ingressclasses": "networking.k8s.io",
}

// Vars are the values a command template can use.
type Vars struct {
	// Name is the profile's name.
	Name string
	// Bin is the folder of the ingresslab binaries; Program the resolved
	// local.binary (empty without one).
	Bin, Program string
	// Kubeconfig holds the controller's own ServiceAccount credentials
	// (on the local provider), Controller and IngressClass its class.
	Kubeconfig, Controller, IngressClass, StatusAddress string
	HTTPPort, HTTPSPort, AdminPort                      int
	// Ports are the extra ports the profile named in local.ports.
	Ports map[string]int
	// Workdir is a scratch folder for the controller (its working
	// directory, inside the report folder).
	Workdir string
	// RunDir is a short private folder outside the report folder, removed
	// when the controller stops: for unix sockets (whose paths are limited
	// to 107 bytes) and runtime state. The ServiceAccount files live there.
	RunDir string
	// APIServer is the API server URL, CAFile its CA bundle, Token and
	// TokenFile the ServiceAccount token (for controllers that take them
	// as flags instead of a kubeconfig).
	APIServer, CAFile, Token, TokenFile string
	// Namespace is the controller's own namespace, ServiceAccount its
	// account there.
	Namespace, ServiceAccount string
}

// Supports reports whether the profile lists feature.
func (p *Profile) Supports(feature string) bool { return slices.Contains(p.Features, feature) }

// RenderField renders one templated profile value (field names it in
// errors) with vars.
func (p *Profile) RenderField(field, s string, v Vars) (string, error) {
	t, err := template.New(field).Option("missingkey=error").Parse(s)
	if err != nil {
		return "", fmt.Errorf("profile %s: %s: %w", p.Name, field, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", fmt.Errorf("profile %s: %s: %w", p.Name, field, err)
	}
	return b.String(), nil
}

// Render returns the command and environment with vars filled in.
func (p *Profile) Render(v Vars) (cmd, env []string, readyURL string, err error) {
	render := func(field, s string) (string, error) { return p.RenderField(field, s, v) }
	for i, c := range p.Local.Command {
		s, err := render(fmt.Sprintf("local.command[%d]", i), c)
		if err != nil {
			return nil, nil, "", err
		}
		cmd = append(cmd, s)
	}
	for i, e := range p.Local.Env {
		s, err := render(fmt.Sprintf("local.env[%d]", i), e)
		if err != nil {
			return nil, nil, "", err
		}
		env = append(env, s)
	}
	readyURL, err = render("local.readyURL", p.Local.ReadyURL)
	return cmd, env, readyURL, err
}

// RenderObjects returns the profile's objects with vars filled in.
func (p *Profile) RenderObjects(v Vars) ([]string, error) {
	out := make([]string, 0, len(p.Objects))
	for i, o := range p.Objects {
		t, err := template.New("").Option("missingkey=error").Parse(o)
		if err != nil {
			return nil, fmt.Errorf("profile %s: objects[%d]: %w", p.Name, i, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, v); err != nil {
			return nil, fmt.Errorf("profile %s: objects[%d]: %w", p.Name, i, err)
		}
		out = append(out, b.String())
	}
	return out, nil
}

// Validate checks the fields every run needs.
func (p *Profile) Validate() error {
	var errs []error
	need := func(field, v string) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", field))
		}
	}
	need("name", p.Name)
	need("controller", p.Controller)
	need("ingressClass", p.IngressClass)
	if len(p.Local.Command) == 0 && p.Kind == nil {
		errs = append(errs, errors.New("local.command or a kind section is required"))
	}
	if p.Kind != nil {
		errs = append(errs, p.Kind.Validate())
	}
	for i, r := range p.Access.Read {
		if _, ok := ReadableResources[r]; !ok {
			errs = append(errs, fmt.Errorf("access.read[%d]: unknown resource %q (known: %s; use access.rules for others)", i, r, strings.Join(slices.Sorted(maps.Keys(ReadableResources)), ", ")))
		}
	}
	for i, n := range p.Local.Ports {
		if n == "" || strings.ContainsAny(n, " .-") {
			errs = append(errs, fmt.Errorf("local.ports[%d]: %q is not a usable template name (letters, digits, _)", i, n))
		}
	}
	if b := p.Local.Binary; b != nil && b.Name == "" {
		errs = append(errs, errors.New("local.binary.name is required"))
	}
	if err := p.Annotations.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		src := p.Source
		if src == "" {
			src = p.Name
		}
		return fmt.Errorf("profile %s: %w", src, err)
	}
	return nil
}

// Parse reads a profile from YAML; source names it in errors.
func Parse(data []byte, source string) (*Profile, error) {
	var p Profile
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	p.Source = source
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// HasLocal reports whether the profile can run on the local provider.
func (p *Profile) HasLocal() bool { return len(p.Local.Command) > 0 }

// Load returns a shipped profile by name ("reference", "kind/traefik") or
// reads a YAML file (a path ending in .yaml or .yml).
func Load(nameOrPath string) (*Profile, error) {
	if strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") {
		b, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
		return Parse(b, nameOrPath)
	}
	b, err := fs.ReadFile(fixtures.Profiles, "profiles/"+nameOrPath+".yaml")
	if err != nil {
		return nil, fmt.Errorf("no shipped profile %q (shipped: %s); give a path to a profile YAML file instead", nameOrPath, strings.Join(Shipped(), ", "))
	}
	return Parse(b, "profiles/"+nameOrPath+".yaml")
}

// Shipped lists the names of the embedded profiles ("reference",
// "kind/traefik", ...).
func Shipped() []string {
	var names []string
	_ = fs.WalkDir(fixtures.Profiles, "profiles", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || strings.Count(path, "/") > 2 {
			return err
		}
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(path, "profiles/"), ".yaml"))
		return nil
	})
	return names
}
