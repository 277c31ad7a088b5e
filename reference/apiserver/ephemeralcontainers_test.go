package apiserver_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestEphemeralContainersSubresource: pods/NAME/ephemeralcontainers adds ephemeral containers
// (and only them: the rest of the spec stays), moves the generation, and refuses removing
// or changing one, a duplicate name and fields an ephemeral container may not have.
func TestEphemeralContainersSubresource(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	pods := ts.client.CoreV1().Pods("default")
	p, err := pods.Create(ctx, makePod("p"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	debug := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: "busybox", Stdin: true, TTY: true}}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{debug}
	p.Spec.Containers[0].Image = "sneaky" // not written through this subresource
	got, err := pods.UpdateEphemeralContainers(ctx, "p", p, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.EphemeralContainers) != 1 || got.Spec.EphemeralContainers[0].TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Fatalf("ephemeral containers not added (and defaulted): %+v", got.Spec.EphemeralContainers)
	}
	if got.Spec.Containers[0].Image == "sneaky" {
		t.Fatal("the ephemeralcontainers subresource changed a container's image")
	}
	if got.Generation != 2 {
		t.Fatalf("generation %d after adding an ephemeral container, want 2", got.Generation)
	}
	fresh := &corev1.Pod{}
	err = ts.client.CoreV1().RESTClient().Get().Namespace("default").Resource("pods").Name("p").SubResource("ephemeralcontainers").Do(ctx).Into(fresh)
	if err != nil || len(fresh.Spec.EphemeralContainers) != 1 {
		t.Fatalf("get ephemeralcontainers: %v %v", fresh, err)
	}
	// kubectl debug adds one with a strategic merge patch of the subresource.
	patch := `{"spec":{"ephemeralContainers":[{"name":"debugger-2","image":"busybox","stdin":true,"tty":true}]}}`
	patched, err := pods.Patch(ctx, "p", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		t.Fatalf("strategic merge patch of ephemeralcontainers: %v", err)
	}
	if len(patched.Spec.EphemeralContainers) != 2 || patched.Generation != 3 {
		t.Fatalf("after the patch: %d ephemeral containers, generation %d", len(patched.Spec.EphemeralContainers), patched.Generation)
	}
	for name, change := range map[string]func(*corev1.Pod){
		"removed": func(p *corev1.Pod) { p.Spec.EphemeralContainers = nil },
		"changed": func(p *corev1.Pod) { p.Spec.EphemeralContainers[0].Image = "other" },
		"duplicate name": func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: p.Spec.Containers[0].Name, Image: "x"}})
		},
		"ports": func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "two", Image: "x", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}})
		},
		"unknown target": func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "three", Image: "x"}, TargetContainerName: "nope"})
		},
	} {
		cur, err := pods.Get(ctx, "p", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		change(cur)
		_, err = pods.UpdateEphemeralContainers(ctx, "p", cur, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Errorf("%s: want Invalid, got %v", name, err)
		} else if name == "removed" && !strings.Contains(err.Error(), "may not be removed") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
