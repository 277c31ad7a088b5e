package versions

import (
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func q(s string) *resource.Quantity { v := resource.MustParse(s); return &v }

// TestHPARoundTripsThroughV1 converts v2 autoscalers with every metric source, current metrics,
// conditions and a behaviour to v1 and back: nothing may be lost but the order of the metrics
// (v1 puts the cpu utilization target last, as upstream does).
func TestHPARoundTripsThroughV1(t *testing.T) {
	full := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "ns", Annotations: map[string]string{"keep": "me"}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To(int32(2)), MaxReplicas: 9,
			Metrics: []autoscalingv2.MetricSpec{
				{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
					DescribedObject: autoscalingv2.CrossVersionObjectReference{Kind: "Ingress", Name: "main", APIVersion: "networking.k8s.io/v1"},
					Metric:          autoscalingv2.MetricIdentifier{Name: "hits", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}},
					Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: q("10k")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("5")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("1Gi")}}},
				{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
					Name: corev1.ResourceCPU, Container: "app", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(60))}}},
				{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: q("30")}}},
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(75))}}},
			},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{
				SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
				Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}},
			}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: ptr.To(int64(3)), CurrentReplicas: 3, DesiredReplicas: 4,
			CurrentMetrics: []autoscalingv2.MetricStatus{
				{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
					Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To(int32(81)), AverageValue: q("200m")}}},
				{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "qps"}, Current: autoscalingv2.MetricValueStatus{AverageValue: q("7")}}},
			},
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"}},
		},
	}
	v1, err := HPAToV1(full)
	if err != nil {
		t.Fatal(err)
	}
	if got := ptr.Deref(v1.Spec.TargetCPUUtilizationPercentage, 0); got != 75 {
		t.Errorf("targetCPUUtilizationPercentage = %d, want 75 (the cpu Resource metric's utilization)", got)
	}
	if got := ptr.Deref(v1.Status.CurrentCPUUtilizationPercentage, 0); got != 81 {
		t.Errorf("currentCPUUtilizationPercentage = %d, want 81", got)
	}
	for _, k := range []string{MetricSpecsAnnotation, MetricStatusesAnnotation, ConditionsAnnotation, BehaviorSpecsAnnotation, "keep"} {
		if _, ok := v1.Annotations[k]; !ok {
			t.Errorf("v1 annotations lack %s: %v", k, v1.Annotations)
		}
	}
	back, err := HPAToV2(v1)
	if err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(back.ObjectMeta, full.ObjectMeta) {
		t.Errorf("metadata after the round trip = %+v, want %+v", back.ObjectMeta, full.ObjectMeta)
	}
	if !apiequality.Semantic.DeepEqual(back.Status, full.Status) {
		t.Errorf("status after the round trip = %+v\nwant %+v", back.Status, full.Status)
	}
	if !apiequality.Semantic.DeepEqual(back.Spec.Behavior, full.Spec.Behavior) {
		t.Errorf("behavior after the round trip = %+v", back.Spec.Behavior)
	}
	if len(back.Spec.Metrics) != len(full.Spec.Metrics) {
		t.Fatalf("metrics after the round trip: %d, want %d", len(back.Spec.Metrics), len(full.Spec.Metrics))
	}
	for _, m := range full.Spec.Metrics {
		found := false
		for _, b := range back.Spec.Metrics {
			if apiequality.Semantic.DeepEqual(m, b) {
				found = true
			}
		}
		if !found {
			t.Errorf("metric %+v lost in the round trip: %+v", m, back.Spec.Metrics)
		}
	}
}

// TestHPAV1WithoutTargetGetsDefaultCPU: a v1 autoscaler naming no metric is stored with the
// 80% cpu utilization target, as upstream's conversion applies it.
func TestHPAV1WithoutTargetGetsDefaultCPU(t *testing.T) {
	v2, err := HPAToV2(&autoscalingv1.HorizontalPodAutoscaler{Spec: autoscalingv1.HorizontalPodAutoscalerSpec{MaxReplicas: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v2.Spec.Metrics) != 1 || v2.Spec.Metrics[0].Resource == nil || ptr.Deref(v2.Spec.Metrics[0].Resource.Target.AverageUtilization, 0) != DefaultCPUUtilization {
		t.Errorf("metrics = %+v, want one cpu utilization target of 80", v2.Spec.Metrics)
	}
	if _, err := HPAToV2(&autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{MetricSpecsAnnotation: "{"}}}); err == nil {
		t.Error("a malformed metrics annotation converted without error")
	}
}
