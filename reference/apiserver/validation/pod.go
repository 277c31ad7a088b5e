package validation

import (
	"fmt"
	"math"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	specPath   = field.NewPath("spec")
	statusPath = field.NewPath("status")
)

var (
	supportedPortProtocols      = []string{string(corev1.ProtocolTCP), string(corev1.ProtocolUDP), string(corev1.ProtocolSCTP)}
	supportedRestartPolicies    = []string{string(corev1.RestartPolicyAlways), string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}
	supportedDNSPolicies        = []string{string(corev1.DNSClusterFirstWithHostNet), string(corev1.DNSClusterFirst), string(corev1.DNSDefault), string(corev1.DNSNone)}
	supportedPullPolicies       = []string{string(corev1.PullAlways), string(corev1.PullIfNotPresent), string(corev1.PullNever)}
	supportedTermMsgPolicies    = []string{string(corev1.TerminationMessageReadFile), string(corev1.TerminationMessageFallbackToLogsOnError)}
	supportedTolerationOps      = []string{string(corev1.TolerationOpEqual), string(corev1.TolerationOpExists)}
	supportedTaintEffects       = []string{string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute)}
	supportedHTTPSchemes        = []string{string(corev1.URISchemeHTTP), string(corev1.URISchemeHTTPS)}
	supportedNodeSelectorOps    = []string{string(corev1.NodeSelectorOpIn), string(corev1.NodeSelectorOpNotIn), string(corev1.NodeSelectorOpExists), string(corev1.NodeSelectorOpDoesNotExist), string(corev1.NodeSelectorOpGt), string(corev1.NodeSelectorOpLt)}
	supportedPodPhases          = []string{string(corev1.PodPending), string(corev1.PodRunning), string(corev1.PodSucceeded), string(corev1.PodFailed), string(corev1.PodUnknown)}
	supportedConditionStatuses  = []string{string(corev1.ConditionTrue), string(corev1.ConditionFalse), string(corev1.ConditionUnknown)}
	supportedPreemptionPolicies = []string{string(corev1.PreemptLowerPriority), string(corev1.PreemptNever)}
	standardContainerResources  = sets.New[string](string(corev1.ResourceCPU), string(corev1.ResourceMemory), string(corev1.ResourceEphemeralStorage))
)

// podUpdateForbiddenMsg is Kubernetes' message for a pod spec update touching immutable fields.
const podUpdateForbiddenMsg = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// podSpecOpts distinguishes a pod from a pod template.
type podSpecOpts struct {
	// isPod enables the checks Kubernetes runs only on pods (image whitespace).
	isPod bool
}

// validatePod checks a whole pod on create.
func validatePod(pod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validatePodSpec(&pod.Spec, specPath, podSpecOpts{isPod: true})...)
	return errs
}

// validatePodSpec checks a pod spec (of a pod or a template).
func validatePodSpec(spec *corev1.PodSpec, fldPath *field.Path, opts podSpecOpts) field.ErrorList {
	var errs field.ErrorList
	volumes, vErrs := validateVolumes(spec.Volumes, fldPath.Child("volumes"))
	errs = append(errs, vErrs...)

	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(fldPath.Child("containers"), ""))
	}
	names := sets.New[string]()
	errs = append(errs, validateContainerList(spec.Containers, volumes, names, fldPath.Child("containers"), opts)...)
	errs = append(errs, validateContainerList(spec.InitContainers, volumes, names, fldPath.Child("initContainers"), opts)...)
	errs = append(errs, validateHostPortConflicts(spec, fldPath)...)

	errs = append(errs, validateEnum(spec.RestartPolicy, supportedRestartPolicies, fldPath.Child("restartPolicy"))...)
	errs = append(errs, validateEnum(spec.DNSPolicy, supportedDNSPolicies, fldPath.Child("dnsPolicy"))...)
	errs = append(errs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, validateAffinity(spec.Affinity, fldPath.Child("affinity"))...)
	errs = append(errs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	errs = append(errs, validatePodSecurityContext(spec.SecurityContext, fldPath.Child("securityContext"))...)

	if spec.ServiceAccountName != "" {
		errs = append(errs, invalidMsgs(fldPath.Child("serviceAccountName"), spec.ServiceAccountName, apimachineryvalidation.NameIsDNSSubdomain(spec.ServiceAccountName, false))...)
	}
	if spec.NodeName != "" {
		errs = append(errs, invalidMsgs(fldPath.Child("nodeName"), spec.NodeName, apimachineryvalidation.NameIsDNSSubdomain(spec.NodeName, false))...)
	}
	if spec.Hostname != "" {
		errs = append(errs, invalidMsgs(fldPath.Child("hostname"), spec.Hostname, utilvalidation.IsDNS1123Label(spec.Hostname))...)
	}
	if spec.Subdomain != "" {
		errs = append(errs, invalidMsgs(fldPath.Child("subdomain"), spec.Subdomain, utilvalidation.IsDNS1123Label(spec.Subdomain))...)
	}
	if spec.PriorityClassName != "" {
		errs = append(errs, invalidMsgs(fldPath.Child("priorityClassName"), spec.PriorityClassName, apimachineryvalidation.NameIsDNSSubdomain(spec.PriorityClassName, false))...)
	}
	if spec.PreemptionPolicy != nil {
		errs = append(errs, validateEnum(*spec.PreemptionPolicy, supportedPreemptionPolicies, fldPath.Child("preemptionPolicy"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if v := *spec.ActiveDeadlineSeconds; v < 1 || v > math.MaxInt32 {
			errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), v, utilvalidation.InclusiveRangeError(1, math.MaxInt32)))
		}
	}
	if spec.TerminationGracePeriodSeconds != nil {
		errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(*spec.TerminationGracePeriodSeconds, fldPath.Child("terminationGracePeriodSeconds"))...)
	}
	for i, ha := range spec.HostAliases {
		p := fldPath.Child("hostAliases").Index(i)
		errs = append(errs, utilvalidation.IsValidIP(p.Child("ip"), ha.IP)...)
		for j, h := range ha.Hostnames {
			errs = append(errs, invalidMsgs(p.Child("hostnames").Index(j), h, utilvalidation.IsDNS1123Subdomain(h))...)
		}
	}
	for i, s := range spec.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	return errs
}

// validateEnum reports Required for an empty value and NotSupported for a value outside allowed.
func validateEnum[T ~string](value T, allowed []string, fldPath *field.Path) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	for _, a := range allowed {
		if string(value) == a {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath, value, allowed)}
}

// invalidMsgs turns validation messages into Invalid errors at fldPath.
func invalidMsgs(fldPath *field.Path, value any, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// countVolumeSources counts how many volume types a volume source sets.
func countVolumeSources(src *corev1.VolumeSource) int {
	n := 0
	for _, set := range []bool{
		src.HostPath != nil, src.EmptyDir != nil, src.GCEPersistentDisk != nil, src.AWSElasticBlockStore != nil,
		src.GitRepo != nil, src.Secret != nil, src.NFS != nil, src.ISCSI != nil, src.Glusterfs != nil,
		src.PersistentVolumeClaim != nil, src.RBD != nil, src.FlexVolume != nil, src.Cinder != nil,
		src.CephFS != nil, src.Flocker != nil, src.DownwardAPI != nil, src.FC != nil, src.AzureFile != nil,
		src.ConfigMap != nil, src.VsphereVolume != nil, src.Quobyte != nil, src.AzureDisk != nil,
		src.PhotonPersistentDisk != nil, src.Projected != nil, src.PortworxVolume != nil, src.ScaleIO != nil,
		src.StorageOS != nil, src.CSI != nil, src.Ephemeral != nil, src.Image != nil,
	} {
		if set {
			n++
		}
	}
	return n
}

// validateVolumes checks volume names (DNS-1123 labels, unique) and sources, and returns the
// set of declared names.
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range volumes {
		v := &volumes[i]
		p := fldPath.Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, invalidMsgs(p.Child("name"), v.Name, utilvalidation.IsDNS1123Label(v.Name))...)
			if names.Has(v.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), v.Name))
			}
			names.Insert(v.Name)
		}
		switch n := countVolumeSources(&v.VolumeSource); {
		case n == 0:
			errs = append(errs, field.Required(p, "must specify a volume type"))
		case n > 1:
			errs = append(errs, field.Forbidden(p, "may not specify more than 1 volume type"))
		}
		src := &v.VolumeSource
		if src.HostPath != nil && src.HostPath.Path == "" {
			errs = append(errs, field.Required(p.Child("hostPath", "path"), ""))
		}
		if src.ConfigMap != nil && src.ConfigMap.Name == "" {
			errs = append(errs, field.Required(p.Child("configMap", "name"), ""))
		}
		if src.Secret != nil && src.Secret.SecretName == "" {
			errs = append(errs, field.Required(p.Child("secret", "secretName"), ""))
		}
		if src.PersistentVolumeClaim != nil && src.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(p.Child("persistentVolumeClaim", "claimName"), ""))
		}
		if src.Projected != nil {
			errs = append(errs, validateProjectedPodCertificates(src.Projected, p.Child("projected"))...)
		}
		if src.EmptyDir != nil && src.EmptyDir.SizeLimit != nil && src.EmptyDir.SizeLimit.Sign() < 0 {
			errs = append(errs, field.Forbidden(p.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
		for _, m := range []struct {
			mode *int32
			path *field.Path
		}{
			{modeOf(src.Secret != nil, func() *int32 { return src.Secret.DefaultMode }), p.Child("secret", "defaultMode")},
			{modeOf(src.ConfigMap != nil, func() *int32 { return src.ConfigMap.DefaultMode }), p.Child("configMap", "defaultMode")},
		} {
			if m.mode != nil && (*m.mode < 0 || *m.mode > 0o777) {
				errs = append(errs, field.Invalid(m.path, *m.mode, "must be a number between 0 and 0777 (octal), both inclusive"))
			}
		}
	}
	return names, errs
}

func modeOf(ok bool, get func() *int32) *int32 {
	if !ok {
		return nil
	}
	return get()
}

// validateContainerList checks containers (or init containers); names accumulates container
// names across lists for the uniqueness check.
func validateContainerList(containers []corev1.Container, volumes sets.Set[string], names sets.Set[string], fldPath *field.Path, opts podSpecOpts) field.ErrorList {
	var errs field.ErrorList
	for i := range containers {
		c := &containers[i]
		p := fldPath.Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, invalidMsgs(p.Child("name"), c.Name, utilvalidation.IsDNS1123Label(c.Name))...)
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
		errs = append(errs, validateContainer(c, volumes, p, opts)...)
	}
	return errs
}

// validateContainer checks one container's fields other than its name.
func validateContainer(c *corev1.Container, volumes sets.Set[string], p *field.Path, opts podSpecOpts) field.ErrorList {
	var errs field.ErrorList
	switch trimmed := strings.TrimSpace(c.Image); {
	case c.Image == "":
		errs = append(errs, field.Required(p.Child("image"), ""))
	case opts.isPod && trimmed == "":
		errs = append(errs, field.Required(p.Child("image"), "must not be only whitespace"))
	case opts.isPod && trimmed != c.Image:
		errs = append(errs, field.Invalid(p.Child("image"), c.Image, "must not have leading or trailing whitespace"))
	}
	errs = append(errs, validateEnum(c.ImagePullPolicy, supportedPullPolicies, p.Child("imagePullPolicy"))...)
	errs = append(errs, validateEnum(c.TerminationMessagePolicy, supportedTermMsgPolicies, p.Child("terminationMessagePolicy"))...)
	errs = append(errs, validateContainerPorts(c.Ports, p.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, p.Child("env"))...)
	errs = append(errs, validateEnvFrom(c.EnvFrom, p.Child("envFrom"))...)
	errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, p.Child("volumeMounts"))...)
	errs = append(errs, validateResources(&c.Resources, p.Child("resources"))...)
	errs = append(errs, validateResizePolicy(c.ResizePolicy, p.Child("resizePolicy"))...)
	errs = append(errs, validateProbe(c.LivenessProbe, c, true, p.Child("livenessProbe"))...)
	errs = append(errs, validateProbe(c.ReadinessProbe, c, false, p.Child("readinessProbe"))...)
	errs = append(errs, validateProbe(c.StartupProbe, c, true, p.Child("startupProbe"))...)
	if c.Lifecycle != nil {
		if c.Lifecycle.PostStart != nil {
			errs = append(errs, validateHandler(lifecycleHandler(c.Lifecycle.PostStart), c, p.Child("lifecycle", "postStart"))...)
		}
		if c.Lifecycle.PreStop != nil {
			errs = append(errs, validateHandler(lifecycleHandler(c.Lifecycle.PreStop), c, p.Child("lifecycle", "preStop"))...)
		}
	}
	errs = append(errs, validateSecurityContext(c.SecurityContext, p.Child("securityContext"))...)
	return errs
}

// validateContainerPorts: containerPort 1..65535, hostPort in range when set, protocol
// TCP/UDP/SCTP, names IANA_SVC_NAME and unique within the container.
func validateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		if port.Name != "" {
			errs = append(errs, invalidMsgs(p.Child("name"), port.Name, utilvalidation.IsValidPortName(port.Name))...)
			if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(p.Child("name"), port.Name))
			}
			names.Insert(port.Name)
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(p.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidMsgs(p.Child("containerPort"), port.ContainerPort, utilvalidation.IsValidPortNum(int(port.ContainerPort)))...)
		}
		if port.HostPort != 0 {
			errs = append(errs, invalidMsgs(p.Child("hostPort"), port.HostPort, utilvalidation.IsValidPortNum(int(port.HostPort)))...)
		}
		errs = append(errs, validateEnum(port.Protocol, supportedPortProtocols, p.Child("protocol"))...)
		if port.HostIP != "" {
			errs = append(errs, utilvalidation.IsValidIP(p.Child("hostIP"), port.HostIP)...)
		}
	}
	return errs
}

// validateHostPortConflicts rejects two ports asking for the same protocol/hostIP/hostPort.
func validateHostPortConflicts(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	check := func(containers []corev1.Container, listPath *field.Path) {
		for i := range containers {
			for j, port := range containers[i].Ports {
				if port.HostPort == 0 {
					continue
				}
				key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIP, port.HostPort)
				if seen.Has(key) {
					errs = append(errs, field.Duplicate(listPath.Index(i).Child("ports").Index(j).Child("hostPort"), key))
				}
				seen.Insert(key)
			}
		}
	}
	check(spec.Containers, fldPath.Child("containers"))
	check(spec.InitContainers, fldPath.Child("initContainers"))
	return errs
}

// validateEnv: names required and valid (relaxed rule, as Kubernetes since 1.34), value and
// valueFrom exclusive, valueFrom with exactly one source.
func validateEnv(vars []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range vars {
		p := fldPath.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			errs = append(errs, invalidMsgs(p.Child("name"), ev.Name, utilvalidation.IsRelaxedEnvVarName(ev.Name))...)
		}
		if ev.ValueFrom == nil {
			continue
		}
		vf := ev.ValueFrom
		vp := p.Child("valueFrom")
		n := 0
		if vf.FieldRef != nil {
			n++
			if vf.FieldRef.APIVersion == "" {
				errs = append(errs, field.Required(vp.Child("fieldRef", "apiVersion"), ""))
			}
			if vf.FieldRef.FieldPath == "" {
				errs = append(errs, field.Required(vp.Child("fieldRef", "fieldPath"), ""))
			}
		}
		if vf.ResourceFieldRef != nil {
			n++
			if vf.ResourceFieldRef.Resource == "" {
				errs = append(errs, field.Required(vp.Child("resourceFieldRef", "resource"), ""))
			}
		}
		if vf.ConfigMapKeyRef != nil {
			n++
			errs = append(errs, validateKeyRef(vp.Child("configMapKeyRef"), vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)...)
		}
		if vf.SecretKeyRef != nil {
			n++
			errs = append(errs, validateKeyRef(vp.Child("secretKeyRef"), vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)...)
		}
		if vf.FileKeyRef != nil {
			n++
		}
		if n == 0 {
			errs = append(errs, field.Invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(vp, "", "may not have more than one field specified at a time"))
		}
		if ev.Value != "" && n != 0 {
			errs = append(errs, field.Invalid(vp, "", "may not be specified when `value` is not empty"))
		}
	}
	return errs
}

func validateEnvFrom(sources []corev1.EnvFromSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ef := range sources {
		p := fldPath.Index(i)
		if ef.Prefix != "" {
			errs = append(errs, invalidMsgs(p.Child("prefix"), ef.Prefix, utilvalidation.IsRelaxedEnvVarName(ef.Prefix))...)
		}
		n := 0
		if ef.ConfigMapRef != nil {
			n++
			if ef.ConfigMapRef.Name == "" {
				errs = append(errs, field.Required(p.Child("configMapRef", "name"), ""))
			}
		}
		if ef.SecretRef != nil {
			n++
			if ef.SecretRef.Name == "" {
				errs = append(errs, field.Required(p.Child("secretRef", "name"), ""))
			}
		}
		if n == 0 {
			errs = append(errs, field.Invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
		} else if n > 1 {
			errs = append(errs, field.Invalid(p, "", "may not have more than one field specified at a time"))
		}
	}
	return errs
}

// validateVolumeMounts: each mount names a declared volume, has a unique absolute-or-relative
// mountPath, and a subPath without "..".
func validateVolumeMounts(mounts []corev1.VolumeMount, volumes sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	for i, m := range mounts {
		p := fldPath.Index(i)
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(p.Child("name"), m.Name))
		}
		if m.MountPath == "" {
			errs = append(errs, field.Required(p.Child("mountPath"), ""))
		} else {
			if paths.Has(m.MountPath) {
				errs = append(errs, field.Invalid(p.Child("mountPath"), m.MountPath, "must be unique"))
			}
			paths.Insert(m.MountPath)
		}
		if m.SubPath != "" {
			if path.IsAbs(m.SubPath) {
				errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "must be a relative path"))
			}
			for _, part := range strings.Split(m.SubPath, "/") {
				if part == ".." {
					errs = append(errs, field.Invalid(p.Child("subPath"), m.SubPath, "must not contain '..'"))
					break
				}
			}
		}
	}
	return errs
}

// isStandardOrExtendedResource reports whether name may appear in container resources:
// cpu, memory, ephemeral-storage, hugepages-<size>, or a domain-prefixed extended resource.
func containerResourceNameMsgs(name string) []string {
	if msgs := utilvalidation.IsQualifiedName(name); len(msgs) > 0 {
		return msgs
	}
	if standardContainerResources.Has(name) || strings.HasPrefix(name, corev1.ResourceHugePagesPrefix) {
		return nil
	}
	if strings.Contains(name, "/") && !strings.HasPrefix(name, corev1.DefaultResourceRequestsPrefix) &&
		!strings.Contains(name, "kubernetes.io/") {
		return nil
	}
	return []string{"must be a standard resource for containers"}
}

// validateResources: resource names, non-negative quantities, integer extended resources,
// requests <= limits (and requests == limits for extended resources).
func validateResources(r *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(list corev1.ResourceList, p *field.Path) {
		for _, name := range sortedResourceNames(list) {
			q := list[name]
			kp := p.Key(string(name))
			errs = append(errs, invalidMsgs(kp, string(name), containerResourceNameMsgs(string(name)))...)
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(kp, q.String(), "must be greater than or equal to 0"))
			}
			if isExtendedResource(string(name)) && q.MilliValue()%1000 != 0 {
				errs = append(errs, field.Invalid(kp, q.String(), "must be an integer"))
			}
		}
	}
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	check(r.Limits, limPath)
	check(r.Requests, reqPath)
	for _, name := range sortedResourceNames(r.Requests) {
		req := r.Requests[name]
		lim, hasLim := r.Limits[name]
		switch {
		case isExtendedResource(string(name)) || strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
			if isExtendedResource(string(name)) && (!hasLim || req.Cmp(lim) != 0) {
				errs = append(errs, field.Invalid(reqPath.Key(string(name)), req.String(), fmt.Sprintf("must be equal to %s limit of %s", name, lim.String())))
			}
		case hasLim && req.Cmp(lim) > 0:
			errs = append(errs, field.Invalid(reqPath.Key(string(name)), req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, lim.String())))
		}
	}
	for i, claim := range r.Claims {
		if claim.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("claims").Index(i).Child("name"), ""))
		}
	}
	return errs
}

func isExtendedResource(name string) bool {
	return strings.Contains(name, "/") && !strings.Contains(name, "kubernetes.io/") &&
		!strings.HasPrefix(name, corev1.DefaultResourceRequestsPrefix)
}

func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

// handlerView is the common shape of probe and lifecycle handlers.
type handlerView struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

func lifecycleHandler(h *corev1.LifecycleHandler) handlerView {
	return handlerView{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep}
}

// validateProbe: exactly one handler, non-negative timings (positive once defaulted), and for
// liveness and startup probes successThreshold 1.
func validateProbe(probe *corev1.Probe, c *corev1.Container, successMustBeOne bool, fldPath *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	errs := validateHandler(handlerView{exec: probe.Exec, httpGet: probe.HTTPGet, tcpSocket: probe.TCPSocket, grpc: probe.GRPC}, c, fldPath)
	errs = append(errs, apimachineryvalidation.ValidateNonnegativeField(int64(probe.InitialDelaySeconds), fldPath.Child("initialDelaySeconds"))...)
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"timeoutSeconds", probe.TimeoutSeconds},
		{"periodSeconds", probe.PeriodSeconds},
		{"successThreshold", probe.SuccessThreshold},
		{"failureThreshold", probe.FailureThreshold},
	} {
		if f.value < 1 {
			errs = append(errs, field.Invalid(fldPath.Child(f.name), f.value, "must be greater than 0"))
		}
	}
	if successMustBeOne && probe.SuccessThreshold > 1 {
		errs = append(errs, field.Invalid(fldPath.Child("successThreshold"), probe.SuccessThreshold, "must be 1"))
	}
	if probe.TerminationGracePeriodSeconds != nil && *probe.TerminationGracePeriodSeconds <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *probe.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return errs
}

// validateHandler checks that exactly one action is set and validates it.
func validateHandler(h handlerView, c *corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(name string, set bool, check func() field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 handler type"))
			return
		}
		n++
		errs = append(errs, check()...)
	}
	one("exec", h.exec != nil, func() field.ErrorList {
		if len(h.exec.Command) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("exec", "command"), "")}
		}
		return nil
	})
	one("httpGet", h.httpGet != nil, func() field.ErrorList {
		p := fldPath.Child("httpGet")
		var e field.ErrorList
		if h.httpGet.Path == "" {
			e = append(e, field.Required(p.Child("path"), ""))
		}
		e = append(e, validateContainerPortRef(h.httpGet.Port, c, p.Child("port"))...)
		e = append(e, validateEnum(h.httpGet.Scheme, supportedHTTPSchemes, p.Child("scheme"))...)
		for i, hdr := range h.httpGet.HTTPHeaders {
			e = append(e, invalidMsgs(p.Child("httpHeaders").Index(i).Child("name"), hdr.Name, utilvalidation.IsHTTPHeaderName(hdr.Name))...)
		}
		return e
	})
	one("tcpSocket", h.tcpSocket != nil, func() field.ErrorList {
		return validateContainerPortRef(h.tcpSocket.Port, c, fldPath.Child("tcpSocket", "port"))
	})
	one("grpc", h.grpc != nil, func() field.ErrorList {
		return invalidMsgs(fldPath.Child("grpc", "port"), h.grpc.Port, utilvalidation.IsValidPortNum(int(h.grpc.Port)))
	})
	one("sleep", h.sleep != nil, func() field.ErrorList {
		if h.sleep.Seconds < 0 {
			return field.ErrorList{field.Invalid(fldPath.Child("sleep", "seconds"), h.sleep.Seconds, "must be non-negative")}
		}
		return nil
	})
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a handler type"))
	}
	return errs
}

// validateContainerPortRef: a number in 1..65535 or an IANA_SVC_NAME. As in
// Kubernetes, a name is not required to match one of the container's ports at
// admission: the kubelet fails the probe at run time instead.
func validateContainerPortRef(port intstr.IntOrString, _ *corev1.Container, fldPath *field.Path) field.ErrorList {
	return validatePortNumOrName(port, fldPath)
}

// validatePortNumOrName: a number in 1..65535 or an IANA_SVC_NAME.
func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	switch port.Type {
	case intstr.Int:
		return invalidMsgs(fldPath, port.IntValue(), utilvalidation.IsValidPortNum(port.IntValue()))
	case intstr.String:
		return invalidMsgs(fldPath, port.StrVal, utilvalidation.IsValidPortName(port.StrVal))
	default:
		return field.ErrorList{field.InternalError(fldPath, fmt.Errorf("unknown type: %v", port.Type))}
	}
}

// validateTolerations: key a label name (empty only with Exists), operator Equal/Exists, Exists
// without value, effect NoSchedule/PreferNoSchedule/NoExecute, tolerationSeconds only with
// NoExecute.
func validateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		p := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metav1validation.ValidateLabelName(t.Key, p.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(p.Child("operator"), t.Operator, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(p.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			errs = append(errs, invalidMsgs(p.Child("operator"), t.Value, utilvalidation.IsValidLabelValue(t.Value))...)
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(p.Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("operator"), t.Operator, supportedTolerationOps))
		}
		if t.Effect != "" {
			errs = append(errs, validateEnum(t.Effect, supportedTaintEffects, p.Child("effect"))...)
		}
	}
	return errs
}

// validatePodDNSConfig: dnsPolicy None needs a config with at least one nameserver; at most 3
// nameservers (IPs), 32 search domains, named options.
func validatePodDNSConfig(cfg *corev1.PodDNSConfig, policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if policy == corev1.DNSNone {
		if cfg == nil {
			return field.ErrorList{field.Required(fldPath, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(cfg.Nameservers) == 0 {
			errs = append(errs, field.Required(fldPath.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None"))
		}
	}
	if cfg == nil {
		return errs
	}
	if len(cfg.Nameservers) > 3 {
		errs = append(errs, field.Invalid(fldPath.Child("nameservers"), cfg.Nameservers, "must not have more than 3 nameservers"))
	}
	for i, ns := range cfg.Nameservers {
		errs = append(errs, utilvalidation.IsValidIP(fldPath.Child("nameservers").Index(i), ns)...)
	}
	if len(cfg.Searches) > 32 {
		errs = append(errs, field.Invalid(fldPath.Child("searches"), cfg.Searches, "must not have more than 32 search paths"))
	}
	for i, s := range cfg.Searches {
		s = strings.TrimSuffix(s, ".")
		errs = append(errs, invalidMsgs(fldPath.Child("searches").Index(i), s, utilvalidation.IsDNS1123Subdomain(s))...)
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return errs
}

// validateAffinity checks node affinity selector terms and pod (anti-)affinity terms.
func validateAffinity(a *corev1.Affinity, fldPath *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	if na := a.NodeAffinity; na != nil {
		p := fldPath.Child("nodeAffinity")
		if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			rp := p.Child("requiredDuringSchedulingIgnoredDuringExecution")
			if len(req.NodeSelectorTerms) == 0 {
				errs = append(errs, field.Required(rp.Child("nodeSelectorTerms"), "must have at least one node selector term"))
			}
			for i := range req.NodeSelectorTerms {
				errs = append(errs, validateNodeSelectorTerm(&req.NodeSelectorTerms[i], rp.Child("nodeSelectorTerms").Index(i))...)
			}
		}
		for i, pref := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			pp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(pref.Weight, pp.Child("weight"))...)
			errs = append(errs, validateNodeSelectorTerm(&pref.Preference, pp.Child("preference"))...)
		}
	}
	for _, pa := range []struct {
		name      string
		required  []corev1.PodAffinityTerm
		preferred []corev1.WeightedPodAffinityTerm
		set       bool
	}{
		{"podAffinity", podAffinityRequired(a.PodAffinity), podAffinityPreferred(a.PodAffinity), a.PodAffinity != nil},
		{"podAntiAffinity", podAntiAffinityRequired(a.PodAntiAffinity), podAntiAffinityPreferred(a.PodAntiAffinity), a.PodAntiAffinity != nil},
	} {
		if !pa.set {
			continue
		}
		p := fldPath.Child(pa.name)
		for i := range pa.required {
			errs = append(errs, validatePodAffinityTerm(&pa.required[i], p.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
		}
		for i := range pa.preferred {
			pp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			errs = append(errs, validateWeight(pa.preferred[i].Weight, pp.Child("weight"))...)
			errs = append(errs, validatePodAffinityTerm(&pa.preferred[i].PodAffinityTerm, pp.Child("podAffinityTerm"))...)
		}
	}
	return errs
}

func podAffinityRequired(a *corev1.PodAffinity) []corev1.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAffinityPreferred(a *corev1.PodAffinity) []corev1.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityRequired(a *corev1.PodAntiAffinity) []corev1.PodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.RequiredDuringSchedulingIgnoredDuringExecution
}

func podAntiAffinityPreferred(a *corev1.PodAntiAffinity) []corev1.WeightedPodAffinityTerm {
	if a == nil {
		return nil
	}
	return a.PreferredDuringSchedulingIgnoredDuringExecution
}

func validateWeight(w int32, fldPath *field.Path) field.ErrorList {
	if w < 1 || w > 100 {
		return field.ErrorList{field.Invalid(fldPath, w, "must be in the range 1-100")}
	}
	return nil
}

func validatePodAffinityTerm(t *corev1.PodAffinityTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs = append(errs, metav1validation.ValidateLabelSelector(t.LabelSelector, opts, fldPath.Child("labelSelector"))...)
	errs = append(errs, metav1validation.ValidateLabelSelector(t.NamespaceSelector, opts, fldPath.Child("namespaceSelector"))...)
	errs = append(errs, validateAffinityLabelKeys(t, fldPath)...)
	for i, ns := range t.Namespaces {
		errs = append(errs, invalidMsgs(fldPath.Child("namespaces").Index(i), ns, apimachineryvalidation.ValidateNamespaceName(ns, false))...)
	}
	if t.TopologyKey == "" {
		errs = append(errs, field.Required(fldPath.Child("topologyKey"), "can not be empty"))
	} else {
		errs = append(errs, metav1validation.ValidateLabelName(t.TopologyKey, fldPath.Child("topologyKey"))...)
	}
	return errs
}

// validateNodeSelectorTerm checks matchExpressions (label keys, operators and values) and
// matchFields (metadata.name with In/NotIn and one value).
func validateNodeSelectorTerm(term *corev1.NodeSelectorTerm, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, req := range term.MatchExpressions {
		p := fldPath.Child("matchExpressions").Index(i)
		errs = append(errs, validateNodeSelectorRequirement(req, p)...)
		errs = append(errs, metav1validation.ValidateLabelName(req.Key, p.Child("key"))...)
	}
	for i, req := range term.MatchFields {
		p := fldPath.Child("matchFields").Index(i)
		if req.Key != metav1.ObjectNameField {
			errs = append(errs, field.NotSupported(p.Child("key"), req.Key, []string{metav1.ObjectNameField}))
		}
		switch req.Operator {
		case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
			if len(req.Values) != 1 {
				errs = append(errs, field.Required(p.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
			}
		default:
			errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
		}
	}
	return errs
}

func validateNodeSelectorRequirement(req corev1.NodeSelectorRequirement, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch req.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(req.Values) > 0 {
			errs = append(errs, field.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(req.Values) != 1 {
			errs = append(errs, field.Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		} else if _, err := parseInt64(req.Values[0]); err != nil {
			errs = append(errs, field.Invalid(p.Child("values").Index(0), req.Values[0], "must be an integer when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("operator"), req.Operator, supportedNodeSelectorOps))
	}
	for j, v := range req.Values {
		errs = append(errs, invalidMsgs(p.Child("values").Index(j), v, utilvalidation.IsValidLabelValue(v))...)
	}
	return errs
}

func parseInt64(s string) (int64, error) {
	var v int64
	_, err := fmt.Sscan(s, &v)
	if err == nil && fmt.Sprint(v) != strings.TrimPrefix(s, "+") {
		err = fmt.Errorf("not an integer: %q", s)
	}
	return v, err
}

// validatePodSecurityContext: user and group IDs in range.
func validatePodSecurityContext(sc *corev1.PodSecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, invalidMsgs(fldPath.Child("runAsUser"), *sc.RunAsUser, utilvalidation.IsValidUserID(*sc.RunAsUser))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, invalidMsgs(fldPath.Child("runAsGroup"), *sc.RunAsGroup, utilvalidation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	if sc.FSGroup != nil {
		errs = append(errs, invalidMsgs(fldPath.Child("fsGroup"), *sc.FSGroup, utilvalidation.IsValidGroupID(*sc.FSGroup))...)
	}
	for i, g := range sc.SupplementalGroups {
		errs = append(errs, invalidMsgs(fldPath.Child("supplementalGroups").Index(i), g, utilvalidation.IsValidGroupID(g))...)
	}
	return errs
}

// validateSecurityContext: container user and group IDs in range; privileged excludes
// allowPrivilegeEscalation=false.
func validateSecurityContext(sc *corev1.SecurityContext, fldPath *field.Path) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	if sc.RunAsUser != nil {
		errs = append(errs, invalidMsgs(fldPath.Child("runAsUser"), *sc.RunAsUser, utilvalidation.IsValidUserID(*sc.RunAsUser))...)
	}
	if sc.RunAsGroup != nil {
		errs = append(errs, invalidMsgs(fldPath.Child("runAsGroup"), *sc.RunAsGroup, utilvalidation.IsValidGroupID(*sc.RunAsGroup))...)
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation && sc.Privileged != nil && *sc.Privileged {
		errs = append(errs, field.Invalid(fldPath, sc, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
	}
	return errs
}

// validatePodUpdate: everything in the spec is immutable except container and init container
// images, activeDeadlineSeconds (set, or decreased), tolerations (additions only, and
// tolerationSeconds), and terminationGracePeriodSeconds from negative to 1.
func validatePodUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	if n := newPod.Spec.ActiveDeadlineSeconds; n != nil {
		if o := oldPod.Spec.ActiveDeadlineSeconds; o != nil && *o < *n {
			errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), *n, "must be less than or equal to previous value"))
		}
	} else if oldPod.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(specPath.Child("activeDeadlineSeconds"), newPod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(newPod.Spec.Tolerations, oldPod.Spec.Tolerations, specPath.Child("tolerations"))...)

	munged := *newPod.Spec.DeepCopy()
	mungeImages := func(newC, oldC []corev1.Container) {
		if len(newC) != len(oldC) {
			return
		}
		for i := range newC {
			newC[i].Image = oldC[i].Image
		}
	}
	mungeImages(munged.Containers, oldPod.Spec.Containers)
	mungeImages(munged.InitContainers, oldPod.Spec.InitContainers)
	munged.ActiveDeadlineSeconds = oldPod.Spec.ActiveDeadlineSeconds
	munged.Tolerations = oldPod.Spec.Tolerations
	if o, n := oldPod.Spec.TerminationGracePeriodSeconds, munged.TerminationGracePeriodSeconds; o != nil && *o < 0 && n != nil && *n == 1 {
		munged.TerminationGracePeriodSeconds = o
	}
	// Ephemeral containers change only through their own subresource.
	munged.EphemeralContainers = oldPod.Spec.EphemeralContainers
	if !apiequality.Semantic.DeepEqual(munged, oldPod.Spec) {
		errs = append(errs, field.Forbidden(specPath, podUpdateForbiddenMsg+"\n"+specDiff(&munged, &oldPod.Spec)))
	}
	return errs
}

// specDiff names the top-level pod spec fields that differ (a short hint appended to the
// Forbidden message).
func specDiff(a, b *corev1.PodSpec) string {
	var changed []string
	if !apiequality.Semantic.DeepEqual(a.Containers, b.Containers) {
		changed = append(changed, "containers")
	}
	if !apiequality.Semantic.DeepEqual(a.InitContainers, b.InitContainers) {
		changed = append(changed, "initContainers")
	}
	if a.NodeName != b.NodeName {
		changed = append(changed, fmt.Sprintf("nodeName (%q -> %q)", b.NodeName, a.NodeName))
	}
	if !apiequality.Semantic.DeepEqual(a.Volumes, b.Volumes) {
		changed = append(changed, "volumes")
	}
	if a.RestartPolicy != b.RestartPolicy {
		changed = append(changed, "restartPolicy")
	}
	if !apiequality.Semantic.DeepEqual(a.NodeSelector, b.NodeSelector) {
		changed = append(changed, "nodeSelector")
	}
	if !apiequality.Semantic.DeepEqual(a.Affinity, b.Affinity) {
		changed = append(changed, "affinity")
	}
	if len(changed) == 0 {
		changed = append(changed, "other spec fields")
	}
	return "changed: " + strings.Join(changed, ", ")
}

// validateOnlyAddedTolerations: every old toleration must still be there (its tolerationSeconds
// may change).
func validateOnlyAddedTolerations(newTols, oldTols []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, old := range oldTols {
		found := false
		for _, n := range newTols {
			o := old
			o.TolerationSeconds = n.TolerationSeconds
			if apiequality.Semantic.DeepEqual(o, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// validatePodStatusUpdate: phase known (and not leaving a terminal phase), conditions with a
// type and a True/False/Unknown status, valid IPs, container statuses naming spec containers.
func validatePodStatusUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	st := &newPod.Status
	if st.Phase != "" {
		errs = append(errs, validateEnum(st.Phase, supportedPodPhases, statusPath.Child("phase"))...)
	}
	if old := oldPod.Status.Phase; (old == corev1.PodSucceeded || old == corev1.PodFailed) && st.Phase != old {
		errs = append(errs, field.Forbidden(statusPath.Child("phase"), fmt.Sprintf("cannot transition from terminal phase %s to %s", old, st.Phase)))
	}
	errs = append(errs, validatePodConditions(st.Conditions, statusPath.Child("conditions"))...)
	if st.HostIP != "" {
		errs = append(errs, utilvalidation.IsValidIP(statusPath.Child("hostIP"), st.HostIP)...)
	}
	if st.PodIP != "" {
		errs = append(errs, utilvalidation.IsValidIP(statusPath.Child("podIP"), st.PodIP)...)
	}
	for i, ip := range st.PodIPs {
		errs = append(errs, utilvalidation.IsValidIP(statusPath.Child("podIPs").Index(i).Child("ip"), ip.IP)...)
	}
	if len(st.PodIPs) > 0 && st.PodIP != "" && st.PodIPs[0].IP != st.PodIP {
		errs = append(errs, field.Invalid(statusPath.Child("podIPs").Index(0).Child("ip"), st.PodIPs[0].IP, "must match `status.podIP`"))
	}
	if newPod.Spec.NodeName != oldPod.Spec.NodeName {
		errs = append(errs, field.Forbidden(specPath.Child("nodeName"), "may not be changed through the status subresource"))
	}
	errs = append(errs, validateContainerStatuses(st.ContainerStatuses, newPod.Spec.Containers, statusPath.Child("containerStatuses"))...)
	errs = append(errs, validateContainerStatuses(st.InitContainerStatuses, newPod.Spec.InitContainers, statusPath.Child("initContainerStatuses"))...)
	return errs
}

func validatePodConditions(conds []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, c := range conds {
		p := fldPath.Index(i)
		if c.Type == "" {
			errs = append(errs, field.Required(p.Child("type"), ""))
		} else {
			errs = append(errs, invalidMsgs(p.Child("type"), string(c.Type), utilvalidation.IsQualifiedName(string(c.Type)))...)
			if seen.Has(string(c.Type)) {
				errs = append(errs, field.Duplicate(p.Child("type"), c.Type))
			}
			seen.Insert(string(c.Type))
		}
		errs = append(errs, validateEnum(c.Status, supportedConditionStatuses, p.Child("status"))...)
	}
	return errs
}

func validateContainerStatuses(statuses []corev1.ContainerStatus, containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range containers {
		names.Insert(c.Name)
	}
	for i, s := range statuses {
		p := fldPath.Index(i)
		if !names.Has(s.Name) {
			errs = append(errs, field.NotFound(p.Child("name"), s.Name))
		}
		if s.RestartCount < 0 {
			errs = append(errs, field.Invalid(p.Child("restartCount"), s.RestartCount, "must be greater than or equal to 0"))
		}
		n := 0
		for _, set := range []bool{s.State.Waiting != nil, s.State.Running != nil, s.State.Terminated != nil} {
			if set {
				n++
			}
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(p.Child("state"), "may not specify more than 1 state"))
		}
	}
	return errs
}

// nonNegativeQuantity reports an Invalid error when q is negative.
func nonNegativeQuantity(q resource.Quantity, fldPath *field.Path) field.ErrorList {
	if q.Cmp(zeroQuantity()) < 0 {
		return field.ErrorList{field.Invalid(fldPath, q.String(), "must be greater than or equal to 0")}
	}
	return nil
}

// validateKeyRef checks a configMapKeyRef or secretKeyRef: a name, and a key that is a valid
// ConfigMap key.
func validateKeyRef(p *field.Path, name, key string) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	if key == "" {
		errs = append(errs, field.Required(p.Child("key"), ""))
	} else {
		errs = append(errs, invalidMsgs(p.Child("key"), key, utilvalidation.IsConfigMapKey(key))...)
	}
	return errs
}
