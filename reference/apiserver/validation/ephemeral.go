package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PrepareEphemeralContainersUpdate readies a write of pods/NAME/ephemeralcontainers: only
// spec.ephemeralContainers comes from the request (defaulted as on create); the rest of
// the spec and the status stay as stored.
func PrepareEphemeralContainersUpdate(newPod, oldPod *corev1.Pod) {
	eph := newPod.Spec.EphemeralContainers
	newPod.Spec = *oldPod.Spec.DeepCopy()
	newPod.Spec.EphemeralContainers = eph
	for i := range newPod.Spec.EphemeralContainers {
		c := corev1.Container(newPod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		defaultContainer(&c, newPod.Spec.HostNetwork)
		newPod.Spec.EphemeralContainers[i].EphemeralContainerCommon = corev1.EphemeralContainerCommon(c)
	}
	newPod.Status = *oldPod.Status.DeepCopy()
}

// ValidateEphemeralContainersUpdate checks a write of pods/NAME/ephemeralcontainers as
// kube-apiserver does: ephemeral containers may only be added (the existing ones neither
// changed nor removed), each named uniquely among all the pod's containers, with an image,
// and without what an ephemeral container may not have (ports, probes, lifecycle,
// resources, restartPolicy); targetContainerName names one of the pod's containers.
func ValidateEphemeralContainersUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	p := specPath.Child("ephemeralContainers")
	news := map[string]*corev1.EphemeralContainer{}
	for i := range newPod.Spec.EphemeralContainers {
		news[newPod.Spec.EphemeralContainers[i].Name] = &newPod.Spec.EphemeralContainers[i]
	}
	for _, old := range oldPod.Spec.EphemeralContainers {
		n, ok := news[old.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", old.Name)))
		case !apiequality.Semantic.DeepEqual(old, *n):
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("existing ephemeral containers %q may not be changed\n", old.Name)))
		}
	}
	names := sets.New[string]()
	targets := sets.New[string]()
	for _, c := range newPod.Spec.Containers {
		names.Insert(c.Name)
		targets.Insert(c.Name)
	}
	for _, c := range newPod.Spec.InitContainers {
		names.Insert(c.Name)
		targets.Insert(c.Name)
	}
	volumes := sets.New[string]()
	for _, v := range newPod.Spec.Volumes {
		volumes.Insert(v.Name)
	}
	for i := range newPod.Spec.EphemeralContainers {
		ec := &newPod.Spec.EphemeralContainers[i]
		cp := p.Index(i)
		switch {
		case ec.Name == "":
			errs = append(errs, field.Required(cp.Child("name"), ""))
		case names.Has(ec.Name):
			errs = append(errs, field.Duplicate(cp.Child("name"), ec.Name))
		default:
			errs = append(errs, invalidMsgs(cp.Child("name"), ec.Name, utilvalidation.IsDNS1123Label(ec.Name))...)
		}
		names.Insert(ec.Name)
		c := corev1.Container(ec.EphemeralContainerCommon)
		if len(c.Ports) > 0 {
			errs = append(errs, field.Forbidden(cp.Child("ports"), "cannot be set for an Ephemeral Container"))
		}
		for _, probe := range []struct {
			name string
			set  bool
		}{{"livenessProbe", c.LivenessProbe != nil}, {"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil}, {"lifecycle", c.Lifecycle != nil}, {"restartPolicy", c.RestartPolicy != nil}} {
			if probe.set {
				errs = append(errs, field.Forbidden(cp.Child(probe.name), "cannot be set for an Ephemeral Container"))
			}
		}
		if len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0 || len(c.Resources.Claims) > 0 {
			errs = append(errs, field.Forbidden(cp.Child("resources"), "cannot be set for an Ephemeral Container"))
		}
		if len(c.ResizePolicy) > 0 {
			errs = append(errs, field.Forbidden(cp.Child("resizePolicy"), "cannot be set for an Ephemeral Container"))
		}
		// The container's own checks, on a copy without what was refused above.
		c.Ports, c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, c.Lifecycle, c.RestartPolicy = nil, nil, nil, nil, nil, nil
		c.Resources, c.ResizePolicy = corev1.ResourceRequirements{}, nil
		errs = append(errs, validateContainer(&c, volumes, cp, podSpecOpts{isPod: true})...)
		if ec.TargetContainerName != "" && !targets.Has(ec.TargetContainerName) {
			errs = append(errs, field.NotFound(cp.Child("targetContainerName"), ec.TargetContainerName))
		}
	}
	return errs
}
