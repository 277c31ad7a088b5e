package validation

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Name rules returned by NameRule.
const (
	// RuleDNS1123Subdomain: lowercase alphanumerics, '-' and '.', at most 253 characters.
	RuleDNS1123Subdomain = "DNS1123Subdomain"
	// RuleDNS1123Label: lowercase alphanumerics and '-', at most 63 characters.
	RuleDNS1123Label = "DNS1123Label"
	// RuleDNS1035Label: like a DNS-1123 label but starting with a letter.
	RuleDNS1035Label = "DNS1035Label"
)

// Default sets Kubernetes' defaults on a new object, in place, for every supported kind.
// Unknown kinds and nil objects are left alone.
func Default(obj runtime.Object) {
	defaultObject(obj)
}

// ValidateCreate returns every field error of a new object (which should already be defaulted).
// Unknown kinds get only the ObjectMeta checks.
func ValidateCreate(obj runtime.Object) field.ErrorList {
	return validateCreate(obj)
}

// ValidateUpdate returns every field error of newObj replacing oldObj (both defaulted): the checks
// of ValidateCreate on newObj plus the immutability rules of the kind. Objects of different kinds
// yield an internal error.
func ValidateUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	return validateUpdate(newObj, oldObj)
}

// ValidateStatusUpdate validates a write through the /status subresource: newObj carries the old
// object's spec and the new status. It checks metadata immutability and the status fields.
func ValidateStatusUpdate(newObj, oldObj runtime.Object) field.ErrorList {
	return validateStatusUpdate(newObj, oldObj)
}

// NameRule says how metadata.name of obj's kind is checked: RuleDNS1123Subdomain,
// RuleDNS1123Label, RuleDNS1035Label or RulePathSegment. Unknown kinds use RuleDNS1123Subdomain.
func NameRule(obj runtime.Object) string {
	return nameRuleOf(obj)
}

// ValidateName checks name (or, with prefix set, a generateName prefix) against rule and returns the
// failure messages, empty when valid. An unknown rule is treated as RuleDNS1123Subdomain.
func ValidateName(rule, name string, prefix bool) []string {
	return nameFunc(rule)(name, prefix)
}
