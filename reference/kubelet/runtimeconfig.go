package kubelet

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ignoreNotFound treats a gRPC NotFound as success (containerd 1.6 answers
// NotFound when stopping an unknown ID).
func ignoreNotFound(err error) error {
	if status.Code(err) == codes.NotFound {
		return nil
	}
	return err
}

// podLogDir is the directory of a pod's container logs.
func (k *Kubelet) podLogDir(pod *corev1.Pod) string {
	return filepath.Join(k.cfg.PodLogsDir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

func podLabels(pod *corev1.Pod, node string) map[string]string {
	l := map[string]string{
		LabelPodUID:       string(pod.UID),
		LabelPodName:      pod.Name,
		LabelPodNamespace: pod.Namespace,
		LabelNode:         node,
	}
	return l
}

// sandboxConfig is the CRI sandbox config of pod.
func (k *Kubelet) sandboxConfig(pod *corev1.Pod, attempt uint32) *runtimeapi.PodSandboxConfig {
	hostname := k.podHostname(pod)
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{
			Name: pod.Name, Uid: string(pod.UID), Namespace: pod.Namespace, Attempt: attempt,
		},
		Hostname:     hostname,
		LogDirectory: k.podLogDir(pod),
		Labels:       podLabels(pod, k.cfg.NodeName),
		Annotations:  map[string]string{},
		Linux:        &runtimeapi.LinuxPodSandboxConfig{},
		DnsConfig:    k.podDNSConfig(pod),
	}
	k.applySandboxSecurity(pod, cfg)
	for n, v := range pod.Annotations {
		cfg.Annotations[n] = v
	}
	if pod.Spec.HostNetwork {
		cfg.Hostname = ""
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			cfg.PortMappings = append(cfg.PortMappings, &runtimeapi.PortMapping{
				Protocol: protocol(p.Protocol), ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIp: p.HostIP,
			})
		}
	}
	return cfg
}

func protocol(p corev1.Protocol) runtimeapi.Protocol {
	switch p {
	case corev1.ProtocolUDP:
		return runtimeapi.Protocol_UDP
	case corev1.ProtocolSCTP:
		return runtimeapi.Protocol_SCTP
	}
	return runtimeapi.Protocol_TCP
}

// containerConfig is the CRI config of container c of pod, at attempt
// (the restart count), with the pod's volumes (directories on the node by
// volume name) mounted.
func (k *Kubelet) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt uint32, podIP string, volumes map[string]string) (*runtimeapi.ContainerConfig, error) {
	labels := podLabels(pod, k.cfg.NodeName)
	labels[LabelContainerName] = c.Name
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	env, err := k.envFor(ctx, pod, c, podIP)
	if err != nil {
		return nil, err
	}
	mnts, err := mounts(pod, c, volumes, env)
	if err != nil {
		return nil, err
	}
	cfg := &runtimeapi.ContainerConfig{
		Metadata:   &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: attempt},
		Image:      &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image},
		Command:    expand(c.Command, env),
		Args:       expand(c.Args, env),
		WorkingDir: c.WorkingDir,
		Labels:     labels,
		Annotations: map[string]string{
			AnnotRestartCount: strconv.FormatUint(uint64(attempt), 10),
			AnnotTermGrace:    strconv.FormatInt(grace, 10),
		},
		LogPath:   filepath.Join(c.Name, fmt.Sprintf("%d.log", attempt)),
		Stdin:     c.Stdin,
		StdinOnce: c.StdinOnce,
		Tty:       c.TTY,
		Mounts:    mnts,
		Linux:     &runtimeapi.LinuxContainerConfig{Resources: linuxResources(c.Resources)},
	}
	for _, e := range env {
		cfg.Envs = append(cfg.Envs, &runtimeapi.KeyValue{Key: e.Name, Value: []byte(e.Value)})
	}
	return cfg, nil
}

// expand substitutes $(VAR) references to the container's resolved environment in command
// or args ($$ escapes a $), as the kubelet does.
func expand(words []string, env []corev1.EnvVar) []string {
	if len(words) == 0 {
		return nil
	}
	vals := map[string]string{}
	for _, e := range env {
		vals[e.Name] = e.Value
	}
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = expandOne(w, vals)
	}
	return out
}

// linuxResources maps requests and limits to cgroup settings: CPU request
// to shares, CPU limit to a CFS quota over a 100 ms period, memory limit to
// the memory limit.
func linuxResources(r corev1.ResourceRequirements) *runtimeapi.LinuxContainerResources {
	const period = 100000
	out := &runtimeapi.LinuxContainerResources{CpuShares: 2}
	if q, ok := r.Requests[corev1.ResourceCPU]; ok {
		out.CpuShares = max(2, q.MilliValue()*1024/1000)
	} else if q, ok := r.Limits[corev1.ResourceCPU]; ok {
		out.CpuShares = max(2, q.MilliValue()*1024/1000)
	}
	if q, ok := r.Limits[corev1.ResourceCPU]; ok {
		out.CpuPeriod = period
		out.CpuQuota = max(1000, q.MilliValue()*period/1000)
	}
	if q, ok := r.Limits[corev1.ResourceMemory]; ok {
		out.MemoryLimitInBytes = q.Value()
	}
	return out
}
