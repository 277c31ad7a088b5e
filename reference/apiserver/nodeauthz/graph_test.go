package nodeauthz

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodObjectNames(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
			Volumes: []corev1.Volume{
				{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol-secret"}}},
				{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "vol-cm"}}}},
				{Name: "claim", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
				{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-secret"}}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "proj-cm"}}},
				}}}},
			},
			InitContainers: []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init-env"}}}}}},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "env-cm"}, Key: "k"},
			}}}}},
		},
	}
	for kind, want := range map[refKind][]string{
		secretRef:         {"pull", "vol-secret", "proj-secret", "init-env"},
		configMapRef:      {"vol-cm", "proj-cm", "env-cm"},
		pvcRef:            {"data", "p-scratch"},
		serviceAccountRef: {"default"},
	} {
		got := podObjectNames(pod, kind)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", kind, got, want)
		}
	}
	if podReferences(pod, secretRef, "vol-cm") || !podReferences(pod, configMapRef, "vol-cm") {
		t.Error("podReferences mixes kinds")
	}
	if usesAny(&corev1.Pod{}, secretRef) || !usesAny(pod, secretRef) {
		t.Error("usesAny")
	}
}

func TestForbiddenLabels(t *testing.T) {
	old := map[string]string{"kubernetes.io/hostname": "n", "team": "a"}
	now := map[string]string{
		"kubernetes.io/hostname":                "n",
		"team":                                  "b",
		"node-role.kubernetes.io/control-plane": "",
		"node-restriction.kubernetes.io/x":      "y",
		"node.kubernetes.io/instance-type":      "big",
	}
	got := forbiddenLabels(now, old)
	want := []string{"node-restriction.kubernetes.io/x", "node-role.kubernetes.io/control-plane"}
	if !slices.Equal(got, want) {
		t.Errorf("forbiddenLabels = %v, want %v", got, want)
	}
}
