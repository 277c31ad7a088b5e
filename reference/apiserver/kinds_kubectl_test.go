package apiserver_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const storageAndNetworkingYAML = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: example.com/fast
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: default
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources:
    requests:
      storage: 1Gi
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
spec:
  rules:
  - host: example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: default
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  maxReplicas: 4
`

// TestKubectlStorageNetworkingAutoscaling applies the new kinds with stock kubectl and reads
// them back with their printer columns; api-resources and the local APIServices list them.
func TestKubectlStorageNetworkingAutoscaling(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)
	k.mustRun(storageAndNetworkingYAML, "apply", "-f", "-")
	for _, c := range []struct{ args, want []string }{
		{[]string{"get", "sc"}, []string{"PROVISIONER", "RECLAIMPOLICY", "fast", "example.com/fast", "Delete", "Immediate"}},
		{[]string{"get", "pvc"}, []string{"STATUS", "data", "Pending", "fast"}},
		{[]string{"get", "ing"}, []string{"HOSTS", "web", "example.com"}},
		{[]string{"get", "hpa"}, []string{"REFERENCE", "TARGETS", "Deployment/web", "cpu: <unknown>/80%", "4"}},
		{[]string{"get", "apiservices"}, []string{"SERVICE", "AVAILABLE", "v1.apps", "Local", "True"}},
		{[]string{"api-resources"}, []string{"bindings", "clustertrustbundles", "persistentvolumeclaims", "pvc", "horizontalpodautoscalers", "hpa", "ingresses", "ing", "storageclasses", "csinodes", "apiservices", "netpol"}},
	} {
		out := k.mustRun("", c.args...)
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("kubectl %s lacks %q:\n%s", strings.Join(c.args, " "), w, out)
			}
		}
	}
	// The claim's spec is immutable: kubectl patch gets the 422.
	out, err := k.run("", "patch", "pvc", "data", "--type=merge", "-p", `{"spec":{"accessModes":["ReadWriteMany"]}}`)
	if err == nil || !strings.Contains(out, "spec is immutable after creation") {
		t.Errorf("patching a claim's accessModes: err %v:\n%s", err, out)
	}
}

// TestLegacyBindingsResource checks that namespaces/NS/bindings is listed in discovery as a
// create-only resource and binds a pod when posted to.
func TestLegacyBindingsResource(t *testing.T) {
	ts := newTestServer(t)
	ctx := ctxT(t)
	list, err := ts.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range list.APIResources {
		if r.Name == "bindings" {
			found = true
			if !r.Namespaced || r.Kind != "Binding" || len(r.Verbs) != 1 || r.Verbs[0] != "create" {
				t.Errorf("bindings in discovery: %+v", r)
			}
		}
	}
	if !found {
		t.Fatal("discovery of v1 does not list bindings")
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := ts.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "n1"}}
	if err := ts.client.CoreV1().RESTClient().Post().Namespace("default").Resource("bindings").Body(b).Do(ctx).Error(); err != nil {
		t.Fatalf("POST bindings: %v", err)
	}
	got, err := ts.client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	if err != nil || got.Spec.NodeName != "n1" {
		t.Fatalf("the bound pod: %v %v", got.Spec.NodeName, err)
	}
}
