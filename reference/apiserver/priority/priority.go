package priority

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// PluginName is the plugin's name in kube-apiserver's --enable-admission-plugins.
const PluginName = "Priority"

var (
	podsResource            = corev1.SchemeGroupVersion.WithResource("pods")
	priorityClassesResource = schedulingv1.SchemeGroupVersion.WithResource("priorityclasses")
)

// Plugin is the Priority admission plugin. It reads PriorityClasses through the server's object
// reader (apiserver.WantsObjectReader), which the server hands it in New.
type Plugin struct {
	*admission.Handler
	reader apiserver.ObjectReader
}

var (
	_ admission.MutationInterface       = (*Plugin)(nil)
	_ admission.ValidationInterface     = (*Plugin)(nil)
	_ admission.InitializationValidator = (*Plugin)(nil)
	_ apiserver.WantsObjectReader       = (*Plugin)(nil)
)

// New returns the plugin; it handles creates and updates.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

// SetObjectReader implements apiserver.WantsObjectReader.
func (p *Plugin) SetObjectReader(r apiserver.ObjectReader) { p.reader = r }

// ValidateInitialization implements admission.InitializationValidator.
func (p *Plugin) ValidateInitialization() error {
	if p.reader == nil {
		return fmt.Errorf("%s requires an object reader", PluginName)
	}
	return nil
}

// Admit resolves the priority of new pods and keeps it on updates.
func (p *Plugin) Admit(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetResource() != podsResource {
		return nil
	}
	pod, ok := a.GetObject().(*corev1.Pod)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind Pod but was unable to be converted")
	}
	if a.GetOperation() == admission.Update {
		// The priority was set on create; an update that leaves it out keeps it (validation
		// refuses any change).
		if old, ok := a.GetOldObject().(*corev1.Pod); ok {
			if pod.Spec.Priority == nil {
				pod.Spec.Priority = old.Spec.Priority
			}
			if pod.Spec.PreemptionPolicy == nil {
				pod.Spec.PreemptionPolicy = old.Spec.PreemptionPolicy
			}
		}
		return nil
	}
	if a.GetOperation() != admission.Create {
		return nil
	}
	name, priority, policy, err := p.establish(ctx, a, pod.Spec.PriorityClassName)
	if err != nil {
		return err
	}
	pod.Spec.PriorityClassName = name
	if pod.Spec.Priority != nil && *pod.Spec.Priority != priority {
		return admission.NewForbidden(a, fmt.Errorf("the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, priority))
	}
	pod.Spec.Priority = &priority
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return admission.NewForbidden(a, fmt.Errorf("the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		pol := *policy
		pod.Spec.PreemptionPolicy = &pol
	}
	return nil
}

// establish resolves a class name (empty: the globalDefault class, else priority 0 and
// PreemptLowerPriority) into the class's name, value and preemption policy.
func (p *Plugin) establish(ctx context.Context, a admission.Attributes, className string) (string, int32, *corev1.PreemptionPolicy, error) {
	if className == "" {
		def, err := p.defaultClass(ctx)
		if err != nil {
			return "", 0, nil, fmt.Errorf("error occurred while retrieving default priority class: %w", err)
		}
		if def == nil {
			lower := corev1.PreemptLowerPriority
			return "", 0, &lower, nil
		}
		return def.Name, def.Value, def.PreemptionPolicy, nil
	}
	obj, err := p.reader.Get(ctx, priorityClassesResource, "", className)
	if apierrors.IsNotFound(err) {
		return "", 0, nil, admission.NewForbidden(a, fmt.Errorf("no PriorityClass with name %v was found", className))
	}
	if err != nil {
		return "", 0, nil, fmt.Errorf("failed to get PriorityClass with name %s: %w", className, err)
	}
	pc, ok := obj.(*schedulingv1.PriorityClass)
	if !ok {
		return "", 0, nil, fmt.Errorf("PriorityClass %s: unexpected type %T", className, obj)
	}
	return pc.Name, pc.Value, pc.PreemptionPolicy, nil
}

// defaultClass returns the globalDefault class (the lowest value if a race left several), or nil.
func (p *Plugin) defaultClass(ctx context.Context) (*schedulingv1.PriorityClass, error) {
	items, err := p.reader.List(ctx, priorityClassesResource, "")
	if apierrors.IsNotFound(err) {
		return nil, nil // PriorityClasses are not served
	}
	if err != nil {
		return nil, err
	}
	var def *schedulingv1.PriorityClass
	for _, obj := range items {
		pc, ok := obj.(*schedulingv1.PriorityClass)
		if !ok || !pc.GlobalDefault {
			continue
		}
		if def == nil || pc.Value < def.Value {
			def = pc
		}
	}
	return def, nil
}

// Validate refuses a second globalDefault PriorityClass.
func (p *Plugin) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetSubresource() != "" || a.GetResource() != priorityClassesResource {
		return nil
	}
	pc, ok := a.GetObject().(*schedulingv1.PriorityClass)
	if !ok {
		return apierrors.NewBadRequest("resource was marked with kind PriorityClass but was unable to be converted")
	}
	if !pc.GlobalDefault {
		return nil
	}
	def, err := p.defaultClass(ctx)
	if err != nil {
		return fmt.Errorf("failed to get default priority class: %w", err)
	}
	if def != nil && (a.GetOperation() == admission.Create || def.Name != pc.Name) {
		return admission.NewForbidden(a, errors.New("PriorityClass "+def.Name+" is already marked as default. Only one default can exist"))
	}
	return nil
}
