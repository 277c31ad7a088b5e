package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/utils/ptr"
)

// accounts is an ObjectReader holding ServiceAccounts by namespace/name.
type accounts map[string]*corev1.ServiceAccount

func (a accounts) Get(_ context.Context, gvr schema.GroupVersionResource, ns, name string) (runtime.Object, error) {
	if sa, ok := a[ns+"/"+name]; ok && gvr.Resource == "serviceaccounts" {
		return sa, nil
	}
	return nil, apierrors.NewNotFound(gvr.GroupResource(), name)
}

func (a accounts) List(context.Context, schema.GroupVersionResource, string) ([]runtime.Object, error) {
	return nil, nil
}

func attrs(pod *corev1.Pod) admission.Attributes {
	return admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), "ns", pod.Name,
		corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "u"})
}

func run(t *testing.T, p *Plugin, pod *corev1.Pod) error {
	t.Helper()
	a := attrs(pod)
	if err := p.Admit(context.Background(), a, nil); err != nil {
		return err
	}
	return p.Validate(context.Background(), a, nil)
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "i", Image: "x"}},
			Containers:     []corev1.Container{{Name: "a", Image: "x"}, {Name: "b", Image: "x", VolumeMounts: []corev1.VolumeMount{{Name: "own", MountPath: MountPath}}}},
		},
	}
}

func TestDefaultsAndMounts(t *testing.T) {
	p := NewWithReader(accounts{"ns/default": {ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}}})
	pod := testPod()
	if err := run(t, p, pod); err != nil {
		t.Fatal(err)
	}
	if pod.Spec.ServiceAccountName != "default" {
		t.Errorf("serviceAccountName = %q", pod.Spec.ServiceAccountName)
	}
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "pull" {
		t.Errorf("imagePullSecrets = %v", pod.Spec.ImagePullSecrets)
	}
	if len(pod.Spec.Volumes) != 1 {
		t.Fatalf("volumes = %v", pod.Spec.Volumes)
	}
	v := pod.Spec.Volumes[0]
	if !strings.HasPrefix(v.Name, VolumeNamePrefix) || len(v.Name) != len(VolumeNamePrefix)+5 || v.Projected == nil {
		t.Fatalf("volume = %+v", v)
	}
	src := v.Projected.Sources
	if len(src) != 3 || *src[0].ServiceAccountToken.ExpirationSeconds != 3607 || src[0].ServiceAccountToken.Path != "token" ||
		src[1].ConfigMap.Name != RootCAConfigMap || src[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("sources = %+v", src)
	}
	for _, c := range []corev1.Container{pod.Spec.InitContainers[0], pod.Spec.Containers[0]} {
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != v.Name || !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != MountPath {
			t.Errorf("container %s mounts %+v", c.Name, c.VolumeMounts)
		}
	}
	if m := pod.Spec.Containers[1].VolumeMounts; len(m) != 1 || m[0].Name != "own" {
		t.Errorf("a container with its own mount at %s got %+v", MountPath, m)
	}
}

func TestAutomountOff(t *testing.T) {
	off := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "off", Namespace: "ns"}, AutomountServiceAccountToken: ptr.To(false)}
	on := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}}
	p := NewWithReader(accounts{"ns/off": off, "ns/default": on})
	for _, tc := range []struct {
		sa    string
		pod   *bool
		mount bool
	}{{"off", nil, false}, {"off", ptr.To(true), true}, {"default", ptr.To(false), false}, {"default", nil, true}} {
		pod := testPod()
		pod.Spec.ServiceAccountName, pod.Spec.AutomountServiceAccountToken = tc.sa, tc.pod
		if err := run(t, p, pod); err != nil {
			t.Fatal(err)
		}
		if got := len(pod.Spec.Volumes) == 1; got != tc.mount {
			t.Errorf("sa %s pod automount %v: mounted %v, want %v", tc.sa, tc.pod, got, tc.mount)
		}
	}
}

func TestMissingServiceAccount(t *testing.T) {
	p := NewWithReader(accounts{})
	pod := testPod()
	pod.Spec.ServiceAccountName = "ghost"
	err := run(t, p, pod)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `error looking up service account ns/ghost: serviceaccount "ghost" not found`) {
		t.Fatalf("err = %v", err)
	}
}

func TestMirrorPods(t *testing.T) {
	p := NewWithReader(accounts{})
	pod := testPod()
	pod.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "h"}
	if err := run(t, p, pod); err != nil || pod.Spec.ServiceAccountName != "" || len(pod.Spec.Volumes) != 0 {
		t.Fatalf("mirror pod: err %v, pod %+v", err, pod.Spec)
	}
	pod.Spec.ServiceAccountName = "default"
	if err := run(t, p, pod); !apierrors.IsForbidden(err) {
		t.Fatalf("mirror pod naming a ServiceAccount: %v", err)
	}
}
