package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	srcNodeIPAM = "Kubernetes: kube-controller-manager --allocate-node-cidrs, --cluster-cidr, --node-cidr-mask-size (kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager); Node spec.podCIDR(s) (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1)"
	srcPodGC    = "Kubernetes: Pod garbage collection (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection)"
	// podGCWait covers upstream's 40 s quarantine of a missing node and its 20 s check period.
	podGCWait = 90 * time.Second
)

// nodeControllerSpecs are the specs of the node IPAM controller and the pod garbage collector.
func nodeControllerSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.nodeipam.allocates", "every Node MUST get a spec.podCIDR equal to spec.podCIDRs[0], inside the cluster CIDR when the harness declares one, and no two Nodes' pod CIDRs MUST overlap", srcNodeIPAM), specNodeIPAMAllocates},
		{ctrl("controllers.nodeipam.respects-existing", "a Node created with spec.podCIDR already set MUST keep it, and no Node that gets a pod CIDR afterwards MUST get one overlapping it", srcNodeIPAM), specNodeIPAMRespectsExisting},
		{ctrl("controllers.podgc.orphaned", "a pod bound to a node that does not exist MUST be deleted by the pod garbage collector (upstream waits a 40 s quarantine), while pods bound to existing nodes MUST stay", srcPodGC, VirtualTime), specPodGCOrphaned},
	}
}

// podCIDRsOf returns a node's pod CIDRs (spec.podCIDRs, else spec.podCIDR), parsed.
func podCIDRsOf(g gomega.Gomega, n *corev1.Node) []netip.Prefix {
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
		cidrs = []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "node %s has an invalid pod CIDR %q", n.Name, c)
		out = append(out, p)
	}
	return out
}

// expectNoOverlap checks that no two nodes' pod CIDRs overlap.
func expectNoOverlap(g gomega.Gomega, nodes []corev1.Node) {
	type owned struct {
		node string
		p    netip.Prefix
	}
	var seen []owned
	for i := range nodes {
		for _, p := range podCIDRsOf(g, &nodes[i]) {
			for _, o := range seen {
				g.Expect(o.p.Overlaps(p)).To(gomega.BeFalse(), "nodes %s (%s) and %s (%s) have overlapping pod CIDRs", o.node, o.p, nodes[i].Name, p)
			}
			seen = append(seen, owned{nodes[i].Name, p})
		}
	}
}

func specNodeIPAMAllocates(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	var cluster netip.Prefix
	if e.h.ClusterCIDR != "" {
		var err error
		cluster, err = netip.ParsePrefix(e.h.ClusterCIDR)
		g.Expect(err).NotTo(gomega.HaveOccurred(), "ControllerHarness.ClusterCIDR")
	}
	e.eventually(ctx, g, fmt.Sprintf("a pod CIDR on each of %v", e.nodes), func(g gomega.Gomega) {
		for _, name := range e.nodes {
			n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(n.Spec.PodCIDR).NotTo(gomega.BeEmpty(), "node %s has no spec.podCIDR", name)
			g.Expect(n.Spec.PodCIDRs).NotTo(gomega.BeEmpty(), "node %s has no spec.podCIDRs", name)
			g.Expect(n.Spec.PodCIDRs[0]).To(gomega.Equal(n.Spec.PodCIDR), "node %s: spec.podCIDRs[0] must equal spec.podCIDR", name)
			if cluster.IsValid() {
				for _, p := range podCIDRsOf(g, n) {
					if p.Addr().Is4() == cluster.Addr().Is4() {
						g.Expect(cluster.Contains(p.Addr()) && p.Bits() >= cluster.Bits()).To(gomega.BeTrue(), "node %s's pod CIDR %s is outside the cluster CIDR %s", name, p, cluster)
					}
				}
			}
		}
	})
	nodes, err := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	expectNoOverlap(g, nodes.Items)
}

func specNodeIPAMRespectsExisting(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	// Wait for the spec's nodes first, so that the block chosen below is free.
	e.eventually(ctx, g, "a pod CIDR on each of the spec's nodes", func(g gomega.Gomega) {
		for _, name := range e.nodes {
			n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(n.Spec.PodCIDR).NotTo(gomega.BeEmpty(), "node %s has no spec.podCIDR", name)
		}
	})
	list, err := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	// Take the /24 right after the highest IPv4 block in use: the next one a sequential
	// allocator would hand out.
	var top netip.Prefix
	for i := range list.Items {
		for _, p := range podCIDRsOf(g, &list.Items[i]) {
			if p.Addr().Is4() && (!top.IsValid() || top.Addr().Less(p.Addr())) {
				top = p
			}
		}
	}
	g.Expect(top.IsValid()).To(gomega.BeTrue(), "no node has an IPv4 pod CIDR")
	a := top.Masked().Addr().As4()
	next := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	next += 1 << (32 - top.Bits())
	want := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(next >> 24), byte(next >> 16), byte(next >> 8), byte(next)}), top.Bits()).String()

	mk := func(name, cidr string) string {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"clusterkit.dev/conformance-node": "true"}}}
		if cidr != "" {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
		}
		// Unschedulable and tainted: nothing may land on these bare Node objects.
		n.Spec.Unschedulable = true
		n.Spec.Taints = []corev1.Taint{{Key: "clusterkit.dev/no-kubelet", Effect: corev1.TaintEffectNoExecute}}
		_, err := e.client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "creating node %s", name)
		e.c.Cleanup(func() { _ = e.client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
		return name
	}
	preset := mk(e.ns+"-preset", want)
	later := []string{mk(e.ns+"-later-0", ""), mk(e.ns+"-later-1", "")}
	e.eventually(ctx, g, fmt.Sprintf("a pod CIDR on %v", later), func(g gomega.Gomega) {
		for _, name := range later {
			n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
			g.Expect(n.Spec.PodCIDR).NotTo(gomega.BeEmpty(), "node %s has no spec.podCIDR", name)
		}
	})
	n, err := e.client.CoreV1().Nodes().Get(ctx, preset, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(n.Spec.PodCIDR).To(gomega.Equal(want), "node %s must keep the podCIDR it was created with", preset)
	list, err = e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	expectNoOverlap(g, list.Items)
}

func specPodGCOrphaned(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	mk := func(name, node string) *corev1.Pod {
		t := ctrlTemplate(name, ctrlImage1)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: t.Labels}, Spec: t.Spec}
		p.Spec.NodeName = node
		out, err := pods.Create(ctx, p, metav1.CreateOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "creating pod %s", name)
		return out
	}
	ghost := e.ns + "-no-such-node"
	orphan := mk("orphan", ghost)
	kept := mk("kept", e.nodes[0])
	e.eventually(ctx, g, "the pod on an existing node running", func(g gomega.Gomega) {
		p, err := pods.Get(ctx, kept.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(p.Status.Phase).To(gomega.Equal(corev1.PodRunning))
	})
	gone := func(g gomega.Gomega) {
		p, err := pods.Get(ctx, orphan.Name, metav1.GetOptions{})
		if err == nil && p.UID == orphan.UID {
			g.Expect(p.UID).NotTo(gomega.Equal(orphan.UID), "pod %s bound to missing node %s still exists (phase %s, deletionTimestamp %v)", orphan.Name, ghost, p.Status.Phase, p.DeletionTimestamp)
		}
		if err != nil {
			g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "getting pod %s: %v", orphan.Name, err)
		}
	}
	if e.cut.Advance != nil {
		e.advance(ctx, g, podGCWait)
	}
	e.eventually(ctx, g, fmt.Sprintf("pod %s of missing node %s deleted", orphan.Name, ghost), gone)
	// The pod on an existing node stays, also past another quarantine.
	if e.cut.Advance != nil {
		e.advance(ctx, g, podGCWait)
	}
	consistently(ctx, g, "the pod on an existing node kept", func(g gomega.Gomega) {
		p, err := pods.Get(ctx, kept.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "pod %s on existing node %s", kept.Name, e.nodes[0])
		g.Expect(p.UID).To(gomega.Equal(kept.UID))
		g.Expect(p.DeletionTimestamp).To(gomega.BeNil(), "pod %s on existing node %s is being deleted", kept.Name, e.nodes[0])
	})
}
