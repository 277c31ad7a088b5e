package validation

import (
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/utils/ptr"
)

// The admissionregistration.k8s.io/v1 kinds: webhook configurations and ValidatingAdmissionPolicy
// with its binding, with the defaults of the v1 API (pkg/apis/admissionregistration/v1
// defaults) and the rules of pkg/apis/admissionregistration/validation.

// ValidatingWebhookConfigurationKind is the strategy of ValidatingWebhookConfiguration.
func ValidatingWebhookConfigurationKind() *Kind[*admissionregistrationv1.ValidatingWebhookConfiguration] {
	cel := &matchConditionCompiler{}
	return &Kind[*admissionregistrationv1.ValidatingWebhookConfiguration]{
		ClusterScoped: true,
		Defaults: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) {
			for i := range c.Webhooks {
				h := &c.Webhooks[i]
				defaultHook(&h.FailurePolicy, &h.MatchPolicy, &h.NamespaceSelector, &h.ObjectSelector, &h.TimeoutSeconds, h.Rules, &h.ClientConfig)
			}
		},
		Create: func(c *admissionregistrationv1.ValidatingWebhookConfiguration) field.ErrorList {
			errs := validateHooks(validatingHooks(c.Webhooks), webhookOptions{noSideEffects: true, knownReviewVersion: true, uniqueNames: true})
			for i, h := range c.Webhooks {
				errs = append(errs, cel.validate(h.MatchConditions, field.NewPath("webhooks").Index(i).Child("matchConditions"))...)
			}
			return errs
		},
	}
}

// MutatingWebhookConfigurationKind is the strategy of MutatingWebhookConfiguration.
func MutatingWebhookConfigurationKind() *Kind[*admissionregistrationv1.MutatingWebhookConfiguration] {
	cel := &matchConditionCompiler{}
	return &Kind[*admissionregistrationv1.MutatingWebhookConfiguration]{
		ClusterScoped: true,
		Defaults: func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
			for i := range c.Webhooks {
				h := &c.Webhooks[i]
				defaultHook(&h.FailurePolicy, &h.MatchPolicy, &h.NamespaceSelector, &h.ObjectSelector, &h.TimeoutSeconds, h.Rules, &h.ClientConfig)
				if h.ReinvocationPolicy == nil {
					h.ReinvocationPolicy = ptr.To(admissionregistrationv1.NeverReinvocationPolicy)
				}
			}
		},
		Create: func(c *admissionregistrationv1.MutatingWebhookConfiguration) field.ErrorList {
			errs := validateHooks(mutatingHooks(c.Webhooks), webhookOptions{noSideEffects: true, knownReviewVersion: true, uniqueNames: true})
			for i, h := range c.Webhooks {
				errs = append(errs, cel.validate(h.MatchConditions, field.NewPath("webhooks").Index(i).Child("matchConditions"))...)
			}
			return errs
		},
	}
}

// ValidatingAdmissionPolicyKind is the strategy of ValidatingAdmissionPolicy (status subresource:
// a create or an update of the main resource keeps the stored status, a /status write the spec).
func ValidatingAdmissionPolicyKind() *Kind[*admissionregistrationv1.ValidatingAdmissionPolicy] {
	return &Kind[*admissionregistrationv1.ValidatingAdmissionPolicy]{
		ClusterScoped: true,
		Defaults: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			if p.Spec.FailurePolicy == nil {
				p.Spec.FailurePolicy = ptr.To(admissionregistrationv1.Fail)
			}
			defaultMatchResources(p.Spec.MatchConstraints)
		},
		Create: validatePolicy,
		PrepareCreate: func(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
			p.Status = admissionregistrationv1.ValidatingAdmissionPolicyStatus{}
		},
		PrepareUpdate: func(n, o *admissionregistrationv1.ValidatingAdmissionPolicy) { n.Status = o.Status },
		PrepareStatus: func(n, o *admissionregistrationv1.ValidatingAdmissionPolicy) { n.Spec = o.Spec },
		Status: func(n, _ *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
			var errs field.ErrorList
			statusPath := field.NewPath("status")
			for i, c := range n.Status.Conditions {
				errs = append(errs, metav1validation.ValidateCondition(c, statusPath.Child("conditions").Index(i))...)
			}
			return errs
		},
	}
}

// ValidatingAdmissionPolicyBindingKind is the strategy of ValidatingAdmissionPolicyBinding.
func ValidatingAdmissionPolicyBindingKind() *Kind[*admissionregistrationv1.ValidatingAdmissionPolicyBinding] {
	return &Kind[*admissionregistrationv1.ValidatingAdmissionPolicyBinding]{
		ClusterScoped: true,
		Defaults: func(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			defaultMatchResources(b.Spec.MatchResources)
		},
		Create: validatePolicyBinding,
	}
}

// defaultHook sets the v1 defaults shared by validating and mutating webhooks.
func defaultHook(failure **admissionregistrationv1.FailurePolicyType, match **admissionregistrationv1.MatchPolicyType, ns, obj **metav1.LabelSelector, timeout **int32, rules []admissionregistrationv1.RuleWithOperations, cc *admissionregistrationv1.WebhookClientConfig) {
	if *failure == nil {
		*failure = ptr.To(admissionregistrationv1.Fail)
	}
	if *match == nil {
		*match = ptr.To(admissionregistrationv1.Equivalent)
	}
	if *ns == nil {
		*ns = &metav1.LabelSelector{}
	}
	if *obj == nil {
		*obj = &metav1.LabelSelector{}
	}
	if *timeout == nil {
		*timeout = ptr.To[int32](10)
	}
	for i := range rules {
		defaultRule(&rules[i].Rule)
	}
	if cc.Service != nil && cc.Service.Port == nil {
		cc.Service.Port = ptr.To[int32](443)
	}
}

func defaultRule(r *admissionregistrationv1.Rule) {
	if r.Scope == nil {
		r.Scope = ptr.To(admissionregistrationv1.AllScopes)
	}
}

// defaultMatchResources sets the v1 defaults of a policy's or a binding's matchResources.
func defaultMatchResources(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptr.To(admissionregistrationv1.Equivalent)
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for i := range m.ResourceRules {
		defaultRule(&m.ResourceRules[i].Rule)
	}
	for i := range m.ExcludeResourceRules {
		defaultRule(&m.ExcludeResourceRules[i].Rule)
	}
}

// hook is what validating and mutating webhooks have in common.
type hook struct {
	name                   string
	clientConfig           admissionregistrationv1.WebhookClientConfig
	rules                  []admissionregistrationv1.RuleWithOperations
	failurePolicy          *admissionregistrationv1.FailurePolicyType
	matchPolicy            *admissionregistrationv1.MatchPolicyType
	namespaceSelector      *metav1.LabelSelector
	objectSelector         *metav1.LabelSelector
	sideEffects            *admissionregistrationv1.SideEffectClass
	timeoutSeconds         *int32
	admissionReviewVersion []string
	matchConditions        []admissionregistrationv1.MatchCondition
	reinvocationPolicy     *admissionregistrationv1.ReinvocationPolicyType
}

func validatingHooks(in []admissionregistrationv1.ValidatingWebhook) []hook {
	out := make([]hook, len(in))
	for i, h := range in {
		out[i] = hook{h.Name, h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector, h.ObjectSelector, h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.MatchConditions, nil}
	}
	return out
}

func mutatingHooks(in []admissionregistrationv1.MutatingWebhook) []hook {
	out := make([]hook, len(in))
	for i, h := range in {
		out[i] = hook{h.Name, h.ClientConfig, h.Rules, h.FailurePolicy, h.MatchPolicy, h.NamespaceSelector, h.ObjectSelector, h.SideEffects, h.TimeoutSeconds, h.AdmissionReviewVersions, h.MatchConditions, h.ReinvocationPolicy}
	}
	return out
}

type webhookOptions struct {
	noSideEffects, knownReviewVersion, uniqueNames bool
}

var (
	failurePolicies     = []string{string(admissionregistrationv1.Fail), string(admissionregistrationv1.Ignore)}
	matchPolicies       = []string{string(admissionregistrationv1.Equivalent), string(admissionregistrationv1.Exact)}
	noSideEffectClasses = []string{string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun)}
	allSideEffects      = []string{string(admissionregistrationv1.SideEffectClassNone), string(admissionregistrationv1.SideEffectClassNoneOnDryRun), string(admissionregistrationv1.SideEffectClassSome), string(admissionregistrationv1.SideEffectClassUnknown)}
	operations          = []string{"*", "CONNECT", "CREATE", "DELETE", "UPDATE"}
	reinvocations       = []string{string(admissionregistrationv1.IfNeededReinvocationPolicy), string(admissionregistrationv1.NeverReinvocationPolicy)}
	scopes              = []string{"*", "Cluster", "Namespaced"}
	reviewVersions      = []string{"v1", "v1beta1"}
	validationActions   = []string{"Audit", "Deny", "Warn"}
	policyReasons       = []string{string(metav1.StatusReasonForbidden), string(metav1.StatusReasonInvalid), string(metav1.StatusReasonRequestEntityTooLarge)}
)

func supported(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// validateHooks validates the webhooks of a configuration.
func validateHooks(hooks []hook, o webhookOptions) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, h := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateHook(h, o, p)...)
		errs = append(errs, validateReviewVersions(h.admissionReviewVersion, o.knownReviewVersion, p.Child("admissionReviewVersions"))...)
		if o.uniqueNames && h.name != "" {
			if names.Has(h.name) {
				errs = append(errs, field.Duplicate(p.Child("name"), h.name))
			}
			names.Insert(h.name)
		}
	}
	return errs
}

func validateHook(h hook, o webhookOptions, p *field.Path) field.ErrorList {
	errs := utilvalidation.IsFullyQualifiedName(p.Child("name"), h.name)
	for i, r := range h.rules {
		errs = append(errs, validateRuleWithOperations(r, p.Child("rules").Index(i))...)
	}
	if h.failurePolicy != nil && !supported(failurePolicies, string(*h.failurePolicy)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *h.failurePolicy, failurePolicies))
	}
	if h.matchPolicy != nil && !supported(matchPolicies, string(*h.matchPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *h.matchPolicy, matchPolicies))
	}
	allowed := allSideEffects
	if o.noSideEffects {
		allowed = noSideEffectClasses
	}
	if h.sideEffects == nil {
		errs = append(errs, field.Required(p.Child("sideEffects"), fmt.Sprintf("must specify one of %v", strings.Join(allowed, ", "))))
	} else if !supported(allowed, string(*h.sideEffects)) {
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *h.sideEffects, allowed))
	}
	if h.timeoutSeconds != nil && (*h.timeoutSeconds > 30 || *h.timeoutSeconds < 1) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *h.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"))
	}
	if h.namespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.namespaceSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("namespaceSelector"))...)
	}
	if h.objectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(h.objectSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("objectSelector"))...)
	}
	if h.reinvocationPolicy != nil && !supported(reinvocations, string(*h.reinvocationPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), *h.reinvocationPolicy, reinvocations))
	}
	cc := h.clientConfig
	switch {
	case (cc.URL == nil) == (cc.Service == nil):
		errs = append(errs, field.Required(p.Child("clientConfig"), "exactly one of url or service is required"))
	case cc.URL != nil:
		errs = append(errs, webhook.ValidateWebhookURL(p.Child("clientConfig").Child("url"), *cc.URL, true)...)
	default:
		port := int32(443)
		if cc.Service.Port != nil {
			port = *cc.Service.Port
		}
		errs = append(errs, webhook.ValidateWebhookService(p.Child("clientConfig").Child("service"), cc.Service.Name, cc.Service.Namespace, cc.Service.Path, port)...)
	}
	errs = append(errs, validateMatchConditions(h.matchConditions, p.Child("matchConditions"))...)
	return errs
}

func validateReviewVersions(versions []string, requireKnown bool, p *field.Path) field.ErrorList {
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, fmt.Sprintf("must specify one of %v", strings.Join(reviewVersions, ", ")))}
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	known := false
	for i, v := range versions {
		if seen[v] {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
			continue
		}
		seen[v] = true
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
		known = known || supported(reviewVersions, v)
	}
	if requireKnown && !known {
		errs = append(errs, field.Invalid(p, versions, fmt.Sprintf("must include at least one of %v", strings.Join(reviewVersions, ", "))))
	}
	return errs
}

func hasWildcard(list []string) bool { return supported(list, "*") }

func validateRuleWithOperations(r admissionregistrationv1.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ops := make([]string, len(r.Operations))
	for i, op := range r.Operations {
		ops[i] = string(op)
	}
	if len(ops) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	if len(ops) > 1 && hasWildcard(ops) {
		errs = append(errs, field.Invalid(p.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range ops {
		if !supported(operations, op) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), r.Operations[i], operations))
		}
	}
	return append(errs, validateRule(r.Rule, p, true)...)
}

func validateRule(r admissionregistrationv1.Rule, p *field.Path, subresources bool) field.ErrorList {
	var errs field.ErrorList
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), ""))
	}
	if len(r.APIGroups) > 1 && hasWildcard(r.APIGroups) {
		errs = append(errs, field.Invalid(p.Child("apiGroups"), r.APIGroups, "if '*' is present, must not specify other API groups"))
	}
	if len(r.APIVersions) == 0 {
		errs = append(errs, field.Required(p.Child("apiVersions"), ""))
	}
	if len(r.APIVersions) > 1 && hasWildcard(r.APIVersions) {
		errs = append(errs, field.Invalid(p.Child("apiVersions"), r.APIVersions, "if '*' is present, must not specify other API versions"))
	}
	for i, v := range r.APIVersions {
		if v == "" {
			errs = append(errs, field.Required(p.Child("apiVersions").Index(i), ""))
		}
	}
	if subresources {
		errs = append(errs, validateRuleResources(r.Resources, p.Child("resources"))...)
	} else {
		errs = append(errs, validateRuleResourcesNoSubresources(r.Resources, p.Child("resources"))...)
	}
	if r.Scope != nil && !supported(scopes, string(*r.Scope)) {
		errs = append(errs, field.NotSupported(p.Child("scope"), *r.Scope, scopes))
	}
	return errs
}

// validateRuleResources checks a rule's resources: "*/*" alone, "*" without plain resources,
// no "x/y" beside "x/*" or "*/y".
func validateRuleResources(resources []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	wildSub, wildRes := sets.New[string](), sets.New[string]()
	double, single, plain := false, false, false
	for i, rs := range resources {
		if rs == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
			continue
		}
		double = double || rs == "*/*"
		single = single || rs == "*"
		res, sub, ok := strings.Cut(rs, "/")
		if !ok {
			plain = rs != "*"
			continue
		}
		if wildSub.Has(res) {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '%s/*' is present, must not specify %s", res, rs)))
		}
		if wildRes.Has(sub) {
			errs = append(errs, field.Invalid(p.Index(i), rs, fmt.Sprintf("if '*/%s' is present, must not specify %s", sub, rs)))
		}
		if sub == "*" {
			wildSub.Insert(res)
		}
		if res == "*" {
			wildRes.Insert(sub)
		}
	}
	if len(resources) > 1 && double {
		errs = append(errs, field.Invalid(p, resources, "if '*/*' is present, must not specify other resources"))
	}
	if single && plain {
		errs = append(errs, field.Invalid(p, resources, "if '*' is present, must not specify other resources without subresources"))
	}
	return errs
}

func validateRuleResourcesNoSubresources(resources []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(resources) == 0 {
		errs = append(errs, field.Required(p, ""))
	}
	for i, r := range resources {
		if r == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
		}
		if strings.Contains(r, "/") {
			errs = append(errs, field.Invalid(p.Index(i), r, "must not specify subresources"))
		}
	}
	if len(resources) > 1 && hasWildcard(resources) {
		errs = append(errs, field.Invalid(p, resources, "if '*' is present, must not specify other resources"))
	}
	return errs
}

// maxMatchConditions is how many matchConditions a webhook or a policy may have.
const maxMatchConditions = 64

func validateMatchConditions(conds []admissionregistrationv1.MatchCondition, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > maxMatchConditions {
		errs = append(errs, field.TooMany(p, len(conds), maxMatchConditions))
	}
	names := sets.New[string]()
	for i, c := range conds {
		cp := p.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else {
			for _, msg := range utilvalidation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
		if c.Expression == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
		}
	}
	return errs
}

// validatePolicy checks a ValidatingAdmissionPolicy's spec (the CEL expressions themselves are
// compiled by the admission plugin, which reports their errors in status.typeChecking).
func validatePolicy(pol *admissionregistrationv1.ValidatingAdmissionPolicy) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	s := pol.Spec
	if s.FailurePolicy == nil {
		errs = append(errs, field.Required(p.Child("failurePolicy"), ""))
	} else if !supported(failurePolicies, string(*s.FailurePolicy)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *s.FailurePolicy, failurePolicies))
	}
	if s.ParamKind != nil {
		pk := p.Child("paramKind")
		if s.ParamKind.APIVersion == "" {
			errs = append(errs, field.Required(pk.Child("apiVersion"), ""))
		}
		if s.ParamKind.Kind == "" {
			errs = append(errs, field.Required(pk.Child("kind"), ""))
		}
	}
	if s.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(s.MatchConstraints, p.Child("matchConstraints"))...)
		if len(s.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(p.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	if len(s.Validations) == 0 && len(s.AuditAnnotations) == 0 {
		errs = append(errs, field.Required(p.Child("validations"), "validations or auditAnnotations must contain at least one item"))
		errs = append(errs, field.Required(p.Child("auditAnnotations"), "validations or auditAnnotations must contain at least one item"))
	}
	for i, v := range s.Validations {
		vp := p.Child("validations").Index(i)
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
		if v.Message != "" && strings.TrimSpace(v.Message) == "" {
			errs = append(errs, field.Invalid(vp.Child("message"), v.Message, "message must be non-empty if specified"))
		}
		if strings.ContainsAny(v.Message, "\n") {
			errs = append(errs, field.Invalid(vp.Child("message"), v.Message, "message must not contain line breaks"))
		}
		if v.Reason != nil && !supported(policyReasons, string(*v.Reason)) {
			errs = append(errs, field.NotSupported(vp.Child("reason"), *v.Reason, policyReasons))
		}
	}
	errs = append(errs, validateMatchConditions(s.MatchConditions, p.Child("matchConditions"))...)
	for i, v := range s.Variables {
		vp := p.Child("variables").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), "name is not specified"))
		}
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
	}
	return errs
}

// validateMatchResources checks the matchResources of a policy or a binding.
func validateMatchResources(m *admissionregistrationv1.MatchResources, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.MatchPolicy == nil {
		errs = append(errs, field.Required(p.Child("matchPolicy"), "must be defined"))
	} else if !supported(matchPolicies, string(*m.MatchPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *m.MatchPolicy, matchPolicies))
	}
	if m.NamespaceSelector == nil {
		errs = append(errs, field.Required(p.Child("namespaceSelector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(m.NamespaceSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("namespaceSelector"))...)
	}
	if m.ObjectSelector == nil {
		errs = append(errs, field.Required(p.Child("objectSelector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(m.ObjectSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("objectSelector"))...)
	}
	for i, r := range m.ResourceRules {
		errs = append(errs, validateNamedRule(r, p.Child("resourceRules").Index(i))...)
	}
	for i, r := range m.ExcludeResourceRules {
		errs = append(errs, validateNamedRule(r, p.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

func validateNamedRule(r admissionregistrationv1.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, n := range r.ResourceNames {
		for _, msg := range utilvalidation.IsDNS1123Subdomain(n) {
			errs = append(errs, field.Invalid(p.Child("resourceNames").Index(i), n, msg))
		}
	}
	return append(errs, validateRuleWithOperations(r.RuleWithOperations, p)...)
}

// validatePolicyBinding checks a ValidatingAdmissionPolicyBinding's spec.
func validatePolicyBinding(b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if b.Spec.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	} else {
		for _, msg := range apimachineryNameIsDNSSubdomain(b.Spec.PolicyName) {
			errs = append(errs, field.Invalid(p.Child("policyName"), b.Spec.PolicyName, msg))
		}
	}
	if b.Spec.ParamRef != nil {
		rp := p.Child("paramRef")
		if b.Spec.ParamRef.Name != "" && b.Spec.ParamRef.Selector != nil {
			errs = append(errs, field.Forbidden(rp.Child("name"), "name and selector are mutually exclusive"))
		}
		if b.Spec.ParamRef.Name == "" && b.Spec.ParamRef.Selector == nil {
			errs = append(errs, field.Required(rp, "one of name or selector must be set"))
		}
		if b.Spec.ParamRef.ParameterNotFoundAction == nil {
			errs = append(errs, field.Required(rp.Child("parameterNotFoundAction"), ""))
		} else if a := string(*b.Spec.ParamRef.ParameterNotFoundAction); a != string(admissionregistrationv1.DenyAction) && a != string(admissionregistrationv1.AllowAction) {
			errs = append(errs, field.NotSupported(rp.Child("parameterNotFoundAction"), a, []string{string(admissionregistrationv1.AllowAction), string(admissionregistrationv1.DenyAction)}))
		}
	}
	if b.Spec.MatchResources != nil {
		errs = append(errs, validateMatchResources(b.Spec.MatchResources, p.Child("matchResources"))...)
	}
	ap := p.Child("validationActions")
	if len(b.Spec.ValidationActions) == 0 {
		errs = append(errs, field.Required(ap, ""))
	}
	seen := sets.New[string]()
	for i, a := range b.Spec.ValidationActions {
		if seen.Has(string(a)) {
			errs = append(errs, field.Duplicate(ap.Index(i), a))
		}
		seen.Insert(string(a))
		if !supported(validationActions, string(a)) {
			errs = append(errs, field.NotSupported(ap.Index(i), a, validationActions))
		}
	}
	if seen.Has("Deny") && seen.Has("Warn") {
		errs = append(errs, field.Invalid(ap, b.Spec.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	return errs
}

func apimachineryNameIsDNSSubdomain(name string) []string {
	return utilvalidation.IsDNS1123Subdomain(name)
}

// MutatingAdmissionPolicyKind is the strategy of MutatingAdmissionPolicy.
func MutatingAdmissionPolicyKind() *Kind[*admissionregistrationv1.MutatingAdmissionPolicy] {
	return &Kind[*admissionregistrationv1.MutatingAdmissionPolicy]{
		ClusterScoped: true,
		Defaults: func(p *admissionregistrationv1.MutatingAdmissionPolicy) {
			if p.Spec.FailurePolicy == nil {
				p.Spec.FailurePolicy = ptr.To(admissionregistrationv1.Fail)
			}
			if p.Spec.ReinvocationPolicy == "" {
				p.Spec.ReinvocationPolicy = admissionregistrationv1.NeverReinvocationPolicy
			}
			defaultMatchResources(p.Spec.MatchConstraints)
		},
		Create: validateMutatingPolicy,
	}
}

// MutatingAdmissionPolicyBindingKind is the strategy of MutatingAdmissionPolicyBinding.
func MutatingAdmissionPolicyBindingKind() *Kind[*admissionregistrationv1.MutatingAdmissionPolicyBinding] {
	return &Kind[*admissionregistrationv1.MutatingAdmissionPolicyBinding]{
		ClusterScoped: true,
		Defaults: func(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) {
			defaultMatchResources(b.Spec.MatchResources)
		},
		Create: validateMutatingPolicyBinding,
	}
}

var patchTypes = []string{string(admissionregistrationv1.PatchTypeApplyConfiguration), string(admissionregistrationv1.PatchTypeJSONPatch)}

// validateMutatingPolicy checks a MutatingAdmissionPolicy's spec (its CEL is compiled by the
// admission plugin).
func validateMutatingPolicy(pol *admissionregistrationv1.MutatingAdmissionPolicy) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	s := pol.Spec
	if s.FailurePolicy == nil {
		errs = append(errs, field.Required(p.Child("failurePolicy"), ""))
	} else if !supported(failurePolicies, string(*s.FailurePolicy)) {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *s.FailurePolicy, failurePolicies))
	}
	if !supported(reinvocations, string(s.ReinvocationPolicy)) {
		errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), s.ReinvocationPolicy, reinvocations))
	}
	if s.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(s.MatchConstraints, p.Child("matchConstraints"))...)
		if len(s.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(p.Child("matchConstraints", "resourceRules"), ""))
		}
	}
	if len(s.Mutations) == 0 {
		errs = append(errs, field.Required(p.Child("mutations"), "mutations must contain at least one item"))
	}
	for i, m := range s.Mutations {
		mp := p.Child("mutations").Index(i)
		switch m.PatchType {
		case "":
			errs = append(errs, field.Required(mp.Child("patchType"), ""))
		case admissionregistrationv1.PatchTypeApplyConfiguration:
			if m.ApplyConfiguration == nil || strings.TrimSpace(m.ApplyConfiguration.Expression) == "" {
				errs = append(errs, field.Required(mp.Child("applyConfiguration"), "applyConfiguration.expression is required when patchType is ApplyConfiguration"))
			}
			if m.JSONPatch != nil {
				errs = append(errs, field.Invalid(mp.Child("jsonPatch"), "{...}", "must not be specified when patchType is ApplyConfiguration"))
			}
		case admissionregistrationv1.PatchTypeJSONPatch:
			if m.JSONPatch == nil || strings.TrimSpace(m.JSONPatch.Expression) == "" {
				errs = append(errs, field.Required(mp.Child("jsonPatch"), "jsonPatch.expression is required when patchType is JSONPatch"))
			}
			if m.ApplyConfiguration != nil {
				errs = append(errs, field.Invalid(mp.Child("applyConfiguration"), "{...}", "must not be specified when patchType is JSONPatch"))
			}
		default:
			errs = append(errs, field.NotSupported(mp.Child("patchType"), m.PatchType, patchTypes))
		}
	}
	errs = append(errs, validateMatchConditions(s.MatchConditions, p.Child("matchConditions"))...)
	for i, v := range s.Variables {
		vp := p.Child("variables").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), "name is not specified"))
		}
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		}
	}
	return errs
}

// validateMutatingPolicyBinding checks a MutatingAdmissionPolicyBinding's spec.
func validateMutatingPolicyBinding(b *admissionregistrationv1.MutatingAdmissionPolicyBinding) field.ErrorList {
	// The same rules as a ValidatingAdmissionPolicyBinding's, without validationActions.
	vb := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
		PolicyName: b.Spec.PolicyName, ParamRef: b.Spec.ParamRef, MatchResources: b.Spec.MatchResources,
		ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
	}}
	return validatePolicyBinding(vb)
}
