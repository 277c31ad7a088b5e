package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
)

// NodePortsName is the NodePorts filter's name.
const NodePortsName = "NodePorts"

// ReasonNodePorts is NodePorts' reason, in Kubernetes' wording.
const ReasonNodePorts = "node(s) didn't have free ports for the requested pod ports"

// allHostIPs is the host IP that binds every address of the node.
const allHostIPs = "0.0.0.0"

// NodePorts is the NodePorts filter: a pod asking for host ports goes only
// to a node where no pod bound or assumed there holds one of them. Two
// ports clash when protocol and port are equal and either host IP binds
// all addresses (0.0.0.0, or empty) or both are the same; an empty
// protocol is TCP. The ports counted are those of the containers and of
// the sidecars (init containers with restartPolicy Always), which run for
// the pod's whole life; other init containers' ports are not.
type NodePorts struct{}

var _ interfaces.FilterPlugin = NodePorts{}

// NewNodePorts builds NodePorts.
func NewNodePorts(interfaces.Handle) (interfaces.Plugin, error) { return NodePorts{}, nil }

// Name implements interfaces.Plugin.
func (NodePorts) Name() string { return NodePortsName }

// Filter rejects a node where a wanted host port is taken.
func (NodePorts) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	want := HostPorts(pod)
	if len(want) == 0 {
		return nil
	}
	for _, other := range node.PodList {
		if other.UID == pod.UID {
			continue
		}
		for _, used := range HostPorts(other) {
			for _, w := range want {
				if portsClash(w, used) {
					return interfaces.NewStatus(interfaces.Unschedulable, ReasonNodePorts)
				}
			}
		}
	}
	return nil
}

// HostPorts returns the pod's container ports with a host port, of its
// containers and sidecars.
func HostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	add := func(c *corev1.Container) {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				out = append(out, p)
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c)
		}
	}
	for i := range pod.Spec.Containers {
		add(&pod.Spec.Containers[i])
	}
	return out
}

// portsClash reports whether two host ports cannot both be bound on a node.
func portsClash(a, b corev1.ContainerPort) bool {
	if a.HostPort != b.HostPort || protocolOf(a) != protocolOf(b) {
		return false
	}
	ia, ib := hostIPOf(a), hostIPOf(b)
	return ia == allHostIPs || ib == allHostIPs || ia == ib
}

func protocolOf(p corev1.ContainerPort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

func hostIPOf(p corev1.ContainerPort) string {
	if p.HostIP == "" {
		return allHostIPs
	}
	return p.HostIP
}
