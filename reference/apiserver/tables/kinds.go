package tables

import (
	"fmt"
	"strings"
	"time"

	"github.com/clusterkit/clusterkit/reference/apiserver/versions"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// kindsColumns are the columns of autoscaling/v2 HorizontalPodAutoscaler, IngressClass,
// storage.k8s.io's CSIDriver, CSINode, VolumeAttachment, CSIStorageCapacity and
// VolumeAttributesClass, certificates.k8s.io's ClusterTrustBundle (kubectl's printers) and
// APIService (kube-aggregator's).
func kindsColumns(gk schema.GroupKind) ([]metav1.TableColumnDefinition, bool) {
	name, age := nameColumn(), ageColumn()
	switch gk {
	case schema.GroupKind{Group: autoscalingv2.GroupName, Kind: "HorizontalPodAutoscaler"}:
		spec, status := autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc(), autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("Reference", "string", spec["scaleTargetRef"]),
			column("Targets", "string", spec["metrics"]),
			column("MinPods", "string", spec["minReplicas"]),
			column("MaxPods", "string", spec["maxReplicas"]),
			column("Replicas", "string", status["currentReplicas"]),
			age,
		}, true
	case schema.GroupKind{Group: networkingv1.GroupName, Kind: "IngressClass"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Controller", "string", "Controller that is responsible for handling this class"),
			column("Parameters", "string", "A reference to a resource with additional parameters"),
			age,
		}, true
	case schema.GroupKind{Group: storagev1.GroupName, Kind: "CSIDriver"}:
		doc := storagev1.CSIDriverSpec{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("AttachRequired", "boolean", doc["attachRequired"]),
			column("PodInfoOnMount", "boolean", doc["podInfoOnMount"]),
			column("StorageCapacity", "boolean", doc["storageCapacity"]),
			column("TokenRequests", "string", doc["tokenRequests"]),
			column("RequiresRepublish", "boolean", doc["requiresRepublish"]),
			column("Modes", "string", doc["volumeLifecycleModes"]),
			age,
		}, true
	case schema.GroupKind{Group: storagev1.GroupName, Kind: "CSINode"}:
		return []metav1.TableColumnDefinition{name, column("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"), age}, true
	case schema.GroupKind{Group: storagev1.GroupName, Kind: "VolumeAttachment"}:
		return []metav1.TableColumnDefinition{
			name,
			{Name: "Attacher", Type: "string", Format: "name", Description: storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]},
			column("PV", "string", storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
			column("Node", "string", storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]),
			column("Attached", "boolean", storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]),
			age,
		}, true
	case schema.GroupKind{Group: storagev1.GroupName, Kind: "CSIStorageCapacity"}:
		doc := storagev1.CSIStorageCapacity{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{name, column("StorageClassName", "string", doc["storageClassName"]), column("Capacity", "string", doc["capacity"])}, true
	case schema.GroupKind{Group: storagev1.GroupName, Kind: "VolumeAttributesClass"}:
		return []metav1.TableColumnDefinition{name, column("DriverName", "string", storagev1.VolumeAttributesClass{}.SwaggerDoc()["driverName"]), age}, true
	case schema.GroupKind{Group: certificatesv1.GroupName, Kind: "ClusterTrustBundle"}:
		return []metav1.TableColumnDefinition{name, column("SignerName", "string", certificatesv1.ClusterTrustBundleSpec{}.SwaggerDoc()["signerName"])}, true
	case schema.GroupKind{Group: apiregistrationv1.GroupName, Kind: "APIService"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Service", "string", "The reference to the service that hosts this API endpoint."),
			column("Available", "string", "Whether this service is available."),
			age,
		}, true
	}
	return nil, false
}

// kindsCells computes the cells of those kinds.
func kindsCells(obj runtime.Object, now time.Time) ([]interface{}, bool) {
	if u, ok := obj.(*unstructured.Unstructured); ok && u.GroupVersionKind() == apiregistrationv1.SchemeGroupVersion.WithKind("APIService") {
		a := &apiregistrationv1.APIService{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, a) != nil {
			return nil, false
		}
		obj = a
	}
	if v1, ok := obj.(*autoscalingv1.HorizontalPodAutoscaler); ok {
		// The same columns as v2: the v1 object converted as the server stores it.
		v2, err := versions.HPAToV2(v1)
		if err != nil {
			return nil, false
		}
		obj = v2
	}
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		minPods := "<unset>"
		if o.Spec.MinReplicas != nil {
			minPods = fmt.Sprint(*o.Spec.MinReplicas)
		}
		ref := o.Spec.ScaleTargetRef.Kind + "/" + o.Spec.ScaleTargetRef.Name
		return []interface{}{o.Name, ref, hpaTargets(o.Spec.Metrics, o.Status.CurrentMetrics), minPods, int64(o.Spec.MaxReplicas), int64(o.Status.CurrentReplicas), age(o.CreationTimestamp, now)}, true
	case *networkingv1.IngressClass:
		name := o.Name
		if o.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
			name += " (default)"
		}
		params := none
		if p := o.Spec.Parameters; p != nil {
			params = p.Kind
			if p.APIGroup != nil {
				params += "." + *p.APIGroup
			}
			params += "/" + p.Name
		}
		return []interface{}{name, o.Spec.Controller, params, age(o.CreationTimestamp, now)}, true
	case *storagev1.CSIDriver:
		s := o.Spec
		modes := make([]string, 0, len(s.VolumeLifecycleModes))
		for _, m := range s.VolumeLifecycleModes {
			modes = append(modes, string(m))
		}
		modeCell := strings.Join(modes, ",")
		if modeCell == "" {
			modeCell = none
		}
		tokens := "<unset>"
		if s.TokenRequests != nil {
			var auds []string
			for _, t := range s.TokenRequests {
				auds = append(auds, t.Audience)
			}
			tokens = strings.Join(auds, ",")
		}
		return []interface{}{o.Name, boolOr(s.AttachRequired, true), boolOr(s.PodInfoOnMount, false), boolOr(s.StorageCapacity, false),
			tokens, boolOr(s.RequiresRepublish, false), modeCell, age(o.CreationTimestamp, now)}, true
	case *storagev1.CSINode:
		return []interface{}{o.Name, int64(len(o.Spec.Drivers)), age(o.CreationTimestamp, now)}, true
	case *storagev1.VolumeAttachment:
		pv := ""
		if o.Spec.Source.PersistentVolumeName != nil {
			pv = *o.Spec.Source.PersistentVolumeName
		}
		return []interface{}{o.Name, o.Spec.Attacher, pv, o.Spec.NodeName, o.Status.Attached, age(o.CreationTimestamp, now)}, true
	case *storagev1.CSIStorageCapacity:
		capacity := "<unset>"
		if o.Capacity != nil {
			capacity = o.Capacity.String()
		}
		return []interface{}{o.Name, o.StorageClassName, capacity}, true
	case *storagev1.VolumeAttributesClass:
		return []interface{}{o.Name, o.DriverName, age(o.CreationTimestamp, now)}, true
	case *certificatesv1.ClusterTrustBundle:
		signer := none
		if o.Spec.SignerName != "" {
			signer = o.Spec.SignerName
		}
		return []interface{}{o.Name, signer}, true
	case *apiregistrationv1.APIService:
		service := "Local"
		if s := o.Spec.Service; s != nil {
			service = s.Namespace + "/" + s.Name
		}
		status := string(apiregistrationv1.ConditionUnknown)
		for _, c := range o.Status.Conditions {
			if c.Type != apiregistrationv1.Available {
				continue
			}
			status = string(c.Status)
			if c.Status != apiregistrationv1.ConditionTrue && c.Reason != "" {
				status = fmt.Sprintf("%s (%s)", c.Status, c.Reason)
			}
		}
		return []interface{}{o.Name, service, status, age(o.CreationTimestamp, now)}, true
	}
	return nil, false
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// hpaTargets formats an HPA's metrics as current/target pairs (at most two, then "+ N
// more..."), as kubectl prints them.
func hpaTargets(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return none
	}
	var list []string
	for i, s := range specs {
		var st *autoscalingv2.MetricStatus
		if i < len(statuses) {
			st = &statuses[i]
		}
		cur := "<unknown>"
		switch s.Type {
		case autoscalingv2.ResourceMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
			name, target := "", autoscalingv2.MetricTarget{}
			var current *autoscalingv2.MetricValueStatus
			if s.Resource != nil {
				name, target = string(s.Resource.Name), s.Resource.Target
				if st != nil && st.Resource != nil {
					current = &st.Resource.Current
				}
			} else if s.ContainerResource != nil {
				name, target = string(s.ContainerResource.Name), s.ContainerResource.Target
				if st != nil && st.ContainerResource != nil {
					current = &st.ContainerResource.Current
				}
			}
			if target.AverageValue != nil {
				if current != nil && current.AverageValue != nil {
					cur = current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s: %s/%s", name, cur, target.AverageValue.String()))
				continue
			}
			if current != nil && current.AverageUtilization != nil {
				cur = fmt.Sprintf("%d%%", *current.AverageUtilization)
			}
			want := "<auto>"
			if target.AverageUtilization != nil {
				want = fmt.Sprintf("%d%%", *target.AverageUtilization)
			}
			list = append(list, fmt.Sprintf("%s: %s/%s", name, cur, want))
		case autoscalingv2.PodsMetricSourceType:
			if st != nil && st.Pods != nil && st.Pods.Current.AverageValue != nil {
				cur = st.Pods.Current.AverageValue.String()
			}
			want := ""
			if s.Pods != nil && s.Pods.Target.AverageValue != nil {
				want = s.Pods.Target.AverageValue.String()
			}
			list = append(list, cur+"/"+want)
		case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType:
			var target autoscalingv2.MetricTarget
			var current *autoscalingv2.MetricValueStatus
			if s.Object != nil {
				target = s.Object.Target
				if st != nil && st.Object != nil {
					current = &st.Object.Current
				}
			} else if s.External != nil {
				target = s.External.Target
				if st != nil && st.External != nil {
					current = &st.External.Current
				}
			}
			if target.AverageValue != nil {
				if current != nil && current.AverageValue != nil {
					cur = current.AverageValue.String()
				}
				list = append(list, fmt.Sprintf("%s/%s (avg)", cur, target.AverageValue.String()))
				continue
			}
			if current != nil && current.Value != nil {
				cur = current.Value.String()
			}
			want := ""
			if target.Value != nil {
				want = target.Value.String()
			}
			list = append(list, cur+"/"+want)
		default:
			list = append(list, "<unknown type>")
		}
	}
	if len(list) > 2 {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:2], ", "), len(list)-2)
	}
	return strings.Join(list, ", ")
}
