package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const c0 = "spec.containers[0]"

func TestValidatePodCreate(t *testing.T) {
	T, I, R, D, N, F, NF := field.ErrorTypeTooLong, field.ErrorTypeInvalid, field.ErrorTypeRequired, field.ErrorTypeDuplicate,
		field.ErrorTypeNotSupported, field.ErrorTypeForbidden, field.ErrorTypeNotFound
	_ = T
	ctr := func(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }
	runCreateCases(t, validPod, []mutCase[*corev1.Pod]{
		// containers
		{"no containers", func(p *corev1.Pod) { p.Spec.Containers = nil }, []fe{{R, "spec.containers"}}},
		{"container name required", func(p *corev1.Pod) { ctr(p).Name = "" }, []fe{{R, c0 + ".name"}}},
		{"container name not a label", func(p *corev1.Pod) { ctr(p).Name = "Web" }, []fe{{I, c0 + ".name"}}},
		{"duplicate container name", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "web", Image: "x", ImagePullPolicy: "Always", TerminationMessagePolicy: "File"})
		}, []fe{{D, "spec.containers[1].name"}}},
		{"init container name clashes with container", func(p *corev1.Pod) { p.Spec.InitContainers[0].Name = "web" }, []fe{{D, "spec.initContainers[0].name"}}},
		{"image required", func(p *corev1.Pod) { ctr(p).Image = "" }, []fe{{R, c0 + ".image"}}},
		{"image only whitespace", func(p *corev1.Pod) { ctr(p).Image = "  " }, []fe{{R, c0 + ".image"}}},
		{"image leading whitespace", func(p *corev1.Pod) { ctr(p).Image = " nginx" }, []fe{{I, c0 + ".image"}}},
		{"init image required", func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "" }, []fe{{R, "spec.initContainers[0].image"}}},
		{"bad pull policy", func(p *corev1.Pod) { ctr(p).ImagePullPolicy = "Sometimes" }, []fe{{N, c0 + ".imagePullPolicy"}}},
		{"bad termination message policy", func(p *corev1.Pod) { ctr(p).TerminationMessagePolicy = "Log" }, []fe{{N, c0 + ".terminationMessagePolicy"}}},
		// ports
		{"container port zero", func(p *corev1.Pod) { ctr(p).Ports[0].ContainerPort = 0 }, []fe{{R, c0 + ".ports[0].containerPort"}}},
		{"container port too big", func(p *corev1.Pod) { ctr(p).Ports[0].ContainerPort = 70000 }, []fe{{I, c0 + ".ports[0].containerPort"}}},
		{"host port out of range", func(p *corev1.Pod) { ctr(p).Ports[0].HostPort = -1 }, []fe{{I, c0 + ".ports[0].hostPort"}}},
		{"bad protocol", func(p *corev1.Pod) { ctr(p).Ports[0].Protocol = "ICMP" }, []fe{{N, c0 + ".ports[0].protocol"}}},
		{"port name too long", func(p *corev1.Pod) {
			ctr(p).Ports[0].Name = "abcdefghijklmnop"
			ctr(p).LivenessProbe.HTTPGet.Port = intstr.FromInt32(80)
		}, []fe{{I, c0 + ".ports[0].name"}}},
		{"duplicate port name", func(p *corev1.Pod) {
			ctr(p).Ports = append(ctr(p).Ports, corev1.ContainerPort{Name: "http", ContainerPort: 81, Protocol: "TCP"})
		}, []fe{{D, c0 + ".ports[1].name"}}},
		{"host port conflict", func(p *corev1.Pod) {
			ctr(p).Ports[0].HostPort = 8080
			ctr(p).Ports = append(ctr(p).Ports, corev1.ContainerPort{ContainerPort: 81, HostPort: 8080, Protocol: "TCP"})
		}, []fe{{D, c0 + ".ports[1].hostPort"}}},
		// env
		{"env name required", func(p *corev1.Pod) { ctr(p).Env[0].Name = "" }, []fe{{R, c0 + ".env[0].name"}}},
		{"env name with =", func(p *corev1.Pod) { ctr(p).Env[0].Name = "A=B" }, []fe{{I, c0 + ".env[0].name"}}},
		{"env value and valueFrom", func(p *corev1.Pod) {
			ctr(p).Env[0].ValueFrom = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}
		}, []fe{{I, c0 + ".env[0].valueFrom"}}},
		{"env valueFrom configMapKeyRef key required", func(p *corev1.Pod) {
			ctr(p).Env[0].Value = ""
			ctr(p).Env[0].ValueFrom = &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}
		}, []fe{{R, c0 + ".env[0].valueFrom.configMapKeyRef.key"}}},
		// resources
		{"negative cpu request", func(p *corev1.Pod) { ctr(p).Resources.Requests[corev1.ResourceCPU] = resource.MustParse("-1") }, []fe{{I, c0 + ".resources.requests[cpu]"}}},
		{"negative memory limit", func(p *corev1.Pod) {
			ctr(p).Resources.Limits[corev1.ResourceMemory] = resource.MustParse("-1Mi")
			delete(ctr(p).Resources.Requests, corev1.ResourceMemory)
		}, []fe{{I, c0 + ".resources.limits[memory]"}}},
		{"request above limit", func(p *corev1.Pod) { ctr(p).Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1") }, []fe{{I, c0 + ".resources.requests[cpu]"}}},
		{"unknown unprefixed resource", func(p *corev1.Pod) { ctr(p).Resources.Limits["gpu"] = resource.MustParse("1") }, []fe{{I, c0 + ".resources.limits[gpu]"}}},
		{"extended resource fractional", func(p *corev1.Pod) {
			ctr(p).Resources.Limits["example.com/gpu"] = resource.MustParse("500m")
			ctr(p).Resources.Requests["example.com/gpu"] = resource.MustParse("500m")
		}, []fe{{I, c0 + ".resources.limits[example.com/gpu]"}, {I, c0 + ".resources.requests[example.com/gpu]"}}},
		{"extended resource request differs from limit", func(p *corev1.Pod) {
			ctr(p).Resources.Limits["example.com/gpu"] = resource.MustParse("2")
			ctr(p).Resources.Requests["example.com/gpu"] = resource.MustParse("1")
		}, []fe{{I, c0 + ".resources.requests[example.com/gpu]"}}},
		// pod-level enums and numbers
		{"restartPolicy required", func(p *corev1.Pod) { p.Spec.RestartPolicy = "" }, []fe{{R, "spec.restartPolicy"}}},
		{"restartPolicy bad", func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, []fe{{N, "spec.restartPolicy"}}},
		{"restartPolicy Never ok", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }, nil},
		{"dnsPolicy bad", func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }, []fe{{N, "spec.dnsPolicy"}}},
		{"dnsPolicy None without config", func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone }, []fe{{R, "spec.dnsConfig"}}},
		{"dnsPolicy None without nameservers", func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: []string{"svc.cluster.local"}}
		}, []fe{{R, "spec.dnsConfig.nameservers"}}},
		{"dns nameserver not an IP", func(p *corev1.Pod) { p.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: []string{"dns"}} }, []fe{{I, "spec.dnsConfig.nameservers[0]"}}},
		{"negative grace period", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(-1)) }, []fe{{I, "spec.terminationGracePeriodSeconds"}}},
		{"zero grace period ok", func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(0)) }, nil},
		{"activeDeadlineSeconds zero", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(0)) }, []fe{{I, "spec.activeDeadlineSeconds"}}},
		{"nodeName invalid", func(p *corev1.Pod) { p.Spec.NodeName = "Node_1" }, []fe{{I, "spec.nodeName"}}},
		{"hostname invalid", func(p *corev1.Pod) { p.Spec.Hostname = "a.b" }, []fe{{I, "spec.hostname"}}},
		{"serviceAccountName invalid", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "A" }, []fe{{I, "spec.serviceAccountName"}}},
		{"preemptionPolicy bad", func(p *corev1.Pod) { p.Spec.PreemptionPolicy = ptrTo(corev1.PreemptionPolicy("Always")) }, []fe{{N, "spec.preemptionPolicy"}}},
		{"runAsUser negative", func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = ptrTo(int64(-5)) }, []fe{{I, "spec.securityContext.runAsUser"}}},
		{"nodeSelector bad label", func(p *corev1.Pod) { p.Spec.NodeSelector["bad key"] = "v" }, []fe{{I, "spec.nodeSelector"}}},
		// volumes
		{"duplicate volume", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}, []fe{{D, "spec.volumes[1].name"}}},
		{"volume name invalid", func(p *corev1.Pod) {
			p.Spec.Volumes[0].Name = "Data"
			ctr(p).VolumeMounts[0].Name = "Data"
		}, []fe{{I, "spec.volumes[0].name"}}},
		{"volume with two sources", func(p *corev1.Pod) {
			p.Spec.Volumes[0].HostPath = &corev1.HostPathVolumeSource{Path: "/tmp"}
		}, []fe{{F, "spec.volumes[0]"}}},
		{"configMap volume name required", func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}
		}, []fe{{R, "spec.volumes[0].configMap.name"}}},
		{"mount of unknown volume", func(p *corev1.Pod) { ctr(p).VolumeMounts[0].Name = "other" }, []fe{{NF, c0 + ".volumeMounts[0].name"}}},
		{"mount path required", func(p *corev1.Pod) { ctr(p).VolumeMounts[0].MountPath = "" }, []fe{{R, c0 + ".volumeMounts[0].mountPath"}}},
		{"mount path duplicated", func(p *corev1.Pod) {
			ctr(p).VolumeMounts = append(ctr(p).VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
		}, []fe{{I, c0 + ".volumeMounts[1].mountPath"}}},
		{"subPath escapes", func(p *corev1.Pod) { ctr(p).VolumeMounts[0].SubPath = "../etc" }, []fe{{I, c0 + ".volumeMounts[0].subPath"}}},
		// probes
		{"probe without handler", func(p *corev1.Pod) { ctr(p).LivenessProbe.HTTPGet = nil }, []fe{{R, c0 + ".livenessProbe"}}},
		{"probe with two handlers", func(p *corev1.Pod) {
			ctr(p).LivenessProbe.Exec = &corev1.ExecAction{Command: []string{"true"}}
		}, []fe{{F, c0 + ".livenessProbe.httpGet"}}},
		{"probe exec without command", func(p *corev1.Pod) {
			ctr(p).ReadinessProbe.TCPSocket = nil
			ctr(p).ReadinessProbe.Exec = &corev1.ExecAction{}
		}, []fe{{R, c0 + ".readinessProbe.exec.command"}}},
		{"probe http port out of range", func(p *corev1.Pod) { ctr(p).LivenessProbe.HTTPGet.Port = intstr.FromInt32(0) }, []fe{{I, c0 + ".livenessProbe.httpGet.port"}}},
		{"probe named port not among the container's ports is admitted, as in Kubernetes", func(p *corev1.Pod) { ctr(p).LivenessProbe.HTTPGet.Port = intstr.FromString("metrics") }, nil},
		{"probe port name malformed", func(p *corev1.Pod) { ctr(p).LivenessProbe.HTTPGet.Port = intstr.FromString("Not_A_Name") }, []fe{{I, c0 + ".livenessProbe.httpGet.port"}}},
		{"probe tcp port too big", func(p *corev1.Pod) { ctr(p).ReadinessProbe.TCPSocket.Port = intstr.FromInt32(65536) }, []fe{{I, c0 + ".readinessProbe.tcpSocket.port"}}},
		{"probe bad scheme", func(p *corev1.Pod) { ctr(p).LivenessProbe.HTTPGet.Scheme = "FTP" }, []fe{{N, c0 + ".livenessProbe.httpGet.scheme"}}},
		{"probe zero period", func(p *corev1.Pod) { ctr(p).LivenessProbe.PeriodSeconds = 0 }, []fe{{I, c0 + ".livenessProbe.periodSeconds"}}},
		{"probe negative failureThreshold", func(p *corev1.Pod) { ctr(p).ReadinessProbe.FailureThreshold = -1 }, []fe{{I, c0 + ".readinessProbe.failureThreshold"}}},
		{"probe negative initial delay", func(p *corev1.Pod) { ctr(p).ReadinessProbe.InitialDelaySeconds = -1 }, []fe{{I, c0 + ".readinessProbe.initialDelaySeconds"}}},
		{"liveness successThreshold must be 1", func(p *corev1.Pod) { ctr(p).LivenessProbe.SuccessThreshold = 2 }, []fe{{I, c0 + ".livenessProbe.successThreshold"}}},
		{"readiness successThreshold 2 ok", func(p *corev1.Pod) { ctr(p).ReadinessProbe.SuccessThreshold = 2 }, nil},
		{"preStop without handler", func(p *corev1.Pod) { ctr(p).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{}} }, []fe{{R, c0 + ".lifecycle.preStop"}}},
		// tolerations
		{"toleration bad operator", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = "Like" }, []fe{{N, "spec.tolerations[0].operator"}}},
		{"toleration Exists with value", func(p *corev1.Pod) { p.Spec.Tolerations[0].Operator = corev1.TolerationOpExists }, []fe{{I, "spec.tolerations[0].operator"}}},
		{"toleration Exists without key ok", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		}, nil},
		{"toleration empty key needs Exists", func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "" }, []fe{{I, "spec.tolerations[0].operator"}}},
		{"toleration bad effect", func(p *corev1.Pod) { p.Spec.Tolerations[0].Effect = "NoRun" }, []fe{{N, "spec.tolerations[0].effect"}}},
		{"toleration seconds without NoExecute", func(p *corev1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptrTo(int64(30)) }, []fe{{I, "spec.tolerations[0].effect"}}},
		{"toleration seconds with NoExecute ok", func(p *corev1.Pod) {
			p.Spec.Tolerations[0].Effect = corev1.TaintEffectNoExecute
			p.Spec.Tolerations[0].TolerationSeconds = ptrTo(int64(30))
		}, nil},
		{"toleration bad key", func(p *corev1.Pod) { p.Spec.Tolerations[0].Key = "bad key" }, []fe{{I, "spec.tolerations[0].key"}}},
		// affinity
		{"node affinity no terms", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = nil
		}, []fe{{R, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"}}},
		{"node affinity bad operator", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Like"
		}, []fe{{N, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator"}}},
		{"node affinity In without values", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values = nil
		}, []fe{{R, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"}}},
		{"node affinity Exists with values", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = corev1.NodeSelectorOpExists
		}, []fe{{F, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values"}}},
		{"node affinity Gt non-integer", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Operator = corev1.NodeSelectorOpGt
		}, []fe{{I, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values[0]"}}},
		{"preferred weight out of range", func(p *corev1.Pod) {
			p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.PreferredSchedulingTerm{{Weight: 0}}
		}, []fe{{I, "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"}}},
		{"pod anti-affinity topologyKey required", func(p *corev1.Pod) {
			p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{}}}
		}, []fe{{R, "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"}}},
		{"long label in nodeSelector value", func(p *corev1.Pod) { p.Spec.NodeSelector["zone"] = strings.Repeat("z", 64) }, []fe{{I, "spec.nodeSelector"}}},
	})
}
