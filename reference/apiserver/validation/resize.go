package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// SubresourceResize is the name of the pods/NAME/resize subresource (In-place Pod Resize,
// KEP-1287, GA in Kubernetes 1.35).
const SubresourceResize = "resize"

// PreparePodResize readies a write of pods/NAME/resize as kube-apiserver's pod
// ResizeStrategy does: of the request, only the resources and resizePolicy of the containers
// and of the init containers are kept (matched by position and name); everything else of the
// spec, the status and the labels, annotations, finalizers and owners stay as stored. A
// request that adds, removes, reorders or renames containers is kept as sent, for
// ValidatePodResize to refuse.
func PreparePodResize(newPod, oldPod *corev1.Pod) {
	if len(newPod.Spec.Containers) != len(oldPod.Spec.Containers) || len(newPod.Spec.InitContainers) != len(oldPod.Spec.InitContainers) {
		return
	}
	containers, ok1 := resizedContainers(newPod.Spec.Containers, oldPod.Spec.Containers)
	inits, ok2 := resizedContainers(newPod.Spec.InitContainers, oldPod.Spec.InitContainers)
	if !ok1 || !ok2 {
		return
	}
	newPod.Spec = *oldPod.Spec.DeepCopy()
	newPod.Spec.Containers, newPod.Spec.InitContainers = containers, inits
	newPod.Status = *oldPod.Status.DeepCopy()
	metav1.ResetObjectMetaForStatus(newPod, oldPod)
}

// resizedContainers is old with the resources and resizePolicy of the same-named containers
// of next; ok is false when a name differs at some position.
func resizedContainers(next, old []corev1.Container) ([]corev1.Container, bool) {
	if len(old) == 0 {
		return nil, true
	}
	out := make([]corev1.Container, len(old))
	for i := range old {
		if next[i].Name != old[i].Name {
			return nil, false
		}
		out[i] = *old[i].DeepCopy()
		out[i].Resources = *next[i].Resources.DeepCopy()
		out[i].ResizePolicy = append([]corev1.ContainerResizePolicy(nil), next[i].ResizePolicy...)
	}
	return out, true
}

// ValidatePodResize checks a write of pods/NAME/resize as kube-apiserver's ValidatePodResize
// does: the new pod must be valid as a whole; static pods, Windows pods and pods with
// pod-level resources cannot be resized; the QoS class may not change; requests and limits
// may not be removed, and a memory limit may not be added or lowered unless the memory
// resizePolicy is RestartContainer; only cpu and memory of the containers and of the
// restartable init containers (sidecars) may change — the other init containers' resources
// and everything else are immutable. A pod whose running container reports no resources in
// its status runs on a node without in-place resize and is refused. (The node-side rules
// kube-apiserver cannot know either — the CPU and memory managers' static policies — are the
// kubelet's, which reports such a resize as infeasible.)
func ValidatePodResize(newPod, oldPod *corev1.Pod) field.ErrorList {
	errs := validateObjectMetaUpdate(newPod, oldPod)
	errs = append(errs, validatePod(newPod)...)
	podLevel := func(p *corev1.Pod) bool {
		return p.Spec.Resources != nil && len(p.Spec.Resources.Requests)+len(p.Spec.Resources.Limits) > 0
	}
	root := field.NewPath("")
	if podLevel(oldPod) || podLevel(newPod) {
		return field.ErrorList{field.Forbidden(root, "pods with pod-level resources cannot be resized")}
	}
	if _, ok := oldPod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(root, "static pods cannot be resized")}
	}
	if oldPod.Spec.OS != nil && oldPod.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(root, "windows pods cannot be resized")}
	}
	if len(newPod.Spec.Containers) != len(oldPod.Spec.Containers) || len(newPod.Spec.InitContainers) != len(oldPod.Spec.InitContainers) {
		// Containers added or removed: nothing to compare position by position.
		return append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
	}
	oldQOS := oldPod.Status.QOSClass
	if oldQOS == "" {
		oldQOS = QOSClass(&oldPod.Spec)
	}
	if QOSClass(&newPod.Spec) != oldQOS {
		errs = append(errs, field.Invalid(specPath, newPod.Status.QOSClass, "Pod QOS Class may not change as a result of resizing"))
	}
	if !resizeSupported(oldPod) {
		errs = append(errs, field.Forbidden(specPath, "Pod running on node without support for resize"))
	}
	for i := range oldPod.Spec.InitContainers {
		if isSidecar(&oldPod.Spec.InitContainers[i]) {
			errs = append(errs, validateContainerResize(&newPod.Spec.InitContainers[i], &oldPod.Spec.InitContainers[i], specPath.Child("initContainers").Index(i).Child("resources"))...)
		}
	}
	for i := range oldPod.Spec.Containers {
		errs = append(errs, validateContainerResize(&newPod.Spec.Containers[i], &oldPod.Spec.Containers[i], specPath.Child("containers").Index(i).Child("resources"))...)
	}
	// Beyond cpu and memory of containers and sidecars nothing may differ.
	munged := *newPod.Spec.DeepCopy()
	for i := range munged.Containers {
		keepCPUMemory(&munged.Containers[i], &oldPod.Spec.Containers[i])
		if !apiequality.Semantic.DeepEqual(munged.Containers[i], oldPod.Spec.Containers[i]) {
			errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
		}
	}
	for i := range munged.InitContainers {
		old := &oldPod.Spec.InitContainers[i]
		if isSidecar(old) {
			keepCPUMemory(&munged.InitContainers[i], old)
			if !apiequality.Semantic.DeepEqual(munged.InitContainers[i], *old) {
				errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources for sidecar containers are mutable"))
			}
		} else if !apiequality.Semantic.DeepEqual(munged.InitContainers[i], *old) {
			errs = append(errs, field.Forbidden(specPath, "resources for non-sidecar init containers are immutable"))
		}
	}
	if len(errs) > 0 {
		return sortErrors(errs)
	}
	if !apiequality.Semantic.DeepEqual(munged, oldPod.Spec) {
		errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
	}
	return errs
}

// isSidecar reports whether c is a restartable init container.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// resizeSupported: the first running container reports its resources in the status (a node
// that resizes in place reports them); a pod without running containers may be resized.
func resizeSupported(p *corev1.Pod) bool {
	for _, s := range p.Status.ContainerStatuses {
		if s.State.Running != nil {
			return s.Resources != nil
		}
	}
	return true
}

// keepCPUMemory puts old's cpu and memory requests and limits into c's resources in place of
// c's own, dropping those old does not have (c's other resources and fields are kept): what
// remains to differ is what a resize may not change.
func keepCPUMemory(c, old *corev1.Container) {
	munge := func(list, oldList corev1.ResourceList) corev1.ResourceList {
		if oldList == nil {
			return nil
		}
		out := corev1.ResourceList{}
		for name, q := range list {
			if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
				out[name] = q.DeepCopy()
			}
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := oldList[name]; ok {
				out[name] = q.DeepCopy()
			}
		}
		return out
	}
	c.Resources = corev1.ResourceRequirements{
		Limits:   munge(c.Resources.Limits, old.Resources.Limits),
		Requests: munge(c.Resources.Requests, old.Resources.Requests),
	}
}

// validateContainerResize: no request or limit removed; a memory limit neither added nor
// lowered unless memory's resizePolicy is RestartContainer.
func validateContainerResize(c, old *corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if removed(c.Resources.Requests, old.Resources.Requests) {
		errs = append(errs, field.Forbidden(fldPath.Child("requests"), "resource requests cannot be removed"))
	}
	if removed(c.Resources.Limits, old.Resources.Limits) {
		errs = append(errs, field.Forbidden(fldPath.Child("limits"), "resource limits cannot be removed"))
	}
	policy := corev1.NotRequired
	for _, p := range c.ResizePolicy {
		if p.ResourceName == corev1.ResourceMemory && p.RestartPolicy != "" {
			policy = p.RestartPolicy
			break
		}
	}
	if policy == corev1.NotRequired {
		n, hasNew := c.Resources.Limits[corev1.ResourceMemory]
		o, hasOld := old.Resources.Limits[corev1.ResourceMemory]
		p := fldPath.Child("limits").Key(string(corev1.ResourceMemory))
		switch {
		case hasNew && hasOld && n.Cmp(o) < 0:
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("memory limits cannot be decreased unless resizePolicy is %s", corev1.RestartContainer)))
		case hasNew && !hasOld:
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("memory limits cannot be added unless resizePolicy is %s", corev1.RestartContainer)))
		}
	}
	return errs
}

// removed reports whether a resource of old is missing from list.
func removed(list, old corev1.ResourceList) bool {
	for name := range old {
		if _, ok := list[name]; !ok {
			return true
		}
	}
	return false
}

// validateResizePolicy: each entry names cpu or memory once, with the restart policy
// NotRequired or RestartContainer.
func validateResizePolicy(list []corev1.ContainerResizePolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.ResourceName]bool{}
	for i, p := range list {
		if seen[p.ResourceName] {
			errs = append(errs, field.Duplicate(fldPath.Index(i), p.ResourceName))
		}
		seen[p.ResourceName] = true
		switch p.ResourceName {
		case corev1.ResourceCPU, corev1.ResourceMemory:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.ResourceName, []string{string(corev1.ResourceCPU), string(corev1.ResourceMemory)}))
		}
		switch p.RestartPolicy {
		case corev1.NotRequired, corev1.RestartContainer:
		case "":
			errs = append(errs, field.Required(fldPath, ""))
		default:
			errs = append(errs, field.NotSupported(fldPath, p.RestartPolicy, []string{string(corev1.NotRequired), string(corev1.RestartContainer)}))
		}
	}
	return errs
}
