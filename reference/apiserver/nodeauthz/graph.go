package nodeauthz

import (
	corev1 "k8s.io/api/core/v1"
)

// A kind of object a pod can reference and a node may therefore read.
type refKind int

const (
	secretRef refKind = iota
	configMapRef
	pvcRef
	serviceAccountRef
)

func (k refKind) String() string {
	switch k {
	case secretRef:
		return "secret"
	case configMapRef:
		return "configmap"
	case pvcRef:
		return "persistentvolumeclaim"
	case serviceAccountRef:
		return "serviceaccount"
	}
	return "object"
}

// podReferences reports whether pod uses the object of kind named name (in the pod's
// namespace): through a volume, a projected volume's source, an env or envFrom of any container,
// an image pull secret, or as its ServiceAccount — the edges of upstream's node graph that
// start at a pod.
func podReferences(pod *corev1.Pod, kind refKind, name string) bool {
	switch kind {
	case serviceAccountRef:
		sa := pod.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		return sa == name
	case secretRef:
		for _, s := range pod.Spec.ImagePullSecrets {
			if s.Name == name {
				return true
			}
		}
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if volumeReferences(v, kind, name) {
			return true
		}
		// A generic ephemeral volume's claim is named POD-VOLUME.
		if kind == pvcRef && v.Ephemeral != nil && pod.Name+"-"+v.Name == name {
			return true
		}
	}
	if kind == pvcRef {
		return false
	}
	found := false
	visit := func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range env {
			if e.ValueFrom == nil {
				continue
			}
			if kind == secretRef && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == name {
				found = true
			}
			if kind == configMapRef && e.ValueFrom.ConfigMapKeyRef != nil && e.ValueFrom.ConfigMapKeyRef.Name == name {
				found = true
			}
		}
		for _, f := range from {
			if kind == secretRef && f.SecretRef != nil && f.SecretRef.Name == name {
				found = true
			}
			if kind == configMapRef && f.ConfigMapRef != nil && f.ConfigMapRef.Name == name {
				found = true
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.Containers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		visit(c.Env, c.EnvFrom)
	}
	return found
}

// volumeReferences reports whether one volume uses the object.
func volumeReferences(v *corev1.Volume, kind refKind, name string) bool {
	switch kind {
	case secretRef:
		if v.Secret != nil && v.Secret.SecretName == name {
			return true
		}
		for _, ref := range []*corev1.LocalObjectReference{
			secretOf(v.CSI), secretOfISCSI(v.ISCSI), secretOfRBD(v.RBD), secretOfCephFS(v.CephFS),
		} {
			if ref != nil && ref.Name == name {
				return true
			}
		}
		if v.AzureFile != nil && v.AzureFile.SecretName == name {
			return true
		}
	case configMapRef:
		if v.ConfigMap != nil && v.ConfigMap.Name == name {
			return true
		}
	case pvcRef:
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == name {
			return true
		}
	}
	if v.Projected != nil {
		for _, s := range v.Projected.Sources {
			if kind == secretRef && s.Secret != nil && s.Secret.Name == name {
				return true
			}
			if kind == configMapRef && s.ConfigMap != nil && s.ConfigMap.Name == name {
				return true
			}
		}
	}
	return false
}

func secretOf(v *corev1.CSIVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.NodePublishSecretRef
}

func secretOfISCSI(v *corev1.ISCSIVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.SecretRef
}

func secretOfRBD(v *corev1.RBDVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.SecretRef
}

func secretOfCephFS(v *corev1.CephFSVolumeSource) *corev1.LocalObjectReference {
	if v == nil {
		return nil
	}
	return v.SecretRef
}
