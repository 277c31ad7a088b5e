package validation

import (
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- autoscaling/v2 HorizontalPodAutoscaler ----

const (
	// maxStabilizationWindowSeconds and maxPeriodSeconds bound an HPA's scaling rules.
	maxStabilizationWindowSeconds int32 = 3600
	maxPeriodSeconds              int32 = 1800
	defaultCPUUtilization         int32 = 80
)

// HorizontalPodAutoscalerKind is the strategy of autoscaling/v2 HorizontalPodAutoscaler
// (status split): minReplicas defaults to 1, metrics to 80% CPU utilization, a behavior's
// missing rules to the default scale-up and scale-down rules.
func HorizontalPodAutoscalerKind() *Kind[*autoscalingv2.HorizontalPodAutoscaler] {
	return &Kind[*autoscalingv2.HorizontalPodAutoscaler]{
		Defaults: defaultHPA,
		Create:   validateHPASpec,
		Status: func(n, _ *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
			var errs field.ErrorList
			sp := field.NewPath("status")
			if n.Status.CurrentReplicas < 0 {
				errs = append(errs, field.Invalid(sp.Child("currentReplicas"), n.Status.CurrentReplicas, "must be greater than or equal to 0"))
			}
			if n.Status.DesiredReplicas < 0 {
				errs = append(errs, field.Invalid(sp.Child("desiredReplicas"), n.Status.DesiredReplicas, "must be greater than or equal to 0"))
			}
			return errs
		},
		PrepareCreate: func(h *autoscalingv2.HorizontalPodAutoscaler) {
			h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
		},
		PrepareUpdate: func(n, o *autoscalingv2.HorizontalPodAutoscaler) { n.Status = o.Status },
		PrepareStatus: func(n, o *autoscalingv2.HorizontalPodAutoscaler) { n.Spec = o.Spec },
	}
}

func defaultHPA(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		h.Spec.MinReplicas = ptrTo(int32(1))
	}
	if len(h.Spec.Metrics) == 0 {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
				Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptrTo(defaultCPUUtilization),
			}},
		}}
	}
	if b := h.Spec.Behavior; b != nil {
		maxPolicy := autoscalingv2.MaxChangePolicySelect
		b.ScaleUp = mergeScalingRules(b.ScaleUp, &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptrTo(int32(0)), SelectPolicy: &maxPolicy,
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
			},
		})
		b.ScaleDown = mergeScalingRules(b.ScaleDown, &autoscalingv2.HPAScalingRules{
			SelectPolicy: &maxPolicy,
			Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
		})
	}
}

// mergeScalingRules returns def with the fields from set.
func mergeScalingRules(from, def *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return def
	}
	if from.SelectPolicy != nil {
		def.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		def.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		def.Policies = from.Policies
	}
	if from.Tolerance != nil {
		def.Tolerance = from.Tolerance
	}
	return def
}

func validateHPASpec(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	sp := field.NewPath("spec")
	s := &h.Spec
	var errs field.ErrorList
	if s.MinReplicas != nil && *s.MinReplicas < 1 {
		errs = append(errs, field.Invalid(sp.Child("minReplicas"), *s.MinReplicas, "must be greater than or equal to 1"))
	}
	switch {
	case s.MaxReplicas == 0:
		errs = append(errs, field.Required(sp.Child("maxReplicas"), "must be set and greater than 0"))
	case s.MaxReplicas < 0:
		errs = append(errs, field.Invalid(sp.Child("maxReplicas"), s.MaxReplicas, "must be greater than or equal to 1"))
	}
	if s.MinReplicas != nil && s.MaxReplicas < *s.MinReplicas {
		errs = append(errs, field.Invalid(sp.Child("maxReplicas"), s.MaxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	ref := s.ScaleTargetRef
	errs = append(errs, validateCrossVersionRef(ref.APIVersion, ref.Kind, ref.Name, ref.Kind == "ReplicationController", sp.Child("scaleTargetRef"))...)
	for i := range s.Metrics {
		errs = append(errs, validateMetricSpec(&s.Metrics[i], sp.Child("metrics").Index(i))...)
	}
	if b := s.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, sp.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, sp.Child("behavior", "scaleDown"))...)
	}
	return errs
}

func validateCrossVersionRef(apiVersion, kind, name string, allowEmptyGroup bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else {
		errs = append(errs, invalidMsgs(p.Child("kind"), kind, content.IsPathSegmentName(kind))...)
	}
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		errs = append(errs, invalidMsgs(p.Child("name"), name, content.IsPathSegmentName(name))...)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	switch {
	case err != nil:
		errs = append(errs, field.Invalid(p.Child("apiVersion"), apiVersion, err.Error()))
	case !allowEmptyGroup && gv.Group == "":
		errs = append(errs, field.Invalid(p.Child("apiVersion"), apiVersion, "apiVersion must specify API group"))
	}
	return errs
}

var (
	metricSourceTypes = []string{"ContainerResource", "External", "Object", "Pods", "Resource"}
	selectPolicies    = []string{"Disabled", "Max", "Min"}
	scalingPolicies   = []string{"Percent", "Pods"}
)

func validateScalingRules(r *autoscalingv2.HPAScalingRules, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 {
			errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
		}
		if *w > maxStabilizationWindowSeconds {
			errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be less than or equal to %v", maxStabilizationWindowSeconds)))
		}
	}
	if r.SelectPolicy != nil {
		switch *r.SelectPolicy {
		case autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect:
		default:
			errs = append(errs, field.NotSupported(p.Child("selectPolicy"), *r.SelectPolicy, selectPolicies))
		}
	}
	pp := p.Child("policies")
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(pp, "must specify at least one Policy"))
	}
	for i, pol := range r.Policies {
		ip := pp.Index(i)
		if pol.Type != autoscalingv2.PodsScalingPolicy && pol.Type != autoscalingv2.PercentScalingPolicy {
			errs = append(errs, field.NotSupported(ip.Child("type"), pol.Type, scalingPolicies))
		}
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero"))
		}
		if pol.PeriodSeconds > maxPeriodSeconds {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", maxPeriodSeconds)))
		}
	}
	if r.Tolerance != nil && r.Tolerance.Sign() < 0 {
		errs = append(errs, field.Invalid(p.Child("tolerance"), r.Tolerance.String(), "must be greater than or equal to 0"))
	}
	return errs
}

func validateMetricSpec(m *autoscalingv2.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	}
	present := map[string]bool{}
	if m.Object != nil {
		present["object"] = true
		o := m.Object
		op := p.Child("object")
		errs = append(errs, validateCrossVersionRef(o.DescribedObject.APIVersion, o.DescribedObject.Kind, o.DescribedObject.Name, true, op.Child("describedObject"))...)
		errs = append(errs, validateMetricIdentifier(o.Metric.Name, op.Child("metric"))...)
		errs = append(errs, validateMetricTarget(&o.Target, op.Child("target"))...)
		if o.Target.Value == nil && o.Target.AverageValue == nil {
			errs = append(errs, field.Required(op.Child("target", "averageValue"), "must set either a target value or averageValue"))
		}
	}
	if m.External != nil && len(present) == 0 {
		e := m.External
		ep := p.Child("external")
		errs = append(errs, validateMetricIdentifier(e.Metric.Name, ep.Child("metric"))...)
		errs = append(errs, validateMetricTarget(&e.Target, ep.Child("target"))...)
		if e.Target.Value == nil && e.Target.AverageValue == nil {
			errs = append(errs, field.Required(ep.Child("target", "averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if e.Target.Value != nil && e.Target.AverageValue != nil {
			errs = append(errs, field.Forbidden(ep.Child("target", "value"), "may not set both a target value for metric and a per-pod target"))
		}
	}
	if m.External != nil {
		present["external"] = true
	}
	if m.Pods != nil && len(present) == 0 {
		pp := p.Child("pods")
		errs = append(errs, validateMetricIdentifier(m.Pods.Metric.Name, pp.Child("metric"))...)
		errs = append(errs, validateMetricTarget(&m.Pods.Target, pp.Child("target"))...)
		if m.Pods.Target.AverageValue == nil {
			errs = append(errs, field.Required(pp.Child("target", "averageValue"), "must specify a positive target averageValue"))
		}
	}
	if m.Pods != nil {
		present["pods"] = true
	}
	if m.Resource != nil && len(present) == 0 {
		rp := p.Child("resource")
		if m.Resource.Name == "" {
			errs = append(errs, field.Required(rp.Child("name"), "must specify a resource name"))
		}
		errs = append(errs, validateResourceTarget(&m.Resource.Target, rp.Child("target"))...)
	}
	if m.Resource != nil {
		present["resource"] = true
	}
	if m.ContainerResource != nil && len(present) == 0 {
		cp := p.Child("containerResource")
		if m.ContainerResource.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), "must specify a resource name"))
		}
		if m.ContainerResource.Container == "" {
			errs = append(errs, field.Required(cp.Child("container"), "must specify a container"))
		} else {
			errs = append(errs, invalidMsgs(cp.Child("container"), m.ContainerResource.Container, content.IsDNS1123Label(m.ContainerResource.Container))...)
		}
		errs = append(errs, validateResourceTarget(&m.ContainerResource.Target, cp.Child("target"))...)
	}
	if m.ContainerResource != nil {
		present["containerResource"] = true
	}
	expected := ""
	switch m.Type {
	case autoscalingv2.ObjectMetricSourceType:
		expected = "object"
	case autoscalingv2.PodsMetricSourceType:
		expected = "pods"
	case autoscalingv2.ResourceMetricSourceType:
		expected = "resource"
	case autoscalingv2.ExternalMetricSourceType:
		expected = "external"
	case autoscalingv2.ContainerResourceMetricSourceType:
		expected = "containerResource"
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, metricSourceTypes))
	}
	if expected != "" && !present[expected] {
		errs = append(errs, field.Required(p.Child(expected), "must populate information for the given metric source"))
	}
	if len(present) != 1 {
		for _, typ := range []string{"containerResource", "external", "object", "pods", "resource"} {
			if present[typ] && typ != expected {
				errs = append(errs, field.Forbidden(p.Child(typ), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

func validateResourceTarget(t *autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	errs := validateMetricTarget(t, p)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(p.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(p.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateMetricTarget(t *autoscalingv2.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscalingv2.UtilizationMetricType && t.Type != autoscalingv2.ValueMetricType && t.Type != autoscalingv2.AverageValueMetricType {
		errs = append(errs, field.Invalid(p.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value.String(), "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue.String(), "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), *t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricIdentifier(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p.Child("name"), "must specify a metric name")}
	}
	return invalidMsgs(p.Child("name"), name, content.IsPathSegmentName(name))
}
