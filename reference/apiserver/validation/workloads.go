package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- StatefulSet ----

// StatefulSetKind is the strategy of apps/v1 StatefulSet.
func StatefulSetKind() *Kind[*appsv1.StatefulSet] {
	return &Kind[*appsv1.StatefulSet]{
		Defaults:      defaultStatefulSet,
		Create:        validateStatefulSet,
		Update:        validateStatefulSetUpdate,
		Status:        func(n, _ *appsv1.StatefulSet) field.ErrorList { return validateStatefulSetStatus(n) },
		PrepareCreate: func(s *appsv1.StatefulSet) { s.Status = appsv1.StatefulSetStatus{} },
	}
}

// defaultStatefulSet: OrderedReady, RollingUpdate with partition 0, 1 replica, 10 revisions,
// Retain on delete and scale-down, and the pod template defaults.
func defaultStatefulSet(s *appsv1.StatefulSet) {
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType {
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
		if spec.UpdateStrategy.RollingUpdate.Partition == nil {
			spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(0))
		}
	}
	if spec.Replicas == nil {
		spec.Replicas = ptrTo(int32(1))
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo(defaultRevisionHistoryLimit)
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted == "" {
		spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.PersistentVolumeClaimRetentionPolicy.WhenScaled == "" {
		spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	defaultPodSpec(&spec.Template.Spec)
}

var (
	supportedPodManagement = []string{string(appsv1.OrderedReadyPodManagement), string(appsv1.ParallelPodManagement)}
	supportedSTSStrategies = []string{string(appsv1.OnDeleteStatefulSetStrategyType), string(appsv1.RollingUpdateStatefulSetStrategyType)}
	supportedRetention     = []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)}
	supportedDSStrategies  = []string{string(appsv1.OnDeleteDaemonSetStrategyType), string(appsv1.RollingUpdateDaemonSetStrategyType)}
)

func validateStatefulSet(s *appsv1.StatefulSet) field.ErrorList {
	spec := &s.Spec
	var errs field.ErrorList
	errs = append(errs, validateEnum(spec.PodManagementPolicy, supportedPodManagement, specPath.Child("podManagementPolicy"))...)
	us := specPath.Child("updateStrategy")
	errs = append(errs, validateEnum(spec.UpdateStrategy.Type, supportedSTSStrategies, us.Child("type"))...)
	if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
		if spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
			errs = append(errs, field.Invalid(us.Child("rollingUpdate"), ru, fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		} else {
			if ru.Partition != nil {
				errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*ru.Partition), us.Child("rollingUpdate", "partition"))...)
			}
			if ru.MaxUnavailable != nil {
				p := us.Child("rollingUpdate", "maxUnavailable")
				errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, p)...)
				if v, isPercent, ok := intOrPercentValue(*ru.MaxUnavailable); ok && v == 0 {
					errs = append(errs, field.Invalid(p, ru.MaxUnavailable.String(), "must be greater than 0"))
				} else if ok && isPercent && v > 100 {
					errs = append(errs, field.Invalid(p, ru.MaxUnavailable.String(), "must not be greater than 100%"))
				}
			}
		}
	}
	if pol := spec.PersistentVolumeClaimRetentionPolicy; pol != nil {
		pp := specPath.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateEnum(pol.WhenDeleted, supportedRetention, pp.Child("whenDeleted"))...)
		errs = append(errs, validateEnum(pol.WhenScaled, supportedRetention, pp.Child("whenScaled"))...)
	}
	errs = append(errs, validateReplicas(spec.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	if spec.Ordinals != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.Ordinals.Start), specPath.Child("ordinals", "start"))...)
	}
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, "statefulset")...)
	return errs
}

// validateStatefulSetUpdate: only replicas, ordinals, template, updateStrategy,
// revisionHistoryLimit, persistentVolumeClaimRetentionPolicy and minReadySeconds may change.
func validateStatefulSetUpdate(n, o *appsv1.StatefulSet) field.ErrorList {
	a, b := n.Spec.DeepCopy(), o.Spec.DeepCopy()
	for _, s := range []*appsv1.StatefulSetSpec{a, b} {
		s.Replicas, s.Ordinals, s.Template, s.UpdateStrategy = nil, nil, b.Template, appsv1.StatefulSetUpdateStrategy{}
		s.RevisionHistoryLimit, s.PersistentVolumeClaimRetentionPolicy, s.MinReadySeconds = nil, nil, 0
	}
	if !apiequality.Semantic.DeepEqual(a, b) {
		return field.ErrorList{field.Forbidden(specPath, "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")}
	}
	return nil
}

func validateStatefulSetStatus(s *appsv1.StatefulSet) field.ErrorList {
	st := &s.Status
	errs := validateReplicaCounts(replicaCounts{
		replicas: int64(st.Replicas), ready: int64(st.ReadyReplicas), available: int64(st.AvailableReplicas),
		observedGeneration: st.ObservedGeneration,
		extra:              map[string]int64{"currentReplicas": int64(st.CurrentReplicas), "updatedReplicas": int64(st.UpdatedReplicas)},
	})
	if st.CollisionCount != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*st.CollisionCount), statusPath.Child("collisionCount"))...)
	}
	return errs
}

// ---- DaemonSet ----

// DaemonSetKind is the strategy of apps/v1 DaemonSet.
func DaemonSetKind() *Kind[*appsv1.DaemonSet] {
	return &Kind[*appsv1.DaemonSet]{
		Defaults: defaultDaemonSet,
		Create:   validateDaemonSet,
		Update: func(n, o *appsv1.DaemonSet) field.ErrorList {
			return validateSelectorUpdate(n.Spec.Selector, o.Spec.Selector)
		},
		Status:        func(n, _ *appsv1.DaemonSet) field.ErrorList { return validateDaemonSetStatus(n) },
		PrepareCreate: func(d *appsv1.DaemonSet) { d.Status = appsv1.DaemonSetStatus{} },
	}
}

// defaultDaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0, 10 revisions, and the
// pod template defaults.
func defaultDaemonSet(d *appsv1.DaemonSet) {
	spec := &d.Spec
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if spec.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
			spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
		if spec.UpdateStrategy.RollingUpdate.MaxSurge == nil {
			spec.UpdateStrategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(0))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo(defaultRevisionHistoryLimit)
	}
	defaultPodSpec(&spec.Template.Spec)
}

func validateDaemonSet(d *appsv1.DaemonSet) field.ErrorList {
	spec := &d.Spec
	var errs field.ErrorList
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, "daemonset")...)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), specPath.Child("revisionHistoryLimit"))...)
	}
	us := specPath.Child("updateStrategy")
	errs = append(errs, validateEnum(spec.UpdateStrategy.Type, supportedDSStrategies, us.Child("type"))...)
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		ru := spec.UpdateStrategy.RollingUpdate
		if ru == nil {
			errs = append(errs, field.Required(us.Child("rollingUpdate"), ""))
		} else {
			p := us.Child("rollingUpdate")
			unavail, surge := intOrZero(ru.MaxUnavailable), intOrZero(ru.MaxSurge)
			errs = append(errs, validatePositiveIntOrPercent(unavail, p.Child("maxUnavailable"))...)
			errs = append(errs, validatePositiveIntOrPercent(surge, p.Child("maxSurge"))...)
			uv, uPct, uok := intOrPercentValue(unavail)
			sv, sPct, sok := intOrPercentValue(surge)
			if uok && uPct && uv > 100 {
				errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavail.String(), "must not be greater than 100%"))
			}
			if sok && sPct && sv > 100 {
				errs = append(errs, field.Invalid(p.Child("maxSurge"), surge.String(), "must not be greater than 100%"))
			}
			if uok && sok && uv == 0 && sv == 0 {
				errs = append(errs, field.Invalid(p.Child("maxUnavailable"), unavail.String(), "cannot be 0 when maxSurge is 0"))
			}
		}
	}
	return errs
}

func validateDaemonSetStatus(d *appsv1.DaemonSet) field.ErrorList {
	st := &d.Status
	var errs field.ErrorList
	for name, v := range map[string]int64{
		"currentNumberScheduled": int64(st.CurrentNumberScheduled), "numberMisscheduled": int64(st.NumberMisscheduled),
		"desiredNumberScheduled": int64(st.DesiredNumberScheduled), "numberReady": int64(st.NumberReady),
		"observedGeneration": st.ObservedGeneration, "updatedNumberScheduled": int64(st.UpdatedNumberScheduled),
		"numberAvailable": int64(st.NumberAvailable), "numberUnavailable": int64(st.NumberUnavailable),
	} {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(v, statusPath.Child(name))...)
	}
	if st.CollisionCount != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(*st.CollisionCount), statusPath.Child("collisionCount"))...)
	}
	return errs
}

// ---- ControllerRevision ----

// ControllerRevisionKind is the strategy of apps/v1 ControllerRevision: data is required and
// immutable, revision non-negative.
func ControllerRevisionKind() *Kind[*appsv1.ControllerRevision] {
	return &Kind[*appsv1.ControllerRevision]{
		Create: func(r *appsv1.ControllerRevision) field.ErrorList {
			var errs field.ErrorList
			if r.Data.Raw == nil && r.Data.Object == nil {
				errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
			}
			return append(errs, apimachineryvalidation.ValidateNonnegativeField(r.Revision, field.NewPath("revision"))...)
		},
		Update: func(n, o *appsv1.ControllerRevision) field.ErrorList {
			return apimachineryvalidation.ValidateImmutableField(string(n.Data.Raw), string(o.Data.Raw), field.NewPath("data"))
		},
	}
}
