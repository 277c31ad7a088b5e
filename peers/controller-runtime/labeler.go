package controllerruntime

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Labeler is a controller-runtime CustomDefaulter and CustomValidator of ConfigMaps: it adds
// the label webhook=seen, and rejects a ConfigMap whose data has the key "forbidden". Its
// validator also refuses a ConfigMap the defaulter has not seen, which proves that the API
// server called the mutating webhook before the validating one.
type Labeler struct{}

// Register serves Labeler's webhooks on mgr's webhook server, at the paths the builder
// derives from the kind (/mutate--v1-configmap and /validate--v1-configmap).
func Register(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &corev1.ConfigMap{}).WithDefaulter(Labeler{}).WithValidator(Labeler{}).Complete()
}

// Default labels the ConfigMap webhook=seen.
func (Labeler) Default(_ context.Context, cm *corev1.ConfigMap) error {
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels["webhook"] = "seen"
	return nil
}

// ValidateCreate checks a new ConfigMap.
func (Labeler) ValidateCreate(_ context.Context, cm *corev1.ConfigMap) (admission.Warnings, error) {
	return check(cm)
}

// ValidateUpdate checks the new state of a ConfigMap.
func (Labeler) ValidateUpdate(_ context.Context, _, cm *corev1.ConfigMap) (admission.Warnings, error) {
	return check(cm)
}

// ValidateDelete allows every delete.
func (Labeler) ValidateDelete(context.Context, *corev1.ConfigMap) (admission.Warnings, error) {
	return nil, nil
}

func check(cm *corev1.ConfigMap) (admission.Warnings, error) {
	if cm.Labels["webhook"] != "seen" {
		// The mutating webhook runs before the validating one.
		return nil, fmt.Errorf("the mutating webhook did not run first")
	}
	if _, ok := cm.Data["forbidden"]; ok {
		return nil, fmt.Errorf("key \"forbidden\" is not allowed")
	}
	return admission.Warnings{"checked by controller-runtime"}, nil
}
