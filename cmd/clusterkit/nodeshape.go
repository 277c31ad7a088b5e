package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/podgc"
	"github.com/clusterkit/clusterkit/reference/kubelet"
)

// nodeShape is what a node offers and keeps back: the kubelet's --kube-reserved,
// --system-reserved and --eviction-hard, and for `up` per-node capacity overrides.
type nodeShape struct {
	cpu, memory, pods, ephemeral string
	kubeReserved, systemReserved string
	evictionHard                 string
}

// addReservationFlags registers --kube-reserved, --system-reserved and --eviction-hard.
func (s *nodeShape) addReservationFlags(f *pflag.FlagSet) {
	f.StringVar(&s.kubeReserved, "kube-reserved", "", "resources reserved for Kubernetes' node components, left out of allocatable, e.g. cpu=100m,memory=256Mi,ephemeral-storage=1Gi")
	f.StringVar(&s.systemReserved, "system-reserved", "", "resources reserved for the OS, left out of allocatable, e.g. cpu=100m,memory=256Mi")
	f.StringVar(&s.evictionHard, "eviction-hard", "memory.available<"+kubelet.DefaultEvictionHardMemory, `hard eviction threshold left out of allocatable memory and the MemoryPressure threshold ("memory.available<100Mi"; "" or "memory.available<0" for none)`)
}

// addCapacityFlags registers --node-cpu, --node-memory, --node-pods and
// --node-ephemeral-storage (for commands that run several nodes).
func (s *nodeShape) addCapacityFlags(f *pflag.FlagSet) {
	f.StringVar(&s.cpu, "node-cpu", "", "cpu capacity each node reports (default: the machine's)")
	f.StringVar(&s.memory, "node-memory", "", "memory capacity each node reports, e.g. 4Gi (default: the machine's)")
	f.StringVar(&s.pods, "node-pods", "", "pod capacity of each node (default 110)")
	f.StringVar(&s.ephemeral, "node-ephemeral-storage", "", "ephemeral-storage capacity each node reports, e.g. 20Gi (default: the filesystem's)")
}

// capacity returns base with the capacity flags given applied (nil when both are empty).
func (s nodeShape) capacity(base corev1.ResourceList) (corev1.ResourceList, error) {
	out := base.DeepCopy()
	for name, v := range map[corev1.ResourceName]string{
		corev1.ResourceCPU: s.cpu, corev1.ResourceMemory: s.memory, corev1.ResourcePods: s.pods, corev1.ResourceEphemeralStorage: s.ephemeral,
	} {
		if v == "" {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("node %s %q: %w", name, v, err)
		}
		if out == nil {
			out = corev1.ResourceList{}
		}
		out[name] = q
	}
	return out, nil
}

// apply sets the shape on a kubelet configuration.
func (s nodeShape) apply(kc *kubelet.Config) error {
	c, err := s.capacity(kc.Capacity)
	if err != nil {
		return err
	}
	kc.Capacity = c
	if kc.KubeReserved, err = parseResources(s.kubeReserved); err != nil {
		return fmt.Errorf("--kube-reserved: %w", err)
	}
	if kc.SystemReserved, err = parseResources(s.systemReserved); err != nil {
		return fmt.Errorf("--system-reserved: %w", err)
	}
	q, err := parseEvictionHard(s.evictionHard)
	if err != nil {
		return fmt.Errorf("--eviction-hard: %w", err)
	}
	kc.EvictionHardMemory = q
	return nil
}

// parseEvictionHard reads the memory.available threshold of an --eviction-hard list
// ("memory.available<100Mi,nodefs.available<10%"); other signals are accepted and ignored.
// No memory.available (or 0) gives a negative quantity: no threshold.
func parseEvictionHard(s string) (resource.Quantity, error) {
	none := *resource.NewQuantity(-1, resource.BinarySI)
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		signal, v, ok := strings.Cut(kv, "<")
		if !ok {
			return none, fmt.Errorf("%q is not SIGNAL<QUANTITY", kv)
		}
		if strings.TrimSpace(signal) != "memory.available" {
			continue
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(v))
		if err != nil {
			return none, fmt.Errorf("memory.available: %w", err)
		}
		if q.Sign() <= 0 {
			return none, nil
		}
		return q, nil
	}
	return none, nil
}

// addClusterShapeFlags registers the node shape flags of `up` and the controller manager's
// --cluster-cidr and --terminated-pod-gc-threshold.
func addClusterShapeFlags(f *pflag.FlagSet, shape *nodeShape, clusterCIDR *string, gcThreshold *int) {
	shape.addCapacityFlags(f)
	shape.addReservationFlags(f)
	addControllerShapeFlags(f, clusterCIDR, gcThreshold)
}

// addNodeDeletionFlag registers --node-deletion-grace-period, a clusterkit extension: without a
// cloud provider Kubernetes never deletes a Node, so a kubeadm cluster keeps NotReady nodes
// forever.
func addNodeDeletionFlag(f *pflag.FlagSet, grace *time.Duration) {
	f.DurationVar(grace, "node-deletion-grace-period", 0, "delete a node whose heartbeats stopped once its Ready condition has been Unknown this long; its pods then go through the pod garbage collector (a clusterkit extension, not a kube-controller-manager flag; 0: never, as Kubernetes without a cloud provider)")
}

// addControllerShapeFlags registers kube-controller-manager's --cluster-cidr and
// --terminated-pod-gc-threshold.
func addControllerShapeFlags(f *pflag.FlagSet, clusterCIDR *string, gcThreshold *int) {
	f.StringVar(clusterCIDR, "cluster-cidr", nodeipam.DefaultClusterCIDR, "range the node IPAM controller carves each node's /24 pod CIDR from")
	f.IntVar(gcThreshold, "terminated-pod-gc-threshold", podgc.DefaultTerminatedThreshold, "terminated pods kept before the pod garbage collector deletes the oldest")
}
