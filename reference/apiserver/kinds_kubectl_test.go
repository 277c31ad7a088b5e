package apiserver_test

import (
	"strings"
	"testing"
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
		{[]string{"api-resources"}, []string{"persistentvolumeclaims", "pvc", "horizontalpodautoscalers", "hpa", "ingresses", "ing", "storageclasses", "csinodes", "apiservices", "netpol"}},
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
