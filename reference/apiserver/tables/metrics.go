package tables

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// metricsColumns are the columns of metrics.k8s.io's NodeMetrics and PodMetrics, as
// metrics-server prints them: name, CPU, memory and window.
func metricsColumns(gk schema.GroupKind) ([]metav1.TableColumnDefinition, bool) {
	if gk.Group != metricsv1beta1.GroupName || (gk.Kind != "NodeMetrics" && gk.Kind != "PodMetrics") {
		return nil, false
	}
	return []metav1.TableColumnDefinition{
		nameColumn(),
		column("CPU", "string", "CPU usage"),
		column("Memory", "string", "Memory usage"),
		column("Window", "string", "Interval the usage was measured over"),
	}, true
}

// metricsCells are the cells of a NodeMetrics or PodMetrics (a pod's usage is its
// containers' sum).
func metricsCells(obj runtime.Object, _ time.Time) ([]interface{}, bool) {
	q := func(l corev1.ResourceList, n corev1.ResourceName) string {
		v := l[n]
		return v.String()
	}
	switch o := obj.(type) {
	case *metricsv1beta1.NodeMetrics:
		return []interface{}{o.Name, q(o.Usage, corev1.ResourceCPU), q(o.Usage, corev1.ResourceMemory), o.Window.Duration.String()}, true
	case *metricsv1beta1.PodMetrics:
		cpu, mem := resource.Quantity{}, resource.Quantity{}
		for _, c := range o.Containers {
			cpu.Add(c.Usage[corev1.ResourceCPU])
			mem.Add(c.Usage[corev1.ResourceMemory])
		}
		return []interface{}{o.Name, cpu.String(), mem.String(), o.Window.Duration.String()}, true
	}
	return nil, false
}
