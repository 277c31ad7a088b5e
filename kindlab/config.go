package kindlab

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// ConfigAPIVersion and ConfigKind name the lab configuration file's format.
const (
	ConfigAPIVersion = "clusterkit.io/v1alpha1"
	ConfigKind       = "Lab"
)

// File is a lab configuration file (`lab create --config FILE`), in the spirit of kind's
// Cluster config:
//
//	apiVersion: clusterkit.io/v1alpha1
//	kind: Lab
//	name: ci                      # optional; --name wins
//	serviceSubnet: 10.96.0.0/16   # optional
//	nodes:
//	- role: control-plane         # optional: a lab always has one
//	- role: worker
//	  count: 2
//	  labels: {disk: ssd}
//	  taints: ["dedicated=db:NoSchedule"]
//	  cpu: "1"
//	  memory: 2Gi
//	  pods: "50"
type File struct {
	APIVersion    string     `json:"apiVersion"`
	Kind          string     `json:"kind"`
	Name          string     `json:"name,omitempty"`
	ServiceSubnet string     `json:"serviceSubnet,omitempty"`
	Nodes         []FileNode `json:"nodes,omitempty"`
	// Scheduler and ControllerManager swap a control plane component for the user's own
	// (or for none).
	Scheduler         *Component `json:"scheduler,omitempty"`
	ControllerManager *Component `json:"controllerManager,omitempty"`
}

// Component swaps one control plane component of a lab (the scheduler, the controller
// manager): kind users' "bring your own scheduler".
//
//	scheduler:
//	  replace: /usr/local/bin/my-scheduler     # or: none
//	  args: ["--kubeconfig=$(KUBECONFIG)", "--leader-elect=false"]
type Component struct {
	// Replace is "none" (the lab runs no such component: run your own against the lab's
	// kubeconfig) or the absolute path of an executable, which the lab runs as the
	// component's static pod on the control-plane node (an image of the executable and the
	// libraries it loads). Empty keeps clusterkit's.
	Replace string `json:"replace,omitempty"`
	// Args are the executable's arguments; $(KUBECONFIG) is the path of the component's
	// kubeconfig (its own identity, system:kube-scheduler or system:kube-controller-manager),
	// which is also in the KUBECONFIG environment variable.
	Args []string `json:"args,omitempty"`
}

// ReplaceNone is Component.Replace for no component at all.
const ReplaceNone = "none"

// custom reports whether c runs the user's executable.
func (c Component) custom() bool { return c.Replace != "" && c.Replace != ReplaceNone }

func (c Component) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case c.Replace == "" || c.Replace == ReplaceNone:
		if len(c.Args) > 0 {
			errs = append(errs, field.Invalid(p.Child("args"), c.Args, "args are for an executable given in replace"))
		}
	case !strings.HasPrefix(c.Replace, "/"):
		errs = append(errs, field.Invalid(p.Child("replace"), c.Replace, `want "none" or the absolute path of an executable`))
	}
	return errs
}

// FileNode shapes Count nodes of one role.
type FileNode struct {
	// Role is "worker" (the default) or "control-plane".
	Role  string `json:"role,omitempty"`
	Count *int   `json:"count,omitempty"`
	// Labels are put on each of these Nodes.
	Labels map[string]string `json:"labels,omitempty"`
	// Taints, as kubectl taint writes them: KEY[=VALUE]:EFFECT.
	Taints []string `json:"taints,omitempty"`
	// CPU, Memory, Pods and EphemeralStorage are the capacity each of these nodes reports
	// (quantities; the lab's default for what is not given).
	CPU              string `json:"cpu,omitempty"`
	Memory           string `json:"memory,omitempty"`
	Pods             string `json:"pods,omitempty"`
	EphemeralStorage string `json:"ephemeralStorage,omitempty"`
}

// NodeConfig is the shape of one node beyond the lab's defaults.
type NodeConfig struct {
	Labels map[string]string
	Taints []corev1.Taint
	// Capacity entries replace Config.NodeCapacity's.
	Capacity corev1.ResourceList
}

// ParseFile reads a lab configuration file into a Config (Name, ServiceCIDR, Nodes,
// Workers, ControlPlane); unknown fields and invalid values are errors naming their field.
func ParseFile(b []byte) (Config, error) {
	var f File
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return Config{}, fmt.Errorf("lab configuration: %w", err)
	}
	var errs field.ErrorList
	if f.APIVersion != ConfigAPIVersion {
		errs = append(errs, field.NotSupported(field.NewPath("apiVersion"), f.APIVersion, []string{ConfigAPIVersion}))
	}
	if f.Kind != ConfigKind {
		errs = append(errs, field.NotSupported(field.NewPath("kind"), f.Kind, []string{ConfigKind}))
	}
	cfg := Config{Name: f.Name, ServiceCIDR: f.ServiceSubnet}
	if f.Scheduler != nil {
		errs = append(errs, f.Scheduler.validate(field.NewPath("scheduler"))...)
		cfg.Scheduler = *f.Scheduler
	}
	if f.ControllerManager != nil {
		errs = append(errs, f.ControllerManager.validate(field.NewPath("controllerManager"))...)
		cfg.ControllerManager = *f.ControllerManager
	}
	controlPlanes := 0
	for i, n := range f.Nodes {
		p := field.NewPath("nodes").Index(i)
		count := 1
		if n.Count != nil {
			count = *n.Count
			if count < 0 || count > 50 {
				errs = append(errs, field.Invalid(p.Child("count"), count, "must be 0 to 50"))
			}
		}
		shape, shapeErrs := n.shape(p)
		errs = append(errs, shapeErrs...)
		switch n.Role {
		case "", "worker":
			for range count {
				cfg.Workers = append(cfg.Workers, shape)
			}
		case "control-plane":
			controlPlanes += count
			if controlPlanes > 5 {
				errs = append(errs, field.Invalid(p.Child("count"), count, "a lab has 1 to 5 control-plane nodes (3 for an HA control plane that survives the loss of one)"))
			}
			cfg.ControlPlane, cfg.ControlPlanes = shape, controlPlanes
		default:
			errs = append(errs, field.NotSupported(p.Child("role"), n.Role, []string{"worker", "control-plane"}))
		}
	}
	if len(cfg.Workers) == 0 && len(errs) == 0 {
		errs = append(errs, field.Required(field.NewPath("nodes"), "at least one worker node"))
	}
	cfg.Nodes = len(cfg.Workers)
	if err := errs.ToAggregate(); err != nil {
		return Config{}, fmt.Errorf("lab configuration: %w", err)
	}
	return cfg, nil
}

func (n FileNode) shape(p *field.Path) (NodeConfig, field.ErrorList) {
	errs := metav1validation.ValidateLabels(n.Labels, p.Child("labels"))
	out := NodeConfig{Labels: n.Labels}
	for j, s := range n.Taints {
		t, err := parseTaint(s)
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("taints").Index(j), s, err.Error()))
			continue
		}
		out.Taints = append(out.Taints, t)
	}
	for name, v := range map[corev1.ResourceName]struct{ field, value string }{
		corev1.ResourceCPU: {"cpu", n.CPU}, corev1.ResourceMemory: {"memory", n.Memory},
		corev1.ResourcePods: {"pods", n.Pods}, corev1.ResourceEphemeralStorage: {"ephemeralStorage", n.EphemeralStorage},
	} {
		if v.value == "" {
			continue
		}
		q, err := resource.ParseQuantity(v.value)
		if err != nil || q.Sign() <= 0 {
			errs = append(errs, field.Invalid(p.Child(v.field), v.value, "must be a positive quantity (e.g. 2, 500m, 4Gi)"))
			continue
		}
		if out.Capacity == nil {
			out.Capacity = corev1.ResourceList{}
		}
		out.Capacity[name] = q
	}
	return out, errs
}

// parseTaint reads KEY[=VALUE]:EFFECT, as kubectl taint does.
func parseTaint(s string) (corev1.Taint, error) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return corev1.Taint{}, fmt.Errorf("want KEY[=VALUE]:EFFECT")
	}
	key, value, _ := strings.Cut(kv, "=")
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return corev1.Taint{}, fmt.Errorf("key %q: %s", key, strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return corev1.Taint{}, fmt.Errorf("value %q: %s", value, strings.Join(errs, "; "))
	}
	switch e := corev1.TaintEffect(effect); e {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		return corev1.Taint{Key: key, Value: value, Effect: e}, nil
	}
	return corev1.Taint{}, fmt.Errorf("effect %q: want NoSchedule, PreferNoSchedule or NoExecute", effect)
}

// shapeNodes puts each node's configured labels and taints on its Node, with the admin's
// credentials (as kubeadm's mark-control-plane and kubectl label/taint would; NodeRestriction
// keeps a kubelet from labelling its own Node freely).
func shapeNodes(ctx context.Context, client kubernetes.Interface, nodes []Node, say func(string, ...any)) error {
	for _, n := range nodes {
		if len(n.Labels) == 0 && len(n.Taints) == 0 {
			continue
		}
		if err := labelAndTaint(ctx, client, n.Name, n.Labels, n.Taints); err != nil {
			return fmt.Errorf("labelling and tainting node %s: %w", n.Name, err)
		}
		var taints []string
		for _, t := range n.Taints {
			taints = append(taints, t.ToString())
		}
		say("node %s labelled %v, tainted %v", n.Name, n.Labels, taints)
	}
	return nil
}

// capacityOf is node n's capacity: the lab's default with n's own entries over it.
func capacityOf(base corev1.ResourceList, own corev1.ResourceList) corev1.ResourceList {
	out := base.DeepCopy()
	if out == nil && len(own) > 0 {
		out = corev1.ResourceList{}
	}
	for k, v := range own {
		out[k] = v
	}
	return out
}
