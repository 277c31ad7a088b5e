package conformance

import (
	"context"
	"strings"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// srcSAAdmission is the source of the ServiceAccount admission behaviours.
const srcSAAdmission = "Kubernetes: ServiceAccount admission controller (kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#serviceaccount-admission-controller) and plugin/pkg/admission/serviceaccount"

// saMountPath is where a pod's ServiceAccount token is mounted.
const saMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// serviceAccountSpecs are the auth behaviours of ServiceAccount admission.
func serviceAccountSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.serviceaccount.default-name", "a pod created without spec.serviceAccountName MUST be stored with spec.serviceAccountName \"default\"", srcSAAdmission), specSADefaultName},
		{auth("auth.serviceaccount.token-volume", "a pod created without automountServiceAccountToken MUST be stored with a projected volume kube-api-access-* holding a serviceAccountToken (path token, expirationSeconds 3607), the kube-root-ca.crt ConfigMap's ca.crt and metadata.namespace as namespace, mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init container", srcSAAdmission), specSATokenVolume},
		{auth("auth.serviceaccount.automount-false", "a pod MUST be stored without the token volume when automountServiceAccountToken is false on the pod, or on its ServiceAccount while the pod says nothing", srcSAAdmission), specSAAutomountFalse},
		{auth("auth.serviceaccount.missing-rejected", "a pod naming a ServiceAccount that does not exist MUST be rejected with 403 Forbidden and not be stored", srcSAAdmission), specSAMissingRejected},
	}
}

// saPod is a pod that is never scheduled, with an init container "init" and a container "c".
func saPod(name, sa string) *corev1.Pod {
	p := protectedPod(name, nil)
	p.Spec.ServiceAccountName = sa
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.example/app:1.0"}}
	return p
}

// tokenMounts returns the volume mounted at the token path in each container, by container
// name ("" where nothing is mounted there).
func tokenMounts(p *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			out[c.Name] = ""
			for _, m := range c.VolumeMounts {
				if m.MountPath == saMountPath {
					out[c.Name] = m.Name
				}
			}
		}
	}
	return out
}

func specSADefaultName(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, saPod("unnamed", ""), metav1.CreateOptions{})
	ok(g, err, "creating a pod without a ServiceAccount")
	got, err := e.admin.CoreV1().Pods(e.ns).Get(ctx, "unnamed", metav1.GetOptions{})
	ok(g, err, "reading the pod")
	g.Expect(got.Spec.ServiceAccountName).To(gomega.Equal("default"), "the stored pod's spec.serviceAccountName")
}

func specSATokenVolume(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, saPod("mounted", ""), metav1.CreateOptions{})
	ok(g, err, "creating the pod")
	got, err := e.admin.CoreV1().Pods(e.ns).Get(ctx, "mounted", metav1.GetOptions{})
	ok(g, err, "reading the pod")
	var vol *corev1.Volume
	for i, v := range got.Spec.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") {
			vol = &got.Spec.Volumes[i]
		}
	}
	g.Expect(vol).NotTo(gomega.BeNil(), "the stored pod has no kube-api-access-* volume: %+v", got.Spec.Volumes)
	g.Expect(vol.Projected).NotTo(gomega.BeNil(), "the kube-api-access volume is not projected: %+v", vol.VolumeSource)
	var token, ca, ns bool
	for _, s := range vol.Projected.Sources {
		switch {
		case s.ServiceAccountToken != nil:
			token = s.ServiceAccountToken.Path == "token" && ptr.Deref(s.ServiceAccountToken.ExpirationSeconds, 0) == 3607
		case s.ConfigMap != nil:
			ca = s.ConfigMap.Name == "kube-root-ca.crt" && len(s.ConfigMap.Items) == 1 && s.ConfigMap.Items[0].Key == "ca.crt" && s.ConfigMap.Items[0].Path == "ca.crt"
		case s.DownwardAPI != nil:
			for _, it := range s.DownwardAPI.Items {
				if it.Path == "namespace" && it.FieldRef != nil && it.FieldRef.FieldPath == "metadata.namespace" {
					ns = true
				}
			}
		}
	}
	g.Expect([]bool{token, ca, ns}).To(gomega.Equal([]bool{true, true, true}), "the projected sources (token, ca.crt, namespace) as asked: %+v", vol.Projected.Sources)
	for _, cs := range [][]corev1.Container{got.Spec.InitContainers, got.Spec.Containers} {
		for _, c := range cs {
			var m *corev1.VolumeMount
			for i := range c.VolumeMounts {
				if c.VolumeMounts[i].MountPath == saMountPath {
					m = &c.VolumeMounts[i]
				}
			}
			g.Expect(m).NotTo(gomega.BeNil(), "container %s mounts nothing at %s", c.Name, saMountPath)
			g.Expect(m.Name).To(gomega.Equal(vol.Name), "container %s mounts another volume at %s", c.Name, saMountPath)
			g.Expect(m.ReadOnly).To(gomega.BeTrue(), "container %s mounts the token volume writable", c.Name)
		}
	}
}

func specSAAutomountFalse(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := e.admin.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, AutomountServiceAccountToken: ptr.To(false),
	}, metav1.CreateOptions{})
	ok(g, err, "creating a ServiceAccount with automountServiceAccountToken false")
	podOff := saPod("pod-off", "")
	podOff.Spec.AutomountServiceAccountToken = ptr.To(false)
	for _, p := range []*corev1.Pod{podOff, saPod("sa-off", "quiet")} {
		_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
		ok(g, err, "creating pod "+p.Name)
		got, err := e.admin.CoreV1().Pods(e.ns).Get(ctx, p.Name, metav1.GetOptions{})
		ok(g, err, "reading pod "+p.Name)
		for _, v := range got.Spec.Volumes {
			g.Expect(v.Name).NotTo(gomega.HavePrefix("kube-api-access-"), "pod %s got a token volume", p.Name)
		}
		for c, vol := range tokenMounts(got) {
			g.Expect(vol).To(gomega.BeEmpty(), "pod %s: container %s mounts %s at %s", p.Name, c, vol, saMountPath)
		}
	}
	// The pod's own true wins over its ServiceAccount's false: the check above is not vacuous.
	podOn := saPod("pod-on", "quiet")
	podOn.Spec.AutomountServiceAccountToken = ptr.To(true)
	_, err = e.admin.CoreV1().Pods(e.ns).Create(ctx, podOn, metav1.CreateOptions{})
	ok(g, err, "creating pod pod-on")
	got, err := e.admin.CoreV1().Pods(e.ns).Get(ctx, "pod-on", metav1.GetOptions{})
	ok(g, err, "reading pod pod-on")
	g.Expect(tokenMounts(got)["c"]).To(gomega.HavePrefix("kube-api-access-"), "a pod with automountServiceAccountToken true (its ServiceAccount false) must get the token volume")
}

func specSAMissingRejected(ctx context.Context, g gomega.Gomega, e *authEnv) {
	_, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, saPod("orphan", "no-such-account"), metav1.CreateOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "a pod of a missing ServiceAccount: expected 403 Forbidden, got %v", err)
	_, err = e.admin.CoreV1().Pods(e.ns).Get(ctx, "orphan", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the refused pod must not be stored, got %v", err)
}
