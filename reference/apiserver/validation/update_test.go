package validation

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// stored returns a defaulted object carrying the system fields the server sets on create.
func stored[T runtime.Object](obj T) T {
	Default(obj)
	m := any(obj).(metav1.Object)
	m.SetUID("3f1d2c3b-0000-4000-8000-000000000001")
	m.SetResourceVersion("10")
	m.SetCreationTimestamp(metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
	m.SetGeneration(1)
	return obj
}

// runUpdateCases checks an unchanged update is valid and that each mutation of a copy of the
// stored object yields exactly the expected errors from ValidateUpdate (or ValidateStatusUpdate).
func runUpdateCases[T runtime.Object](t *testing.T, base func() T, status bool, cases []mutCase[T]) {
	t.Helper()
	validate := ValidateUpdate
	if status {
		validate = ValidateStatusUpdate
	}
	t.Run("unchanged is valid", func(t *testing.T) {
		old := stored(base())
		assertErrors(t, validate(old.DeepCopyObject(), old))
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := stored(base())
			newObj := old.DeepCopyObject().(T)
			tc.mutate(newObj)
			assertErrors(t, validate(newObj, old), tc.want...)
		})
	}
}

func TestMetadataImmutable(t *testing.T) {
	runUpdateCases(t, validConfigMap, false, []mutCase[*corev1.ConfigMap]{
		{"labels may change", func(c *corev1.ConfigMap) { c.Labels = map[string]string{"a": "b"} }, nil},
		{"name", func(c *corev1.ConfigMap) { c.Name = "other" }, []fe{{tInvalid, "metadata.name"}}},
		{"namespace", func(c *corev1.ConfigMap) { c.Namespace = "other" }, []fe{{tInvalid, "metadata.namespace"}}},
		{"uid", func(c *corev1.ConfigMap) { c.UID = "x" }, []fe{{tInvalid, "metadata.uid"}}},
		{"creationTimestamp", func(c *corev1.ConfigMap) { c.CreationTimestamp = metav1.Now() }, []fe{{tInvalid, "metadata.creationTimestamp"}}},
		{"generation decremented", func(c *corev1.ConfigMap) { c.Generation = 0 }, []fe{{tInvalid, "metadata.generation"}}},
		{"create checks still apply", func(c *corev1.ConfigMap) { c.Labels = map[string]string{"bad key": "x"} }, []fe{{tInvalid, "metadata.labels"}}},
	})
	t.Run("no new finalizers once deleting", func(t *testing.T) {
		old := stored(validConfigMap())
		old.DeletionTimestamp = ptrTo(metav1.Now())
		n := old.DeepCopy()
		n.Finalizers = []string{"example.com/late"}
		assertErrors(t, ValidateUpdate(n, old), fe{tForbidden, "metadata.finalizers"})
	})
}

func TestPodUpdate(t *testing.T) {
	runUpdateCases(t, validPod, false, []mutCase[*corev1.Pod]{
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }, nil},
		{"init image", func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "busybox:1" }, nil},
		{"labels and annotations", func(p *corev1.Pod) { p.Labels["v"] = "2"; p.Annotations = map[string]string{"a": "b"} }, nil},
		{"activeDeadlineSeconds set", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(100)) }, nil},
		{"toleration added", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "k", Operator: corev1.TolerationOpExists})
		}, nil},
		{"toleration removed", func(p *corev1.Pod) { p.Spec.Tolerations = nil }, []fe{{tForbidden, "spec.tolerations"}}},
		{"toleration changed", func(p *corev1.Pod) { p.Spec.Tolerations[0].Value = "db" }, []fe{{tForbidden, "spec.tolerations"}}},
		{"nodeName set", func(p *corev1.Pod) { p.Spec.NodeName = "node-1" }, []fe{{tForbidden, "spec"}}},
		{"port changed", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 8080 }, []fe{{tForbidden, "spec"}}},
		{"container added", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"})
		}, []fe{{tForbidden, "spec"}}},
		{"restartPolicy changed", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }, []fe{{tForbidden, "spec"}}},
		{"invalid new image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, []fe{{tRequired, "spec.containers[0].image"}}},
	})
	t.Run("activeDeadlineSeconds", func(t *testing.T) {
		old := stored(validPod())
		old.Spec.ActiveDeadlineSeconds = ptrTo(int64(100))
		for name, tc := range map[string]struct {
			v    *int64
			want []fe
		}{
			"decrease": {ptrTo(int64(50)), nil},
			"increase": {ptrTo(int64(200)), []fe{{tInvalid, "spec.activeDeadlineSeconds"}}},
			"unset":    {nil, []fe{{tInvalid, "spec.activeDeadlineSeconds"}}},
		} {
			t.Run(name, func(t *testing.T) {
				n := old.DeepCopy()
				n.Spec.ActiveDeadlineSeconds = tc.v
				assertErrors(t, ValidateUpdate(n, old), tc.want...)
			})
		}
	})
	t.Run("nodeName may not change once set", func(t *testing.T) {
		old := stored(validPod())
		old.Spec.NodeName = "node-1"
		n := old.DeepCopy()
		n.Spec.NodeName = "node-2"
		errs := ValidateUpdate(n, old)
		assertErrors(t, errs, fe{tForbidden, "spec"})
		if msg := errs.ToAggregate().Error(); !strings.Contains(msg, "spec: Forbidden: pod updates may not change fields other than") {
			t.Errorf("message = %q", msg)
		}
	})
}

func TestPodStatusUpdate(t *testing.T) {
	runUpdateCases(t, validPod, true, []mutCase[*corev1.Pod]{
		{"running", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.PodIP, p.Status.PodIPs = "10.244.1.5", []corev1.PodIP{{IP: "10.244.1.5"}}
			p.Status.HostIP = "10.0.0.1"
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}, nil},
		{"unknown phase", func(p *corev1.Pod) { p.Status.Phase = "Sleeping" }, []fe{{tNotSupported, "status.phase"}}},
		{"condition status bad", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: "Yes"}}
		}, []fe{{tNotSupported, "status.conditions[0].status"}}},
		{"condition type missing", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Status: corev1.ConditionTrue}}
		}, []fe{{tRequired, "status.conditions[0].type"}}},
		{"duplicate condition", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: "True"}, {Type: corev1.PodReady, Status: "False"}}
		}, []fe{{tDuplicate, "status.conditions[1].type"}}},
		{"bad pod IP", func(p *corev1.Pod) { p.Status.PodIP = "x" }, []fe{{tInvalid, "status.podIP"}}},
		{"status of unknown container", func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "ghost"}}
		}, []fe{{tNotFound, "status.containerStatuses[0].name"}}},
		{"uid changed", func(p *corev1.Pod) { p.UID = "other" }, []fe{{tInvalid, "metadata.uid"}}},
	})
	t.Run("terminal phase is final", func(t *testing.T) {
		old := stored(validPod())
		old.Status.Phase = corev1.PodSucceeded
		n := old.DeepCopy()
		n.Status.Phase = corev1.PodRunning
		assertErrors(t, ValidateStatusUpdate(n, old), fe{tForbidden, "status.phase"})
	})
}

var tNotFound = field.ErrorTypeNotFound

func TestDeploymentUpdate(t *testing.T) {
	runUpdateCases(t, validDeployment, false, []mutCase[*appsv1.Deployment]{
		{"scale", func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(5)) }, nil},
		{"new image", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:2" }, nil},
		{"selector changed", func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels["tier"] = "front"
			d.Spec.Template.Labels["tier"] = "front"
		}, []fe{{tInvalid, "spec.selector"}}},
		{"template labels stop matching", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"x": "y"} }, []fe{{tInvalid, "spec.template.metadata.labels"}}},
	})
	runUpdateCases(t, validDeployment, true, []mutCase[*appsv1.Deployment]{
		{"counts", func(d *appsv1.Deployment) {
			d.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 3, ObservedGeneration: 1}
		}, nil},
		{"negative replicas", func(d *appsv1.Deployment) { d.Status.Replicas = -1 }, []fe{{tInvalid, "status.replicas"}}},
		{"ready above replicas", func(d *appsv1.Deployment) { d.Status.ReadyReplicas = 1 }, []fe{{tInvalid, "status.readyReplicas"}}},
		{"available above ready", func(d *appsv1.Deployment) {
			d.Status.Replicas, d.Status.AvailableReplicas = 2, 1
		}, []fe{{tInvalid, "status.availableReplicas"}}},
	})
}

func TestReplicaSetUpdate(t *testing.T) {
	runUpdateCases(t, validReplicaSet, false, []mutCase[*appsv1.ReplicaSet]{
		{"scale", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptrTo(int32(0)) }, nil},
		{"selector changed", func(rs *appsv1.ReplicaSet) {
			rs.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}
		}, []fe{{tInvalid, "spec.selector"}}},
	})
	runUpdateCases(t, validReplicaSet, true, []mutCase[*appsv1.ReplicaSet]{
		{"fullyLabeled above replicas", func(rs *appsv1.ReplicaSet) { rs.Status.FullyLabeledReplicas = 1 }, []fe{{tInvalid, "status.fullyLabeledReplicas"}}},
	})
}

func TestOtherUpdates(t *testing.T) {
	withIP := func() *corev1.Service {
		s := validService()
		s.Spec.ClusterIP = "10.96.0.10"
		return s
	}
	runUpdateCases(t, withIP, false, []mutCase[*corev1.Service]{
		{"ports change", func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 }, nil},
		{"clusterIP change", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.11", []string{"10.96.0.11"} }, []fe{{tInvalid, "spec.clusterIP"}}},
	})
	runUpdateCases(t, validNode, false, []mutCase[*corev1.Node]{
		{"taints change", func(n *corev1.Node) { n.Spec.Taints = nil }, nil},
		{"podCIDR change", func(n *corev1.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.9.0/24", []string{"10.244.9.0/24"} }, []fe{{tForbidden, "spec.podCIDRs"}}},
	})
	runUpdateCases(t, validNode, true, []mutCase[*corev1.Node]{
		{"bad address type", func(n *corev1.Node) { n.Status.Addresses[0].Type = "x" }, []fe{{tNotSupported, "status.addresses[0].type"}}},
	})
	immutableCM := func() *corev1.ConfigMap {
		c := validConfigMap()
		c.Immutable = ptrTo(true)
		return c
	}
	runUpdateCases(t, immutableCM, false, []mutCase[*corev1.ConfigMap]{
		{"data change", func(c *corev1.ConfigMap) { c.Data["LOG_LEVEL"] = "debug" }, []fe{{tForbidden, "data"}}},
		{"unset immutable", func(c *corev1.ConfigMap) { c.Immutable = nil }, []fe{{tForbidden, "immutable"}}},
	})
	runUpdateCases(t, validEndpointSlice, false, []mutCase[*discoveryv1.EndpointSlice]{
		{"endpoints change", func(e *discoveryv1.EndpointSlice) { e.Endpoints[0].Addresses[0] = "10.244.1.9" }, nil},
		{"addressType change", func(e *discoveryv1.EndpointSlice) {
			e.AddressType = discoveryv1.AddressTypeFQDN
			e.Endpoints[0].Addresses[0] = "web.example.com"
		}, []fe{{tInvalid, "addressType"}}},
	})
	runUpdateCases(t, validNamespace, true, []mutCase[*corev1.Namespace]{
		{"terminating without deletion", func(ns *corev1.Namespace) { ns.Status.Phase = corev1.NamespaceTerminating }, []fe{{tInvalid, "status.phase"}}},
		{"unknown phase", func(ns *corev1.Namespace) { ns.Status.Phase = "Gone" }, []fe{{tNotSupported, "status.phase"}}},
	})
}
