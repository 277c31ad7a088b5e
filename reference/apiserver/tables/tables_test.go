package tables

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }

func ptr[T any](v T) *T { return &v }

func objMeta(name string, created time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(created)}
}

func running(name string, ready bool, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, Ready: ready, RestartCount: restarts,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}}
}

func cells(t *testing.T, obj runtime.Object) []interface{} {
	t.Helper()
	rows, err := Rows([]runtime.Object{obj}, testNow)
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	if len(rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(rows))
	}
	return rows[0].Cells
}

func assertCells(t *testing.T, got, want []interface{}) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cells mismatch\n got: %#v\nwant: %#v", got, want)
	}
}

func TestPodCells(t *testing.T) {
	twoContainers := corev1.PodSpec{Containers: []corev1.Container{{Name: "a"}, {Name: "b"}}}
	oneContainer := corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}, NodeName: "node-1"}
	tests := []struct {
		name string
		pod  corev1.Pod
		want []interface{}
	}{
		{
			name: "running and ready, wide columns filled",
			pod: corev1.Pod{
				ObjectMeta: objMeta("web", 90*time.Second),
				Spec:       oneContainer,
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.5", PodIPs: []corev1.PodIP{{IP: "10.0.0.5"}},
					ContainerStatuses: []corev1.ContainerStatus{running("app", true, 0)}},
			},
			want: []interface{}{"web", "1/1", "Running", "0", "90s", "10.0.0.5", "node-1", "<none>", "<none>"},
		},
		{
			name: "one crashing container",
			pod: corev1.Pod{
				ObjectMeta: objMeta("crash", 10*time.Minute),
				Spec:       oneContainer,
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
					Name: "app", RestartCount: 5,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(2 * time.Minute)}},
				}}},
			},
			want: []interface{}{"crash", "0/1", "CrashLoopBackOff", "5 (2m ago)", "10m", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "pending and unscheduled",
			pod: corev1.Pod{
				ObjectMeta: objMeta("pending", 3*time.Hour+20*time.Minute),
				Spec:       twoContainers,
				Status:     corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "node-2"},
			},
			want: []interface{}{"pending", "0/2", "Pending", "0", "3h20m", "<none>", "<none>", "node-2", "<none>"},
		},
		{
			name: "completed",
			pod: corev1.Pod{
				ObjectMeta: objMeta("done", 49*time.Hour),
				Spec:       oneContainer,
				Status: corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
					Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}},
				}}},
			},
			want: []interface{}{"done", "0/1", "Completed", "0", "2d1h", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "terminated without reason shows exit code",
			pod: corev1.Pod{
				ObjectMeta: objMeta("exit", time.Minute),
				Spec:       oneContainer,
				Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
					Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}},
				}}},
			},
			want: []interface{}{"exit", "0/1", "ExitCode:3", "0", "60s", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "second of two init containers running",
			pod: corev1.Pod{
				ObjectMeta: objMeta("init", time.Minute),
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i1"}, {Name: "i2"}}, Containers: []corev1.Container{{Name: "app"}}},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "i1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}},
					running("i2", false, 0),
				}, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}},
			},
			want: []interface{}{"init", "0/1", "Init:1/2", "0", "60s", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "init container crash looping",
			pod: corev1.Pod{
				ObjectMeta: objMeta("initcrash", time.Minute),
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i1"}}, Containers: []corev1.Container{{Name: "app"}}},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{
					Name: "i1", RestartCount: 2,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(30 * time.Second)}},
				}}},
			},
			want: []interface{}{"initcrash", "0/1", "Init:CrashLoopBackOff", "2 (30s ago)", "60s", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "init container failed",
			pod: corev1.Pod{
				ObjectMeta: objMeta("initfail", time.Minute),
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i1"}}, Containers: []corev1.Container{{Name: "app"}}},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{
					Name: "i1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}},
				}}},
			},
			want: []interface{}{"initfail", "0/1", "Init:Error", "0", "60s", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "started sidecar counts as a ready container",
			pod: corev1.Pod{
				ObjectMeta: objMeta("sidecar", time.Minute),
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}},
					Containers:     []corev1.Container{{Name: "app"}},
				},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions:            []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
					InitContainerStatuses: []corev1.ContainerStatus{{Name: "proxy", Ready: true, Started: ptr(true), State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
					ContainerStatuses:     []corev1.ContainerStatus{running("app", true, 0)}},
			},
			want: []interface{}{"sidecar", "2/2", "Running", "0", "60s", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "terminating",
			pod: func() corev1.Pod {
				p := corev1.Pod{ObjectMeta: objMeta("bye", time.Hour), Spec: oneContainer,
					Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running("app", true, 0)}}}
				p.DeletionTimestamp = ptr(ago(0))
				return p
			}(),
			want: []interface{}{"bye", "1/1", "Terminating", "0", "60m", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "deleted on a lost node",
			pod: func() corev1.Pod {
				p := corev1.Pod{ObjectMeta: objMeta("lost", time.Hour), Spec: oneContainer,
					Status: corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost"}}
				p.DeletionTimestamp = ptr(ago(0))
				return p
			}(),
			want: []interface{}{"lost", "0/1", "Unknown", "0", "60m", "<none>", "node-1", "<none>", "<none>"},
		},
		{
			name: "scheduling gated with readiness gates",
			pod: corev1.Pod{
				ObjectMeta: objMeta("gated", time.Minute),
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}},
					ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "example.com/a"}, {ConditionType: "example.com/b"}}},
				Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
					{Type: "example.com/a", Status: corev1.ConditionTrue},
					{Type: "example.com/b", Status: corev1.ConditionFalse},
				}},
			},
			want: []interface{}{"gated", "0/1", "SchedulingGated", "0", "60s", "<none>", "<none>", "<none>", "1/2"},
		},
		{
			name: "restarts summed over containers, latest restart shown",
			pod: corev1.Pod{
				ObjectMeta: objMeta("multi", 2*time.Hour),
				Spec:       twoContainers,
				Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
					func() corev1.ContainerStatus {
						s := running("a", true, 1)
						s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(time.Hour)}
						return s
					}(),
					func() corev1.ContainerStatus {
						s := running("b", false, 2)
						s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(5 * time.Minute)}
						return s
					}(),
				}},
			},
			want: []interface{}{"multi", "1/2", "Running", "3 (5m ago)", "120m", "<none>", "<none>", "<none>", "<none>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, cells(t, &tc.pod), tc.want)
		})
	}
}

func TestPodRowConditions(t *testing.T) {
	rows, err := Rows([]runtime.Object{&corev1.Pod{ObjectMeta: objMeta("p", time.Minute), Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows[0].Conditions) != 1 || rows[0].Conditions[0].Type != metav1.RowCompleted || rows[0].Conditions[0].Status != metav1.ConditionTrue {
		t.Fatalf("succeeded pod row conditions = %#v, want Completed=True", rows[0].Conditions)
	}
}

func TestNodeCells(t *testing.T) {
	info := corev1.NodeSystemInfo{KubeletVersion: "v1.33.1", OSImage: "Ubuntu 24.04", KernelVersion: "6.8.0", ContainerRuntimeVersion: "containerd://2.1.0"}
	addrs := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}}
	tests := []struct {
		name string
		node corev1.Node
		want []interface{}
	}{
		{
			name: "ready, cordoned, two roles",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: ago(26 * time.Hour), Labels: map[string]string{
					"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "n1"}},
				Spec: corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{NodeInfo: info, Addresses: addrs, Conditions: []corev1.NodeCondition{
					{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
					{Type: corev1.NodeReady, Status: corev1.ConditionTrue},
				}},
			},
			want: []interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,worker", "26h", "v1.33.1", "192.168.1.10", "<none>", "Ubuntu 24.04", "6.8.0", "containerd://2.1.0"},
		},
		{
			name: "not ready, legacy role label",
			node: corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n2", CreationTimestamp: ago(5 * time.Minute), Labels: map[string]string{"kubernetes.io/role": "edge"}},
				Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "1.2.3.4"}},
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}},
			},
			want: []interface{}{"n2", "NotReady", "edge", "5m", "", "<none>", "1.2.3.4", "<unknown>", "<unknown>", "<unknown>"},
		},
		{
			name: "no conditions yet",
			node: corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3", CreationTimestamp: ago(time.Second)}},
			want: []interface{}{"n3", "Unknown", "<none>", "1s", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertCells(t, cells(t, &tc.node), tc.want) })
	}
}

func podTemplate(containers ...corev1.Container) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers}}
}

func TestWorkloadCells(t *testing.T) {
	tmpl := podTemplate(corev1.Container{Name: "nginx", Image: "nginx:1.27"}, corev1.Container{Name: "log", Image: "busybox"})
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{
			name: "deployment",
			obj: &appsv1.Deployment{ObjectMeta: objMeta("web", 7*time.Minute),
				Spec:   appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: sel, Template: tmpl},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}},
			want: []interface{}{"web", "2/3", int64(3), int64(2), "7m", "nginx,log", "nginx:1.27,busybox", "app=web"},
		},
		{
			name: "replicaset",
			obj: &appsv1.ReplicaSet{ObjectMeta: objMeta("web-abc", 7*time.Minute),
				Spec:   appsv1.ReplicaSetSpec{Replicas: ptr(int32(3)), Selector: sel, Template: tmpl},
				Status: appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}},
			want: []interface{}{"web-abc", int64(3), int64(3), int64(1), "7m", "nginx,log", "nginx:1.27,busybox", "app=web"},
		},
		{
			name: "statefulset",
			obj: &appsv1.StatefulSet{ObjectMeta: objMeta("db", time.Hour),
				Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(2)), Template: tmpl}, Status: appsv1.StatefulSetStatus{ReadyReplicas: 2}},
			want: []interface{}{"db", "2/2", "60m", "nginx,log", "nginx:1.27,busybox"},
		},
		{
			name: "daemonset",
			obj: &appsv1.DaemonSet{ObjectMeta: objMeta("agent", time.Hour),
				Spec: appsv1.DaemonSetSpec{Selector: sel, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/os": "linux"}, Containers: []corev1.Container{{Name: "a", Image: "img"}}}}},
				Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}},
			want: []interface{}{"agent", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "60m", "a", "img", "app=web"},
		},
		{
			name: "job running",
			obj: &batchv1.Job{ObjectMeta: objMeta("pi", 10*time.Minute),
				Spec:   batchv1.JobSpec{Completions: ptr(int32(1)), Selector: sel, Template: tmpl},
				Status: batchv1.JobStatus{StartTime: ptr(ago(4 * time.Minute))}},
			want: []interface{}{"pi", "Running", "0/1", "4m", "10m", "nginx,log", "nginx:1.27,busybox", "app=web"},
		},
		{
			name: "job complete",
			obj: &batchv1.Job{ObjectMeta: objMeta("pi", 10*time.Minute),
				Spec: batchv1.JobSpec{Completions: ptr(int32(1)), Template: tmpl},
				Status: batchv1.JobStatus{Succeeded: 1, StartTime: ptr(ago(9 * time.Minute)), CompletionTime: ptr(ago(8*time.Minute + 30*time.Second)),
					Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}},
			want: []interface{}{"pi", "Complete", "1/1", "30s", "10m", "nginx,log", "nginx:1.27,busybox", "<none>"},
		},
		{
			name: "cronjob",
			obj: &batchv1.CronJob{ObjectMeta: objMeta("nightly", 48*time.Hour),
				Spec:   batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: ptr(false), JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}},
				Status: batchv1.CronJobStatus{LastScheduleTime: ptr(ago(9 * time.Hour))}},
			want: []interface{}{"nightly", "0 3 * * *", "<none>", "False", int64(0), "9h", "2d", "nginx,log", "nginx:1.27,busybox", "<none>"},
		},
		{
			name: "controllerrevision",
			obj: &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "db-7c9", CreationTimestamp: ago(time.Hour),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: ptr(true)}}}, Revision: 2},
			want: []interface{}{"db-7c9", "statefulset.apps/db", int64(2), "60m"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertCells(t, cells(t, tc.obj), tc.want) })
	}
}

func TestNetworkingCells(t *testing.T) {
	tcp := corev1.ProtocolTCP
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{
			name: "clusterip service",
			obj: &corev1.Service{ObjectMeta: objMeta("kubernetes", 30*24*time.Hour),
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"},
					Ports: []corev1.ServicePort{{Port: 443, Protocol: tcp}}}},
			want: []interface{}{"kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "30d", "<none>"},
		},
		{
			name: "nodeport service with selector",
			obj: &corev1.Service{ObjectMeta: objMeta("web", time.Minute),
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.3.4"}, Selector: map[string]string{"tier": "fe", "app": "web"},
					Ports: []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: tcp}, {Port: 53, Protocol: corev1.ProtocolUDP}}}},
			want: []interface{}{"web", "NodePort", "10.96.3.4", "<none>", "80:30080/TCP,53/UDP", "60s", "app=web,tier=fe"},
		},
		{
			name: "loadbalancer pending",
			obj: &corev1.Service{ObjectMeta: objMeta("lb", time.Minute),
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.3.5"}, Ports: []corev1.ServicePort{{Port: 80, NodePort: 31000, Protocol: tcp}}}},
			want: []interface{}{"lb", "LoadBalancer", "10.96.3.5", "<pending>", "80:31000/TCP", "60s", "<none>"},
		},
		{
			name: "loadbalancer with ingress",
			obj: &corev1.Service{ObjectMeta: objMeta("lb", time.Minute),
				Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.3.5"}},
				Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "203.0.113.9"}}}}},
			want: []interface{}{"lb", "LoadBalancer", "10.96.3.5", "203.0.113.9", "<none>", "60s", "<none>"},
		},
		{
			name: "externalname",
			obj: &corev1.Service{ObjectMeta: objMeta("ext", time.Minute),
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}},
			want: []interface{}{"ext", "ExternalName", "<none>", "example.com", "<none>", "60s", "<none>"},
		},
		{
			name: "endpoints with more than three",
			obj: &corev1.Endpoints{ObjectMeta: objMeta("web", time.Minute), Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}},
				Ports:     []corev1.EndpointPort{{Port: 80}, {Port: 443}},
			}}},
			want: []interface{}{"web", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...", "60s"},
		},
		{
			name: "endpoints empty",
			obj:  &corev1.Endpoints{ObjectMeta: objMeta("none", time.Minute)},
			want: []interface{}{"none", "<none>", "60s"},
		},
		{
			name: "endpointslice",
			obj: &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-x1", time.Minute), AddressType: discoveryv1.AddressTypeIPv4,
				Ports:     []discoveryv1.EndpointPort{{Port: ptr(int32(80))}, {Name: ptr("metrics")}},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}}, {Addresses: []string{"10.0.0.3"}}, {Addresses: []string{"10.0.0.4"}}}},
			want: []interface{}{"web-x1", "IPv4", "80,metrics", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "60s"},
		},
		{
			name: "endpointslice empty",
			obj:  &discoveryv1.EndpointSlice{ObjectMeta: objMeta("web-x2", time.Minute), AddressType: discoveryv1.AddressTypeIPv4},
			want: []interface{}{"web-x2", "IPv4", "<unset>", "<unset>", "60s"},
		},
		{
			name: "ingress",
			obj: &networkingv1.Ingress{ObjectMeta: objMeta("ing", time.Minute), Spec: networkingv1.IngressSpec{
				IngressClassName: ptr("nginx"), Rules: []networkingv1.IngressRule{{Host: "a.example.com"}}, TLS: []networkingv1.IngressTLS{{}}}},
			want: []interface{}{"ing", "nginx", "a.example.com", "", "80, 443", "60s"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertCells(t, cells(t, tc.obj), tc.want) })
	}
}

func TestOtherCells(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{
			name: "core event",
			obj: &corev1.Event{ObjectMeta: objMeta("web.17a", 10*time.Minute), Type: "Warning", Reason: "BackOff",
				Message:        "Back-off restarting failed container\n",
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{app}"},
				Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
				FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(3 * time.Minute), Count: 7},
			want: []interface{}{"3m", "Warning", "BackOff", "pod/web", "spec.containers{app}", "kubelet, node-1", "Back-off restarting failed container", "10m", int64(7), "web.17a"},
		},
		{
			name: "events.k8s.io event without count",
			obj: &eventsv1.Event{ObjectMeta: objMeta("web.18b", time.Minute), Type: "Normal", Reason: "Scheduled",
				Note: "Successfully assigned default/web to node-1", Regarding: corev1.ObjectReference{Kind: "Pod", Name: "web"},
				ReportingController: "default-scheduler", EventTime: metav1.NewMicroTime(testNow.Add(-40 * time.Second))},
			want: []interface{}{"40s", "Normal", "Scheduled", "pod/web", "", "default-scheduler", "Successfully assigned default/web to node-1", "40s", int64(1), "web.18b"},
		},
		{
			name: "configmap counts data and binaryData",
			obj: &corev1.ConfigMap{ObjectMeta: objMeta("cfg", time.Minute), Data: map[string]string{"a": "1", "b": "2"},
				BinaryData: map[string][]byte{"c": {1}}},
			want: []interface{}{"cfg", int64(3), "60s"},
		},
		{
			name: "secret",
			obj:  &corev1.Secret{ObjectMeta: objMeta("tls", time.Minute), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			want: []interface{}{"tls", "kubernetes.io/tls", int64(2), "60s"},
		},
		{
			name: "namespace",
			obj:  &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", CreationTimestamp: ago(400 * 24 * time.Hour)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			want: []interface{}{"kube-system", "Active", "400d"},
		},
		{
			name: "lease",
			obj:  &coordinationv1.Lease{ObjectMeta: objMeta("node-1", time.Hour), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr("node-1")}},
			want: []interface{}{"node-1", "node-1", "60m"},
		},
		{
			name: "lease without holder",
			obj:  &coordinationv1.Lease{ObjectMeta: objMeta("free", time.Hour)},
			want: []interface{}{"free", "", "60m"},
		},
		{
			name: "serviceaccount",
			obj:  &corev1.ServiceAccount{ObjectMeta: objMeta("default", time.Hour)},
			want: []interface{}{"default", int64(0), "60m"},
		},
		{
			name: "pdb",
			obj: &policyv1.PodDisruptionBudget{ObjectMeta: objMeta("web", time.Hour),
				Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr(intstr.FromString("50%"))}, Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			want: []interface{}{"web", "50%", "N/A", int64(1), "60m"},
		},
		{
			name: "priorityclass",
			obj:  &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical", CreationTimestamp: ago(time.Hour)}, Value: 2000001000, PreemptionPolicy: ptr(corev1.PreemptLowerPriority)},
			want: []interface{}{"system-node-critical", int64(2000001000), false, "60m", "PreemptLowerPriority"},
		},
		{
			name: "default storageclass",
			obj: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard", CreationTimestamp: ago(time.Hour),
				Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "rancher.io/local-path"},
			want: []interface{}{"standard (default)", "rancher.io/local-path", "Delete", "Immediate", false, "60m"},
		},
		{
			name: "pvc bound",
			obj: &corev1.PersistentVolumeClaim{ObjectMeta: objMeta("data", time.Hour),
				Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1", StorageClassName: ptr("standard")},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
			want: []interface{}{"data", "Bound", "pv-1", "1Gi", "RWO", "standard", "<unset>", "60m", "<unset>"},
		},
		{
			name: "pv",
			obj: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1", CreationTimestamp: ago(time.Hour)},
				Spec: corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, StorageClassName: "standard",
					ClaimRef: &corev1.ObjectReference{Namespace: "default", Name: "data"}},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			want: []interface{}{"pv-1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "<unset>", "", "60m", "<unset>"},
		},
		{
			name: "rolebinding",
			obj: &rbacv1.RoleBinding{ObjectMeta: objMeta("rb", time.Hour), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}, {Kind: "ServiceAccount", Namespace: "ci", Name: "bot"}}},
			want: []interface{}{"rb", "ClusterRole/view", "60m", "alice", "", "ci/bot"},
		},
		{
			name: "runtimeclass",
			obj:  &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "runc", CreationTimestamp: ago(time.Hour)}, Handler: "runc"},
			want: []interface{}{"runc", "runc", "60m"},
		},
		{
			name: "unknown type gets name and age",
			obj:  &corev1.RangeAllocation{ObjectMeta: objMeta("limits", 3*time.Hour)},
			want: []interface{}{"limits", "3h"},
		},
		{
			name: "zero creation time",
			obj:  &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "new"}},
			want: []interface{}{"new", int64(0), "<unknown>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertCells(t, cells(t, tc.obj), tc.want) })
	}
}

// TestColumnsMatchCells checks, for every kind with its own columns, that a
// row has exactly one cell per column and that the column set is well formed.
func TestColumnsMatchCells(t *testing.T) {
	objs := map[schema.GroupVersionKind]runtime.Object{
		corev1.SchemeGroupVersion.WithKind("Pod"):                                    &corev1.Pod{},
		corev1.SchemeGroupVersion.WithKind("Node"):                                   &corev1.Node{},
		corev1.SchemeGroupVersion.WithKind("Namespace"):                              &corev1.Namespace{},
		corev1.SchemeGroupVersion.WithKind("Service"):                                &corev1.Service{},
		corev1.SchemeGroupVersion.WithKind("Endpoints"):                              &corev1.Endpoints{},
		corev1.SchemeGroupVersion.WithKind("Event"):                                  &corev1.Event{},
		eventsv1.SchemeGroupVersion.WithKind("Event"):                                &eventsv1.Event{},
		corev1.SchemeGroupVersion.WithKind("ConfigMap"):                              &corev1.ConfigMap{},
		corev1.SchemeGroupVersion.WithKind("Secret"):                                 &corev1.Secret{},
		corev1.SchemeGroupVersion.WithKind("ServiceAccount"):                         &corev1.ServiceAccount{},
		corev1.SchemeGroupVersion.WithKind("PersistentVolume"):                       &corev1.PersistentVolume{},
		corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"):                  &corev1.PersistentVolumeClaim{},
		appsv1.SchemeGroupVersion.WithKind("Deployment"):                             &appsv1.Deployment{},
		appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):                             &appsv1.ReplicaSet{},
		appsv1.SchemeGroupVersion.WithKind("StatefulSet"):                            &appsv1.StatefulSet{},
		appsv1.SchemeGroupVersion.WithKind("DaemonSet"):                              &appsv1.DaemonSet{},
		appsv1.SchemeGroupVersion.WithKind("ControllerRevision"):                     &appsv1.ControllerRevision{},
		batchv1.SchemeGroupVersion.WithKind("Job"):                                   &batchv1.Job{},
		batchv1.SchemeGroupVersion.WithKind("CronJob"):                               &batchv1.CronJob{},
		coordinationv1.SchemeGroupVersion.WithKind("Lease"):                          &coordinationv1.Lease{},
		discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"):                     &discoveryv1.EndpointSlice{},
		policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"):                  &policyv1.PodDisruptionBudget{},
		schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"):                    &schedulingv1.PriorityClass{},
		storagev1.SchemeGroupVersion.WithKind("StorageClass"):                        &storagev1.StorageClass{},
		networkingv1.SchemeGroupVersion.WithKind("Ingress"):                          &networkingv1.Ingress{},
		networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):                    &networkingv1.NetworkPolicy{},
		rbacv1.SchemeGroupVersion.WithKind("RoleBinding"):                            &rbacv1.RoleBinding{},
		rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"):                     &rbacv1.ClusterRoleBinding{},
		nodev1.SchemeGroupVersion.WithKind("RuntimeClass"):                           &nodev1.RuntimeClass{},
		corev1.SchemeGroupVersion.WithKind("LimitRange"):                             &corev1.LimitRange{},
		schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}: &corev1.Pod{},
	}
	for gvk, obj := range objs {
		t.Run(gvk.String(), func(t *testing.T) {
			table, err := Table(gvk, []runtime.Object{obj}, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(table.Rows[0].Cells), len(table.ColumnDefinitions); got != want {
				t.Fatalf("%d cells for %d columns", got, want)
			}
			names := 0
			for i, c := range table.ColumnDefinitions {
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
				if c.Format == "name" {
					names++
					if c.Name != "Name" {
						t.Errorf("column %q has format name", c.Name)
					}
					if gvk.Kind != "Event" && i != 0 {
						t.Errorf("Name column at %d, want first", i)
					}
				}
			}
			if names != 1 {
				t.Errorf("%d name columns, want 1", names)
			}
		})
	}
}

func TestWideColumnsHavePriority(t *testing.T) {
	tests := []struct {
		name string
		gvk  schema.GroupVersionKind
		want map[string]int32
	}{
		{"pod", corev1.SchemeGroupVersion.WithKind("Pod"), map[string]int32{"Name": 0, "Ready": 0, "Status": 0, "Restarts": 0, "Age": 0, "IP": 1, "Node": 1, "Nominated Node": 1, "Readiness Gates": 1}},
		{"deployment", appsv1.SchemeGroupVersion.WithKind("Deployment"), map[string]int32{"Name": 0, "Ready": 0, "Up-to-date": 0, "Available": 0, "Age": 0, "Containers": 1, "Images": 1, "Selector": 1}},
		{"node", corev1.SchemeGroupVersion.WithKind("Node"), map[string]int32{"Name": 0, "Status": 0, "Roles": 0, "Age": 0, "Version": 0, "Internal-IP": 1, "External-IP": 1, "OS-Image": 1, "Kernel-Version": 1, "Container-Runtime": 1}},
		{"service", corev1.SchemeGroupVersion.WithKind("Service"), map[string]int32{"Name": 0, "Type": 0, "Cluster-IP": 0, "External-IP": 0, "Port(s)": 0, "Age": 0, "Selector": 1}},
		{"event", corev1.SchemeGroupVersion.WithKind("Event"), map[string]int32{"Last Seen": 0, "Type": 0, "Reason": 0, "Object": 0, "Subobject": 1, "Source": 1, "Message": 0, "First Seen": 1, "Count": 1, "Name": 1}},
		{"unknown kind", schema.GroupVersionKind{Group: "x.io", Version: "v1", Kind: "Thing"}, map[string]int32{"Name": 0, "Age": 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int32{}
			for _, c := range ColumnDefinitions(tc.gvk) {
				got[c.Name] = c.Priority
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("columns %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTableJSON(t *testing.T) {
	podGVK := corev1.SchemeGroupVersion.WithKind("Pod")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", UID: "u1", ResourceVersion: "42",
		Labels: map[string]string{"app": "web"}, CreationTimestamp: ago(time.Minute)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}

	type rowObject struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
		Spec       *corev1.PodSpec   `json:"spec"`
	}
	tests := []struct {
		name          string
		include       string
		wantKind      string
		wantAPIVer    string
		wantSpec      bool
		wantNoObject  bool
		wantErrorType func(error) bool
	}{
		{name: "default embeds PartialObjectMetadata", include: "", wantKind: "PartialObjectMetadata", wantAPIVer: "meta.k8s.io/v1"},
		{name: "Metadata embeds PartialObjectMetadata", include: "Metadata", wantKind: "PartialObjectMetadata", wantAPIVer: "meta.k8s.io/v1"},
		{name: "Object embeds the full object", include: "Object", wantKind: "Pod", wantAPIVer: "v1", wantSpec: true},
		{name: "None embeds nothing", include: "None", wantNoObject: true},
		{name: "bad value", include: "Everything", wantErrorType: apierrors.IsBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := TableWithObjects(podGVK, []runtime.Object{pod}, testNow, tc.include)
			if tc.wantErrorType != nil {
				if !tc.wantErrorType(err) {
					t.Fatalf("err = %v, want classified error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(table)
			if err != nil {
				t.Fatal(err)
			}
			var decoded struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Rows       []struct {
					Cells  []interface{}   `json:"cells"`
					Object json.RawMessage `json:"object"`
				} `json:"rows"`
			}
			if err := json.Unmarshal(data, &decoded); err != nil {
				t.Fatal(err)
			}
			if decoded.APIVersion != "meta.k8s.io/v1" || decoded.Kind != "Table" {
				t.Fatalf("table type %s %s", decoded.APIVersion, decoded.Kind)
			}
			if len(decoded.Rows) != 1 || decoded.Rows[0].Cells[0] != "web" {
				t.Fatalf("rows = %s", data)
			}
			raw := decoded.Rows[0].Object
			if tc.wantNoObject {
				if len(raw) != 0 && string(raw) != "null" {
					t.Fatalf("object = %s, want none", raw)
				}
				return
			}
			var obj rowObject
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Fatalf("row object %s: %v", raw, err)
			}
			if obj.Kind != tc.wantKind || obj.APIVersion != tc.wantAPIVer {
				t.Errorf("row object is %s %s, want %s %s", obj.APIVersion, obj.Kind, tc.wantAPIVer, tc.wantKind)
			}
			if obj.Metadata.Namespace != "prod" || obj.Metadata.Name != "web" || obj.Metadata.Labels["app"] != "web" || obj.Metadata.ResourceVersion != "42" {
				t.Errorf("row object metadata = %+v", obj.Metadata)
			}
			if (obj.Spec != nil) != tc.wantSpec {
				t.Errorf("spec present = %v, want %v", obj.Spec != nil, tc.wantSpec)
			}
		})
	}
	if pod.Kind != "" {
		t.Errorf("input object mutated: kind %q", pod.Kind)
	}
}

func TestRowsInputs(t *testing.T) {
	t.Run("lists are expanded", func(t *testing.T) {
		list := &corev1.ConfigMapList{Items: []corev1.ConfigMap{{ObjectMeta: objMeta("a", time.Minute)}, {ObjectMeta: objMeta("b", time.Minute)}}}
		rows, err := Rows([]runtime.Object{list}, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Cells[0] != "a" || rows[1].Cells[0] != "b" {
			t.Fatalf("rows = %#v", rows)
		}
	})
	t.Run("unstructured built-in kinds get their columns", func(t *testing.T) {
		u := &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]interface{}{"name": "web", "namespace": "default", "creationTimestamp": testNow.Add(-time.Hour).Format(time.RFC3339)},
			"spec":     map[string]interface{}{"replicas": int64(2)},
			"status":   map[string]interface{}{"readyReplicas": int64(1), "updatedReplicas": int64(2), "availableReplicas": int64(1)},
		}}
		got := cells(t, u)
		want := []interface{}{"web", "1/2", int64(2), int64(1), "60m", "", "", ""}
		assertCells(t, got, want)
	})
	t.Run("empty input gives an empty row list", func(t *testing.T) {
		table, err := Table(corev1.SchemeGroupVersion.WithKind("Pod"), nil, testNow)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(table)
		var m map[string]interface{}
		_ = json.Unmarshal(data, &m)
		if rows, ok := m["rows"].([]interface{}); !ok || len(rows) != 0 {
			t.Fatalf("rows = %v, want []", m["rows"])
		}
	})
}
