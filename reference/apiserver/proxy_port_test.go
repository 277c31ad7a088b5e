package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// pods/NAME/proxy without a port reaches the first port a container declares (kube-apiserver's
// ResourceLocation; upstream's ReplicaSet "serve a basic image" spec relies on it), else 80; an
// asked port wins.
func TestPodProxyHostDefaultsToTheFirstDeclaredPort(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "sidecar"},
		{Name: "web", Ports: []corev1.ContainerPort{{ContainerPort: 9376}, {ContainerPort: 8080}}},
		{Name: "other", Ports: []corev1.ContainerPort{{ContainerPort: 7000}}},
	}}, Status: corev1.PodStatus{PodIP: "10.244.1.5"}}
	for port, want := range map[string]string{"": "10.244.1.5:9376", "8080": "10.244.1.5:8080"} {
		if got, err := podProxyHost(p, port); err != nil || got != want {
			t.Errorf("podProxyHost(port %q) = %q, %v; want %s", port, got, err, want)
		}
	}
	p.Spec.Containers = p.Spec.Containers[:1]
	if got, err := podProxyHost(p, ""); err != nil || got != "10.244.1.5:80" {
		t.Errorf("podProxyHost of a pod declaring no port = %q, %v; want port 80", got, err)
	}
}
