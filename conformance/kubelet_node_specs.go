package conformance

import (
	"context"
	"encoding/json"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const srcNodeInfo = "Kubernetes: Node status, Info (kubernetes.io/docs/reference/node/node-status/#info): \"the kernel version, Kubernetes version (kubelet and kube-proxy version), container runtime details, and which operating system the node uses\"; nodeInfo.machineID, systemUUID, bootID (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1)"

const srcExtendedResources = "Kubernetes: Advertise Extended Resources for a Node (kubernetes.io/docs/tasks/administer-cluster/extended-resource-node/): \"send an HTTP PATCH request to the Kubernetes API server … the output shows that the Node has a capacity of 4 dongles\"; upstream kubelet's MachineInfo status setter starts from the node's capacity and sets only what it measures, allocatable following capacity"

func kubeletNodeIdentitySpecs() []spec[*kubeletEnv] {
	id := kubeletBehavior("kubelet.node.identity",
		"the kubelet MUST report nodeInfo machineID, systemUUID and bootID, none of them equal to another Node's, and the same three again after it is restarted",
		srcNodeInfo, "Disruptive")
	id.Needs = []Capability{KubeletRestart}
	return []spec[*kubeletEnv]{
		{id, specNodeIdentity},
		{kubeletBehavior("kubelet.node.extended-resources",
			"an extended resource patched into a Node's status.capacity MUST stay there through the kubelet's status updates and MUST appear in status.allocatable with the same quantity",
			srcExtendedResources), specNodeExtendedResources},
	}
}

// specNodeExtendedResources advertises 4 example.com/ck-dongle on the node, as the Kubernetes
// task page does, and watches the kubelet's next status updates (every 10 s upstream) keep it.
func specNodeExtendedResources(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	const name = corev1.ResourceName("example.com/ck-dongle")
	patch := func(v any) error {
		b, _ := json.Marshal(map[string]any{"status": map[string]any{"capacity": map[string]any{string(name): v}}})
		_, err := e.client.CoreV1().Nodes().Patch(ctx, e.k.Node, types.MergePatchType, b, metav1.PatchOptions{}, "status")
		return err
	}
	g.Expect(patch("4")).To(gomega.Succeed(), "patching %s's status.capacity", e.k.Node)
	defer func() { _ = patch(nil) }()
	four := resource.MustParse("4")
	has := func(g gomega.Gomega) {
		n, err := e.client.CoreV1().Nodes().Get(ctx, e.k.Node, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		c, ok := n.Status.Capacity[name]
		g.Expect(ok && c.Cmp(four) == 0).To(gomega.BeTrue(), "status.capacity[%s] of %s is %v, want 4 (capacity %v)", name, e.k.Node, c.String(), n.Status.Capacity)
		a, ok := n.Status.Allocatable[name]
		g.Expect(ok && a.Cmp(four) == 0).To(gomega.BeTrue(), "status.allocatable[%s] of %s is %v, want 4", name, e.k.Node, a.String())
	}
	g.Eventually(has).WithContext(ctx).WithTimeout(40 * time.Second).WithPolling(500 * time.Millisecond).Should(gomega.Succeed())
	// Longer than the upstream kubelet's nodeStatusUpdateFrequency (10 s): a status computed
	// from scratch would have been posted meanwhile.
	g.Consistently(has).WithContext(ctx).WithTimeout(12 * time.Second).WithPolling(time.Second).Should(gomega.Succeed())
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
