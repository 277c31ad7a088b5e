package validation

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateDeploymentCreate(t *testing.T) {
	I, R, N, F := field.ErrorTypeInvalid, field.ErrorTypeRequired, field.ErrorTypeNotSupported, field.ErrorTypeForbidden
	ru := func(d *appsv1.Deployment) *appsv1.RollingUpdateDeployment { return d.Spec.Strategy.RollingUpdate }
	runCreateCases(t, validDeployment, []mutCase[*appsv1.Deployment]{
		{"bad name", func(d *appsv1.Deployment) { d.Name = "Web" }, []fe{{I, "metadata.name"}}},
		{"selector required", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []fe{{R, "spec.selector"}}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []fe{{I, "spec.selector"}}},
		{"selector bad operator", func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Like"}}
		}, []fe{{I, "spec.selector.matchExpressions[0].operator"}}},
		{"template labels do not match", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "db"} }, []fe{{I, "spec.template.metadata.labels"}}},
		{"template labels missing", func(d *appsv1.Deployment) { d.Spec.Template.Labels = nil }, []fe{{I, "spec.template.metadata.labels"}}},
		{"template label invalid", func(d *appsv1.Deployment) { d.Spec.Template.Labels["bad key"] = "x" }, []fe{{I, "spec.template.metadata.labels"}}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(-1)) }, []fe{{I, "spec.replicas"}}},
		{"zero replicas ok", func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(0)) }, nil},
		{"template restartPolicy Never", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }, []fe{{N, "spec.template.spec.restartPolicy"}}},
		{"template activeDeadlineSeconds", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo(int64(10)) }, []fe{{F, "spec.template.spec.activeDeadlineSeconds"}}},
		{"template container invalid", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }, []fe{{R, "spec.template.spec.containers[0].image"}}},
		{"template no containers", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers = nil }, []fe{{R, "spec.template.spec.containers"}}},
		{"strategy bad type", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []fe{{N, "spec.strategy.type"}}},
		{"recreate with rollingUpdate", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }, []fe{{F, "spec.strategy.rollingUpdate"}}},
		{"recreate ok", func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}, nil},
		{"both zero", func(d *appsv1.Deployment) {
			ru(d).MaxSurge = ptrTo(intstr.FromInt32(0))
			ru(d).MaxUnavailable = ptrTo(intstr.FromString("0%"))
		}, []fe{{I, "spec.strategy.rollingUpdate.maxUnavailable"}}},
		{"surge zero unavailable one ok", func(d *appsv1.Deployment) {
			ru(d).MaxSurge = ptrTo(intstr.FromInt32(0))
			ru(d).MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}, nil},
		{"bad percent", func(d *appsv1.Deployment) { ru(d).MaxSurge = ptrTo(intstr.FromString("lots")) }, []fe{{I, "spec.strategy.rollingUpdate.maxSurge"}}},
		{"negative int", func(d *appsv1.Deployment) { ru(d).MaxSurge = ptrTo(intstr.FromInt32(-1)) }, []fe{{I, "spec.strategy.rollingUpdate.maxSurge"}}},
		{"maxUnavailable over 100%", func(d *appsv1.Deployment) { ru(d).MaxUnavailable = ptrTo(intstr.FromString("150%")) }, []fe{{I, "spec.strategy.rollingUpdate.maxUnavailable"}}},
		{"negative revisionHistoryLimit", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptrTo(int32(-1)) }, []fe{{I, "spec.revisionHistoryLimit"}}},
		{"negative minReadySeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -1 }, []fe{{I, "spec.minReadySeconds"}}},
		{"progressDeadline not above minReady", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 }, []fe{{I, "spec.progressDeadlineSeconds"}}},
	})
}

func TestValidateReplicaSetCreate(t *testing.T) {
	I, R, N := field.ErrorTypeInvalid, field.ErrorTypeRequired, field.ErrorTypeNotSupported
	runCreateCases(t, validReplicaSet, []mutCase[*appsv1.ReplicaSet]{
		{"selector required", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil }, []fe{{R, "spec.selector"}}},
		{"empty selector", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} }, []fe{{I, "spec.selector"}}},
		{"labels do not match", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Labels = map[string]string{"x": "y"} }, []fe{{I, "spec.template.metadata.labels"}}},
		{"negative replicas", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptrTo(int32(-3)) }, []fe{{I, "spec.replicas"}}},
		{"restartPolicy OnFailure", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, []fe{{N, "spec.template.spec.restartPolicy"}}},
		{"negative minReadySeconds", func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -1 }, []fe{{I, "spec.minReadySeconds"}}},
	})
}

func TestSelectorMismatchMessage(t *testing.T) {
	d := defaulted(validDeployment())
	d.Spec.Template.Labels = map[string]string{"app": "db"}
	errs := ValidateCreate(d)
	if len(errs) != 1 || errs[0].Detail != "`selector` does not match template `labels`" {
		t.Fatalf("errors = %v", errs)
	}
}
