package conformance

import (
	"context"
	"fmt"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Sources of the host-port and node-scoring rows of the scheduler's matrix.
const (
	srcSchedPorts       = "Kubernetes: Configuration Best Practices, Services (a hostPort ties a Pod to a node: each <hostIP, hostPort, protocol> combination must be unique); API reference ContainerPort (hostIP, hostPort; protocol defaults to TCP; with hostNetwork the hostPort defaults to the containerPort); pkg/scheduler/framework/plugins/nodeports and kube-scheduler framework HostPortInfo.CheckConflict (0.0.0.0 or an empty hostIP clashes with every address; ports of containers and of restartable init containers count)"
	srcSchedPrefAff     = "Kubernetes: Assigning Pods to Nodes, node affinity weight (for each node that meets the filters, the scheduler adds the weight of every preferred term the node satisfies; the node with the highest total ranks highest); pkg/scheduler/framework/plugins/nodeaffinity (Score: sum of weights; NormalizeScore: scaled to the highest)"
	srcSchedWeights     = "Kubernetes: Scheduler Configuration, scheduling plugins (default score weights TaintToleration 3, NodeAffinity 2); pkg/scheduler/framework/plugins/tainttoleration (Score: count of intolerable PreferNoSchedule taints, NormalizeScore reversed: the node with the most scores 0, one with none 100)"
	srcSchedImageLocal  = "Kubernetes: Scheduler Configuration, scheduling plugins (ImageLocality favours nodes that already have the container images that the Pod runs); pkg/scheduler/framework/plugins/imagelocality (image sizes from node status.images, scaled by the share of nodes holding the image; a reference without tag is looked up as :latest)"
	hostPortsReasonText = "node(s) didn't have free ports for the requested pod ports"
)

// schedulerPortsSpecs are the NodePorts filter and the node-level scores
// beyond resources: preferred node affinity, the default weights between
// scores, image locality.
func schedulerPortsSpecs() []spec[*schedEnv] {
	return []spec[*schedEnv]{
		{sched("scheduler.ports.host-ports", "a Pod MUST NOT be placed on a node where a bound Pod holds the same hostPort and protocol on an overlapping hostIP (an empty hostIP or 0.0.0.0 overlaps every address), and MUST be reported Unschedulable with \"node(s) didn't have free ports for the requested pod ports\"; another protocol, or another specific hostIP, MUST NOT conflict", srcSchedPorts), specSchedHostPorts},
		{sched("scheduler.ports.sidecars-host-network", "the host ports of a sidecar (an init container with restartPolicy Always) and of a hostNetwork Pod's container ports (defaulted to hostPort) MUST be held on the node; those of an init container that runs to completion MUST NOT", srcSchedPorts), specSchedHostPortKinds},
		{sched("scheduler.ports.freed", "a Pod kept off the only node by a host port MUST be placed once the Pod holding the port is deleted", srcSchedPorts), specSchedHostPortFreed},
		{Behavior{ID: "scheduler.score.node-affinity-preferred", Component: "scheduler", Source: srcSchedPrefAff, Needs: []Capability{Scoring},
			Must: "among otherwise equal nodes a Pod MUST be placed on the node whose satisfied preferred node-affinity terms have the highest sum of weights (two terms of 6 beat one of 10), and a preferred term no node satisfies MUST NOT keep the Pod Pending"}, specSchedPreferredAffinity},
		{Behavior{ID: "scheduler.score.default-weights", Component: "scheduler", Source: srcSchedWeights, Needs: []Capability{Scoring},
			Must: "with the default weights an intolerable PreferNoSchedule taint (TaintToleration, weight 3) MUST outweigh a satisfied preferred node-affinity term of weight 100 (NodeAffinity, weight 2): the Pod goes to the untainted node without the label"}, specSchedDefaultWeights},
		{Behavior{ID: "scheduler.score.image-locality", Component: "scheduler", Source: srcSchedImageLocal, Needs: []Capability{Scoring},
			Must: "among otherwise equal nodes a Pod MUST be placed on the node whose status.images holds its large image, an image reference without a tag matching the node's :latest name"}, specSchedImageLocality},
	}
}

// hostPort is a pod option adding a port with a host port to the first
// container (hostIP and protocol may be empty).
func hostPort(port int32, protocol corev1.Protocol, hostIP string) podOpt {
	return func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: fmt.Sprintf("p%d", len(c.Ports)), ContainerPort: port, HostPort: port, Protocol: protocol, HostIP: hostIP})
	}
}

// pinned keeps a pod to one node through the hostname label (the scheduler
// still places it: the node's other filters apply).
func pinned(node string) podOpt { return selecting(corev1.LabelHostname, node) }

func specSchedHostPorts(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	n := e.node(ctx, g, "ports", "4", "8Gi")
	e.create(ctx, g, e.schedPod("holder-all", "10m", "16Mi", pinned(n), hostPort(18080, "", "")))
	e.create(ctx, g, e.schedPod("holder-ip", "10m", "16Mi", pinned(n), hostPort(19090, corev1.ProtocolTCP, "127.0.0.1")))
	e.placedOn(ctx, g, "holder-all", n)
	e.placedOn(ctx, g, "holder-ip", n)
	// No conflict: another protocol on a port held on every address, and
	// another specific address for a port held on one.
	e.create(ctx, g, e.schedPod("udp", "10m", "16Mi", pinned(n), hostPort(18080, corev1.ProtocolUDP, "")))
	e.create(ctx, g, e.schedPod("other-ip", "10m", "16Mi", pinned(n), hostPort(19090, corev1.ProtocolTCP, "127.0.0.2")))
	e.placedOn(ctx, g, "udp", n)
	e.placedOn(ctx, g, "other-ip", n)
	// Conflicts: a specific address under a port held on every address, every
	// address over a port held on one, the same port and protocol spelled TCP.
	e.create(ctx, g, e.schedPod("under-all", "10m", "16Mi", pinned(n), hostPort(18080, corev1.ProtocolTCP, "127.0.0.5")))
	e.create(ctx, g, e.schedPod("over-ip", "10m", "16Mi", pinned(n), hostPort(19090, "", "0.0.0.0")))
	e.create(ctx, g, e.schedPod("same", "10m", "16Mi", pinned(n), hostPort(18080, corev1.ProtocolTCP, "")))
	e.stayPending(ctx, g, "their host port is held on the node", "under-all", "over-ip", "same")
	for _, name := range []string{"under-all", "over-ip", "same"} {
		e.unschedulable(ctx, g, name, gomega.ContainSubstring("1 "+hostPortsReasonText), "the node holding the port must be counted under NodePorts' reason")
	}
}

func specSchedHostPortKinds(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	n := e.node(ctx, g, "portkinds", "4", "8Gi")
	sidecar := func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "sidecar", Image: "registry.k8s.io/pause:3.10",
			RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			Ports:         []corev1.ContainerPort{{ContainerPort: 17070, HostPort: 17070}}})
	}
	initOnce := func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "once", Image: "registry.k8s.io/pause:3.10",
			Ports: []corev1.ContainerPort{{ContainerPort: 17171, HostPort: 17171}}})
	}
	hostNet := func(p *corev1.Pod) {
		p.Spec.HostNetwork = true
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 17272}}
	}
	e.create(ctx, g, e.schedPod("holder-sidecar", "10m", "16Mi", pinned(n), sidecar))
	e.create(ctx, g, e.schedPod("holder-init", "10m", "16Mi", pinned(n), initOnce))
	e.create(ctx, g, e.schedPod("holder-hostnet", "10m", "16Mi", pinned(n), hostNet))
	for _, name := range []string{"holder-sidecar", "holder-init", "holder-hostnet"} {
		e.placedOn(ctx, g, name, n)
	}
	e.create(ctx, g, e.schedPod("want-init-port", "10m", "16Mi", pinned(n), hostPort(17171, "", "")))
	e.placedOn(ctx, g, "want-init-port", n)
	e.create(ctx, g, e.schedPod("want-sidecar-port", "10m", "16Mi", pinned(n), hostPort(17070, "", "")))
	e.create(ctx, g, e.schedPod("want-hostnet-port", "10m", "16Mi", pinned(n), hostPort(17272, "", "")))
	e.stayPending(ctx, g, "a sidecar and a hostNetwork Pod hold these host ports", "want-sidecar-port", "want-hostnet-port")
	e.unschedulable(ctx, g, "want-sidecar-port", gomega.ContainSubstring("1 "+hostPortsReasonText), "the sidecar's host port is held")
	e.unschedulable(ctx, g, "want-hostnet-port", gomega.ContainSubstring("1 "+hostPortsReasonText), "the hostNetwork Pod's port is held")
}

func specSchedHostPortFreed(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	n := e.node(ctx, g, "portfree", "4", "8Gi")
	e.create(ctx, g, e.schedPod("holder", "10m", "16Mi", pinned(n), hostPort(16060, "", "")))
	e.placedOn(ctx, g, "holder", n)
	e.create(ctx, g, e.schedPod("waiter", "10m", "16Mi", pinned(n), hostPort(16060, "", "")))
	e.unschedulable(ctx, g, "waiter", gomega.ContainSubstring("1 "+hostPortsReasonText), "the port is held")
	e.deletePod(ctx, g, "holder")
	e.placedOn(ctx, g, "waiter", n)
}

// preferring adds a preferred node-affinity term: key In values, weight w.
func preferring(w int32, key string, values ...string) podOpt {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		if p.Spec.Affinity.NodeAffinity == nil {
			p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
		}
		na := p.Spec.Affinity.NodeAffinity
		na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution, corev1.PreferredSchedulingTerm{
			Weight: w,
			Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values}}},
		})
	}
}

// knownNodes places a pod requesting nothing on each node (pinned), so the
// scheduler has seen every node before the spec's free choices.
func (e *schedEnv) knownNodes(ctx context.Context, g gomega.Gomega, nodes ...string) {
	for i, n := range nodes {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("known-%d", i), "", "", pinned(n)))
	}
	for i, n := range nodes {
		e.placedOn(ctx, g, fmt.Sprintf("known-%d", i), n)
	}
}

func specSchedPreferredAffinity(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	a := e.node(ctx, g, "pref-a", "4", "8Gi", withLabels("ck-pref-zone", "a", "ck-pref-disk", "ssd"))
	b := e.node(ctx, g, "pref-b", "4", "8Gi", withLabels("ck-pref-zone", "b"))
	c := e.node(ctx, g, "pref-c", "4", "8Gi", withLabels("ck-pref-zone", "c", "ck-pref-disk", "ssd"))
	e.knownNodes(ctx, g, a, b, c)
	// Totals: a 6, b 10, c 12: a sum, not the largest single weight (b) or
	// the first term satisfied.
	e.create(ctx, g, e.schedPod("sum", "10m", "16Mi",
		preferring(10, "ck-pref-zone", "b"), preferring(6, "ck-pref-disk", "ssd"), preferring(6, "ck-pref-zone", "c")))
	e.placedOn(ctx, g, "sum", c)
	e.create(ctx, g, e.schedPod("light", "10m", "16Mi", preferring(1, "ck-pref-zone", "a")))
	e.placedOn(ctx, g, "light", a)
	e.create(ctx, g, e.schedPod("heavy-b", "10m", "16Mi", preferring(100, "ck-pref-zone", "b"), preferring(99, "ck-pref-disk", "ssd")))
	e.placedOn(ctx, g, "heavy-b", b)
	e.create(ctx, g, e.schedPod("nowhere", "10m", "16Mi", preferring(100, "ck-pref-zone", "nowhere"),
		func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"ck-pref-zone": "b"} }))
	e.placedOn(ctx, g, "nowhere", b)
}

func specSchedDefaultWeights(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	tainted := e.node(ctx, g, "w-tainted", "4", "8Gi", withLabels("ck-weight", "yes"), withTaint("ck-weight-soft", "", corev1.TaintEffectPreferNoSchedule))
	plain := e.node(ctx, g, "w-plain", "4", "8Gi")
	e.knownNodes(ctx, g, tainted, plain)
	// tainted: NodeAffinity 100 × 2 + TaintToleration 0 × 3 = 200;
	// plain: 0 × 2 + 100 × 3 = 300.
	for i := range 3 {
		e.create(ctx, g, e.schedPod(fmt.Sprintf("prefers-%d", i), "10m", "16Mi", preferring(100, "ck-weight", "yes")))
	}
	for i := range 3 {
		e.placedOn(ctx, g, fmt.Sprintf("prefers-%d", i), plain)
	}
}

// withImage makes the node report an image in status.images.
func withImage(size int64, names ...string) nodeOpt {
	return func(n *corev1.Node) {
		n.Status.Images = append(n.Status.Images, corev1.ContainerImage{Names: names, SizeBytes: size})
	}
}

func specSchedImageLocality(ctx context.Context, g gomega.Gomega, e *schedEnv) {
	// 100 GiB: scaled by the share of nodes holding it (one of however many
	// nodes the cluster has) it stays above the 1000 MiB that scores 100.
	const big = 100 << 30
	tagged := e.node(ctx, g, "img-tagged", "4", "8Gi", withImage(big, "ck.example/tagged:1.0", "ck.example/tagged@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"))
	latest := e.node(ctx, g, "img-latest", "4", "8Gi", withImage(big, "ck.example/untagged:latest"))
	none := e.node(ctx, g, "img-none", "4", "8Gi", withImage(big, "ck.example/other:1.0"))
	e.knownNodes(ctx, g, tagged, latest, none)
	image := func(ref string) podOpt { return func(p *corev1.Pod) { p.Spec.Containers[0].Image = ref } }
	e.create(ctx, g, e.schedPod("tagged", "10m", "16Mi", image("ck.example/tagged:1.0")))
	e.create(ctx, g, e.schedPod("untagged", "10m", "16Mi", image("ck.example/untagged")))
	e.placedOn(ctx, g, "tagged", tagged)
	e.placedOn(ctx, g, "untagged", latest)
}
