package registry

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	svmv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/reference/apiserver/validation"
)

// groupResources are the built-in groups beyond core, apps, coordination, discovery, rbac and
// the reviews: scheduling.k8s.io, policy, batch, node.k8s.io, certificates.k8s.io and
// flowcontrol.apiserver.k8s.io, with short names and categories as kube-apiserver lists them.
func groupResources() []*Resource {
	out := []*Resource{priorityClasses(), podDisruptionBudgets()}
	out = append(out, appsResources()...)
	out = append(out, batchResources()...)
	out = append(out, runtimeClasses())
	out = append(out, flowcontrolResources()...)
	out = append(out, certificateSigningRequests())
	out = append(out, storageVersionMigrations())
	return out
}

// storageVersionMigrations is storagemigration.k8s.io/v1 StorageVersionMigration (served; the
// migration controller is not run).
func storageVersionMigrations() *Resource {
	gv := svmv1.SchemeGroupVersion
	return &Resource{
		GroupVersionResource: gv.WithResource("storageversionmigrations"), Singular: "storageversionmigration",
		Kind: "StorageVersionMigration", ListKind: "StorageVersionMigrationList", Strategy: validation.StorageVersionMigrationKind(),
		Verbs: CRUDVerbs(), StatusSplit: true,
		New:          func() runtime.Object { return &svmv1.StorageVersionMigration{} },
		NewList:      func() runtime.Object { return &svmv1.StorageVersionMigrationList{} },
		Subresources: []Subresource{statusSub(gv.WithKind("StorageVersionMigration"))},
	}
}

func priorityClasses() *Resource {
	gv := schedulingv1.SchemeGroupVersion
	return &Resource{
		GroupVersionResource: gv.WithResource("priorityclasses"), Singular: "priorityclass",
		Kind: "PriorityClass", ListKind: "PriorityClassList", Strategy: validation.PriorityClassKind(),
		ShortNames: []string{"pc"}, Verbs: CRUDVerbs(),
		New: func() runtime.Object { return &schedulingv1.PriorityClass{} }, NewList: func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Bootstrap: func() []runtime.Object {
			var out []runtime.Object
			for _, pc := range validation.SystemPriorityClasses() {
				out = append(out, pc)
			}
			return out
		},
		DeleteForbidden: func(name string) string {
			if validation.IsSystemPriorityClass(name) {
				return "this is a system priority class and cannot be deleted"
			}
			return ""
		},
	}
}

func podDisruptionBudgets() *Resource {
	return &Resource{
		GroupVersionResource: policyV1.WithResource("poddisruptionbudgets"), Singular: "poddisruptionbudget", Namespaced: true,
		Kind: "PodDisruptionBudget", ListKind: "PodDisruptionBudgetList", TracksGeneration: true, Strategy: validation.PodDisruptionBudgetKind(),
		ShortNames: []string{"pdb"}, Verbs: CRUDVerbs(),
		Subresources: []Subresource{statusSub(policyV1.WithKind("PodDisruptionBudget"))},
		New:          func() runtime.Object { return &policyv1.PodDisruptionBudget{} }, NewList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		StatusSplit: true,
	}
}

// appsResources are apps/v1's StatefulSet (with scale), DaemonSet and ControllerRevision.
func appsResources() []*Resource {
	scaleSub := Subresource{Name: "scale", GroupVersionKind: autoscalingV1.WithKind("Scale"), Verbs: []string{"get", "patch", "update"}}
	return []*Resource{
		{
			GroupVersionResource: appsV1.WithResource("statefulsets"), Singular: "statefulset", Namespaced: true,
			Kind: "StatefulSet", ListKind: "StatefulSetList", TracksGeneration: true, Strategy: validation.StatefulSetKind(),
			ShortNames: []string{"sts"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{scaleSub, statusSub(appsV1.WithKind("StatefulSet"))},
			New:          func() runtime.Object { return &appsv1.StatefulSet{} }, NewList: func() runtime.Object { return &appsv1.StatefulSetList{} },
			StatusSplit: true,
			Scale: ReplicasScale(func(s *appsv1.StatefulSet) (*int32, int32, *metav1.LabelSelector) {
				return s.Spec.Replicas, s.Status.Replicas, s.Spec.Selector
			}, func(s *appsv1.StatefulSet, n int32) { s.Spec.Replicas = &n }),
		},
		{
			GroupVersionResource: appsV1.WithResource("daemonsets"), Singular: "daemonset", Namespaced: true,
			Kind: "DaemonSet", ListKind: "DaemonSetList", TracksGeneration: true, Strategy: validation.DaemonSetKind(),
			ShortNames: []string{"ds"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(appsV1.WithKind("DaemonSet"))},
			New:          func() runtime.Object { return &appsv1.DaemonSet{} }, NewList: func() runtime.Object { return &appsv1.DaemonSetList{} },
			StatusSplit: true,
		},
		{
			GroupVersionResource: appsV1.WithResource("controllerrevisions"), Singular: "controllerrevision", Namespaced: true,
			Kind: "ControllerRevision", ListKind: "ControllerRevisionList", Strategy: validation.ControllerRevisionKind(), Verbs: CRUDVerbs(),
			New: func() runtime.Object { return &appsv1.ControllerRevision{} }, NewList: func() runtime.Object { return &appsv1.ControllerRevisionList{} },
		},
	}
}

// batchResources are batch/v1's Job and CronJob (the job controller runs Jobs; no controller runs CronJobs yet).
func batchResources() []*Resource {
	gv := batchv1.SchemeGroupVersion
	return []*Resource{
		{
			GroupVersionResource: gv.WithResource("jobs"), Singular: "job", Namespaced: true,
			Kind: "Job", ListKind: "JobList", TracksGeneration: true, Strategy: validation.JobKind(),
			Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(gv.WithKind("Job"))},
			New:          func() runtime.Object { return &batchv1.Job{} }, NewList: func() runtime.Object { return &batchv1.JobList{} },
			StatusSplit: true,
			FieldLabels: []string{"status.successful"},
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
			},
		},
		{
			GroupVersionResource: gv.WithResource("cronjobs"), Singular: "cronjob", Namespaced: true,
			Kind: "CronJob", ListKind: "CronJobList", TracksGeneration: true, Strategy: validation.CronJobKind(),
			ShortNames: []string{"cj"}, Categories: []string{"all"}, Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(gv.WithKind("CronJob"))},
			New:          func() runtime.Object { return &batchv1.CronJob{} }, NewList: func() runtime.Object { return &batchv1.CronJobList{} },
			StatusSplit: true,
		},
	}
}

// runtimeClasses is node.k8s.io/v1 RuntimeClass.
func runtimeClasses() *Resource {
	gv := nodev1.SchemeGroupVersion
	return &Resource{
		GroupVersionResource: gv.WithResource("runtimeclasses"), Singular: "runtimeclass",
		Kind: "RuntimeClass", ListKind: "RuntimeClassList", Strategy: validation.RuntimeClassKind(), Verbs: CRUDVerbs(),
		New: func() runtime.Object { return &nodev1.RuntimeClass{} }, NewList: func() runtime.Object { return &nodev1.RuntimeClassList{} },
	}
}

// flowcontrolResources are flowcontrol.apiserver.k8s.io/v1's FlowSchema and
// PriorityLevelConfiguration, with the mandatory exempt and catch-all objects created at start.
func flowcontrolResources() []*Resource {
	gv := flowcontrolv1.SchemeGroupVersion
	return []*Resource{
		{
			GroupVersionResource: gv.WithResource("flowschemas"), Singular: "flowschema",
			Kind: "FlowSchema", ListKind: "FlowSchemaList", TracksGeneration: true, Strategy: validation.FlowSchemaKind(), Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(gv.WithKind("FlowSchema"))},
			New:          func() runtime.Object { return &flowcontrolv1.FlowSchema{} }, NewList: func() runtime.Object { return &flowcontrolv1.FlowSchemaList{} },
			StatusSplit: true,
			Bootstrap: func() []runtime.Object {
				var out []runtime.Object
				for _, fs := range validation.MandatoryFlowSchemas() {
					out = append(out, fs)
				}
				return out
			},
		},
		{
			GroupVersionResource: gv.WithResource("prioritylevelconfigurations"), Singular: "prioritylevelconfiguration",
			Kind: "PriorityLevelConfiguration", ListKind: "PriorityLevelConfigurationList", TracksGeneration: true, Strategy: validation.PriorityLevelConfigurationKind(), Verbs: CRUDVerbs(),
			Subresources: []Subresource{statusSub(gv.WithKind("PriorityLevelConfiguration"))},
			New:          func() runtime.Object { return &flowcontrolv1.PriorityLevelConfiguration{} }, NewList: func() runtime.Object { return &flowcontrolv1.PriorityLevelConfigurationList{} },
			StatusSplit: true,
			Bootstrap: func() []runtime.Object {
				var out []runtime.Object
				for _, pl := range validation.MandatoryPriorityLevelConfigurations() {
					out = append(out, pl)
				}
				return out
			},
		},
	}
}

// certificateSigningRequests is certificates.k8s.io/v1 CertificateSigningRequest with its
// status and approval subresources.
func certificateSigningRequests() *Resource {
	gv := certificatesv1.SchemeGroupVersion
	return &Resource{
		GroupVersionResource: gv.WithResource("certificatesigningrequests"), Singular: "certificatesigningrequest",
		Kind: "CertificateSigningRequest", ListKind: "CertificateSigningRequestList", Strategy: validation.CertificateSigningRequestKind(),
		ShortNames: []string{"csr"}, Verbs: CRUDVerbs(),
		Subresources: []Subresource{
			{Name: "approval", GroupVersionKind: gv.WithKind("CertificateSigningRequest"), Verbs: []string{"get", "patch", "update"}},
			statusSub(gv.WithKind("CertificateSigningRequest")),
		},
		New: func() runtime.Object { return &certificatesv1.CertificateSigningRequest{} }, NewList: func() runtime.Object { return &certificatesv1.CertificateSigningRequestList{} },
		StatusSplit: true,
		FieldLabels: []string{"spec.signerName"},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
		},
	}
}
