package validation

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/diff"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ---- core/v1 PersistentVolume and PersistentVolumeClaim ----

var (
	pvAccessModes    = []string{string(corev1.ReadOnlyMany), string(corev1.ReadWriteMany), string(corev1.ReadWriteOnce), string(corev1.ReadWriteOncePod)}
	pvReclaimPolices = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRecycle), string(corev1.PersistentVolumeReclaimRetain)}
	pvVolumeModes    = []string{string(corev1.PersistentVolumeBlock), string(corev1.PersistentVolumeFilesystem)}
)

// PersistentVolumeKind is the strategy of core/v1 PersistentVolume: a create starts in phase
// Pending; reclaimPolicy defaults to Retain and volumeMode to Filesystem; the volume source is
// immutable.
func PersistentVolumeKind() *Kind[*corev1.PersistentVolume] {
	return &Kind[*corev1.PersistentVolume]{
		ClusterScoped: true,
		Defaults: func(pv *corev1.PersistentVolume) {
			if pv.Spec.PersistentVolumeReclaimPolicy == "" {
				pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
			}
			if pv.Spec.VolumeMode == nil {
				pv.Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
			}
			if pv.Status.Phase == "" {
				pv.Status.Phase = corev1.VolumePending
			}
		},
		Create: validatePersistentVolume,
		Update: validatePersistentVolumeUpdate,
		Status: func(n, _ *corev1.PersistentVolume) field.ErrorList {
			if n.Status.Phase == "" {
				return nil
			}
			return validateEnum(n.Status.Phase, []string{"Available", "Bound", "Failed", "Pending", "Released"}, field.NewPath("status", "phase"))
		},
		PrepareCreate: func(pv *corev1.PersistentVolume) {
			now := metav1.NewTime(time.Now().Truncate(time.Second))
			pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
		},
		PrepareUpdate: func(n, o *corev1.PersistentVolume) { n.Status = o.Status },
		PrepareStatus: func(n, o *corev1.PersistentVolume) {
			n.Spec = o.Spec
			if n.Status.Phase != o.Status.Phase {
				now := metav1.NewTime(time.Now().Truncate(time.Second))
				n.Status.LastPhaseTransitionTime = &now
			}
		},
	}
}

func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, p *field.Path, requiredMsg string) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(p, requiredMsg))
	}
	rwop, other := false, false
	for _, m := range modes {
		switch m {
		case corev1.ReadWriteOncePod:
			rwop = true
		case corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce:
			other = true
		default:
			errs = append(errs, field.NotSupported(p, m, pvAccessModes))
		}
	}
	if rwop && other {
		errs = append(errs, field.Forbidden(p, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// countPVSources counts the volume types a PersistentVolumeSource sets (every one is a pointer).
func countPVSources(src *corev1.PersistentVolumeSource) int {
	v := reflect.ValueOf(src).Elem()
	n := 0
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	sp := field.NewPath("spec")
	spec := &pv.Spec
	errs := validateAccessModes(spec.AccessModes, sp.Child("accessModes"), "")
	if len(spec.Capacity) == 0 {
		errs = append(errs, field.Required(sp.Child("capacity"), ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		errs = append(errs, field.NotSupported(sp.Child("capacity"), spec.Capacity, []string{string(corev1.ResourceStorage)}))
	}
	for r, q := range spec.Capacity {
		if q.Sign() <= 0 {
			errs = append(errs, field.Invalid(sp.Child("capacity").Key(string(r)), q.String(), "must be greater than zero"))
		}
	}
	if spec.PersistentVolumeReclaimPolicy != "" {
		errs = append(errs, validateEnum(spec.PersistentVolumeReclaimPolicy, pvReclaimPolices, sp.Child("persistentVolumeReclaimPolicy"))...)
	}
	switch n := countPVSources(&spec.PersistentVolumeSource); {
	case n == 0:
		errs = append(errs, field.Required(sp, "must specify a volume type"))
	case n > 1:
		errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type"))
	}
	if hp := spec.HostPath; hp != nil {
		if hp.Path == "" {
			errs = append(errs, field.Required(sp.Child("hostPath", "path"), ""))
		}
		if strings.TrimRight(hp.Path, "/") == "" && hp.Path != "" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
			errs = append(errs, field.Forbidden(sp.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
		}
	}
	if l := spec.Local; l != nil && l.Path == "" {
		errs = append(errs, field.Required(sp.Child("local", "path"), ""))
	}
	if nfs := spec.NFS; nfs != nil {
		if nfs.Server == "" {
			errs = append(errs, field.Required(sp.Child("nfs", "server"), ""))
		}
		if nfs.Path == "" {
			errs = append(errs, field.Required(sp.Child("nfs", "path"), ""))
		} else if !strings.HasPrefix(nfs.Path, "/") {
			errs = append(errs, field.Invalid(sp.Child("nfs", "path"), nfs.Path, "must be an absolute path"))
		}
	}
	if csi := spec.CSI; csi != nil {
		errs = append(errs, validateCSIDriverName(csi.Driver, sp.Child("csi", "driver"))...)
		if csi.VolumeHandle == "" {
			errs = append(errs, field.Required(sp.Child("csi", "volumeHandle"), ""))
		}
	}
	if spec.StorageClassName != "" {
		errs = append(errs, invalidMsgs(sp.Child("storageClassName"), spec.StorageClassName, apimachineryvalidation.NameIsDNSSubdomain(spec.StorageClassName, false))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, validateEnum(*spec.VolumeMode, pvVolumeModes, sp.Child("volumeMode"))...)
	}
	if na := spec.NodeAffinity; na != nil {
		if na.Required == nil {
			errs = append(errs, field.Required(sp.Child("nodeAffinity", "required"), "must specify required node constraints"))
		} else if len(na.Required.NodeSelectorTerms) == 0 {
			errs = append(errs, field.Required(sp.Child("nodeAffinity", "required", "nodeSelectorTerms"), "must have at least one node selector term"))
		}
	}
	if c := spec.VolumeAttributesClassName; c != nil {
		if *c == "" {
			errs = append(errs, field.Required(sp.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			errs = append(errs, invalidMsgs(sp.Child("volumeAttributesClassName"), *c, apimachineryvalidation.NameIsDNSSubdomain(*c, false))...)
		}
		if spec.CSI == nil {
			errs = append(errs, field.Required(sp.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return errs
}

// validatePersistentVolumeUpdate: the volume source and volumeMode are immutable (a CSI
// volume may gain a controllerExpandSecretRef).
func validatePersistentVolumeUpdate(n, o *corev1.PersistentVolume) field.ErrorList {
	var errs field.ErrorList
	newSrc := n.Spec.PersistentVolumeSource.DeepCopy()
	if o.Spec.CSI != nil && o.Spec.CSI.ControllerExpandSecretRef == nil && newSrc.CSI != nil {
		newSrc.CSI.ControllerExpandSecretRef = nil
	}
	if !equality.Semantic.DeepEqual(*newSrc, o.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"),
			"spec.persistentvolumesource is immutable after creation\n"+diff.Diff(o.Spec.PersistentVolumeSource, *newSrc)))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.VolumeMode, o.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if o.Spec.VolumeAttributesClassName != nil && n.Spec.VolumeAttributesClassName == nil {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
	}
	return errs
}

// PersistentVolumeClaimKind is the strategy of core/v1 PersistentVolumeClaim: a create starts
// in phase Pending; volumeMode defaults to Filesystem; the spec is immutable but for
// volumeName (once), and, for a bound claim, resources.requests and volumeAttributesClassName;
// the storage request may not shrink below status.capacity.
func PersistentVolumeClaimKind() *Kind[*corev1.PersistentVolumeClaim] {
	return &Kind[*corev1.PersistentVolumeClaim]{
		Defaults: func(pvc *corev1.PersistentVolumeClaim) {
			if pvc.Spec.VolumeMode == nil {
				pvc.Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
			}
			if pvc.Status.Phase == "" {
				pvc.Status.Phase = corev1.ClaimPending
			}
		},
		Create: validatePersistentVolumeClaim,
		Update: validatePersistentVolumeClaimUpdate,
		Status: func(n, _ *corev1.PersistentVolumeClaim) field.ErrorList {
			var errs field.ErrorList
			cp := field.NewPath("status", "capacity")
			for r, q := range n.Status.Capacity {
				if q.Sign() < 0 {
					errs = append(errs, field.Invalid(cp.Key(string(r)), q.String(), "must be greater than or equal to 0"))
				}
			}
			return errs
		},
		PrepareCreate: func(pvc *corev1.PersistentVolumeClaim) {
			pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
		},
		PrepareUpdate: func(n, o *corev1.PersistentVolumeClaim) { n.Status = o.Status },
		PrepareStatus: func(n, o *corev1.PersistentVolumeClaim) { n.Spec = o.Spec },
	}
}

func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	sp := field.NewPath("spec")
	spec := &pvc.Spec
	errs := validateAccessModes(spec.AccessModes, sp.Child("accessModes"), "at least 1 access mode is required")
	if spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, metav1validation.LabelSelectorValidationOptions{}, sp.Child("selector"))...)
	}
	rp := sp.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(rp, ""))
	} else if q.Sign() <= 0 {
		errs = append(errs, field.Invalid(rp, q.String(), "must be greater than zero"))
	}
	if c := spec.StorageClassName; c != nil && *c != "" {
		errs = append(errs, invalidMsgs(sp.Child("storageClassName"), *c, apimachineryvalidation.NameIsDNSSubdomain(*c, false))...)
	}
	if spec.VolumeMode != nil {
		errs = append(errs, validateEnum(*spec.VolumeMode, pvVolumeModes, sp.Child("volumeMode"))...)
	}
	if ds := spec.DataSource; ds != nil {
		errs = append(errs, validateTypedLocalObjectReference(ds.APIGroup, ds.Kind, ds.Name, sp.Child("dataSource"))...)
	}
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		errs = append(errs, invalidMsgs(sp.Child("volumeAttributesClassName"), *c, apimachineryvalidation.NameIsDNSSubdomain(*c, false))...)
	}
	return errs
}

func validatePersistentVolumeClaimUpdate(n, o *corev1.PersistentVolumeClaim) field.ErrorList {
	var errs field.ErrorList
	newSpec, oldSpec := n.Spec.DeepCopy(), o.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName // volumeName may be set once
	}
	if oldSpec.StorageClassName == nil && o.Annotations[corev1.BetaStorageClassAnnotation] == "" {
		oldSpec.StorageClassName = newSpec.StorageClassName // a class may be set once when none was
	}
	bound := n.Status.Phase == corev1.ClaimBound
	if bound {
		if newSpec.Resources.Requests != nil {
			newSpec.Resources.Requests[corev1.ResourceStorage] = o.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	if !equality.Semantic.DeepEqual(*newSpec, *oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"),
			"spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"+diff.Diff(*oldSpec, *newSpec)))
	}
	newSize, oldSize := n.Spec.Resources.Requests[corev1.ResourceStorage], o.Spec.Resources.Requests[corev1.ResourceStorage]
	statusSize := o.Status.Capacity[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 && newSize.Cmp(statusSize) <= 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
	}
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.VolumeMode, o.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if o.Status.CurrentVolumeAttributesClassName != nil && !equality.Semantic.DeepEqual(o.Spec.VolumeAttributesClassName, n.Spec.VolumeAttributesClassName) {
		vp := field.NewPath("spec", "volumeAttributesClassName")
		if n.Spec.VolumeAttributesClassName == nil {
			errs = append(errs, field.Forbidden(vp, "update to nil is forbidden when status.currentVolumeAttributesClassName is not nil"))
		} else if *n.Spec.VolumeAttributesClassName == "" {
			errs = append(errs, field.Forbidden(vp, "update to empty string is forbidden when status.currentVolumeAttributesClassName is not nil"))
		}
	}
	return errs
}

// ---- storage.k8s.io/v1 ----

const (
	maxProvisionerParameterSize = 256 * (1 << 10)
	maxProvisionerParameterLen  = 512
	maxAttachedMetadataSize     = 256 * (1 << 10)
	maxVolumeErrorMessageSize   = 1024
	csiNodeIDMaxLength          = 256
)

// validateCSIDriverName: required, at most 63 characters, a DNS subdomain ignoring case.
func validateCSIDriverName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if len(name) > 63 {
		errs = append(errs, field.TooLong(p, "", 63))
	}
	return append(errs, invalidMsgs(p, name, validation.IsDNS1123Subdomain(strings.ToLower(name)))...)
}

// validateQualifiedName reports a name that is not a qualified name (a label key).
func validateQualifiedName(value string, p *field.Path) field.ErrorList {
	return invalidMsgs(p, value, content.IsLabelKey(value))
}

func validateProvisionerName(name string, p *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, name)}
	}
	return validateQualifiedName(strings.ToLower(name), p)
}

func validateStorageParameters(params map[string]string, allowEmpty bool, p *field.Path) field.ErrorList {
	if len(params) > maxProvisionerParameterLen {
		return field.ErrorList{field.TooLong(p, "", maxProvisionerParameterLen)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(p, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxProvisionerParameterSize {
		errs = append(errs, field.TooLong(p, "", maxProvisionerParameterSize))
	}
	if !allowEmpty && len(params) == 0 {
		errs = append(errs, field.Required(p, "must contain at least one key/value pair"))
	}
	return errs
}

// StorageClassKind is the strategy of storage.k8s.io/v1 StorageClass: reclaimPolicy defaults
// to Delete and volumeBindingMode to Immediate; provisioner, parameters, reclaimPolicy and
// volumeBindingMode are immutable.
func StorageClassKind() *Kind[*storagev1.StorageClass] {
	return &Kind[*storagev1.StorageClass]{
		ClusterScoped: true,
		Defaults: func(sc *storagev1.StorageClass) {
			if sc.ReclaimPolicy == nil {
				sc.ReclaimPolicy = ptrTo(corev1.PersistentVolumeReclaimDelete)
			}
			if sc.VolumeBindingMode == nil {
				sc.VolumeBindingMode = ptrTo(storagev1.VolumeBindingImmediate)
			}
		},
		Create: validateStorageClass,
		Update: func(n, o *storagev1.StorageClass) field.ErrorList {
			var errs field.ErrorList
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Parameters, o.Parameters, field.NewPath("parameters"))...)
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.Provisioner, o.Provisioner, field.NewPath("provisioner"))...)
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.ReclaimPolicy, o.ReclaimPolicy, field.NewPath("reclaimPolicy"))...)
			errs = append(errs, apimachineryvalidation.ValidateImmutableField(n.VolumeBindingMode, o.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
			return errs
		},
	}
}

func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	errs := validateProvisionerName(sc.Provisioner, field.NewPath("provisioner"))
	errs = append(errs, validateStorageParameters(sc.Parameters, true, field.NewPath("parameters"))...)
	if sc.ReclaimPolicy != nil && *sc.ReclaimPolicy != "" && *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete && *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *sc.ReclaimPolicy, []string{"Delete", "Retain"}))
	}
	mp := field.NewPath("volumeBindingMode")
	if sc.VolumeBindingMode == nil {
		errs = append(errs, field.Required(mp, ""))
	} else if *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate && *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		errs = append(errs, field.NotSupported(mp, *sc.VolumeBindingMode, []string{"Immediate", "WaitForFirstConsumer"}))
	}
	tp := field.NewPath("allowedTopologies")
	var seen []map[string]sets.Set[string]
	for i, term := range sc.AllowedTopologies {
		ip := tp.Index(i)
		exprs := map[string]sets.Set[string]{}
		for j, req := range term.MatchLabelExpressions {
			rp := ip.Child("matchLabelExpressions").Index(j)
			errs = append(errs, validateQualifiedName(req.Key, rp.Child("key"))...)
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(rp.Child("values"), ""))
			}
			vals := sets.New[string]()
			for k, v := range req.Values {
				if vals.Has(v) {
					errs = append(errs, field.Duplicate(rp.Child("values").Index(k), v))
				}
				vals.Insert(v)
			}
			if _, dup := exprs[req.Key]; dup {
				errs = append(errs, field.Duplicate(rp.Child("key"), req.Key))
			}
			exprs[req.Key] = vals
		}
		for _, prev := range seen {
			if reflect.DeepEqual(prev, exprs) {
				errs = append(errs, field.Duplicate(ip.Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprs)
	}
	return errs
}

// CSIDriverKind is the strategy of storage.k8s.io/v1 CSIDriver: the booleans default to
// attachRequired true, the rest false; fsGroupPolicy ReadWriteOnceWithFSType; lifecycle mode
// Persistent; attachRequired and volumeLifecycleModes are immutable.
func CSIDriverKind() *Kind[*storagev1.CSIDriver] {
	return &Kind[*storagev1.CSIDriver]{
		ClusterScoped: true,
		Defaults:      defaultCSIDriver,
		Create:        validateCSIDriver,
		Update: func(n, o *storagev1.CSIDriver) field.ErrorList {
			errs := apimachineryvalidation.ValidateImmutableField(n.Spec.AttachRequired, o.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))
			return append(errs, apimachineryvalidation.ValidateImmutableField(n.Spec.VolumeLifecycleModes, o.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
		},
	}
}

func defaultCSIDriver(d *storagev1.CSIDriver) {
	s := &d.Spec
	if s.AttachRequired == nil {
		s.AttachRequired = ptrTo(true)
	}
	for _, b := range []**bool{&s.PodInfoOnMount, &s.StorageCapacity, &s.RequiresRepublish, &s.SELinuxMount, &s.PreventPodSchedulingIfMissing} {
		if *b == nil {
			*b = ptrTo(false)
		}
	}
	if s.FSGroupPolicy == nil {
		s.FSGroupPolicy = ptrTo(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	}
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
}

func validateCSIDriver(d *storagev1.CSIDriver) field.ErrorList {
	sp := field.NewPath("spec")
	s := &d.Spec
	var errs field.ErrorList
	for _, req := range []struct {
		v    *bool
		name string
	}{{s.AttachRequired, "attachedRequired"}, {s.PodInfoOnMount, "podInfoOnMount"}, {s.StorageCapacity, "storageCapacity"},
		{s.SELinuxMount, "seLinuxMount"}, {s.PreventPodSchedulingIfMissing, "preventPodSchedulingIfMissing"}} {
		if req.v == nil {
			errs = append(errs, field.Required(sp.Child(req.name), ""))
		}
	}
	if s.FSGroupPolicy != nil {
		switch *s.FSGroupPolicy {
		case storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy, storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy:
		default:
			errs = append(errs, field.NotSupported(sp.Child("fsGroupPolicy"), *s.FSGroupPolicy, []string{"File", "None", "ReadWriteOnceWithFSType"}))
		}
	}
	audiences := map[string]bool{}
	for i, tr := range s.TokenRequests {
		tp := sp.Child("tokenRequests").Index(i)
		if audiences[tr.Audience] {
			errs = append(errs, field.Duplicate(tp.Child("audience"), tr.Audience))
			continue
		}
		audiences[tr.Audience] = true
		if tr.ExpirationSeconds == nil {
			continue
		}
		if *tr.ExpirationSeconds < int64((10 * time.Minute).Seconds()) {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *tr.ExpirationSeconds > 1<<32 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	for _, m := range s.VolumeLifecycleModes {
		if m != storagev1.VolumeLifecyclePersistent && m != storagev1.VolumeLifecycleEphemeral {
			errs = append(errs, field.NotSupported(sp.Child("volumeLifecycleModes"), m, []string{"Persistent", "Ephemeral"}))
		}
	}
	if p := s.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < 10 {
		errs = append(errs, field.Invalid(sp.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if s.ServiceAccountTokenInSecrets != nil && len(s.TokenRequests) == 0 {
		errs = append(errs, field.Invalid(sp.Child("serviceAccountTokenInSecrets"), *s.ServiceAccountTokenInSecrets, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	return errs
}

// CSINodeKind is the strategy of storage.k8s.io/v1 CSINode (named for its node): each driver
// has a valid name, a nodeID of at most 256 characters and unique qualified topology keys; a
// driver's entry is immutable but for allocatable.
func CSINodeKind() *Kind[*storagev1.CSINode] {
	return &Kind[*storagev1.CSINode]{
		ClusterScoped: true,
		Create:        validateCSINode,
		Update: func(n, o *storagev1.CSINode) field.ErrorList {
			var errs field.ErrorList
			for _, od := range o.Spec.Drivers {
				for _, nd := range n.Spec.Drivers {
					if od.Name != nd.Name {
						continue
					}
					a, b := od.DeepCopy(), nd.DeepCopy()
					a.Allocatable, b.Allocatable = nil, nil
					errs = append(errs, apimachineryvalidation.ValidateImmutableField(b, a, field.NewPath("spec", "drivers"))...)
				}
			}
			return errs
		},
	}
}

func validateCSINode(n *storagev1.CSINode) field.ErrorList {
	dp := field.NewPath("spec", "drivers")
	var errs field.ErrorList
	names := sets.New[string]()
	for i, d := range n.Spec.Drivers {
		ip := dp.Index(i)
		errs = append(errs, validateCSIDriverName(d.Name, ip.Child("name"))...)
		if d.NodeID == "" {
			errs = append(errs, field.Required(ip.Child("nodeID"), d.NodeID))
		}
		if len(d.NodeID) > csiNodeIDMaxLength {
			errs = append(errs, field.Invalid(ip.Child("nodeID"), d.NodeID, fmt.Sprintf("must be %d characters or less", csiNodeIDMaxLength)))
		}
		if d.Allocatable != nil && d.Allocatable.Count != nil && *d.Allocatable.Count < 0 {
			errs = append(errs, field.Invalid(ip.Child("allocatable", "count"), *d.Allocatable.Count, "must be greater than or equal to 0"))
		}
		if names.Has(d.Name) {
			errs = append(errs, field.Duplicate(ip.Child("name"), d.Name))
		}
		names.Insert(d.Name)
		keys := sets.New[string]()
		for _, k := range d.TopologyKeys {
			if k == "" {
				errs = append(errs, field.Required(ip, k))
			}
			if keys.Has(k) {
				errs = append(errs, field.Duplicate(ip, k))
			}
			keys.Insert(k)
			errs = append(errs, validateQualifiedName(k, ip)...)
		}
	}
	return errs
}

// VolumeAttachmentKind is the strategy of storage.k8s.io/v1 VolumeAttachment (status split):
// attacher is a CSI driver name, the source exactly one of persistentVolumeName and
// inlineVolumeSpec, nodeName a node name; the spec is immutable.
func VolumeAttachmentKind() *Kind[*storagev1.VolumeAttachment] {
	return &Kind[*storagev1.VolumeAttachment]{
		ClusterScoped: true,
		Create:        validateVolumeAttachment,
		Update: func(n, o *storagev1.VolumeAttachment) field.ErrorList {
			return apimachineryvalidation.ValidateImmutableField(n.Spec, o.Spec, field.NewPath("spec"))
		},
		Status: func(n, _ *storagev1.VolumeAttachment) field.ErrorList {
			return validateVolumeAttachmentStatus(&n.Status)
		},
		PrepareCreate: func(va *storagev1.VolumeAttachment) { va.Status = storagev1.VolumeAttachmentStatus{} },
		PrepareUpdate: func(n, o *storagev1.VolumeAttachment) { n.Status = o.Status },
		PrepareStatus: func(n, o *storagev1.VolumeAttachment) { n.Spec = o.Spec },
	}
}

func validateVolumeAttachment(va *storagev1.VolumeAttachment) field.ErrorList {
	sp := field.NewPath("spec")
	errs := validateCSIDriverName(va.Spec.Attacher, sp.Child("attacher"))
	src := va.Spec.Source
	srcp := sp.Child("source")
	switch {
	case src.InlineVolumeSpec == nil && src.PersistentVolumeName == nil:
		errs = append(errs, field.Required(srcp, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.InlineVolumeSpec != nil && src.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(srcp, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case src.PersistentVolumeName != nil:
		if *src.PersistentVolumeName == "" {
			errs = append(errs, field.Required(srcp.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
		} else {
			errs = append(errs, invalidMsgs(field.NewPath("spec.source.persistentVolumeName"), *src.PersistentVolumeName, apimachineryvalidation.NameIsDNSSubdomain(*src.PersistentVolumeName, false))...)
		}
	case src.InlineVolumeSpec != nil:
		ip := srcp.Child("inlineVolumeSpec")
		if src.InlineVolumeSpec.CSI == nil {
			errs = append(errs, field.Required(ip.Child("csi"), "has to be specified in the context of inline volumes"))
		}
		errs = append(errs, validateAccessModes(src.InlineVolumeSpec.AccessModes, ip.Child("accessModes"), "")...)
	}
	errs = append(errs, invalidMsgs(sp.Child("nodeName"), va.Spec.NodeName, apimachineryvalidation.NameIsDNSSubdomain(va.Spec.NodeName, false))...)
	return append(errs, validateVolumeAttachmentStatus(&va.Status)...)
}

func validateVolumeAttachmentStatus(s *storagev1.VolumeAttachmentStatus) field.ErrorList {
	sp := field.NewPath("status")
	var errs field.ErrorList
	size := 0
	for k, v := range s.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxAttachedMetadataSize {
		errs = append(errs, field.TooLong(sp.Child("attachmentMetadata"), "", maxAttachedMetadataSize))
	}
	for name, e := range map[string]*storagev1.VolumeError{"attachError": s.AttachError, "detachError": s.DetachError} {
		if e == nil {
			continue
		}
		if len(e.Message) > maxVolumeErrorMessageSize {
			errs = append(errs, field.TooLong(sp.Child(name, "message"), "", maxVolumeErrorMessageSize))
		}
		if e.ErrorCode != nil && *e.ErrorCode < 0 {
			errs = append(errs, field.Invalid(sp.Child(name, "errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
	}
	return errs
}

// CSIStorageCapacityKind is the strategy of storage.k8s.io/v1 CSIStorageCapacity
// (namespaced): nodeTopology a valid selector and storageClassName a class name, both
// immutable; capacities non-negative.
func CSIStorageCapacityKind() *Kind[*storagev1.CSIStorageCapacity] {
	return &Kind[*storagev1.CSIStorageCapacity]{
		Create: func(c *storagev1.CSIStorageCapacity) field.ErrorList {
			errs := metav1validation.ValidateLabelSelector(c.NodeTopology, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("nodeTopology"))
			errs = append(errs, invalidMsgs(field.NewPath("storageClassName"), c.StorageClassName, apimachineryvalidation.NameIsDNSSubdomain(c.StorageClassName, false))...)
			if c.Capacity != nil && c.Capacity.Sign() < 0 {
				errs = append(errs, field.Invalid(field.NewPath("capacity"), c.Capacity.String(), "must be greater than or equal to 0"))
			}
			return errs
		},
		Update: func(n, o *storagev1.CSIStorageCapacity) field.ErrorList {
			var errs field.ErrorList
			if !equality.Semantic.DeepEqual(n.NodeTopology, o.NodeTopology) {
				errs = append(errs, field.Invalid(field.NewPath("nodeTopology"), n.NodeTopology, "field is immutable"))
			}
			if n.StorageClassName != o.StorageClassName {
				errs = append(errs, field.Invalid(field.NewPath("storageClassName"), n.StorageClassName, "field is immutable"))
			}
			return errs
		},
	}
}

// VolumeAttributesClassKind is the strategy of storage.k8s.io/v1 VolumeAttributesClass:
// driverName a qualified name, at least one parameter; both immutable.
func VolumeAttributesClassKind() *Kind[*storagev1.VolumeAttributesClass] {
	return &Kind[*storagev1.VolumeAttributesClass]{
		ClusterScoped: true,
		Create: func(c *storagev1.VolumeAttributesClass) field.ErrorList {
			errs := validateProvisionerName(c.DriverName, field.NewPath("driverName"))
			return append(errs, validateStorageParameters(c.Parameters, false, field.NewPath("parameters"))...)
		},
		Update: func(n, o *storagev1.VolumeAttributesClass) field.ErrorList {
			var errs field.ErrorList
			if n.DriverName != o.DriverName {
				errs = append(errs, field.Forbidden(field.NewPath("driverName"), "updates to driverName are forbidden."))
			}
			if !reflect.DeepEqual(n.Parameters, o.Parameters) {
				errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
			}
			return errs
		},
	}
}
