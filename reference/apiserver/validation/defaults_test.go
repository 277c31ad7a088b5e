package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDefaultPullPolicyByTag(t *testing.T) {
	cases := []struct {
		image string
		want  corev1.PullPolicy
	}{
		{"nginx", corev1.PullAlways},
		{"nginx:latest", corev1.PullAlways},
		{"docker.io/library/nginx", corev1.PullAlways},
		{"localhost:5000/app", corev1.PullAlways},
		{"localhost:5000/app:latest", corev1.PullAlways},
		{"nginx:1.27", corev1.PullIfNotPresent},
		{"localhost:5000/app:v1", corev1.PullIfNotPresent},
		{"nginx@sha256:abcd", corev1.PullIfNotPresent},
		{"nginx:1.27@sha256:abcd", corev1.PullIfNotPresent},
		{"nginx:latest@sha256:abcd", corev1.PullAlways},
	}
	for _, tc := range cases {
		t.Run(tc.image, func(t *testing.T) {
			p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: tc.image}}}}
			Default(p)
			if got := p.Spec.Containers[0].ImagePullPolicy; got != tc.want {
				t.Errorf("imagePullPolicy = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("explicit policy kept", func(t *testing.T) {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx", ImagePullPolicy: corev1.PullNever}}}}
		Default(p)
		if got := p.Spec.Containers[0].ImagePullPolicy; got != corev1.PullNever {
			t.Errorf("imagePullPolicy = %q, want Never", got)
		}
	})
}

func TestDefaultPod(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{{Name: "v"}, {Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}}},
		Containers: []corev1.Container{{
			Name: "c", Image: "app:v1",
			Ports: []corev1.ContainerPort{{ContainerPort: 80}},
			Resources: corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
			},
			LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
			Env:           []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
		}},
	}}
	Default(p)
	s, c := p.Spec, p.Spec.Containers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"terminationGracePeriodSeconds", *s.TerminationGracePeriodSeconds, int64(30)},
		{"securityContext set", s.SecurityContext != nil, true},
		{"enableServiceLinks", *s.EnableServiceLinks, true},
		{"preemptionPolicy left to Priority admission", s.PreemptionPolicy == nil, true},
		{"priority left to Priority admission", s.Priority == nil, true},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"probe timeout", c.LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe period", c.LivenessProbe.PeriodSeconds, int32(10)},
		{"probe success", c.LivenessProbe.SuccessThreshold, int32(1)},
		{"probe failure", c.LivenessProbe.FailureThreshold, int32(3)},
		{"http scheme", c.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"http path", c.LivenessProbe.HTTPGet.Path, "/"},
		{"explicit cpu request kept", c.Resources.Requests.Cpu().String(), "500m"},
		{"memory request from limit", c.Resources.Requests.Memory().String(), "1Gi"},
		{"fieldRef apiVersion", c.Env[0].ValueFrom.FieldRef.APIVersion, "v1"},
		{"sourceless volume is emptyDir", s.Volumes[0].EmptyDir != nil, true},
		{"secret defaultMode", *s.Volumes[1].Secret.DefaultMode, int32(0o644)},
		{"phase", p.Status.Phase, corev1.PodPending},
		{"qos", p.Status.QOSClass, corev1.PodQOSBurstable},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if errs := ValidateCreate(withMeta(p)); len(errs) != 0 {
		t.Errorf("defaulted pod invalid: %v", errs)
	}
}

func withMeta(p *corev1.Pod) *corev1.Pod {
	p.Name, p.Namespace = "p", "default"
	return p
}

func TestDefaultPodKeepsSetValues(t *testing.T) {
	p := validPod()
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(5))
	p.Spec.SchedulerName = "mine"
	Default(p)
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever || *p.Spec.TerminationGracePeriodSeconds != 5 || p.Spec.SchedulerName != "mine" {
		t.Errorf("explicit values overwritten: %+v", p.Spec)
	}
}

func TestDefaultQOSClass(t *testing.T) {
	guaranteed := validPod()
	guaranteed.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
	guaranteed.Spec.InitContainers = nil // an init container without limits would make it Burstable
	best := validPod()
	best.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	initNoLimits := validPod()
	initNoLimits.Spec.Containers[0].Resources = guaranteed.Spec.Containers[0].Resources
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{"guaranteed": {guaranteed, corev1.PodQOSGuaranteed}, "besteffort": {best, corev1.PodQOSBestEffort}, "burstable": {validPod(), corev1.PodQOSBurstable},
		"init container without limits": {initNoLimits, corev1.PodQOSBurstable}} {
		t.Run(name, func(t *testing.T) {
			Default(tc.pod)
			if tc.pod.Status.QOSClass != tc.want {
				t.Errorf("qos = %s, want %s", tc.pod.Status.QOSClass, tc.want)
			}
		})
	}
}

func TestDefaultService(t *testing.T) {
	s := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}}}}
	Default(s)
	if s.Spec.Type != corev1.ServiceTypeClusterIP || s.Spec.SessionAffinity != corev1.ServiceAffinityNone {
		t.Errorf("type/affinity = %s/%s", s.Spec.Type, s.Spec.SessionAffinity)
	}
	if s.Spec.Ports[0].Protocol != corev1.ProtocolTCP || s.Spec.Ports[0].TargetPort != intstr.FromInt32(80) {
		t.Errorf("port 0 = %+v", s.Spec.Ports[0])
	}
	if s.Spec.Ports[1].Protocol != corev1.ProtocolUDP || s.Spec.Ports[1].TargetPort != intstr.FromString("dns") {
		t.Errorf("port 1 = %+v", s.Spec.Ports[1])
	}
	if s.Spec.InternalTrafficPolicy == nil || *s.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster {
		t.Errorf("internalTrafficPolicy = %v", s.Spec.InternalTrafficPolicy)
	}
	if s.Spec.ExternalTrafficPolicy != "" {
		t.Errorf("externalTrafficPolicy set on ClusterIP: %q", s.Spec.ExternalTrafficPolicy)
	}
	np := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.5"}}
	Default(np)
	if np.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || np.Spec.AllocateLoadBalancerNodePorts == nil || !*np.Spec.AllocateLoadBalancerNodePorts {
		t.Errorf("load balancer defaults = %+v", np.Spec)
	}
	if len(np.Spec.ClusterIPs) != 1 || np.Spec.ClusterIPs[0] != "10.96.0.5" {
		t.Errorf("clusterIPs = %v", np.Spec.ClusterIPs)
	}
}

func TestDefaultDeploymentAndReplicaSet(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "app"}}}}}}
	Default(d)
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" || d.Spec.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" ||
		*d.Spec.RevisionHistoryLimit != 10 || *d.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("deployment defaults = %+v", d.Spec)
	}
	tc := d.Spec.Template.Spec
	if tc.RestartPolicy != corev1.RestartPolicyAlways || tc.Containers[0].ImagePullPolicy != corev1.PullAlways || tc.SchedulerName != "default-scheduler" {
		t.Errorf("template defaults = %+v", tc)
	}
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	Default(recreate)
	if recreate.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("Recreate got rollingUpdate defaults")
	}
	rs := &appsv1.ReplicaSet{}
	Default(rs)
	if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 1 || rs.Spec.Template.Spec.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("replicaset defaults = %+v", rs.Spec)
	}
	// Templates do not get requests copied from limits (only pods do, as in Kubernetes).
	d2 := validDeployment()
	delete(d2.Spec.Template.Spec.Containers[0].Resources.Requests, corev1.ResourceMemory)
	Default(d2)
	if _, ok := d2.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]; ok {
		t.Errorf("template requests defaulted from limits")
	}
}

func TestDefaultOtherKinds(t *testing.T) {
	ns := &corev1.Namespace{}
	Default(ns)
	if len(ns.Spec.Finalizers) != 1 || ns.Spec.Finalizers[0] != corev1.FinalizerKubernetes || ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("namespace defaults = %+v", ns)
	}
	Default(ns)
	if len(ns.Spec.Finalizers) != 1 {
		t.Errorf("defaulting twice duplicated the finalizer: %v", ns.Spec.Finalizers)
	}
	n := validNode()
	Default(n)
	if n.Status.Allocatable.Cpu().String() != "4" {
		t.Errorf("allocatable = %v", n.Status.Allocatable)
	}
	es := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{}}}
	Default(es)
	if es.Ports[0].Protocol == nil || *es.Ports[0].Protocol != corev1.ProtocolTCP || es.Ports[0].Name == nil {
		t.Errorf("endpointslice port = %+v", es.Ports[0])
	}
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 1}}}}}
	Default(ep)
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoints port protocol = %q", ep.Subsets[0].Ports[0].Protocol)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	Default(cm) // no defaults; must not panic
}
