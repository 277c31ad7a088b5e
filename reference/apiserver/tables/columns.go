package tables

import (
	"fmt"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func metaDoc(field string) string { return metav1.ObjectMeta{}.SwaggerDoc()[field] }

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: metaDoc("name")}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: metaDoc("creationTimestamp")}
}

func column(name, typ, desc string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc}
}

func wideColumn(name, typ, desc string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc, Priority: 1}
}

const (
	containersDoc = "Names of each container in the template."
	imagesDoc     = "Images referenced by each container in the template."
)

// kindColumns returns the dedicated column set of a kind, by group and kind
// (all served versions of a kind print alike).
func kindColumns(gk schema.GroupKind) ([]metav1.TableColumnDefinition, bool) {
	if cols, ok := admissionColumns(gk); ok {
		return cols, true
	}
	if cols, ok := corePolicyColumns(gk); ok {
		return cols, true
	}
	if cols, ok := metricsColumns(gk); ok {
		return cols, true
	}
	name, age := nameColumn(), ageColumn()
	switch gk {
	case schema.GroupKind{Kind: "Pod"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
			column("Status", "string", "The aggregate status of the containers in this pod."),
			column("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
			age,
			wideColumn("IP", "string", corev1.PodStatus{}.SwaggerDoc()["podIP"]),
			wideColumn("Node", "string", corev1.PodSpec{}.SwaggerDoc()["nodeName"]),
			wideColumn("Nominated Node", "string", corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]),
			wideColumn("Readiness Gates", "string", corev1.PodSpec{}.SwaggerDoc()["readinessGates"]),
		}, true
	case schema.GroupKind{Kind: "Node"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Status", "string", "The status of the node"),
			column("Roles", "string", "The roles of the node"),
			age,
			column("Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
			wideColumn("Internal-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
			wideColumn("External-IP", "string", corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
			wideColumn("OS-Image", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]),
			wideColumn("Kernel-Version", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]),
			wideColumn("Container-Runtime", "string", corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]),
		}, true
	case schema.GroupKind{Kind: "Namespace"}:
		return []metav1.TableColumnDefinition{name, column("Status", "string", "The status of the namespace"), age}, true
	case schema.GroupKind{Kind: "Service"}:
		doc := corev1.ServiceSpec{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Type", "string", doc["type"]),
			column("Cluster-IP", "string", doc["clusterIP"]),
			column("External-IP", "string", doc["externalIPs"]),
			column("Port(s)", "string", doc["ports"]),
			age,
			wideColumn("Selector", "string", doc["selector"]),
		}, true
	case schema.GroupKind{Kind: "Endpoints"}:
		return []metav1.TableColumnDefinition{name, column("Endpoints", "string", corev1.Endpoints{}.SwaggerDoc()["subsets"]), age}, true
	case schema.GroupKind{Kind: "Event"}, schema.GroupKind{Group: eventsv1.GroupName, Kind: "Event"}:
		doc := corev1.Event{}.SwaggerDoc()
		n := nameColumn()
		n.Priority = 1
		return []metav1.TableColumnDefinition{
			column("Last Seen", "string", doc["lastTimestamp"]),
			column("Type", "string", doc["type"]),
			column("Reason", "string", doc["reason"]),
			column("Object", "string", doc["involvedObject"]),
			wideColumn("Subobject", "string", corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
			wideColumn("Source", "string", doc["source"]),
			column("Message", "string", doc["message"]),
			wideColumn("First Seen", "string", doc["firstTimestamp"]),
			wideColumn("Count", "string", doc["count"]),
			n,
		}, true
	case schema.GroupKind{Kind: "ConfigMap"}:
		return []metav1.TableColumnDefinition{name, column("Data", "string", corev1.ConfigMap{}.SwaggerDoc()["data"]), age}, true
	case schema.GroupKind{Kind: "Secret"}:
		doc := corev1.Secret{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{name, column("Type", "string", doc["type"]), column("Data", "string", doc["data"]), age}, true
	case schema.GroupKind{Kind: "ServiceAccount"}:
		return []metav1.TableColumnDefinition{name, column("Secrets", "string", corev1.ServiceAccount{}.SwaggerDoc()["secrets"]), age}, true
	case schema.GroupKind{Kind: "PersistentVolume"}:
		doc := corev1.PersistentVolumeSpec{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Capacity", "string", doc["capacity"]),
			column("Access Modes", "string", doc["accessModes"]),
			column("Reclaim Policy", "string", doc["persistentVolumeReclaimPolicy"]),
			column("Status", "string", corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
			column("Claim", "string", doc["claimRef"]),
			column("StorageClass", "string", "StorageClass of the pv"),
			column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
			column("Reason", "string", corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
			age,
			wideColumn("VolumeMode", "string", doc["volumeMode"]),
		}, true
	case schema.GroupKind{Kind: "PersistentVolumeClaim"}:
		status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Status", "string", status["phase"]),
			column("Volume", "string", corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"]),
			column("Capacity", "string", status["capacity"]),
			column("Access Modes", "string", status["accessModes"]),
			column("StorageClass", "string", "StorageClass of the pvc"),
			column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
			age,
			wideColumn("VolumeMode", "string", corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"]),
		}, true
	case schema.GroupKind{Group: appsv1.GroupName, Kind: "Deployment"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Ready", "string", "Number of the pod with ready state"),
			column("Up-to-date", "string", appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
			column("Available", "string", appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
			wideColumn("Selector", "string", appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]),
		}, true
	case schema.GroupKind{Group: appsv1.GroupName, Kind: "ReplicaSet"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Desired", "integer", appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
			column("Current", "integer", appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
			column("Ready", "integer", appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
			wideColumn("Selector", "string", appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
		}, true
	case schema.GroupKind{Group: appsv1.GroupName, Kind: "StatefulSet"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Ready", "string", "Number of the pod with ready state"),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
		}, true
	case schema.GroupKind{Group: appsv1.GroupName, Kind: "DaemonSet"}:
		status := appsv1.DaemonSetStatus{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Desired", "integer", status["desiredNumberScheduled"]),
			column("Current", "integer", status["currentNumberScheduled"]),
			column("Ready", "integer", status["numberReady"]),
			column("Up-to-date", "integer", status["updatedNumberScheduled"]),
			column("Available", "integer", status["numberAvailable"]),
			column("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
			wideColumn("Selector", "string", appsv1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
		}, true
	case schema.GroupKind{Group: appsv1.GroupName, Kind: "ControllerRevision"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Controller", "string", "Controller of the object"),
			column("Revision", "string", appsv1.ControllerRevision{}.SwaggerDoc()["revision"]),
			age,
		}, true
	case schema.GroupKind{Group: batchv1.GroupName, Kind: "Job"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Status", "string", "Status of the job."),
			column("Completions", "string", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
			column("Duration", "string", "Time required to complete the job."),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
			wideColumn("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"]),
		}, true
	case schema.GroupKind{Group: batchv1.GroupName, Kind: "CronJob"}:
		spec := batchv1.CronJobSpec{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Schedule", "string", spec["schedule"]),
			column("Timezone", "string", spec["timeZone"]),
			column("Suspend", "boolean", spec["suspend"]),
			column("Active", "integer", batchv1.CronJobStatus{}.SwaggerDoc()["active"]),
			column("Last Schedule", "string", batchv1.CronJobStatus{}.SwaggerDoc()["lastScheduleTime"]),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
			wideColumn("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"]),
		}, true
	case schema.GroupKind{Group: coordinationv1.GroupName, Kind: "Lease"}:
		return []metav1.TableColumnDefinition{name, column("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]), age}, true
	case schema.GroupKind{Group: discoveryv1.GroupName, Kind: "EndpointSlice"}:
		doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("AddressType", "string", doc["addressType"]),
			column("Ports", "string", doc["ports"]),
			column("Endpoints", "string", doc["endpoints"]),
			age,
		}, true
	case schema.GroupKind{Group: policyv1.GroupName, Kind: "PodDisruptionBudget"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Min Available", "string", "The minimum number of pods that must be available."),
			column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
			column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
			age,
		}, true
	case schema.GroupKind{Group: schedulingv1.GroupName, Kind: "PriorityClass"}:
		doc := schedulingv1.PriorityClass{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Value", "integer", doc["value"]),
			column("Global-Default", "boolean", doc["globalDefault"]),
			age,
			column("PreemptionPolicy", "string", doc["preemptionPolicy"]),
		}, true
	case schema.GroupKind{Group: storagev1.GroupName, Kind: "StorageClass"}:
		doc := storagev1.StorageClass{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Provisioner", "string", doc["provisioner"]),
			column("ReclaimPolicy", "string", doc["reclaimPolicy"]),
			column("VolumeBindingMode", "string", doc["volumeBindingMode"]),
			column("AllowVolumeExpansion", "string", doc["allowVolumeExpansion"]),
			age,
		}, true
	case schema.GroupKind{Group: networkingv1.GroupName, Kind: "Ingress"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
			column("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
			column("Address", "string", "Address is a list containing ingress points for the load-balancer"),
			column("Ports", "string", "Ports of TLS configurations that open"),
			age,
		}, true
	case schema.GroupKind{Group: networkingv1.GroupName, Kind: "NetworkPolicy"}:
		return []metav1.TableColumnDefinition{name, column("Pod-Selector", "string", networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]), age}, true
	case schema.GroupKind{Group: rbacv1.GroupName, Kind: "RoleBinding"}, schema.GroupKind{Group: rbacv1.GroupName, Kind: "ClusterRoleBinding"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Role", "string", rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
			age,
			wideColumn("Users", "string", "Users in the roleBinding"),
			wideColumn("Groups", "string", "Groups in the roleBinding"),
			wideColumn("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
		}, true
	case schema.GroupKind{Group: rbacv1.GroupName, Kind: "Role"}, schema.GroupKind{Group: rbacv1.GroupName, Kind: "ClusterRole"}:
		// kube-apiserver's default table: the creation time as a date, not an age.
		return []metav1.TableColumnDefinition{
			name,
			{Name: "Created At", Type: "date", Description: metaDoc("creationTimestamp")},
		}, true
	case schema.GroupKind{Group: nodev1.GroupName, Kind: "RuntimeClass"}:
		return []metav1.TableColumnDefinition{name, column("Handler", "string", nodev1.RuntimeClass{}.SwaggerDoc()["handler"]), age}, true
	}
	if cols, ok := kindsColumns(gk); ok {
		return cols, true
	}
	return groupColumns(gk)
}

// printRow computes the cells of one object by its Go type; types without a
// dedicated printer get NAME and AGE.
func printRow(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
	var cells []interface{}
	var conditions []metav1.TableRowCondition
	if cells, ok := corePolicyCells(obj, now); ok {
		return metav1.TableRow{Cells: cells}, nil
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		cells, conditions = podCells(o, now)
	case *corev1.Node:
		cells = nodeCells(o, now)
	case *corev1.Namespace:
		cells = []interface{}{o.Name, string(o.Status.Phase), age(o.CreationTimestamp, now)}
	case *corev1.Service:
		cells = serviceCells(o, now)
	case *corev1.Endpoints:
		cells = []interface{}{o.Name, formatEndpoints(o), age(o.CreationTimestamp, now)}
	case *corev1.Event:
		cells = coreEventCells(o, now)
	case *eventsv1.Event:
		cells = eventsEventCells(o, now)
	case *corev1.ConfigMap:
		cells = []interface{}{o.Name, int64(len(o.Data) + len(o.BinaryData)), age(o.CreationTimestamp, now)}
	case *corev1.Secret:
		cells = []interface{}{o.Name, string(o.Type), int64(len(o.Data)), age(o.CreationTimestamp, now)}
	case *corev1.ServiceAccount:
		cells = []interface{}{o.Name, int64(len(o.Secrets)), age(o.CreationTimestamp, now)}
	case *corev1.PersistentVolume:
		cells = persistentVolumeCells(o, now)
	case *corev1.PersistentVolumeClaim:
		cells = persistentVolumeClaimCells(o, now)
	case *appsv1.Deployment:
		cells = deploymentCells(o, now)
	case *appsv1.ReplicaSet:
		cells = replicaSetCells(o, now)
	case *appsv1.StatefulSet:
		cells = statefulSetCells(o, now)
	case *appsv1.DaemonSet:
		cells = daemonSetCells(o, now)
	case *appsv1.ControllerRevision:
		cells = controllerRevisionCells(o, now)
	case *batchv1.Job:
		cells = jobCells(o, now)
	case *batchv1.CronJob:
		cells = cronJobCells(o, now)
	case *coordinationv1.Lease:
		holder := ""
		if o.Spec.HolderIdentity != nil {
			holder = *o.Spec.HolderIdentity
		}
		cells = []interface{}{o.Name, holder, age(o.CreationTimestamp, now)}
	case *discoveryv1.EndpointSlice:
		cells = []interface{}{o.Name, string(o.AddressType), formatSlicePorts(o.Ports), formatSliceEndpoints(o.Endpoints), age(o.CreationTimestamp, now)}
	case *policyv1.PodDisruptionBudget:
		cells = podDisruptionBudgetCells(o, now)
	case *schedulingv1.PriorityClass:
		cells = priorityClassCells(o, now)
	case *storagev1.StorageClass:
		cells = storageClassCells(o, now)
	case *networkingv1.Ingress:
		cells = ingressCells(o, now)
	case *networkingv1.NetworkPolicy:
		cells = []interface{}{o.Name, metav1.FormatLabelSelector(&o.Spec.PodSelector), age(o.CreationTimestamp, now)}
	case *rbacv1.RoleBinding:
		cells = bindingCells(o.ObjectMeta, o.RoleRef, o.Subjects, now)
	case *rbacv1.ClusterRoleBinding:
		cells = bindingCells(o.ObjectMeta, o.RoleRef, o.Subjects, now)
	case *rbacv1.Role:
		cells = []interface{}{o.Name, o.CreationTimestamp.UTC().Format(time.RFC3339)}
	case *rbacv1.ClusterRole:
		cells = []interface{}{o.Name, o.CreationTimestamp.UTC().Format(time.RFC3339)}
	case *nodev1.RuntimeClass:
		cells = []interface{}{o.Name, o.Handler, age(o.CreationTimestamp, now)}
	default:
		if cells, ok := groupCells(obj, now); ok {
			return metav1.TableRow{Cells: cells}, nil
		}
		if c, ok := admissionCells(obj, now); ok {
			return metav1.TableRow{Cells: c}, nil
		}
		if c, ok := kindsCells(obj, now); ok {
			return metav1.TableRow{Cells: c}, nil
		}
		if c, ok := metricsCells(obj, now); ok {
			return metav1.TableRow{Cells: c}, nil
		}
		return defaultRow(obj, now)
	}
	if cells == nil {
		return metav1.TableRow{}, fmt.Errorf("no cells for %T", obj)
	}
	return metav1.TableRow{Cells: cells, Conditions: conditions}, nil
}
