package validation

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func webhookWithCondition(expr string) *admissionregistrationv1.ValidatingWebhookConfiguration {
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "conditions"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "check.example.com",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://webhook.example.com/check")},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			MatchConditions:         []admissionregistrationv1.MatchCondition{{Name: "only-some", Expression: expr}},
		}},
	}
}

// TestMatchConditionsCompiled: a match condition that does not compile, or is not a bool, is
// refused with its path; a valid one is accepted.
func TestMatchConditionsCompiled(t *testing.T) {
	k := ValidatingWebhookConfigurationKind()
	for expr, wantErr := range map[string]bool{
		"object.metadata.name == 'x'": false,
		"true":                        false,
		"object.metadata.name ==":     true,
		"'not a bool'":                true,
	} {
		c := webhookWithCondition(expr)
		k.Default(c)
		errs := k.Validate(c)
		got := false
		for _, e := range errs {
			if e.Field == "webhooks[0].matchConditions[0].expression" {
				got = true
			}
		}
		if got != wantErr {
			t.Errorf("%q: error on the expression = %v, want %v (errors: %v)", expr, got, wantErr, errs)
		}
	}
}
