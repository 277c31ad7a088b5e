package daemonset

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"

	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Labels the controller puts on daemon pods (and, for the hash, on ControllerRevisions).
const (
	// HashLabel is the hash of the template the pod was made from.
	HashLabel = appsv1.DefaultDaemonSetUniqueLabelKey
	// GenerationLabel is the template generation the pod was made from.
	GenerationLabel = "pod-template-generation"
	// templateGenerationAnnotation is where apps/v1 carries the template generation.
	templateGenerationAnnotation = "deprecated.daemonset.template.generation"
)

var dsKind = appsv1.SchemeGroupVersion.WithKind("DaemonSet")

// DefaultTolerations are the tolerations every daemon pod gets (hostNetwork pods also get
// NetworkUnavailableToleration): daemons keep running on not-ready and unreachable nodes, on
// nodes under resource pressure and on cordoned nodes.
func DefaultTolerations() []corev1.Toleration {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	return []corev1.Toleration{
		exists(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute),
		exists(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule),
		exists(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule),
	}
}

// NetworkUnavailableToleration is the extra toleration of hostNetwork daemon pods.
func NetworkUnavailableToleration() corev1.Toleration {
	return corev1.Toleration{Key: corev1.TaintNodeNetworkUnavailable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
}

// addTolerations adds the default tolerations to spec, replacing a toleration of the same key,
// operator, value and effect.
func addTolerations(spec *corev1.PodSpec) {
	add := DefaultTolerations()
	if spec.HostNetwork {
		add = append(add, NetworkUnavailableToleration())
	}
	for _, t := range add {
		replaced := false
		for i := range spec.Tolerations {
			if spec.Tolerations[i].MatchToleration(&t) {
				spec.Tolerations[i], replaced = t, true
			}
		}
		if !replaced {
			spec.Tolerations = append(spec.Tolerations, t)
		}
	}
}

// pinToNode sets a required node affinity term matchFields metadata.name In [node], replacing
// the matchFields of every term (creating the affinity and a term if there are none).
func pinToNode(spec *corev1.PodSpec, node string) {
	req := corev1.NodeSelectorRequirement{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	terms := na.RequiredDuringSchedulingIgnoredDuringExecution
	if len(terms.NodeSelectorTerms) == 0 {
		terms.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
	}
	for i := range terms.NodeSelectorTerms {
		terms.NodeSelectorTerms[i].MatchFields = []corev1.NodeSelectorRequirement{req}
	}
}

// TargetNode returns the node a daemon pod is for: spec.nodeName once bound, else the value of
// its matchFields metadata.name In [node] affinity term.
func TargetNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// templateGeneration is the generation pods of ds's current template are labelled with: the
// apps/v1 annotation when the server sets it, else the DaemonSet's generation.
func templateGeneration(ds *appsv1.DaemonSet) string {
	if g, ok := ds.Annotations[templateGenerationAnnotation]; ok {
		return g
	}
	return strconv.FormatInt(ds.Generation, 10)
}

// newPod builds the daemon pod of ds's current template (hash) for node.
func newPod(ds *appsv1.DaemonSet, hash, node string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	lbls := map[string]string{}
	for k, v := range t.Labels {
		lbls[k] = v
	}
	lbls[HashLabel] = hash
	lbls[GenerationLabel] = templateGeneration(ds)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    ds.Name + "-",
			Namespace:       ds.Namespace,
			Labels:          lbls,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{runner.ControllerRef(ds, dsKind)},
		},
		Spec: t.Spec,
	}
	addTolerations(&p.Spec)
	pinToNode(&p.Spec, node)
	return p
}

// placement answers, for ds and node, whether a daemon pod should run there (shouldRun) and
// whether one already there may stay (shouldContinue): the node must match the template's
// required node affinity and nodeSelector; an untolerated NoSchedule taint stops new pods, an
// untolerated NoExecute taint also removes running ones.
func placement(ds *appsv1.DaemonSet, node *corev1.Node) (shouldRun, shouldContinue bool) {
	p := &corev1.Pod{Spec: *ds.Spec.Template.Spec.DeepCopy()}
	addTolerations(&p.Spec)
	if ok, err := nodeaffinity.GetRequiredNodeAffinity(p).Match(node); err != nil || !ok {
		return false, false
	}
	logger := klog.Background()
	if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, p.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoExecute
	}, false); untolerated {
		return false, false
	}
	if _, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, p.Spec.Tolerations, func(t *corev1.Taint) bool {
		return t.Effect == corev1.TaintEffectNoSchedule
	}, false); untolerated {
		return false, true
	}
	return true, true
}
