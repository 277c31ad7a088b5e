package conformance

import (
	"context"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const srcNodeInfo = "Kubernetes: Node status, Info (kubernetes.io/docs/reference/node/node-status/#info): \"the kernel version, Kubernetes version (kubelet and kube-proxy version), container runtime details, and which operating system the node uses\"; nodeInfo.machineID, systemUUID, bootID (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1)"

func kubeletNodeIdentitySpecs() []spec[*kubeletEnv] {
	id := kubeletBehavior("kubelet.node.identity",
		"the kubelet MUST report nodeInfo machineID, systemUUID and bootID, none of them equal to another Node's, and the same three again after it is restarted",
		srcNodeInfo, "Disruptive")
	id.Needs = []Capability{KubeletRestart}
	return []spec[*kubeletEnv]{{id, specNodeIdentity}}
}

func (e *kubeletEnv) nodeInfo(ctx context.Context, g gomega.Gomega) corev1.NodeSystemInfo {
	var info corev1.NodeSystemInfo
	g.Eventually(func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		info = n.Status.NodeInfo
		g.Expect(info.MachineID).NotTo(gomega.BeEmpty(), "nodeInfo.machineID of %s", e.k.Node)
		g.Expect(info.SystemUUID).NotTo(gomega.BeEmpty(), "nodeInfo.systemUUID of %s", e.k.Node)
		g.Expect(info.BootID).NotTo(gomega.BeEmpty(), "nodeInfo.bootID of %s", e.k.Node)
	}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	return info
}

func specNodeIdentity(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	before := e.nodeInfo(ctx, g)
	nodes, err := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	for _, n := range nodes.Items {
		if n.Name == e.k.Node {
			continue
		}
		o := n.Status.NodeInfo
		for what, pair := range map[string][2]string{"machineID": {o.MachineID, before.MachineID}, "systemUUID": {o.SystemUUID, before.SystemUUID}, "bootID": {o.BootID, before.BootID}} {
			if pair[0] != "" {
				g.Expect(pair[0]).NotTo(gomega.Equal(pair[1]), "nodes %s and %s report the same nodeInfo.%s", n.Name, e.k.Node, what)
			}
		}
	}
	// A restarted kubelet reports the same machine: wait for a status it posted after the restart.
	g.Expect(e.k.StopKubelet(ctx)).To(gomega.Succeed(), "stopping the kubelet")
	stopped := true
	defer func() {
		if stopped {
			_ = e.k.StartKubelet(context.Background())
		}
	}()
	restarted := time.Now()
	g.Expect(e.k.StartKubelet(ctx)).To(gomega.Succeed(), "starting the kubelet again")
	stopped = false
	g.Eventually(func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		var beat time.Time
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				beat = c.LastHeartbeatTime.Time
			}
		}
		// Heartbeat timestamps have a one-second resolution.
		g.Expect(beat.After(restarted.Add(-time.Second))).To(gomega.BeTrue(), "no node status since the restart (last heartbeat %s)", beat)
		after := n.Status.NodeInfo
		g.Expect(after.MachineID).To(gomega.Equal(before.MachineID), "nodeInfo.machineID changed across a kubelet restart")
		g.Expect(after.SystemUUID).To(gomega.Equal(before.SystemUUID), "nodeInfo.systemUUID changed across a kubelet restart")
		g.Expect(after.BootID).To(gomega.Equal(before.BootID), "nodeInfo.bootID changed across a kubelet restart")
	}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
}
