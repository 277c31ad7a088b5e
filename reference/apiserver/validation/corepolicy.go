package validation

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The core/v1 kinds that hold workload templates and namespace policy: PodTemplate,
// ReplicationController, LimitRange and ResourceQuota, with kube-apiserver 1.37's validation
// (pkg/apis/core/validation), defaulting (pkg/apis/core/v1/defaults.go) and strategies
// (pkg/registry/core/*/strategy.go).

// PodTemplateKind is the strategy of core/v1 PodTemplate.
func PodTemplateKind() *Kind[*corev1.PodTemplate] {
	return &Kind[*corev1.PodTemplate]{
		Defaults: func(pt *corev1.PodTemplate) { defaultPodSpec(&pt.Template.Spec) },
		Create: func(pt *corev1.PodTemplate) field.ErrorList {
			return validatePodTemplateSpec(&pt.Template, field.NewPath("template"))
		},
	}
}

// ReplicationControllerKind is the strategy of core/v1 ReplicationController.
func ReplicationControllerKind() *Kind[*corev1.ReplicationController] {
	return &Kind[*corev1.ReplicationController]{
		Defaults: defaultReplicationController,
		Create:   validateReplicationController,
		Status: func(n, _ *corev1.ReplicationController) field.ErrorList {
			return validateReplicationControllerStatus(&n.Status)
		},
		PrepareCreate: func(rc *corev1.ReplicationController) {
			rc.Status = corev1.ReplicationControllerStatus{}
		},
		PrepareStatus: func(n, o *corev1.ReplicationController) { n.Labels = o.Labels },
	}
}

// LimitRangeKind is the strategy of core/v1 LimitRange.
func LimitRangeKind() *Kind[*corev1.LimitRange] {
	return &Kind[*corev1.LimitRange]{Defaults: defaultLimitRange, Create: validateLimitRange}
}

// ResourceQuotaKind is the strategy of core/v1 ResourceQuota: a create starts with an empty
// status (the resource-quota controller fills it), a write of the main resource keeps the
// stored status and spec.scopes are immutable.
func ResourceQuotaKind() *Kind[*corev1.ResourceQuota] {
	return &Kind[*corev1.ResourceQuota]{
		Create: func(q *corev1.ResourceQuota) field.ErrorList {
			return append(validateResourceQuotaSpec(&q.Spec), validateResourceQuotaStatus(&q.Status)...)
		},
		Update: validateResourceQuotaScopesUpdate,
		Status: func(n, _ *corev1.ResourceQuota) field.ErrorList {
			var errs field.ErrorList
			if n.ResourceVersion == "" {
				errs = append(errs, field.Required(field.NewPath("resourceVersion"), ""))
			}
			return append(errs, validateResourceQuotaStatus(&n.Status)...)
		},
		PrepareCreate: func(q *corev1.ResourceQuota) { q.Status = corev1.ResourceQuotaStatus{} },
	}
}

// validatePodTemplateSpec checks an embedded pod template: its labels and annotations (at
// fldPath.labels and fldPath.annotations, as upstream reports them), its pod spec, and no
// ephemeral containers.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, metav1validation.ValidateLabels(t.Labels, fldPath.Child("labels"))...)
	errs = append(errs, apimachineryvalidation.ValidateAnnotations(t.Annotations, fldPath.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&t.Spec, fldPath.Child("spec"), podSpecOpts{})...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(fldPath.Child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"))
	}
	return errs
}

// defaultReplicationController: an empty selector and empty labels come from the template's
// labels, replicas default to 1, and the template gets the pod defaults.
func defaultReplicationController(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil && t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = copyStringMap(t.Labels)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = copyStringMap(t.Labels)
		}
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptrTo(int32(1))
	}
	if rc.Spec.Template != nil {
		defaultPodSpec(&rc.Spec.Template.Spec)
	}
}

func copyStringMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// validateReplicationController: minReadySeconds and replicas non-negative, a non-empty
// selector, and a template whose labels match it, with restartPolicy Always and no
// activeDeadlineSeconds.
func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	var errs field.ErrorList
	spec := &rc.Spec
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if labels.Set(spec.Selector).AsSelector().Empty() {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	if spec.Replicas == nil {
		errs = append(errs, field.Required(specPath.Child("replicas"), ""))
	} else {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.Replicas), specPath.Child("replicas"))...)
	}
	tmplPath := specPath.Child("template")
	t := spec.Template
	if t == nil {
		return append(errs, field.Required(tmplPath, ""))
	}
	if sel := labels.Set(spec.Selector).AsSelector(); !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tmplPath.Child("metadata", "labels"), t.Labels, selectorMismatchMsg))
	}
	errs = append(errs, validatePodTemplateSpec(t, tmplPath)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tmplPath.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tmplPath.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}

// validateReplicationControllerStatus: every counter non-negative, none above status.replicas,
// available not above ready.
func validateReplicationControllerStatus(s *corev1.ReplicationControllerStatus) field.ErrorList {
	var errs field.ErrorList
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"replicas", int64(s.Replicas)}, {"fullyLabeledReplicas", int64(s.FullyLabeledReplicas)},
		{"readyReplicas", int64(s.ReadyReplicas)}, {"availableReplicas", int64(s.AvailableReplicas)},
		{"observedGeneration", s.ObservedGeneration},
	} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(c.v, statusPath.Child(c.name))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.FullyLabeledReplicas > s.Replicas {
		errs = append(errs, field.Invalid(statusPath.Child("fullyLabeledReplicas"), s.FullyLabeledReplicas, msg))
	}
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(statusPath.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(statusPath.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

// defaultLimitRange: for a Container limit, a missing default limit is the max, a missing
// default request is the default limit, else the min.
func defaultLimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		if item.Default == nil {
			item.Default = corev1.ResourceList{}
		}
		if item.DefaultRequest == nil {
			item.DefaultRequest = corev1.ResourceList{}
		}
		for k, v := range item.Max {
			if _, ok := item.Default[k]; !ok {
				item.Default[k] = v.DeepCopy()
			}
		}
		for k, v := range item.Default {
			if _, ok := item.DefaultRequest[k]; !ok {
				item.DefaultRequest[k] = v.DeepCopy()
			}
		}
		for k, v := range item.Min {
			if _, ok := item.DefaultRequest[k]; !ok {
				item.DefaultRequest[k] = v.DeepCopy()
			}
		}
	}
}

var standardLimitTypes = sets.New(corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim)

func validateLimitTypeName(t corev1.LimitType, fldPath *field.Path) field.ErrorList {
	if msgs := utilvalidation.IsQualifiedName(string(t)); len(msgs) > 0 {
		return invalidMsgs(fldPath, t, msgs)
	}
	if !strings.Contains(string(t), "/") && !standardLimitTypes.Has(t) {
		return field.ErrorList{field.Invalid(fldPath, t, "must be a standard limit type or fully qualified")}
	}
	return nil
}

// validateLimitRangeResourceName: container resource names for Pod and Container limits, any
// qualified resource name otherwise.
func validateLimitRangeResourceName(t corev1.LimitType, name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if t == corev1.LimitTypePod || t == corev1.LimitTypeContainer {
		return invalidMsgs(fldPath, string(name), containerResourceNameMsgs(string(name)))
	}
	return invalidMsgs(fldPath, string(name), utilvalidation.IsQualifiedName(string(name)))
}

func sortedNames(keys sets.Set[string]) []string {
	out := sets.List(keys)
	sort.Strings(out)
	return out
}

// validateLimitRange checks every limit: a known type at most once, resource names, no
// default or defaultRequest for Pod limits, min <= defaultRequest <= default <= max, ratio >= 1
// and not above max/min.
func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	fldPath := specPath.Child("limits")
	seen := map[corev1.LimitType]bool{}
	for i := range lr.Spec.Limits {
		idx := fldPath.Index(i)
		limit := &lr.Spec.Limits[i]
		errs = append(errs, validateLimitTypeName(limit.Type, idx.Child("type"))...)
		if seen[limit.Type] {
			errs = append(errs, field.Duplicate(idx.Child("type"), limit.Type))
		}
		seen[limit.Type] = true

		keys := sets.New[string]()
		collect := func(list corev1.ResourceList, name string) map[string]resource.Quantity {
			out := map[string]resource.Quantity{}
			for _, k := range sortedResourceNames(list) {
				errs = append(errs, validateLimitRangeResourceName(limit.Type, k, idx.Child(name).Key(string(k)))...)
				keys.Insert(string(k))
				out[string(k)] = list[k]
			}
			return out
		}
		maxQ := collect(limit.Max, "max")
		minQ := collect(limit.Min, "min")
		defaults, defaultRequests := map[string]resource.Quantity{}, map[string]resource.Quantity{}
		if limit.Type == corev1.LimitTypePod {
			if len(limit.Default) > 0 {
				errs = append(errs, field.Forbidden(idx.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(limit.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(idx.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			defaults = collect(limit.Default, "default")
			defaultRequests = collect(limit.DefaultRequest, "defaultRequest")
		}
		if limit.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := limit.Min[corev1.ResourceStorage]
			_, hasMax := limit.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				errs = append(errs, field.Required(idx.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		ratios := collect(limit.MaxLimitRequestRatio, "maxLimitRequestRatio")

		for _, k := range sortedNames(keys) {
			mn, hasMin := minQ[k]
			mx, hasMax := maxQ[k]
			def, hasDef := defaults[k]
			req, hasReq := defaultRequests[k]
			ratio, hasRatio := ratios[k]
			if hasMin && hasMax && mn.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(idx.Child("min").Key(k), mn.String(), fmt.Sprintf("min value %s is greater than max value %s", mn.String(), mx.String())))
			}
			if hasReq && hasMin && mn.Cmp(req) > 0 {
				errs = append(errs, field.Invalid(idx.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("min value %s is greater than default request value %s", mn.String(), req.String())))
			}
			if hasReq && hasMax && req.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(idx.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("default request value %s is greater than max value %s", req.String(), mx.String())))
			}
			if hasReq && hasDef && req.Cmp(def) > 0 {
				errs = append(errs, field.Invalid(idx.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", req.String(), def.String())))
			}
			if hasDef && hasMin && mn.Cmp(def) > 0 {
				errs = append(errs, field.Invalid(idx.Child("default").Key(k), mn.String(), fmt.Sprintf("min value %s is greater than default value %s", mn.String(), def.String())))
			}
			if hasDef && hasMax && def.Cmp(mx) > 0 {
				errs = append(errs, field.Invalid(idx.Child("default").Key(k), mx.String(), fmt.Sprintf("default value %s is greater than max value %s", def.String(), mx.String())))
			}
			if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				errs = append(errs, field.Invalid(idx.Child("maxLimitRequestRatio").Key(k), ratio.String(), fmt.Sprintf("ratio %s is less than 1", ratio.String())))
			}
			if hasRatio && hasMin && hasMax {
				r, lo, hi := float64(ratio.Value()), mn.Value(), mx.Value()
				if ratio.Value() < resource.MaxMilliValue && lo < resource.MaxMilliValue && hi < resource.MaxMilliValue {
					r, lo, hi = float64(ratio.MilliValue())/1000, mn.MilliValue(), mx.MilliValue()
				}
				if limitRatio := float64(hi) / float64(lo); r > limitRatio {
					errs = append(errs, field.Invalid(idx.Child("maxLimitRequestRatio").Key(k), ratio.String(), fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), limitRatio)))
				}
			}
			if !overcommitAllowed(k) && hasDef && hasReq && def.Cmp(req) != 0 {
				errs = append(errs, field.Invalid(idx.Child("defaultRequest").Key(k), req.String(), fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", def.String(), req.String(), k)))
			}
		}
	}
	return errs
}

// overcommitAllowed: native resources (no domain, or kubernetes.io/) but hugepages.
func overcommitAllowed(name string) bool {
	native := !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
	return native && !strings.HasPrefix(name, corev1.ResourceHugePagesPrefix)
}

// standardQuotaResources are the resource names a quota may track without a domain prefix.
var standardQuotaResources = sets.New(
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage,
	corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
	corev1.ResourceLimitsEphemeralStorage, corev1.ResourcePods, corev1.ResourceQuotas,
	corev1.ResourceServices, corev1.ResourceReplicationControllers, corev1.ResourceSecrets,
	corev1.ResourcePersistentVolumeClaims, corev1.ResourceConfigMaps,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

// integerQuotaResources are counted in whole units.
var integerQuotaResources = sets.New(
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices,
	corev1.ResourceReplicationControllers, corev1.ResourceSecrets, corev1.ResourceConfigMaps,
	corev1.ResourcePersistentVolumeClaims, corev1.ResourceServicesNodePorts,
	corev1.ResourceServicesLoadBalancers,
)

func isStandardQuotaResource(name corev1.ResourceName) bool {
	return standardQuotaResources.Has(name) ||
		strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix)
}

// validateQuotaResource checks a quota entry's name (standard or domain-qualified) and value
// (non-negative, whole for counted resources and extended resources).
func validateQuotaResource(name corev1.ResourceName, q resource.Quantity, fldPath *field.Path) field.ErrorList {
	errs := invalidMsgs(fldPath, string(name), utilvalidation.IsQualifiedName(string(name)))
	if len(errs) == 0 && !strings.Contains(string(name), "/") && !isStandardQuotaResource(name) {
		errs = append(errs, field.Invalid(fldPath, name, "must be a standard resource for quota"))
	}
	if q.Sign() < 0 {
		errs = append(errs, field.Invalid(fldPath, q.String(), "must be greater than or equal to 0"))
	}
	if (integerQuotaResources.Has(name) || isExtendedResource(string(name))) && q.MilliValue()%1000 != 0 {
		errs = append(errs, field.Invalid(fldPath, q.String(), "must be an integer"))
	}
	return errs
}

func validateQuotaList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedResourceNames(list) {
		errs = append(errs, validateQuotaResource(k, list[k], fldPath.Key(string(k)))...)
	}
	return errs
}

var standardQuotaScopes = sets.New(
	corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
	corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
	corev1.ResourceQuotaScopeVolumeAttributesClass,
)

// scopeValidForResource: BestEffort quotas track only pods; the other pod scopes track pods and
// compute resources.
func scopeValidForResource(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	podCompute := sets.New(corev1.ResourcePods, corev1.ResourceCPU, corev1.ResourceMemory,
		corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
		corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage)
	switch scope {
	case corev1.ResourceQuotaScopeBestEffort:
		return name == corev1.ResourcePods
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podCompute.Has(name) || strings.HasPrefix(string(name), corev1.ResourceRequestsHugePagesPrefix) ||
			strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return name == corev1.ResourcePersistentVolumeClaims || name == corev1.ResourceRequestsStorage
	}
	return false
}

var conflictingScopes = [][2]corev1.ResourceQuotaScope{
	{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
	{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating},
}

// validateResourceQuotaSpec: hard entries, scopes (known, valid for every hard resource, not
// conflicting) and the scope selector.
func validateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec) field.ErrorList {
	errs := validateQuotaList(spec.Hard, specPath.Child("hard"))
	hard := sortedResourceNames(spec.Hard)
	scopesPath := specPath.Child("scopes")
	set := sets.New[corev1.ResourceQuotaScope]()
	for _, scope := range spec.Scopes {
		if !standardQuotaScopes.Has(scope) {
			errs = append(errs, field.Invalid(scopesPath, spec.Scopes, "unsupported scope"))
		}
		for _, k := range hard {
			if isStandardQuotaResource(k) && !scopeValidForResource(scope, k) {
				errs = append(errs, field.Invalid(scopesPath, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		set.Insert(scope)
	}
	for _, pair := range conflictingScopes {
		if set.Has(pair[0]) && set.Has(pair[1]) {
			errs = append(errs, field.Invalid(scopesPath, spec.Scopes, "conflicting scopes"))
		}
	}
	if spec.ScopeSelector != nil {
		errs = append(errs, validateScopeSelector(spec, hard)...)
	}
	return errs
}

func validateScopeSelector(spec *corev1.ResourceQuotaSpec, hard []corev1.ResourceName) field.ErrorList {
	var errs field.ErrorList
	p := specPath.Child("scopeSelector", "matchExpressions")
	set := sets.New[corev1.ResourceQuotaScope]()
	for _, req := range spec.ScopeSelector.MatchExpressions {
		if !standardQuotaScopes.Has(req.ScopeName) {
			errs = append(errs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
		}
		for _, k := range hard {
			if isStandardQuotaResource(k) && !scopeValidForResource(req.ScopeName, k) {
				errs = append(errs, field.Invalid(p, spec.ScopeSelector, "unsupported scope applied to resource"))
			}
		}
		switch req.ScopeName {
		case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
			corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
			if req.Operator != corev1.ScopeSelectorOpExists {
				errs = append(errs, field.Invalid(p.Child("operator"), req.Operator,
					"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
			}
		}
		switch req.Operator {
		case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
			}
		case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
			if len(req.Values) != 0 {
				errs = append(errs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
		}
		set.Insert(req.ScopeName)
	}
	for _, pair := range conflictingScopes {
		if set.Has(pair[0]) && set.Has(pair[1]) {
			errs = append(errs, field.Invalid(p, spec.Scopes, "conflicting scopes"))
		}
	}
	return errs
}

func validateResourceQuotaStatus(s *corev1.ResourceQuotaStatus) field.ErrorList {
	return append(validateQuotaList(s.Hard, statusPath.Child("hard")), validateQuotaList(s.Used, statusPath.Child("used"))...)
}

// validateResourceQuotaScopesUpdate: spec.scopes may not change.
func validateResourceQuotaScopesUpdate(n, o *corev1.ResourceQuota) field.ErrorList {
	newScopes, oldScopes := sets.New(n.Spec.Scopes...), sets.New(o.Spec.Scopes...)
	if !newScopes.Equal(oldScopes) {
		return field.ErrorList{field.Invalid(specPath.Child("scopes"), n.Spec.Scopes, apimachineryvalidation.FieldImmutableErrorMsg)}
	}
	return nil
}
