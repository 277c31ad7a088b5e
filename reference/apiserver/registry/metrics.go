package registry

import (
	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// metricsResources are metrics.k8s.io/v1beta1's NodeMetrics and PodMetrics (what
// metrics-server serves and kubectl top reads): Computed, answered from the kubelets' usage at
// request time and never stored.
func metricsResources() []*Resource {
	gv := metricsv1beta1.SchemeGroupVersion
	verbs := func() []string { return []string{"get", "list"} }
	return []*Resource{
		{
			GroupVersionResource: gv.WithResource("nodes"), Singular: "node",
			Kind: "NodeMetrics", ListKind: "NodeMetricsList", Verbs: verbs(), Computed: true,
			New:     func() runtime.Object { return &metricsv1beta1.NodeMetrics{} },
			NewList: func() runtime.Object { return &metricsv1beta1.NodeMetricsList{} },
		},
		{
			GroupVersionResource: gv.WithResource("pods"), Singular: "pod", Namespaced: true,
			Kind: "PodMetrics", ListKind: "PodMetricsList", Verbs: verbs(), Computed: true,
			New:     func() runtime.Object { return &metricsv1beta1.PodMetrics{} },
			NewList: func() runtime.Object { return &metricsv1beta1.PodMetricsList{} },
		},
	}
}
