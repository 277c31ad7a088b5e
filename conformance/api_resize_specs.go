package conformance

import (
	"context"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// srcPodResize names the documentation of In-place Pod Resize.
const srcPodResize = "Kubernetes: Resize CPU and Memory Resources assigned to Containers (the pods/resize subresource; KEP-1287, stable since v1.35)"

func apiResizeSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.pod.resize-only-resources",
			"a patch of pods/NAME/resize MUST change only the containers' cpu and memory (the rest of the patch dropped, metadata.generation incremented), while the same resource change through the pod itself MUST be rejected with 422",
			srcPodResize), specResizeOnlyResources},
		{api("api.pod.resize-qos-unchanged",
			"a resize that would change the pod's QoS class, or remove a request, MUST be rejected with 422 naming the field (spec, spec.containers[0].resources.requests) and change nothing",
			srcPodResize), specResizeQOSUnchanged},
	}
}

// resizablePod is a Burstable pod (cpu 100m/200m, memory 64Mi/128Mi).
func resizablePod(name string) *corev1.Pod {
	p := pod(name)
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	return p
}

func specResizeOnlyResources(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	created, err := pods.Create(ctx, resizablePod("resized"), metav1.CreateOptions{})
	ok(g, err, "creating the Pod")
	// The resource change through the pod itself is refused.
	changed := created.DeepCopy()
	changed.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("150m")
	_, err = pods.Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalidUnder(g, err, "updating a Pod's container resources through the pod", "spec")
	// Through pods/resize, only the resources change.
	patch := `{"metadata":{"labels":{"app":"changed"}},"spec":{"activeDeadlineSeconds":30,"containers":[{"name":"main","image":"registry.example/app:2.0",` +
		`"resources":{"requests":{"cpu":"150m","memory":"80Mi"},"limits":{"cpu":"300m","memory":"256Mi"}}}]}}`
	out, err := pods.Patch(ctx, created.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
	ok(g, err, "patching pods/resize")
	stored, err := pods.Get(ctx, created.Name, metav1.GetOptions{})
	ok(g, err, "reading the resized Pod")
	for what, p := range map[string]*corev1.Pod{"the response": out, "the stored Pod": stored} {
		c := p.Spec.Containers[0]
		for _, w := range []struct {
			what string
			list corev1.ResourceList
			name corev1.ResourceName
			want string
		}{
			{"requests", c.Resources.Requests, corev1.ResourceCPU, "150m"}, {"requests", c.Resources.Requests, corev1.ResourceMemory, "80Mi"},
			{"limits", c.Resources.Limits, corev1.ResourceCPU, "300m"}, {"limits", c.Resources.Limits, corev1.ResourceMemory, "256Mi"},
		} {
			q := w.list[w.name]
			g.Expect(q.Cmp(resource.MustParse(w.want))).To(gomega.Equal(0), "%s: resources.%s[%s] = %s, want %s", what, w.what, w.name, q.String(), w.want)
		}
		g.Expect(c.Image).To(gomega.Equal("registry.example/app:1.0"), "%s: the image must not change through pods/resize", what)
		g.Expect(p.Labels["app"]).To(gomega.Equal("resized"), "%s: labels must not change through pods/resize", what)
		g.Expect(p.Spec.ActiveDeadlineSeconds).To(gomega.BeNil(), "%s: activeDeadlineSeconds must not change through pods/resize", what)
		g.Expect(p.Generation).To(gomega.BeNumerically(">", created.Generation), "%s: metadata.generation must move on a resize (was %d)", what, created.Generation)
	}
}

func specResizeQOSUnchanged(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	p := resizablePod("guaranteed")
	p.Spec.Containers[0].Resources.Requests = p.Spec.Containers[0].Resources.Limits.DeepCopy()
	created, err := pods.Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "creating the Pod")
	g.Expect(created.Status.QOSClass).To(gomega.Equal(corev1.PodQOSGuaranteed), "a pod whose requests equal its limits is Guaranteed")
	// Lowering the CPU request below the limit would make it Burstable.
	_, err = pods.Patch(ctx, created.Name, types.StrategicMergePatchType,
		[]byte(`{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"100m"}}}]}}`), metav1.PatchOptions{}, "resize")
	expectInvalid(g, err, "a resize from Guaranteed to Burstable", "spec")
	// Removing the memory request (a JSON patch: a strategic merge keeps what it does not name).
	_, err = pods.Patch(ctx, created.Name, types.JSONPatchType,
		[]byte(`[{"op":"remove","path":"/spec/containers/0/resources/requests/memory"}]`), metav1.PatchOptions{}, "resize")
	expectInvalidUnder(g, err, "a resize removing a request", "spec.containers[0].resources.requests")
	stored, err := pods.Get(ctx, created.Name, metav1.GetOptions{})
	ok(g, err, "reading the Pod")
	g.Expect(stored.ResourceVersion).To(gomega.Equal(created.ResourceVersion),
		"a refused resize must change nothing: %v", stored.Spec.Containers[0].Resources)
}
