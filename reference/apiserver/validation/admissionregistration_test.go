package validation

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func validValidatingWebhookConfiguration() *admissionregistrationv1.ValidatingWebhookConfiguration {
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "policy"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         "check.example.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "kube-system", Name: "hook", Path: ptr.To("/validate")}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods", "pods/status"}},
			}},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}

func TestValidatingWebhookConfigurationDefaults(t *testing.T) {
	c := defaulted(validValidatingWebhookConfiguration())
	h := c.Webhooks[0]
	if *h.FailurePolicy != admissionregistrationv1.Fail || *h.MatchPolicy != admissionregistrationv1.Equivalent || *h.TimeoutSeconds != 10 ||
		h.NamespaceSelector == nil || h.ObjectSelector == nil || *h.Rules[0].Scope != admissionregistrationv1.AllScopes || *h.ClientConfig.Service.Port != 443 {
		t.Errorf("defaults not set: %+v", h)
	}
	m := defaulted(&admissionregistrationv1.MutatingWebhookConfiguration{Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "m.example.com"}}})
	if *m.Webhooks[0].ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
		t.Errorf("reinvocationPolicy not defaulted to Never")
	}
}

func TestValidateValidatingWebhookConfiguration(t *testing.T) {
	runCreateCases(t, validValidatingWebhookConfiguration, []mutCase[*admissionregistrationv1.ValidatingWebhookConfiguration]{
		{"name not qualified", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Webhooks[0].Name = "check" }, []fe{{tInvalid, "webhooks[0].name"}}},
		{"duplicate name", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks = append(c.Webhooks, c.Webhooks[0])
		}, []fe{{tDuplicate, "webhooks[1].name"}}},
		{"sideEffects required", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) { c.Webhooks[0].SideEffects = nil }, []fe{{tRequired, "webhooks[0].sideEffects"}}},
		{"sideEffects Some", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].SideEffects = ptr.To(admissionregistrationv1.SideEffectClassSome)
		}, []fe{{tNotSupported, "webhooks[0].sideEffects"}}},
		{"admissionReviewVersions required", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].AdmissionReviewVersions = nil
		}, []fe{{tRequired, "webhooks[0].admissionReviewVersions"}}},
		{"unknown review version", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].AdmissionReviewVersions = []string{"v2"}
		}, []fe{{tInvalid, "webhooks[0].admissionReviewVersions"}}},
		{"timeout too long", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].TimeoutSeconds = ptr.To[int32](31)
		}, []fe{{tInvalid, "webhooks[0].timeoutSeconds"}}},
		{"failurePolicy", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].FailurePolicy = ptr.To(admissionregistrationv1.FailurePolicyType("Maybe"))
		}, []fe{{tNotSupported, "webhooks[0].failurePolicy"}}},
		{"url and service", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig.URL = ptr.To("https://a.example.com")
		}, []fe{{tRequired, "webhooks[0].clientConfig"}}},
		{"http url", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To("http://a.example.com")}
		}, []fe{{tInvalid, "webhooks[0].clientConfig.url"}}},
		{"operations required", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Operations = nil
		}, []fe{{tRequired, "webhooks[0].rules[0].operations"}}},
		{"double wildcard with others", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Resources = []string{"*/*", "pods"}
		}, []fe{{tInvalid, "webhooks[0].rules[0].resources"}}},
		{"bad scope", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].Rules[0].Scope = ptr.To(admissionregistrationv1.ScopeType("Node"))
		}, []fe{{tNotSupported, "webhooks[0].rules[0].scope"}}},
		{"match condition without expression", func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			c.Webhooks[0].MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "x"}}
		}, []fe{{tRequired, "webhooks[0].matchConditions[0].expression"}}},
	})
}

func validPolicy() *admissionregistrationv1.ValidatingAdmissionPolicy {
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "replicas"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
				},
			}}},
			Validations: []admissionregistrationv1.Validation{{Expression: "object.spec.replicas <= 5"}},
		},
	}
}

func TestValidateValidatingAdmissionPolicy(t *testing.T) {
	if p := defaulted(validPolicy()); *p.Spec.FailurePolicy != admissionregistrationv1.Fail || *p.Spec.MatchConstraints.MatchPolicy != admissionregistrationv1.Equivalent {
		t.Errorf("defaults not set: %+v", p.Spec)
	}
	runCreateCases(t, validPolicy, []mutCase[*admissionregistrationv1.ValidatingAdmissionPolicy]{
		{"no validations", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) { p.Spec.Validations = nil },
			[]fe{{tRequired, "spec.validations"}, {tRequired, "spec.auditAnnotations"}}},
		{"matchConstraints required", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) { p.Spec.MatchConstraints = nil }, []fe{{tRequired, "spec.matchConstraints"}}},
		{"empty expression", func(p *admissionregistrationv1.ValidatingAdmissionPolicy) { p.Spec.Validations[0].Expression = " " }, []fe{{tRequired, "spec.validations[0].expression"}}},
	})
}

func validPolicyBinding() *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "replicas"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: "replicas", ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
}

func TestValidateValidatingAdmissionPolicyBinding(t *testing.T) {
	runCreateCases(t, validPolicyBinding, []mutCase[*admissionregistrationv1.ValidatingAdmissionPolicyBinding]{
		{"policyName required", func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) { b.Spec.PolicyName = "" }, []fe{{tRequired, "spec.policyName"}}},
		{"actions required", func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) { b.Spec.ValidationActions = nil }, []fe{{tRequired, "spec.validationActions"}}},
		{"deny and warn", func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = append(b.Spec.ValidationActions, admissionregistrationv1.Warn)
		}, []fe{{tInvalid, "spec.validationActions"}}},
		{"duplicate action", func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = append(b.Spec.ValidationActions, admissionregistrationv1.Deny)
		}, []fe{{tDuplicate, "spec.validationActions[1]"}}},
	})
}

func validMutatingPolicy() *admissionregistrationv1.MutatingAdmissionPolicy {
	return &admissionregistrationv1.MutatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "labels"},
		Spec: admissionregistrationv1.MutatingAdmissionPolicySpec{
			MatchConstraints: validPolicy().Spec.MatchConstraints,
			Mutations: []admissionregistrationv1.Mutation{{
				PatchType:          admissionregistrationv1.PatchTypeApplyConfiguration,
				ApplyConfiguration: &admissionregistrationv1.ApplyConfiguration{Expression: "Object{metadata: Object.metadata{labels: {'a': 'b'}}}"},
			}},
		},
	}
}

func TestValidateMutatingAdmissionPolicy(t *testing.T) {
	if p := defaulted(validMutatingPolicy()); *p.Spec.FailurePolicy != admissionregistrationv1.Fail || p.Spec.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
		t.Errorf("defaults not set: %+v", p.Spec)
	}
	runCreateCases(t, validMutatingPolicy, []mutCase[*admissionregistrationv1.MutatingAdmissionPolicy]{
		{"no mutations", func(p *admissionregistrationv1.MutatingAdmissionPolicy) { p.Spec.Mutations = nil }, []fe{{tRequired, "spec.mutations"}}},
		{"patchType required", func(p *admissionregistrationv1.MutatingAdmissionPolicy) { p.Spec.Mutations[0].PatchType = "" }, []fe{{tRequired, "spec.mutations[0].patchType"}}},
		{"jsonPatch missing", func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			p.Spec.Mutations[0].PatchType = admissionregistrationv1.PatchTypeJSONPatch
		}, []fe{{tRequired, "spec.mutations[0].jsonPatch"}, {tInvalid, "spec.mutations[0].applyConfiguration"}}},
		{"bad reinvocation", func(p *admissionregistrationv1.MutatingAdmissionPolicy) { p.Spec.ReinvocationPolicy = "Always" }, []fe{{tNotSupported, "spec.reinvocationPolicy"}}},
	})
}
