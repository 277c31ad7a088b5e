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
	"k8s.io/apimachinery/pkg/types"
)

const (
	srcNodeIPAM = "Kubernetes: kube-controller-manager --allocate-node-cidrs, --cluster-cidr, --node-cidr-mask-size (kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager); Node spec.podCIDR(s) (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1)"
	srcPodGC    = "Kubernetes: Pod garbage collection (kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection)"
	// srcNodeDeletion: upstream deletes a Node only through a cloud provider; clusterkit's opt-in
	// does it after a grace period.
	srcNodeDeletion = "clusterkit extension (--node-deletion-grace-period) of Kubernetes' node lifecycle: \"the node controller ... if the node is unhealthy ... checks with the cloud provider whether the VM for that node is still available; if not, the node controller deletes the node from its list of nodes\" (kubernetes.io/docs/concepts/architecture/nodes/#node-controller); pods of a deleted node go through the pod garbage collector"
	// podGCWait covers upstream's 40 s quarantine of a missing node and its 20 s check period.
	podGCWait = 90 * time.Second
)

// nodeControllerSpecs are the specs of the node IPAM controller and the pod garbage collector.
func nodeControllerSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.nodeipam.allocates", "every Node MUST get a spec.podCIDR equal to spec.podCIDRs[0], inside the cluster CIDR when the harness declares one, and no two Nodes' pod CIDRs MUST overlap", srcNodeIPAM), specNodeIPAMAllocates},
		{ctrl("controllers.nodeipam.respects-existing", "a Node created with spec.podCIDR already set MUST keep it, and no Node that gets a pod CIDR afterwards MUST get one overlapping it", srcNodeIPAM), specNodeIPAMRespectsExisting},
		{ctrl("controllers.nodelifecycle.deletes-dead-nodes", "when the controller manager is configured to delete dead nodes, a node whose heartbeats stopped MUST be deleted once its Ready condition has been Unknown for the configured grace and not before, and the pods bound to it, even those tolerating the unreachable taint forever, MUST then be deleted", srcNodeDeletion, VirtualTime, NodeDeletion), specNodeDeletesDead},
		{ctrl("controllers.nodelifecycle.keeps-live-nodes", "a node whose heartbeats (Lease renewals) continue MUST NEVER be deleted by the node lifecycle controller, also long past the configured deletion grace", srcNodeDeletion, VirtualTime, NodeDeletion), specNodeKeepsLive},
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

// nodeGone reports whether the Node name of uid no longer exists.
func (e *ctrlEnv) nodeGone(ctx context.Context, g gomega.Gomega, name string, uid types.UID) bool {
	n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "getting node %s", name)
	return n.UID != uid
}

func specNodeDeletesDead(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	grace, _ := e.graceAndEviction()
	deletion := e.h.NodeDeletionGrace
	dead := e.nodes[0]
	// A pod pinned to the node that tolerates its unreachable taint forever: only the node's
	// deletion (and then the pod garbage collector) removes it.
	t := ctrlTemplate("stays", ctrlImage1)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stays", Labels: t.Labels}, Spec: t.Spec}
	p.Spec.NodeName = dead
	p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
	p, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "creating pod stays")
	e.waitReadyPods(ctx, g, "stays", 1)
	n, err := e.client.CoreV1().Nodes().Get(ctx, dead, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	uid := n.UID
	g.Expect(e.agents.Kill(ctx, dead)).To(gomega.Succeed(), "stopping node %s", dead)
	e.advance(ctx, g, grace+15*time.Second)
	e.waitUnreachable(ctx, g, dead)
	// Unknown for a little less than the deletion grace: the node stays.
	e.advance(ctx, g, deletion-30*time.Second)
	consistently(ctx, g, "node "+dead+" kept before its deletion grace ends", func(g gomega.Gomega) {
		g.Expect(e.nodeGone(ctx, g, dead, uid)).To(gomega.BeFalse(), "node %s deleted before its Ready condition was Unknown for %s", dead, deletion)
	})
	e.advance(ctx, g, 45*time.Second)
	e.eventually(ctx, g, "node "+dead+" deleted once Unknown for "+deletion.String(), func(g gomega.Gomega) {
		g.Expect(e.nodeGone(ctx, g, dead, uid)).To(gomega.BeTrue(), "node %s still exists, Unknown for more than %s", dead, deletion)
	})
	for _, name := range e.nodes[1:] {
		_, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "node %s kept renewing its lease", name)
	}
	e.advance(ctx, g, podGCWait)
	e.eventually(ctx, g, "the pods of deleted node "+dead+" deleted", func(g gomega.Gomega) {
		cur, err := e.client.CoreV1().Pods(e.ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err == nil {
			g.Expect(cur.UID).NotTo(gomega.Equal(p.UID), "pod %s of deleted node %s still exists", p.Name, dead)
			return
		}
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "getting pod %s: %v", p.Name, err)
	})
}

func specNodeKeepsLive(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	grace, _ := e.graceAndEviction()
	uids := e.nodeUIDs(ctx, g)
	// Heartbeats only through the Lease, as a kubelet between its (up to five-minute) status
	// reports: the Node object itself changes no more.
	e.advance(ctx, g, grace+2*e.h.NodeDeletionGrace+30*time.Second)
	consistently(ctx, g, "every live node kept", func(g gomega.Gomega) {
		for name, uid := range uids {
			g.Expect(e.nodeGone(ctx, g, name, uid)).To(gomega.BeFalse(), "node %s, whose Lease is renewed, was deleted", name)
		}
	})
}

// nodeUIDs maps the harness's nodes to their UIDs.
func (e *ctrlEnv) nodeUIDs(ctx context.Context, g gomega.Gomega) map[string]types.UID {
	uids := map[string]types.UID{}
	for _, name := range e.nodes {
		n, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
		uids[name] = n.UID
	}
	return uids
}
