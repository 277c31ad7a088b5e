package apiserver_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const nodeAndPodYAML = `apiVersion: v1
kind: Node
metadata:
  name: n1
  labels:
    kubernetes.io/hostname: n1
---
apiVersion: v1
kind: Pod
metadata:
  name: p1
  namespace: default
spec:
  nodeName: n1
  containers:
  - name: c
    image: busybox
`

func TestKubectlNodesPodsAndErrors(t *testing.T) {
	ts := newTestServer(t)
	k := newKubectl(t, ts)
	ctx := ctxT(t)
	k.mustRun(nodeAndPodYAML, "apply", "-f", "-")
	out := k.mustRun("", "get", "nodes", "-o", "wide")
	if !strings.Contains(out, "n1") || !strings.Contains(out, "INTERNAL-IP") {
		t.Errorf("get nodes -o wide:\n%s", out)
	}
	out = k.mustRun("", "describe", "node", "n1")
	if !strings.Contains(out, "Name:               n1") || !strings.Contains(out, "default") {
		t.Errorf("describe node:\n%s", out)
	}
	out = k.mustRun("", "cordon", "n1")
	if !strings.Contains(out, "cordoned") {
		t.Errorf("cordon: %q", out)
	}
	n, err := ts.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil || !n.Spec.Unschedulable {
		t.Fatalf("node not cordoned: %v", err)
	}
	out = k.mustRun("", "get", "pods", "-o", "wide")
	if !strings.Contains(out, "p1") || !strings.Contains(out, "n1") {
		t.Errorf("get pods -o wide:\n%s", out)
	}
	out, err = k.run("", "logs", "p1")
	if err == nil || !strings.Contains(out, "kubelet endpoint") {
		t.Errorf("logs without kubelet: err=%v out=%q", err, out)
	}
	out = k.mustRun("", "get", "pods", "-w", "--request-timeout=2s")
	if !strings.Contains(out, "p1") {
		t.Errorf("get -w:\n%s", out)
	}
	out = k.mustRun("", "describe", "pod", "p1")
	if !strings.Contains(out, "Node:") {
		t.Errorf("describe pod:\n%s", out)
	}
	out = k.mustRun("", "api-resources")
	for _, want := range []string{"pods", "po", "deployments", "deploy", "leases", "endpointslices"} {
		if !strings.Contains(out, want) {
			t.Errorf("api-resources lacks %s:\n%s", want, out)
		}
	}
	out = k.mustRun("", "explain", "pod.spec.nodeName")
	if !strings.Contains(out, "nodeName") {
		t.Errorf("explain:\n%s", out)
	}
	out = k.mustRun("", "delete", "pod", "p1", "--grace-period=0", "--force")
	if !strings.Contains(out, "deleted") {
		t.Errorf("force delete: %q", out)
	}
	out = k.mustRun("", "create", "configmap", "cfg", "--from-literal=a=b")
	out = k.mustRun("", "get", "cm,ns", "-l", "nothing=here")
	_ = out
}
