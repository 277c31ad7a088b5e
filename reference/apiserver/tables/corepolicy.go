package tables

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The columns of PodTemplate, ReplicationController, LimitRange and ResourceQuota, as
// kube-apiserver's printers (pkg/printers/internalversion) print them.

func corePolicyColumns(gk schema.GroupKind) ([]metav1.TableColumnDefinition, bool) {
	name, age := nameColumn(), ageColumn()
	switch gk {
	case schema.GroupKind{Kind: "PodTemplate"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Containers", "string", containersDoc),
			column("Images", "string", imagesDoc),
			column("Pod Labels", "string", "The labels for the pod template."),
		}, true
	case schema.GroupKind{Kind: "ReplicationController"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Desired", "integer", corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
			column("Current", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
			column("Ready", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
			age,
			wideColumn("Containers", "string", containersDoc),
			wideColumn("Images", "string", imagesDoc),
			wideColumn("Selector", "string", corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]),
		}, true
	case schema.GroupKind{Kind: "LimitRange"}:
		return []metav1.TableColumnDefinition{name, column("Created At", "date", metaDoc("creationTimestamp"))}, true
	case schema.GroupKind{Kind: "ResourceQuota"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
			column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
			age,
		}, true
	}
	return nil, false
}

func corePolicyCells(obj runtime.Object, now time.Time) ([]interface{}, bool) {
	switch o := obj.(type) {
	case *corev1.PodTemplate:
		names, images := containerCells(o.Template.Spec.Containers)
		return []interface{}{o.Name, names, images, labels.FormatLabels(o.Template.Labels)}, true
	case *corev1.ReplicationController:
		var names, images string
		if o.Spec.Template != nil {
			names, images = containerCells(o.Spec.Template.Spec.Containers)
		}
		return []interface{}{
			o.Name, replicas(o.Spec.Replicas), int64(o.Status.Replicas), int64(o.Status.ReadyReplicas),
			age(o.CreationTimestamp, now), names, images, labels.FormatLabels(o.Spec.Selector),
		}, true
	case *corev1.LimitRange:
		return []interface{}{o.Name, o.CreationTimestamp.UTC().Format(time.RFC3339)}, true
	case *corev1.ResourceQuota:
		request, limit := quotaColumns(o)
		return []interface{}{o.Name, request, limit, age(o.CreationTimestamp, now)}, true
	}
	return nil, false
}

// quotaColumns lists "name: used/hard" for every hard resource, limits.* under Limit and the
// rest under Request, sorted by name.
func quotaColumns(q *corev1.ResourceQuota) (string, string) {
	var names []string
	for n := range q.Status.Hard {
		names = append(names, string(n))
	}
	sort.Strings(names)
	var req, lim []string
	for _, n := range names {
		hard := q.Status.Hard[corev1.ResourceName(n)]
		used := q.Status.Used[corev1.ResourceName(n)]
		s := fmt.Sprintf("%s: %s/%s", n, used.String(), hard.String())
		if pieces := strings.Split(n, "."); len(pieces) > 1 && pieces[0] == "limits" {
			lim = append(lim, s)
		} else {
			req = append(req, s)
		}
	}
	return strings.Join(req, ", "), strings.Join(lim, ", ")
}
