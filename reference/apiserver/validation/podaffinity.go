package validation

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MergeAffinityLabelKeys folds each podAffinityTerm's matchLabelKeys and
// mismatchLabelKeys into its labelSelector on create, as kube-apiserver does
// since v1.33 (MatchLabelKeysInPodAffinity, GA): for each key the Pod has a
// label of, matchLabelKeys adds "key In (value)" and mismatchLabelKeys
// "key NotIn (value)". A term without a labelSelector matches nothing and is
// left alone; the key lists stay as they are.
func MergeAffinityLabelKeys(p *corev1.Pod) {
	a := p.Spec.Affinity
	if a == nil {
		return
	}
	var terms []*corev1.PodAffinityTerm
	if pa := a.PodAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i])
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.PreferredDuringSchedulingIgnoredDuringExecution[i].PodAffinityTerm)
		}
	}
	if pa := a.PodAntiAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i])
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, &pa.PreferredDuringSchedulingIgnoredDuringExecution[i].PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if t.LabelSelector == nil {
			continue
		}
		mergeLabelKeys(t.LabelSelector, t.MatchLabelKeys, metav1.LabelSelectorOpIn, p.Labels)
		mergeLabelKeys(t.LabelSelector, t.MismatchLabelKeys, metav1.LabelSelectorOpNotIn, p.Labels)
	}
}

// mergeLabelKeys appends "key op (the Pod's value)" to sel for each key the
// Pod has a label of.
func mergeLabelKeys(sel *metav1.LabelSelector, keys []string, op metav1.LabelSelectorOperator, podLabels map[string]string) {
	for _, k := range keys {
		if v, ok := podLabels[k]; ok {
			sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: op, Values: []string{v}})
		}
	}
}

// validateAffinityLabelKeys checks matchLabelKeys and mismatchLabelKeys as
// kube-apiserver does (after the merge): each a label name, no key in both
// lists, and no matchLabelKeys key also in the labelSelector the user wrote.
func validateAffinityLabelKeys(t *corev1.PodAffinityTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, l := range []struct {
		name string
		keys []string
	}{{"matchLabelKeys", t.MatchLabelKeys}, {"mismatchLabelKeys", t.MismatchLabelKeys}} {
		for i, k := range l.keys {
			errs = append(errs, metav1validation.ValidateLabelName(k, fldPath.Child(l.name).Index(i))...)
		}
		if len(l.keys) > 0 && t.LabelSelector == nil {
			errs = append(errs, field.Forbidden(fldPath.Child(l.name), "must not be specified when labelSelector is not set"))
		}
	}
	if sel := t.LabelSelector; sel != nil && len(t.MatchLabelKeys) > 0 {
		// The merge appended one expression per key the Pod has; a key that
		// also appears in matchLabels or in another expression was in the
		// user's selector too.
		match := sets.New(t.MatchLabelKeys...)
		seen := sets.New[string]()
		for k := range sel.MatchLabels {
			seen.Insert(k)
		}
		for _, r := range sel.MatchExpressions {
			if match.Has(r.Key) && seen.Has(r.Key) {
				errs = append(errs, field.Invalid(fldPath.Child("matchLabelKeys"), r.Key, "exists in both matchLabelKeys and labelSelector"))
			}
			seen.Insert(r.Key)
		}
	}
	mismatch := sets.New(t.MismatchLabelKeys...)
	for i, k := range t.MatchLabelKeys {
		if mismatch.Has(k) {
			errs = append(errs, field.Invalid(fldPath.Child("matchLabelKeys").Index(i), k, "exists in both matchLabelKeys and mismatchLabelKeys"))
		}
	}
	return errs
}
